"""Payments: amount, status, processor reference, the path used (detokenize or proxy), and
for a failure its code, message and hint; filtered by status, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.orchestrator.repos import payments as payments_repo
from vaultswitch.orchestrator.repos.payments import Payment
from vaultswitch.orchestrator.routers.payments import payment_response

from .auth import dashboard_of, require_viewer
from .web import page_router, render

router = page_router()

PAGE_SIZE = 25
STATUSES = payments_repo.STATUSES
#: what to do about a decline, by the sandbox processor's decline codes
DECLINE_HINTS = {
    "card_declined": "The issuer declined the card: ask the customer for another card, or "
    "to ask their bank why.",
    "insufficient_funds": "The card lacks the funds for this amount: ask for another card.",
    "incorrect_cvc": "The CVC was wrong: ask the customer to check it and pay again.",
    "expired_card": "The card has expired: ask the customer for one that has not.",
    "processing_error": "The processor could not process the card: paying again later may work.",
}
DEFAULT_DECLINE_HINT = "The processor declined the payment; its code says why."


@dataclass(frozen=True, slots=True)
class Row:
    payment: Payment
    path: str
    hint: str


def _hint(payment: Payment) -> str:
    failure = payment.failure or {}
    if failure.get("hint"):
        return str(failure["hint"])
    if payment.error_code:
        return DECLINE_HINTS.get(payment.error_code, DEFAULT_DECLINE_HINT)
    return ""


def _row(payment: Payment) -> Row:
    shown: dict[str, Any] = payment_response(payment)
    return Row(payment, str(shown.get("path") or ""), _hint(payment))


def _page(
    conn: Connection, merchant_id: str, statuses: list[str], offset: int
) -> tuple[list[Payment], int]:
    found = payments_repo.list_for_merchant(
        conn, merchant_id, statuses=statuses or None, limit=PAGE_SIZE, offset=offset
    )
    total = payments_repo.count_for_merchant(conn, merchant_id, statuses=statuses or None)
    return found, total


@router.get("/payments")
async def payments(request: Request) -> Response:
    viewer = await require_viewer(request)
    ctx = dashboard_of(request).ctx
    wanted = request.query_params.get("status") or ""
    status = wanted if wanted in STATUSES else ""
    raw_offset = request.query_params.get("offset") or "0"
    offset = min(int(raw_offset), 1_000_000) if raw_offset.isdigit() else 0
    statuses = [status] if status else []
    found, total = await ctx.db.read(lambda conn: _page(conn, viewer.merchant_id, statuses, offset))
    return render(
        request,
        "payments.html",
        {
            "title": "Payments",
            "viewer": viewer,
            "rows": [_row(p) for p in found],
            "statuses": STATUSES,
            "status": status,
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
        },
    )
