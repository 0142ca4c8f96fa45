"""Payment methods: the merchant's saved cards (masked: brand, first 6 / last 4, expiry,
holder, which vault, created), a search by customer, and delete with a confirmation step
(the API's own delete: the card's aliases leave the vault too)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.orchestrator import payment_methods as pm_service
from vaultswitch.orchestrator.crypto import Keyring
from vaultswitch.orchestrator.repos import connector_accounts as accounts_repo
from vaultswitch.orchestrator.repos import customers as customers_repo
from vaultswitch.orchestrator.repos import payment_methods as pm_repo
from vaultswitch.orchestrator.repos.payment_methods import PaymentMethod
from vaultswitch.orchestrator.schema import payment_methods as pm_table
from vaultswitch.orchestrator.vaulting import INTERNAL

from .auth import Viewer, dashboard_of, form_of, require_viewer, text
from .web import BASE, not_found, page_router, redirect, render

router = page_router()

PAGE_SIZE = 50
MAX_QUERY = 80


@dataclass(frozen=True, slots=True)
class Listing:
    cards: list[PaymentMethod]
    vaults: dict[str, str]  # vault connector id -> what the page calls it
    customer_id: str | None  # the customer searched for (None: all, or not found)
    searched: str


def _recent_ids(conn: Connection, merchant_id: str, limit: int) -> list[str]:
    rows = conn.execute(
        sa.select(pm_table.c.id)
        .where(pm_table.c.merchant_id == merchant_id)
        .order_by(pm_table.c.created_at.desc(), pm_table.c.id.desc())
        .limit(limit)
    )
    return [row.id for row in rows]


def _find_customer(conn: Connection, keyring: Keyring, merchant_id: str, wanted: str) -> str | None:
    """A customer of this merchant by its ID or by the merchant's own reference."""
    if customers_repo.exists(conn, merchant_id, wanted):
        return wanted
    customer = customers_repo.get_by_reference(conn, keyring, merchant_id, wanted)
    return customer.id if customer is not None else None


def _vault_names(conn: Connection, merchant_id: str, cards: list[PaymentMethod]) -> dict[str, str]:
    names: dict[str, str] = {}
    for connector_id in {card.vault_connector_id for card in cards}:
        if connector_id == INTERNAL:
            names[connector_id] = "Internal vault"
            continue
        account = accounts_repo.get(conn, merchant_id, connector_id)
        names[connector_id] = account.connector_label if account else f"{connector_id} (deleted)"
    return names


def _listing(conn: Connection, keyring: Keyring, merchant_id: str, searched: str) -> Listing:
    customer_id = None
    if searched:
        customer_id = _find_customer(conn, keyring, merchant_id, searched)
        cards = (
            pm_repo.list_for_customer(conn, keyring, merchant_id, customer_id)
            if customer_id is not None
            else []
        )
    else:
        found = (
            pm_repo.get(conn, keyring, merchant_id, i)
            for i in _recent_ids(conn, merchant_id, PAGE_SIZE)
        )
        cards = [card for card in found if card is not None]
    return Listing(cards, _vault_names(conn, merchant_id, cards), customer_id, searched)


_DONE = {"deleted": "The card was deleted, from the vault too."}


@router.get("/payment-methods")
async def payment_methods(request: Request) -> Response:
    viewer = await require_viewer(request)
    ctx = dashboard_of(request).ctx
    searched = (request.query_params.get("customer") or "").strip()[:MAX_QUERY]
    listing = await ctx.db.read(
        lambda conn: _listing(conn, ctx.keyring, viewer.merchant_id, searched)
    )
    return render(
        request,
        "payment_methods.html",
        {
            "title": "Payment methods",
            "viewer": viewer,
            "listing": listing,
            "flash": _DONE.get(request.query_params.get("done", "")),
        },
    )


async def _card(request: Request, viewer: Viewer, pm_id: str) -> tuple[PaymentMethod, str]:
    ctx = dashboard_of(request).ctx

    def load(conn: Connection) -> tuple[PaymentMethod, str] | None:
        card = pm_repo.get(conn, ctx.keyring, viewer.merchant_id, pm_id)
        if card is None:
            return None
        return card, _vault_names(conn, viewer.merchant_id, [card])[card.vault_connector_id]

    found = await ctx.db.read(load)
    if found is None:
        raise not_found(request, "payment method")
    return found


@router.get("/payment-methods/{pm_id}/delete")
async def confirm_delete(request: Request, pm_id: str) -> Response:
    viewer = await require_viewer(request)
    card, vault = await _card(request, viewer, pm_id)
    back = (request.query_params.get("customer") or "").strip()[:MAX_QUERY]
    return render(
        request,
        "payment_method_delete.html",
        {"title": "Delete a card", "viewer": viewer, "card": card, "vault": vault, "back": back},
    )


@router.post("/payment-methods/{pm_id}/delete")
async def delete(request: Request, pm_id: str) -> Response:
    viewer = await require_viewer(request)
    form = await form_of(request, viewer)
    await _card(request, viewer, pm_id)  # 404 for ids of other merchants, as the API
    await pm_service.delete(dashboard_of(request).ctx, viewer.caller, pm_id)
    back = text(form, "customer")[:MAX_QUERY]
    query = {"done": "deleted", **({"customer": back} if back else {})}
    return redirect(f"{BASE}/payment-methods", **query)
