"""The vault's OpenAPI 3 document: `openapi.yaml` (package data) with the configured limits.

The YAML file is the description of the VGS wire protocol as this vault speaks it; only the
limits a deployment can change (`max_items`) are filled in here, so the document a server
serves is the truth for that server.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from vaultswitch.vault.settings import VaultSettings

OPENAPI_PATH = "/openapi.json"
_RESOURCE = "openapi.yaml"


@cache
def _source() -> dict[str, Any]:
    text = files("vaultswitch.vault.http").joinpath(_RESOURCE).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise TypeError(f"{_RESOURCE} does not hold an OpenAPI document")
    return document


def openapi_document(settings: VaultSettings) -> dict[str, Any]:
    """The document as served by a vault with these settings (a fresh copy)."""
    document = copy.deepcopy(_source())
    schemas = document["components"]["schemas"]
    for name in ("CreateAliasesRequest", "BatchAliasesRequest"):
        schemas[name]["properties"]["data"]["maxItems"] = settings.max_items
    return document
