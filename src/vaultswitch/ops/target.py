"""Which orchestrator a command talks to, and with which merchant API key.

Every command that talks to the orchestrator takes ``--orchestrator-url`` and ``--api-key``
(environment ``VAULTSWITCH_ORCHESTRATOR_URL``, ``VAULTSWITCH_API_KEY``); whatever is not given
is read from the ``up.json`` of ``--data-dir`` (default ``./.vaultswitch``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultswitch.domain.secret import Secret
from vaultswitch.up.upfile import UpFileError, read_up_file

URL_ENV = "VAULTSWITCH_ORCHESTRATOR_URL"
API_KEY_ENV = "VAULTSWITCH_API_KEY"


class TargetError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    api_key: Secret
    up: dict[str, Any] = field(default_factory=dict, repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"api-key={self.api_key.reveal()}"}


def resolve_target(url: str | None, api_key: str | None, data_dir: Path) -> Target:
    """Flags > environment > up.json of ``data_dir``."""
    url = url or os.environ.get(URL_ENV)
    api_key = api_key or os.environ.get(API_KEY_ENV)
    up: dict[str, Any] = {}
    if not (url and api_key):
        try:
            up = read_up_file(data_dir)
        except UpFileError as exc:
            raise TargetError(
                f"no orchestrator given and {exc}",
                f"pass --orchestrator-url and --api-key (or set {URL_ENV} and {API_KEY_ENV}), "
                f"or {exc.hint}",
            ) from None
        url = url or up.get("orchestrator_url")
        api_key = api_key or up.get("api_key")
    if not url or not api_key:
        raise TargetError(
            f"{data_dir / 'up.json'} names no orchestrator_url or api_key",
            f"pass --orchestrator-url and --api-key, or run `vaultswitch up --data-dir {data_dir}`",
        )
    return Target(str(url).rstrip("/"), Secret(str(api_key)), up)
