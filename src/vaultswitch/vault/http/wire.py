"""VGS wire format: request body parsing (with item-level errors) and response rendering.

Nothing here ever puts a submitted value into an error message: errors name the
item (``data[3].format``) and what is wrong with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response
from starlette.types import Receive

from vaultswitch.domain.redaction import scrub_text
from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    VaultApiError,
)
from vaultswitch.vault.core.formats import (
    check_format,
    is_alias_shaped,
    validate_value_for_format,
    value_fits,
)
from vaultswitch.vault.core.models import (
    MAX_CLASSIFIER_LENGTH,
    MAX_CLASSIFIERS,
    STORAGES,
    AliasReference,
    CreateItem,
    NewValue,
    Record,
    iso_utc,
)

JSON_MEDIA_TYPE = "application/json"
CLASSIFIER_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{{0,{MAX_CLASSIFIER_LENGTH - 1}}}$")
MAX_ALIAS_LENGTH = 128
MAX_IDENTIFIER_LENGTH = 64  # client ids and access-credential usernames (core/store.py)
# JSON may spell a lone UTF-16 surrogate ("\\ud800"), and body bytes are decoded with
# "surrogatepass": such a string cannot be encoded (stored, fingerprinted, rendered) as UTF-8.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(payload: Any) -> bytes:
    """Compact JSON bytes (UTF-8)."""
    return _DUMPS(payload).encode("utf-8")


class JSONBody(Response):
    """A JSON response rendered with the compact encoder above."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return dumps(content)


def is_text(value: str) -> bool:
    """True unless value holds a lone surrogate (the one thing UTF-8 cannot encode)."""
    return value.isascii() or _SURROGATE_RE.search(value) is None


def can_be_identifier(text: str) -> bool:
    """True if text could equal a stored client id or username (a 64-character key column).

    Anything else matches no row, so it is refused before the query: PostgreSQL cannot hold
    NUL in text, and a lone surrogate cannot be encoded.
    """
    return len(text) <= MAX_IDENTIFIER_LENGTH and "\x00" not in text and is_text(text)


def _encodable(text: str) -> str:
    """text with any lone surrogate replaced by U+FFFD, so that it renders as UTF-8."""
    return text if is_text(text) else _SURROGATE_RE.sub("\ufffd", text)


def bad_request(detail: str, code: str = "INVALID_REQUEST") -> BadRequest:
    """A 400 with a specific code."""
    return BadRequest(detail, code=code)


def error_payload(
    *, status: int, title: str, code: str, detail: str, href: str, trace_id: str
) -> dict[str, Any]:
    """The VGS error body: the union of the v1/v2 spec fields and Hyperswitch's parser.

    ``detail`` and ``href`` may quote what the client sent (an alias from the path): card
    numbers in them are masked, so a PAN sent where an alias belongs is never echoed.
    """
    return {
        "errors": [
            {
                "status": status,
                "title": title,
                "code": code,
                "detail": scrub_text(_encodable(detail)),
                "href": scrub_text(_encodable(href)),
            }
        ],
        "trace_id": trace_id,
    }


def render_error(exc: VaultApiError, *, href: str, trace_id: str) -> Response:
    """Render a VaultApiError as a VGS-shaped JSON error response."""
    body = error_payload(
        status=exc.status,
        title=exc.title,
        code=exc.code,
        detail=exc.detail,
        href=href,
        trace_id=trace_id,
    )
    headers = dict(getattr(exc, "headers", None) or {})
    return JSONBody(body, status_code=exc.status, headers=headers)


def internal_error(*, href: str, trace_id: str) -> Response:
    """A 500 in the VGS shape that reveals nothing about the cause."""
    body = error_payload(
        status=500,
        title="Internal server error",
        code="INTERNAL_ERROR",
        detail=f"Unexpected error; quote trace id {trace_id} when reporting it.",
        href=href,
        trace_id=trace_id,
    )
    return JSONBody(body, status_code=500)


# --- body reading --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(raw: bytes) -> Any:
    """``json.loads(raw, parse_constant=_reject_constant)`` with one decoder for all calls."""
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def check_json_content_type(content_type: str | None) -> None:
    """415 unless the Content-Type is application/json (parameters such as charset allowed)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA_TYPE:
        shown = media or "none"
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (got {shown[:60]})",
        )


async def read_body(receive: Receive, content_length: str | None, max_bytes: int) -> bytes:
    """Read the request body, failing with 413 as soon as it exceeds max_bytes."""
    too_large = f"Request body exceeds the limit of {max_bytes} bytes"
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise bad_request("Content-Length header is not a number") from None
        if declared > max_bytes:
            raise PayloadTooLarge(too_large)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise bad_request("client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if total > max_bytes:
                raise PayloadTooLarge(too_large)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Decode a JSON document; 400 with the position (never the content) when malformed."""
    if not raw.strip():
        raise bad_request("request body is empty; expected a JSON object", "MALFORMED_JSON")
    try:
        return _loads(raw)
    except UnicodeDecodeError:
        raise bad_request("request body is not valid UTF-8", "MALFORMED_JSON") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "MALFORMED_JSON"
        ) from None
    except (ValueError, RecursionError):
        raise bad_request(
            "malformed JSON: unsupported number or nesting", "MALFORMED_JSON"
        ) from None


