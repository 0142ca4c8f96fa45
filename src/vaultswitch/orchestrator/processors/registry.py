"""Processor connector registry: ``connector_name`` of a ``payment_processor`` account →
connector class. A new processor is one new module plus a line in ``PROCESSORS``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from vaultswitch.domain.errors import InvalidRequest
from vaultswitch.orchestrator.processors.base import ProcessorConnector
from vaultswitch.orchestrator.processors.http_template import HttpTemplateConnector
from vaultswitch.orchestrator.processors.sandbox import SandboxProcessorConnector


class ProcessorFactory(Protocol):
    def __call__(self, metadata: Mapping[str, Any] | None) -> ProcessorConnector: ...


PROCESSORS: Mapping[str, ProcessorFactory] = {
    "sandbox": SandboxProcessorConnector.from_metadata,
    "http_template": HttpTemplateConnector.from_metadata,
}


def processor_names() -> list[str]:
    """Every ``connector_name`` a payment_processor account may have, sorted."""
    return sorted(PROCESSORS)


def get_processor_connector(
    name: str, metadata: Mapping[str, Any] | None = None
) -> ProcessorConnector:
    """The connector for ``name`` configured from the account's ``metadata``; unknown names
    and bad metadata raise InvalidRequest naming the field."""
    key = name.strip().lower() if isinstance(name, str) else ""
    factory = PROCESSORS.get(key)
    if factory is None:
        raise InvalidRequest(
            f"unknown payment processor {name!r}; known processors: {', '.join(processor_names())}",
            field="connector_name",
            hint='Use connector_name "sandbox" for vaultswitch\'s sandbox processor.',
        )
    return factory(metadata)
