"""``POST /v2/payment-methods/import`` (merchant API key; ``X-Profile-Id`` or the default
profile): import cards already in the profile's vault, up to 20 rows per request (one
reveal-multiple request for single-alias rows), answered row by row.

A row that cannot be imported is answered ``invalid`` / ``alias_not_found`` with a reason
naming the field; only a request that is malformed as a whole (no rows, more than 20,
a row without a distinct ``row`` number) or a vault that cannot be used at all (424,
429, 503 ...) is an error of the request. ``vaultswitch import FILE`` is the client.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from vaultswitch.connectors.vgs import MAX_BATCH_SIZE
from vaultswitch.orchestrator import card_import
from vaultswitch.orchestrator.auth import Merchant
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.errors import invalid_value
from vaultswitch.orchestrator.import_rows import ImportRow, RowProblem, parse_row

router = APIRouter(tags=["payment methods"])

MAX_ROWS = MAX_BATCH_SIZE


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description="Rows to import: each an object with an integer `row` (distinct within "
        "the request), `customer_reference`, optional `customer_name` / `customer_email`, "
        "`alias` (a card JSON alias) or `card_number` / `card_exp_month` / `card_exp_year` / "
        "`card_holder_name` (per-field aliases), optional `last4`, `card_isin`, "
        "`card_network`, `expiry_month`, `expiry_year`.",
    )
    import_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
        description="Names the import: a row of the same import sent again (a resumed "
        "import) is answered `imported` with the payment method it created.",
    )
    fpe_aliases: bool = Field(
        default=False,
        description="The vault's aliases are format-preserving and may look like card "
        "numbers; without this, a value that looks like a card number is refused.",
    )


class ImportRowResult(BaseModel):
    row: int
    status: Literal["imported", "duplicate", "alias_not_found", "invalid"]
    customer_id: str | None
    payment_method_id: str | None
    reason: str | None


class ImportResponse(BaseModel):
    rows: list[ImportRowResult]
    alias_check: Literal["revealed", "not_allowed", "none"] = Field(
        description="revealed: every alias was checked in the vault; not_allowed: the vault "
        "does not allow reveal (HTTP 403), aliases were taken as given; none: no row needed it"
    )


def _rows(body: ImportRequest) -> list[ImportRow | RowProblem]:
    seen: set[int] = set()
    parsed: list[ImportRow | RowProblem] = []
    for index, raw in enumerate(body.rows):
        number = raw.get("row")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise invalid_value(f"rows[{index}].row", "must be an integer of at least 0")
        if number in seen:
            raise invalid_value(f"rows[{index}].row", "is given twice in this request")
        seen.add(number)
        fields = {k: v for k, v in raw.items() if k != "row"}
        parsed.append(parse_row(number, fields, fpe_aliases=body.fpe_aliases))
    return parsed


@router.post("/v2/payment-methods/import")
async def import_payment_methods(body: ImportRequest, ctx: Ctx, caller: Merchant) -> ImportResponse:
    """Import cards already in the profile's vault (by alias), row by row: each is
    imported, a duplicate of a card the customer has, alias_not_found, or invalid."""
    result = await card_import.import_batch(ctx, caller, _rows(body), body.import_id)
    return ImportResponse(
        rows=[
            ImportRowResult(
                row=r.row,
                status=r.status,
                customer_id=r.customer_id,
                payment_method_id=r.payment_method_id,
                reason=r.reason,
            )
            for r in result.rows
        ],
        alias_check=result.alias_check,
    )
