"""What a vault migration says about each payment method it handles.

The orchestrator's ``/v2/vault-migrations`` answers, and ``vaultswitch migrate`` reports,
one status per payment method and phase, with a reason code when there is something to
say. A vault error keeps its own code (``alias_not_found``, ``vault_unavailable``, ...); the
codes below are the migration's own. They live here, below every layer, so that the
orchestrator (which emits them), the command (which reports them) and ``vaultswitch
explain`` (which explains them) share one list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    """A reason code of a vault migration's per-payment-method result."""

    code: str
    message: str
    hint: str


ALREADY_MOVED = MigrationOutcome(
    code="already_moved",
    message="Skipped: the payment method is stored in the target vault already (an earlier "
    "or a concurrent run moved it).",
    hint="Nothing to do; --verify checks the moved copy against the source.",
)
PAYMENT_METHOD_DELETED = MigrationOutcome(
    code="payment_method_deleted",
    message="Skipped: the payment method was deleted before this phase reached it.",
    hint="Nothing to do. A deleted payment method's source aliases are still removed by "
    "`vaultswitch migrate --from SOURCE --to TARGET --delete-source` once it was moved.",
)
NOT_IN_SOURCE_VAULT = MigrationOutcome(
    code="not_in_source_vault",
    message="Skipped: the payment method is no longer stored in the source vault (another "
    "migration moved it to a third vault).",
    hint="Migrate it from the vault it is in now: `vaultswitch migrate --from CURRENT --to "
    "TARGET`.",
)
NOT_IN_TARGET_VAULT = MigrationOutcome(
    code="not_in_target_vault",
    message="Skipped by --verify: the payment method was moved on from the target vault "
    "since, so this migration's copy is not the one it uses.",
    hint="Verify the later migration instead: `vaultswitch migrate --from TARGET --to NEWER "
    "--verify`.",
)
CVC_EXPIRED = MigrationOutcome(
    code="cvc_expired",
    message="Moved without its CVC: the CVC saved with the card was a VOLATILE alias that had "
    "expired (VOLATILE data lives one hour), so there was none to copy.",
    hint="Payments with this payment method send the CVC "
    "(payment_method_data.card_token.card_cvc), as they would have without a migration.",
)
FINGERPRINT_MISMATCH = MigrationOutcome(
    code="fingerprint_mismatch",
    message="The card read back does not match: its keyed fingerprint (number and expiry) "
    "differs from the payment method's own, or from the other vault's copy.",
    hint="Nothing was switched for this payment method (a move) or its source aliases are "
    "kept (a verify). Check that the vault connector accounts point at the vaults you mean "
    "(GET /v2/connector-accounts/{id}); the payment method keeps working from the vault it "
    "is in.",
)
ALIAS_SHARED = MigrationOutcome(
    code="alias_shared",
    message="Source aliases kept: another payment method still holds them (a vault gives "
    "equal values one alias, so two customers saving one card share it).",
    hint="They are deleted when the last payment method holding them is moved and "
    "--delete-source runs again, or is deleted.",
)
PROXY_CARD_KEPT = MigrationOutcome(
    code="proxy_card_kept",
    message="Source aliases kept: the card was recorded as a proxy_card, so its aliases were "
    "written by a client-side SDK, not by the orchestrator, and may be used elsewhere.",
    hint="Delete them in the source vault yourself once nothing else uses them.",
)

ALL_OUTCOMES: tuple[MigrationOutcome, ...] = (
    ALREADY_MOVED,
    PAYMENT_METHOD_DELETED,
    NOT_IN_SOURCE_VAULT,
    NOT_IN_TARGET_VAULT,
    CVC_EXPIRED,
    FINGERPRINT_MISMATCH,
    ALIAS_SHARED,
    PROXY_CARD_KEPT,
)
