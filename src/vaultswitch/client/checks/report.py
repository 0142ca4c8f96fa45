"""The result values of a connection test: one :class:`Check` per step, in a :class:`CheckReport`.

Their JSON form (:meth:`CheckReport.to_dict`) is what ``vaultswitch doctor --json`` prints
and what the orchestrator answers as ``verification``::

    {"ok": bool, "checks": [{"name", "ok", "code", "message", "hint", "ms"}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: ``code`` of a check that passed.
PASSED = "ok"
#: ``code`` of a check that did not run because a check it needs failed.
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a step found: the :class:`Check` without its name and timing."""

    ok: bool
    code: str
    message: str
    hint: str = ""

    @classmethod
    def passed(cls, message: str) -> Outcome:
        return cls(True, PASSED, message)

    @classmethod
    def failed(cls, code: str, message: str, hint: str) -> Outcome:
        return cls(False, code, message, hint)


@dataclass(frozen=True, slots=True)
class Check:
    """One step of the test. ``code`` is ``ok``, ``skipped`` or an error code that
    ``vaultswitch explain`` knows; ``hint`` is empty when the check passed (unless the
    message carries a warning, whose fix it then is); ``ms`` is how
    long the step took (0 when skipped)."""

    name: str
    ok: bool
    code: str
    message: str
    hint: str
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "ms": self.ms,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every check in the order it ran; ``ok`` only when every check passed."""

    ok: bool
    checks: tuple[Check, ...]

    @classmethod
    def of(cls, checks: tuple[Check, ...]) -> CheckReport:
        return cls(bool(checks) and all(check.ok for check in checks), checks)

    def get(self, name: str) -> Check | None:
        """The check of that name, if it is in the report."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def first_failure(self) -> Check | None:
        """The first check that failed (not merely skipped): the one to fix first."""
        return next(
            (check for check in self.checks if not check.ok and check.code != SKIPPED), None
        )

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [check.to_dict() for check in self.checks]}