# --- field helpers ---------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be a JSON object, got {_type_name(value)}")
    return value


def _list(value: Any, where: str, *, max_items: int) -> list[Any]:
    if not isinstance(value, list):
        raise bad_request(f"{where} must be an array, got {_type_name(value)}")
    if not value:
        raise bad_request(f"{where} must not be empty")
    if len(value) > max_items:
        raise bad_request(f"Too many values (limit: {max_items})", "TOO_MANY_VALUES")
    return value


def _no_unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    if obj.keys() <= allowed:
        return
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        names = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise bad_request(f"{where}: unknown field(s) {names}", "UNKNOWN_FIELD")


def parse_storage(value: Any, where: str = "storage") -> str:
    """PERSISTENT (default when absent) or VOLATILE."""
    if value is None:
        return "PERSISTENT"
    if not isinstance(value, str) or value not in STORAGES:
        shown = value[:40] if isinstance(value, str) else _type_name(value)
        raise bad_request(
            f"{where} must be one of {', '.join(STORAGES)} (got {shown!r})", "INVALID_STORAGE"
        )
    return value


def parse_format(value: Any, where: str) -> str:
    """One of the alias formats of vgs-api.md section 5."""
    if not isinstance(value, str):
        raise bad_request(f"{where} must be a string, got {_type_name(value)}", "INVALID_FORMAT")
    check_format(value, where)
    return value


def parse_alias(value: Any, where: str) -> str:
    """An alias-shaped string (the only user string we ever echo back)."""
    if not isinstance(value, str):
        raise bad_request(f"{where} must be a string, got {_type_name(value)}", "INVALID_ALIAS")
    if not value or len(value) > MAX_ALIAS_LENGTH or not is_alias_shaped(value):
        raise bad_request(f"{where} is not a valid alias", "INVALID_ALIAS")
    return value


