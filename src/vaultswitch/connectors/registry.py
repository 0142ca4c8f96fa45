"""Connector registry: vault provider names → connector factories.

A new vault provider is one new module that calls :func:`register_connector` at import
time; built-in modules are listed in ``BUILTIN_MODULES`` and imported on first use.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from vaultswitch.connectors.base import VaultConnector
from vaultswitch.domain.errors import InvalidRequest, VaultswitchError

ConnectorFactory = Callable[..., VaultConnector]

#: Built-in connectors, imported lazily by name.
BUILTIN_MODULES: dict[str, str] = {"vgs": "vaultswitch.connectors.vgs"}

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_factories: dict[str, ConnectorFactory] = {}


def _normalise(name: str) -> str:
    return name.strip().lower() if isinstance(name, str) else ""


def register_connector(name: str, factory: ConnectorFactory, *, replace: bool = False) -> None:
    """Make ``factory(**config)`` the connector for ``name`` (lower-case identifier)."""
    key = _normalise(name)
    if not _NAME.fullmatch(key):
        raise ValueError(f"connector name {name!r} must be a lower-case identifier")
    existing = _factories.get(key)
    if existing is not None and existing is not factory and not replace:
        raise ValueError(f"connector {key!r} is already registered")
    _factories[key] = factory


def connector_names() -> list[str]:
    """Every connector name that :func:`get_connector` accepts, sorted."""
    return sorted(set(_factories) | set(BUILTIN_MODULES))


def get_connector(name: str, **config: Any) -> VaultConnector:
    """A connector instance for ``name``; unknown names raise InvalidRequest listing the
    known ones, bad options raise the connector's own InvalidRequest."""
    key = _normalise(name)
    if key not in _factories and key in BUILTIN_MODULES:
        importlib.import_module(BUILTIN_MODULES[key])
    factory = _factories.get(key)
    if factory is None:
        if key in BUILTIN_MODULES:
            raise VaultswitchError(
                f"built-in connector module {BUILTIN_MODULES[key]} did not register {key!r}"
            )
        raise InvalidRequest(
            f"unknown vault connector {name!r}; known connectors: {', '.join(connector_names())}",
            field="connector_name",
            hint="Use one of the known connector names (connector_name of the vault_processor "
            "connector account).",
        )
    return factory(**config)
