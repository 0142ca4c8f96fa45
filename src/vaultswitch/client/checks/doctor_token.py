"""``doctor``'s checks of what the access token says: its scopes against the flows, and
this machine's clock against its ``iat`` (:mod:`.claims` reads the JWT unverified)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import claims
from .connection import _api_version, _template_url, _vault_id, target_for
from .diagnosis import _DATA_DIR_NOTE
from .doctor_options import DoctorOptions
from .report import Outcome
from .steps import CheckContext


def _claims(ctx: CheckContext) -> dict[str, Any] | None:
    if ctx.grant is None:
        return None
    return claims.jwt_payload(ctx.grant.token.reveal())


def scope_hint(ctx: CheckContext, missing: Sequence[str]) -> str:
    wanted = ", ".join(missing)
    hint = (
        f"Give the service account {wanted} on this vault (aliases:write to insert, "
        "aliases:read to retrieve, aliases:delete to delete) and test again: a token "
        "carries the scopes its account had when it was issued."
    )
    if _is_own_vault(ctx):
        vault_id = _vault_id(ctx.credentials) or "VAULT_ID"
        return (
            f"{hint} A vaultswitch vault fixes an account's scopes when it is created: create "
            f"one with every scope, `vaultswitch vault service-account --vault "
            f"{vault_id} --scopes aliases:read,aliases:write,"
            f"aliases:delete` ({_DATA_DIR_NOTE}), and put its client ID and secret in the "
            "connector account (PUT /v2/connector-accounts/{id})."
        )
    return (
        f"{hint} On VGS the service account's scopes are set in the dashboard (or with "
        "vgs-cli); a new account gives a new client ID and secret for the connector account."
    )


def _is_own_vault(ctx: CheckContext) -> bool:
    setting = "vault_base_url" if _api_version(ctx.connector) == "v2" else "v1_base_url"
    url = _template_url(ctx.connector, ctx.credentials, setting)
    return bool(url) and target_for(ctx.connector, ctx.credentials, "vault", url).own_vault


def scopes_check(ctx: CheckContext) -> Outcome:
    """The token's scopes against the scope each flow needs."""
    if ctx.grant is None:
        return Outcome.passed(
            "no scopes to check: the connector authenticates without an access token"
        )
    scopes = claims.granted_scopes(ctx.grant.scope, _claims(ctx))
    if scopes is None:
        return Outcome(
            True,
            "ok",
            "the token does not say which scopes it has (no scope in the token answer or its "
            "claims): nothing to compare",
            "Run `vaultswitch doctor --write` to see whether insert, reveal and delete work.",
        )
    failing = claims.failing_flows(scopes)
    granted = ", ".join(sorted(scopes)) or "none"
    if not failing:
        return Outcome.passed(
            "the token has aliases:write, aliases:read and aliases:delete: insert, retrieve "
            f"and delete are allowed (granted: {granted})"
        )
    missing = [scope for _flow, scope in failing]
    flows = " and ".join(claims.FLOW_LABELS[flow] for flow, _scope in failing)
    return Outcome.failed(
        code="scope_missing",
        message=f"the token lacks {', '.join(missing)}: {flows} will fail (granted: {granted})",
        hint=scope_hint(ctx, missing),
    )


def clock_skew_outcome(iat: float, received_at: float, max_skew: float) -> Outcome:
    """The ``clock_skew`` result for a token issued at ``iat`` and received at local time
    ``received_at``."""
    skew = claims.clock_skew(iat, received_at)
    seconds = abs(skew.seconds)
    if seconds <= max_skew:
        return Outcome.passed(
            f"this machine's clock is within {seconds:.0f} s of the auth host's (the token's "
            f"iat; up to {max_skew:.0f} s is fine)"
        )
    return Outcome.failed(
        code="clock_skew",
        message=f"this machine's clock is {seconds:.0f} s {skew.direction} the auth host's "
        f"(the token's iat; more than {max_skew:.0f} s)",
        hint="Set this machine's clock right and keep it synchronised with NTP (systemd: "
        "`timedatectl set-ntp true`; or chrony / ntpd), then test again. A wrong clock makes "
        "tokens look expired or not yet valid to whoever checks their iat/exp, and TLS "
        "certificates look expired or not yet valid.",
    )


def clock_check(options: DoctorOptions) -> Callable[[CheckContext], Outcome]:
    def check(ctx: CheckContext) -> Outcome:
        if ctx.grant is None or ctx.token is None:
            return Outcome.passed("no access token: no issue time to compare with")
        payload = _claims(ctx)
        if payload is None:
            return Outcome.passed("the access token is not a JWT: no iat to compare (not checked)")
        iat = claims.issued_at(payload)
        if iat is None:
            return Outcome.passed("the access token has no iat claim: nothing to compare")
        received_at = ctx.token.expires_at - ctx.grant.expires_in
        return clock_skew_outcome(iat, received_at, options.max_clock_skew)

    return check