def parse_classifiers(value: Any, where: str) -> tuple[str, ...]:
    """A list of short tag strings (letters, digits, _ . : / -)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(f"{where} must be an array of strings, got {_type_name(value)}")
    if len(value) > MAX_CLASSIFIERS:
        raise bad_request(f"{where}: at most {MAX_CLASSIFIERS} classifiers")
    out: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            raise bad_request(f"{where}[{i}] must be a string, got {_type_name(tag)}")
        if not CLASSIFIER_RE.match(tag):
            raise bad_request(
                f"{where}[{i}] must be 1-{MAX_CLASSIFIER_LENGTH} characters of letters, digits, "
                "'_', '.', ':', '/', '-'",
                "INVALID_CLASSIFIER",
            )
        if tag not in out:
            out.append(tag)
    return tuple(out)


_NEW_FIELDS = frozenset({"value", "format", "classifiers", "storage"})
_REF_FIELDS = frozenset({"alias", "format", "storage", "classifiers"})
_DATA_ONLY = frozenset({"data"})


def _valid_new_value(item: Any) -> NewValue | None:
    """A new-value item that passes every check, built directly; None for anything else.

    Anything this returns None for goes through the item checks below, which accept
    exactly the same items (and name the field that is wrong in the others).
    """
    if not isinstance(item, dict) or not item.keys() <= _NEW_FIELDS:
        return None
    value = item.get("value")
    fmt = item.get("format")
    if not isinstance(value, str) or not value or not isinstance(fmt, str):
        return None
    if not is_text(value) or not value_fits(fmt, value):
        return None
    storage = item.get("storage")
    if storage is None:
        storage = "PERSISTENT"
    elif not isinstance(storage, str) or storage not in STORAGES:
        return None
    tags = item.get("classifiers")
    if tags is None:
        classifiers: tuple[str, ...] = ()
    elif (
        isinstance(tags, list)
        and len(tags) <= MAX_CLASSIFIERS
        and all(isinstance(tag, str) and CLASSIFIER_RE.match(tag) for tag in tags)
    ):
        classifiers = tuple(dict.fromkeys(tags))
    else:
        return None
    return NewValue(value=Secret(value), format=fmt, classifiers=classifiers, storage=storage)


def parse_create(body: Any, *, max_items: int) -> list[CreateItem]:
    """Body of POST /aliases: new values and/or references to existing aliases."""
    obj = _object(body, "request body")
    _no_unknown(obj, _DATA_ONLY, "request body")
    if "data" not in obj:
        raise bad_request("data is required")
    items = _list(obj["data"], "data", max_items=max_items)
    result: list[CreateItem] = []
    referenced: set[str] = set()
    for i, raw in enumerate(items):
        valid = _valid_new_value(raw)
        if valid is not None:
            result.append(valid)
            continue
        where = f"data[{i}]"
        item = _object(raw, where)
        if "value" in item and "alias" in item:
            raise bad_request(f"{where}: give either value or alias, not both")
        if "format" not in item:
            raise bad_request(f"{where}.format is required", "INVALID_FORMAT")
        fmt = parse_format(item["format"], f"{where}.format")
        storage = parse_storage(item.get("storage"), f"{where}.storage")
        if "alias" in item:
            _no_unknown(item, _REF_FIELDS, where)
            alias = parse_alias(item["alias"], f"{where}.alias")
            if item.get("classifiers"):
                raise bad_request(f"{where}.classifiers is not allowed with an alias reference")
            if alias in referenced:
                raise bad_request(
                    f"{where}.alias is referenced more than once", "DUPLICATE_ALIAS_REFERENCE"
                )
            referenced.add(alias)
            result.append(AliasReference(alias=alias, format=fmt, storage=storage))
            continue
        _no_unknown(item, _NEW_FIELDS, where)
        if "value" not in item:
            raise bad_request(f"{where}: value (or alias) is required", "INVALID_VALUE")
        value = item["value"]
        if not isinstance(value, str):
            raise bad_request(
                f"{where}.value must be a string, got {_type_name(value)}", "INVALID_VALUE"
            )
        if not value:
            raise bad_request(f"{where}.value must not be empty", "INVALID_VALUE")
        if not is_text(value):
            raise bad_request(
                f"{where}.value is not valid Unicode text: it holds a lone surrogate "
                "(U+D800 to U+DFFF, as a JSON escape or as bytes); send UTF-8 text",
                "INVALID_VALUE",
            )
        validate_value_for_format(fmt, value, f"{where}.value")
        classifiers = parse_classifiers(item.get("classifiers"), f"{where}.classifiers")
        result.append(
            NewValue(value=Secret(value), format=fmt, classifiers=classifiers, storage=storage)
        )
    return result


def parse_update(body: Any) -> tuple[str, ...]:
    """Body of PUT /aliases/{alias}: {"data": {"classifiers": [...]}}."""
    obj = _object(body, "request body")
    _no_unknown(obj, _DATA_ONLY, "request body")
    if "data" not in obj:
        raise bad_request("data is required")
    data = _object(obj["data"], "data")
    _no_unknown(data, frozenset({"classifiers"}), "data")
    if "classifiers" not in data or data["classifiers"] is None:
        raise bad_request("data.classifiers is required")
    return parse_classifiers(data["classifiers"], "data.classifiers")


def parse_batch_delete(body: Any, *, max_items: int) -> tuple[list[str], str | None]:
    """Body of POST /aliases/delete: {"data": [alias, ...], "storage"?}."""
    obj = _object(body, "request body")
    _no_unknown(obj, frozenset({"data", "storage"}), "request body")
    if "data" not in obj:
        raise bad_request("data is required")
    items = _list(obj["data"], "data", max_items=max_items)
    aliases: list[str] = []
    for i, raw in enumerate(items):
        alias = parse_alias(raw, f"data[{i}]")
        if alias not in aliases:
            aliases.append(alias)
    storage = parse_storage(obj["storage"], "storage") if obj.get("storage") is not None else None
    return aliases, storage


def parse_alias_query(raw: str | None, *, max_items: int) -> list[str]:
    """The comma-separated alias list of GET /aliases (query `aliases` or legacy `q`)."""
    if raw is None or not raw.strip():
        raise bad_request("query parameter aliases is required (comma-separated aliases)")
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) > max_items:
        raise bad_request(f"Too many values (limit: {max_items})", "TOO_MANY_VALUES")
    aliases: list[str] = []
    for i, part in enumerate(parts):
        alias = parse_alias(part, f"aliases[{i}]")
        if alias not in aliases:
            aliases.append(alias)
    return aliases


def records_payload(records: Sequence[Any]) -> dict[str, Any]:
    """{"data": [RevealedData, ...]} from Records."""
    return {"data": [r.to_wire() for r in records]}


_str = json.encoder.encode_basestring  # what the compact encoder uses (ensure_ascii=False)


def _record_json(r: Record) -> str:
    classifiers = ",".join(map(_str, r.classifiers))
    aliases = ",".join(f'{{"alias":{_str(a.alias)},"format":{_str(a.format)}}}' for a in r.aliases)
    created = iso_utc(r.created_at)
    value = "" if r.value is None else f'"value":{_str(r.value.reveal())},'
    return (
        f'{{{value}"classifiers":[{classifiers}],'
        f'"aliases":[{aliases}],"created_at":{"null" if created is None else _str(created)},'
        f'"storage":{_str(r.storage)}}}'
    )


def dumps_records(records: Sequence[Record]) -> bytes:
    """The same bytes as ``dumps(records_payload(records))``, without the dicts in between."""
    return ('{"data":[' + ",".join(map(_record_json, records)) + "]}").encode("utf-8")
