"""Checks as small named steps, run in order by one loop that the sync and async clients
drive the way they drive the client engine's flows.

A step is a generator function ``run(ctx) -> Generator[Op, Any, Outcome]``. It never does
I/O itself: it *yields* an operation and gets its result back (or the error thrown in):

- :class:`RunCall` → the parsed result of a connector :class:`Call`, sent through the
  client (its TLS settings, proxy, timeouts, retries and logs);
- :class:`Blocking` → the return value of a blocking function (DNS look-ups, raw sockets),
  called directly by the sync driver and in a worker thread by the async one.

``doctor`` adds checks (DNS/TCP/TLS, scopes, clock skew, write round trip, proxy, alias) by
passing a longer list of :class:`CheckStep` values; nothing here changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, fields
from time import perf_counter
from typing import TYPE_CHECKING, Any

from vaultswitch.connectors.base import (
    AccessToken,
    AccessTokenGrant,
    Call,
    Credentials,
    VaultConnector,
)
from vaultswitch.connectors.vgs import VAULT_ID_PATTERN
from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.domain.redaction import scrub_text
from vaultswitch.domain.secret import Secret

from .report import SKIPPED, Check, CheckReport, Outcome

if TYPE_CHECKING:
    from vaultswitch.client.executor import AsyncVaultClient, VaultClient

_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class RunCall:
    """Send ``call`` through the client (``client.run``); the step receives its parse result."""

    call: Call[Any]
    connector: str


@dataclass(frozen=True, slots=True)
class Blocking:
    """Call a blocking function; the async driver runs it in a worker thread."""

    function: Callable[[], Any]


Op = RunCall | Blocking
StepRun = Generator[Op, Any, Outcome]


@dataclass(eq=False)
class CheckContext:
    """What the steps share: the account under test and what earlier steps found.

    ``grant`` / ``token``: set by the ``token`` check (None when the connector needs no
    token). ``results``: the checks done so far, by name. ``facts``: anything else a step
    wants to leave for later ones (e.g. resolved addresses).
    """

    connector: VaultConnector
    credentials: Credentials
    grant: AccessTokenGrant | None = None
    token: AccessToken | None = None
    results: dict[str, Check] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def passed(self, name: str) -> bool:
        check = self.results.get(name)
        return check is not None and check.ok

    def secrets(self) -> list[str]:
        """Values that must never appear in a message: every credential value (except a
        VGS vault ID, an identifier) and the access token."""
        values = [
            value.reveal()
            for value in (getattr(self.credentials, f.name) for f in fields(self.credentials))
            if isinstance(value, Secret)
        ]
        if self.grant is not None:
            values.append(self.grant.token.reveal())
        return [v for v in values if len(v) >= 4 and not VAULT_ID_PATTERN.fullmatch(v.strip())]

    def __repr__(self) -> str:
        done = ",".join(f"{name}={'ok' if c.ok else c.code}" for name, c in self.results.items())
        return f"CheckContext(connector={self.connector.name}, results=[{done}])"


@dataclass(frozen=True, slots=True)
class CheckStep:
    """One named check. ``needs``: checks that must have passed first; when one has not,
    this check is reported as skipped (``ok`` false, code ``skipped``) without running."""

    name: str
    run: Callable[[CheckContext], StepRun]
    needs: tuple[str, ...] = ()


def validate_steps(steps: Sequence[CheckStep]) -> None:
    """Names are unique and every ``needs`` names an earlier step (ValueError otherwise)."""
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise ValueError(f"two checks are named {step.name!r}")
        for need in step.needs:
            if need not in seen:
                raise ValueError(f"check {step.name!r} needs {need!r}, which does not run first")
        seen.add(step.name)


def _safe(text: str, secrets: Sequence[str]) -> str:
    for value in secrets:
        text = text.replace(value, _REDACTED)
    return scrub_text(text)


def _ms(started: float) -> float:
    return round((perf_counter() - started) * 1000.0, 1)


def _unexpected(step: CheckStep, exc: Exception) -> Outcome:
    # a foreign exception's text may quote input data: keep only its type
    return Outcome.failed(
        VaultswitchError.code,
        f"the {step.name} check failed inside vaultswitch ({type(exc).__name__})",
        VaultswitchError.default_hint,
    )


def run_steps(ctx: CheckContext, steps: Sequence[CheckStep]) -> Generator[Op, Any, CheckReport]:
    """Run every step in order; a step whose needs did not pass is reported as skipped."""
    validate_steps(steps)
    checks: list[Check] = []
    for step in steps:
        failed = [need for need in step.needs if not ctx.passed(need)]
        if failed:
            names = " and ".join(f"the {need} check" for need in failed)
            check = Check(step.name, False, SKIPPED, f"not run: {names} did not pass", "", 0.0)
        else:
            started = perf_counter()
            try:
                outcome = yield from step.run(ctx)
            except VaultswitchError as exc:  # a step that did not diagnose its own errors
                outcome = Outcome.failed(exc.code, exc.message, exc.hint)
            except Exception as exc:
                outcome = _unexpected(step, exc)
            secrets = ctx.secrets()
            check = Check(
                step.name,
                outcome.ok,
                outcome.code,
                _safe(outcome.message, secrets),
                _safe(outcome.hint, secrets),
                _ms(started),
            )
        ctx.results[step.name] = check
        checks.append(check)
    return CheckReport.of(tuple(checks))


# --- drivers -------------------------------------------------------------------------------


def drive(client: VaultClient, steps: Generator[Op, Any, CheckReport]) -> CheckReport:
    """Run the steps with a sync :class:`~vaultswitch.client.VaultClient`."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            op = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            report: CheckReport = stop.value
            return report
        value, error = None, None
        try:
            if isinstance(op, RunCall):
                value = client.run(op.call, connector=op.connector)
            else:
                value = op.function()
        except Exception as exc:
            error = exc


async def drive_async(
    client: AsyncVaultClient, steps: Generator[Op, Any, CheckReport]
) -> CheckReport:
    """Run the steps with an :class:`~vaultswitch.client.AsyncVaultClient`."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            op = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            report: CheckReport = stop.value
            return report
        value, error = None, None
        try:
            if isinstance(op, RunCall):
                value = await client.run(op.call, connector=op.connector)
            else:
                value = await asyncio.to_thread(op.function)
        except Exception as exc:
            error = exc
