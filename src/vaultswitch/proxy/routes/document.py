"""Route documents as text: YAML (what ``vgs get routes`` prints; JSON is YAML too) in and out.

``dump_yaml(parse_document(load(text)))`` reads back to the same model, and
``vaultswitch routes apply`` takes what ``vaultswitch routes get`` prints unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from vaultswitch.proxy.routes.errors import RouteError
from vaultswitch.proxy.routes.model import RouteDocument
from vaultswitch.proxy.routes.parse import parse_document

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def load_text(text: str) -> Any:
    """The data of a YAML or JSON document; RouteError (place ``document``) if unreadable."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise RouteError("document", f"larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        if text.lstrip().startswith(("{", "[")):
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise RouteError(
            "document", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise RouteError("document", f"not valid YAML: {exc.problem}{where}") from None
    except (yaml.YAMLError, RecursionError, ValueError):
        raise RouteError("document", "not valid YAML") from None


def load_document(text: str) -> RouteDocument:
    """Parse a route document (``version: 1`` + ``data:``) from YAML or JSON text."""
    return parse_document(load_text(text))


class _Dumper(yaml.SafeDumper):
    """Block style; lists indented under their key (as ``vgs get routes`` prints them)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


# Line breaks YAML knows beyond \n and \r: PyYAML writes them raw in plain and single-quoted
# scalars (with allow_unicode), where a reader folds them into spaces. Double quotes escape them.
_YAML_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(ch in value for ch in _YAML_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: RouteDocument) -> str:
    """The document as YAML that parses back to the same model."""
    return yaml.dump(
        document.to_wire(),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
