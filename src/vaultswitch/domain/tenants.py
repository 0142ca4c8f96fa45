"""Tenant routing: the vault id comes from the Host header or from a path prefix.

Shared by the vault API and the inbound proxy (both address a vault the same way:
``tntxxxxxxxx.<anything>`` hosts and ``/tntxxxxxxxx/...`` path prefixes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VAULT_ID_RE = re.compile(r"^tnt[a-z0-9]{8}$")
_HOST_RE = re.compile(r"^(tnt[a-z0-9]{8})\.")
_PATH_RE = re.compile(r"^/(tnt[a-z0-9]{8})(/.*)?$")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: the vault named by host or path (if any) and the remaining path."""

    vault_id: str | None
    path: str
    via: str | None  # "host", "path" or None


def resolve_tenant(host: str | None, path: str) -> Target:
    """Split ``tntxxxxxxxx.<anything>`` hosts and ``/tntxxxxxxxx/...`` paths.

    A path prefix wins over the host when both are present (the path is more
    specific; e.g. a base URL template ``http://127.0.0.1:PORT/{{vault_id}}/``).
    """
    m = _PATH_RE.match(path)
    if m is not None:
        return Target(vault_id=m.group(1), path=m.group(2) or "/", via="path")
    if host:
        hm = _HOST_RE.match(host.lower())
        if hm is not None:
            return Target(vault_id=hm.group(1), path=path, via="host")
    return Target(vault_id=None, path=path, via=None)


def is_vault_id(value: str) -> bool:
    """True for ``tnt`` + 8 lowercase alphanumerics."""
    return VAULT_ID_RE.match(value) is not None
