"""The filter pipeline: route entries applied to a request or a response, sans-IO.

One pipeline under both proxies (inbound: REDACT on the way in; outbound: ENRICH on the way
out): values in (the entries that apply, a :class:`Message`, an :class:`AliasBackend`),
values out (a :class:`FilterResult`). See ``docs/proxy.md``, "How route entries transform
messages".

- :class:`FilterPlan` / :meth:`FilterPlan.select` / :meth:`Selection.finish`: the pure steps;
- :func:`apply_filters` (async) and :func:`apply_filters_sync`: the drivers that make the
  backend calls in between;
- :class:`AliasBackend` / :class:`SyncAliasBackend`: the seam to the aliases, with
  :class:`MemoryAliasBackend` (tests) and :class:`VaultCoreBackend` (our vault, in-process,
  in ``vaultswitch.proxy.filters.vault_backend``);
- :class:`FilterError` and its kinds: what the proxy answers when a message cannot be
  filtered (``status``, ``code``, ``detail``, ``hint``).
"""

from vaultswitch.proxy.filters.backend import (
    AliasBackend,
    AliasBackendError,
    AsyncBackend,
    RedactItem,
    Runner,
    Storage,
    SyncAliasBackend,
    ValueRefused,
)
from vaultswitch.proxy.filters.errors import (
    AliasNotFound,
    BodyTooLarge,
    FilterError,
    InvalidContentEncoding,
    InvalidHeaderValue,
    InvalidJsonBody,
    TooManyValues,
    UnsupportedContentEncoding,
    ValueNotRedactable,
)
from vaultswitch.proxy.filters.memory import MemoryAliasBackend
from vaultswitch.proxy.filters.message import Headers, Message, with_body
from vaultswitch.proxy.filters.pipeline import (
    MAX_DECODED_BODY,
    MAX_VALUES,
    FilterPlan,
    FilterResult,
    Selection,
    apply_filters,
    apply_filters_sync,
)

__all__ = [
    "MAX_DECODED_BODY",
    "MAX_VALUES",
    "AliasBackend",
    "AliasBackendError",
    "AliasNotFound",
    "AsyncBackend",
    "BodyTooLarge",
    "FilterError",
    "FilterPlan",
    "FilterResult",
    "Headers",
    "InvalidContentEncoding",
    "InvalidHeaderValue",
    "InvalidJsonBody",
    "MemoryAliasBackend",
    "Message",
    "RedactItem",
    "Runner",
    "Selection",
    "Storage",
    "SyncAliasBackend",
    "TooManyValues",
    "UnsupportedContentEncoding",
    "ValueNotRedactable",
    "ValueRefused",
    "apply_filters",
    "apply_filters_sync",
    "with_body",
]
