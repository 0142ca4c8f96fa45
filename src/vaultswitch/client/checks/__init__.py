"""The connection test of a vault connector account, shared by the orchestrator's activation
and ``verify`` endpoint, ``vaultswitch doctor`` and the control center's "Test connection".

Usage::

    report = check_connection(client, VgsConnector(...), SignatureKey(...))
    report = await check_connection_async(async_client, connector, credentials)
    report.ok, report.to_dict()  # {"ok", "checks": [{"name","ok","code","message","hint","ms"}]}

More checks are more :class:`CheckStep` values: ``checks=(dns, *CONNECTION_CHECKS, scopes)``.
"""

from .connection import (
    CONNECTION_CHECKS,
    TOKEN,
    VAULT,
    check_connection,
    check_connection_async,
    probe_alias,
    target_for,
    token_check,
    vault_check,
)
from .diagnosis import UNREACHABLE, Target, diagnose, failure_kind
from .report import PASSED, SKIPPED, Check, CheckReport, Outcome
from .steps import (
    Blocking,
    CheckContext,
    CheckStep,
    Op,
    RunCall,
    StepRun,
    drive,
    drive_async,
    run_steps,
    validate_steps,
)

__all__ = [
    "CONNECTION_CHECKS",
    "PASSED",
    "SKIPPED",
    "TOKEN",
    "UNREACHABLE",
    "VAULT",
    "Blocking",
    "Check",
    "CheckContext",
    "CheckReport",
    "CheckStep",
    "Op",
    "Outcome",
    "RunCall",
    "StepRun",
    "Target",
    "check_connection",
    "check_connection_async",
    "diagnose",
    "drive",
    "drive_async",
    "failure_kind",
    "probe_alias",
    "run_steps",
    "target_for",
    "token_check",
    "validate_steps",
    "vault_check",
]
