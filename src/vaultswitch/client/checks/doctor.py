"""``vaultswitch doctor``: the connection test with every check a support call would ask for.

The connection test's ``token`` and ``vault`` checks (:mod:`.connection`) are run with more
:class:`~.steps.CheckStep` values around them, in this order:

``auth_dns``, ``auth_tcp``, ``auth_tls`` / ``vault_dns``, ``vault_tcp``, ``vault_tls``
    The auth host (token endpoint) and the vault host of the connector: the name resolves,
    a TCP connection opens, a TLS handshake completes with the same trust store the client
    uses. TLS only for https URLs (an http URL passes with "not TLS (http URL)"). Vault API
    v1 has no auth host: its ``auth_*`` checks pass saying so.
``token``
    An access token from the auth host (401: wrong client ID or secret).
``scopes``
    The token's scopes (from the token answer, else its JWT payload) against the flows:
    ``aliases:write`` to insert, ``aliases:read`` to retrieve, ``aliases:delete`` to delete.
    Fails naming the flows that will fail.
``vault``
    The vault answers for this vault ID (404: wrong vault ID, or one of the other
    environment: sandbox vault IDs do not work in live).
``clock_skew``
    This machine's clock against the token's ``iat`` (read without verifying the token):
    fails beyond ``max_clock_skew`` seconds (60 by default).
``round_trip`` (``write=True``)
    Inserts a throwaway value that is not card data (a random ``vaultswitch-doctor-...``
    text, stored as a lone ``card_holder_name`` alias: PERSISTENT, format UUID), reveals it,
    compares, deletes it. The delete runs even when the reveal failed.
``proxy`` (when the account's metadata has ``proxy_url``)
    The outbound proxy's host resolves and accepts TCP connections, and the account's
    ``certificate``, when given, parses as an X.509 (CA) certificate in PEM or base64. Whether
    the proxy accepts CONNECT and its credentials is checked once vaultswitch has its own
    outbound proxy to test against; until then this check covers reachability and the
    certificate only.
``alias`` (``alias=...``)
    Whether that alias exists in the storage asked for (default: the connector's); when it
    does not, whether it exists in the other storage (a VOLATILE alias read as PERSISTENT
    is "not found"), and otherwise the seed's third failure mode: deleted, written
    elsewhere, or a VOLATILE alias past its expiry.

Usage::

    report = run_doctor(client, connector, credentials, DoctorOptions(write=True))
    report = await run_doctor_async(async_client, connector, credentials, options)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vaultswitch.connectors.base import Credentials, VaultConnector

from .connection import TOKEN, VAULT
from .doctor_hosts import dns_step, proxy_check, tcp_step, tls_step
from .doctor_options import DEFAULT_MAX_CLOCK_SKEW, DoctorOptions
from .doctor_token import clock_check, scopes_check
from .doctor_vault import alias_check, round_trip_check
from .report import CheckReport, Outcome
from .steps import CheckContext, CheckStep, StepRun, drive, drive_async, run_steps

if TYPE_CHECKING:
    from vaultswitch.client.executor import AsyncVaultClient, VaultClient

#: Every check doctor can run, in the order it runs them.
CHECK_NAMES = (
    "auth_dns",
    "auth_tcp",
    "auth_tls",
    "vault_dns",
    "vault_tcp",
    "vault_tls",
    "token",
    "scopes",
    "vault",
    "clock_skew",
    "round_trip",
    "proxy",
    "alias",
)

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_MAX_CLOCK_SKEW",
    "DoctorOptions",
    "doctor_checks",
    "run_doctor",
    "run_doctor_async",
]


def _plain(check: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], StepRun]:
    """A step that needs no I/O."""

    def run(ctx: CheckContext) -> StepRun:
        yield from ()
        return check(ctx)

    return run


def doctor_checks(options: DoctorOptions | None = None) -> tuple[CheckStep, ...]:
    """Every check of ``doctor`` for these options, in order."""
    options = options or DoctorOptions()
    steps: list[CheckStep] = [
        dns_step("auth", options),
        tcp_step("auth", options),
        tls_step("auth", options),
        dns_step("vault", options),
        tcp_step("vault", options),
        tls_step("vault", options),
        TOKEN,
        CheckStep("scopes", _plain(scopes_check), needs=("token",)),
        VAULT,
        CheckStep("clock_skew", _plain(clock_check(options)), needs=("token",)),
    ]
    if options.write:
        steps.append(CheckStep("round_trip", round_trip_check, needs=("token", "vault")))
    if options.proxy_url:
        steps.append(CheckStep("proxy", proxy_check(options)))
    if options.alias is not None and options.alias.strip():
        steps.append(CheckStep("alias", alias_check(options), needs=("token", "vault")))
    return tuple(steps)


def run_doctor(
    client: VaultClient,
    connector: VaultConnector,
    credentials: Credentials,
    options: DoctorOptions | None = None,
) -> CheckReport:
    """Every doctor check with a sync client (TLS trust and timeout: the client's)."""
    config = client.config
    opts = (options or DoctorOptions()).with_client_settings(
        config.verify, config.trust_env, config.connect_timeout
    )
    return drive(client, run_steps(CheckContext(connector, credentials), doctor_checks(opts)))


async def run_doctor_async(
    client: AsyncVaultClient,
    connector: VaultConnector,
    credentials: Credentials,
    options: DoctorOptions | None = None,
) -> CheckReport:
    """:func:`run_doctor` with an async client (the orchestrator's verify endpoint)."""
    config = client.config
    opts = (options or DoctorOptions()).with_client_settings(
        config.verify, config.trust_env, config.connect_timeout
    )
    return await drive_async(
        client, run_steps(CheckContext(connector, credentials), doctor_checks(opts))
    )
