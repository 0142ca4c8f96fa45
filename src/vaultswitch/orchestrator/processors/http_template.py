"""The ``http_template`` processor connector: a processor described by a request template
(destination URL, method, headers, a JSON or form-urlencoded body with ``{{$field}}``
placeholders) and a response mapping, instead of code (docs/processors.md).

The connector fills the template from a mapping placeholder name → :class:`Secret`, so it
serves both payment paths: with revealed card values (detokenize, then authorize) and with
vault aliases (the outbound proxy reveals them in transit). :meth:`HttpTemplateConnector.
build_authorize` takes an :class:`AuthorizeData` like every processor connector;
:meth:`~HttpTemplateConnector.build_request` takes the values directly.

Each value is escaped for the place of its placeholder, and only the value: the template's
own characters (``{``, ``}``, ``$``, ``&``, ``=`` ...) are copied byte for byte, and a value
is never scanned for placeholders again.

- JSON body, inside a string literal: JSON string escaping.
- JSON body, standing as a bare value (``"amount": {{$amount}}``): an integer for the
  numeric fields (``amount``, ``card_exp_month``, ``card_exp_year``) when the value is
  one, otherwise a JSON string; ``null`` when there is no value (an optional CVC, holder
  name).
- form body and URL query: percent-encoding of every byte but ``A-Za-z0-9_.-~``.
- headers: the value as is; a value that is not one line of printable ASCII is refused,
  a header that is empty once filled is left out.

Card fields and the API key may not appear in the URL (URLs end up in logs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from vaultswitch.connectors.base import Credentials, HeaderKey, HttpResponse
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import InvalidRequest, VaultswitchError
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import (
    AuthorizeData,
    AuthorizeResult,
    AuthorizeStatus,
    HttpRequest,
    ProcessorConnector,
    ProcessorFlow,
)
from vaultswitch.orchestrator.processors.errors import (
    MalformedProcessorResponse,
    ProcessorAuthenticationFailed,
    ProcessorRateLimited,
    ProcessorRejectedRequest,
    ProcessorUnavailable,
)
from vaultswitch.orchestrator.processors.sandbox import normalise_base_url

__all__ = [
    "CARD_FIELDS",
    "NUMERIC_FIELDS",
    "PLACEHOLDERS",
    "BodyType",
    "HttpTemplateConnector",
    "ResponseMapping",
    "Template",
    "authorize_values",
    "card_values",
    "load_shipped_template",
    "parse_template",
    "shipped_template_names",
]

CARD_FIELDS = frozenset(
    {"card_number", "card_exp_month", "card_exp_year", "card_cvc", "card_holder_name"}
)
PAYMENT_FIELDS = frozenset({"amount", "currency", "reference", "idempotency_key"})
PLACEHOLDERS = CARD_FIELDS | PAYMENT_FIELDS | {"api_key"}
NUMERIC_FIELDS = frozenset({"amount", "card_exp_month", "card_exp_year"})
#: the placeholders a URL query may hold: no card field, no credential
URL_FIELDS = PAYMENT_FIELDS

_PLACEHOLDER = re.compile(r"\{\{\$([A-Za-z0-9_]+)\}\}")
_OPENER = "{{$"
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_OUTCOMES = {status.value: status for status in AuthorizeStatus}
_MAX_TEXT = 300
_TEMPLATE_HINT = (
    "See docs/processors.md (HTTP template processors) for the template format; "
    f"placeholders are {', '.join('{{$' + p + '}}' for p in sorted(PLACEHOLDERS))}."
)
_TEMPLATES_PACKAGE = "vaultswitch.orchestrator.processors"


class BodyType(StrEnum):
    JSON = "json"
    FORM = "form"


_CONTENT_TYPES = {
    BodyType.JSON: "application/json",
    BodyType.FORM: "application/x-www-form-urlencoded",
}


def _invalid(message: str, where: str) -> InvalidRequest:
    return InvalidRequest(message, field=where, hint=_TEMPLATE_HINT)


# --- segments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """A placeholder in a template; ``bare``: it stands as a JSON value of its own."""

    name: str
    bare: bool = False


Segment = str | Slot


def _split(text: str, where: str, allowed: frozenset[str] = PLACEHOLDERS) -> tuple[Segment, ...]:
    """Literal text and placeholders; a ``{{$`` that is no known placeholder is an error."""
    segments: list[Segment] = []
    position = 0
    while (start := text.find(_OPENER, position)) != -1:
        match = _PLACEHOLDER.match(text, start)
        if match is None:
            raise _invalid(
                f"{where} has a malformed placeholder at character {start} "
                "(write {{$name}} with letters, digits or '_')",
                where,
            )
        _check_name(match.group(1), where, allowed)
        if start > position:
            segments.append(text[position:start])
        segments.append(Slot(match.group(1)))
        position = match.end()
    if position < len(text):
        segments.append(text[position:])
    return tuple(segments)


def _check_name(name: str, where: str, allowed: frozenset[str]) -> None:
    if name in allowed:
        return
    if name in PLACEHOLDERS:
        raise _invalid(
            f"{where} may not hold {{{{${name}}}}}: card fields and the API key stay out of "
            f"URLs, which end up in logs (allowed here: {', '.join(sorted(allowed))})",
            where,
        )
    raise _invalid(
        f"{where} has an unknown placeholder {{{{${name}}}}}; known: "
        f"{', '.join(sorted(PLACEHOLDERS))}",
        where,
    )


def _split_json(text: str, where: str) -> tuple[Segment, ...]:
    """Like :func:`_split`, marking each placeholder outside a JSON string literal as bare;
    the template must be valid JSON once every placeholder stands for a value."""
    segments: list[Segment] = []
    literal: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(text):
        char = text[position]
        if text.startswith(_OPENER, position):
            match = _PLACEHOLDER.match(text, position)
            if match is None:
                raise _invalid(
                    f"{where} has a malformed placeholder at character {position} "
                    "(write {{$name}} with letters, digits or '_')",
                    where,
                )
            _check_name(match.group(1), where, PLACEHOLDERS)
            if literal:
                segments.append("".join(literal))
                literal = []
            segments.append(Slot(match.group(1), bare=not in_string))
            position = match.end()
            escaped = False
            continue
        literal.append(char)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        position += 1
    if literal:
        segments.append("".join(literal))
    probe = "".join(s if isinstance(s, str) else ("0" if s.bare else "x") for s in segments)
    try:
        json.loads(probe)
    except json.JSONDecodeError as exc:
        raise _invalid(
            f"{where} is not valid JSON with its placeholders filled in "
            f"({exc.msg} at line {exc.lineno} column {exc.colno})",
            where,
        ) from None
    return tuple(segments)


def _names(segments: tuple[Segment, ...]) -> Iterator[str]:
    return (s.name for s in segments if isinstance(s, Slot))


# --- filling -----------------------------------------------------------------------------------


def _value(values: Mapping[str, Secret | None], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, Secret):
        raise TypeError(f"the value of placeholder {name} must be a Secret")
    text = value.reveal()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"the value for {{{{${name}}}}} is not valid Unicode text (a lone surrogate)",
            field=name,
            hint="Pass card and payment values as text that encodes as UTF-8.",
        ) from None
    return text


def _fill_json(segments: tuple[Segment, ...], values: Mapping[str, Secret | None]) -> str:
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
            continue
        value = _value(values, segment.name)
        if not segment.bare:
            out.append("" if value is None else json.dumps(value)[1:-1])
        elif value is None:
            out.append("null")
        elif segment.name in NUMERIC_FIELDS and _INTEGER.fullmatch(value):
            out.append(value)
        else:
            out.append(json.dumps(value))
    return "".join(out)


def _fill_encoded(segments: tuple[Segment, ...], values: Mapping[str, Secret | None]) -> str:
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
        else:
            value = _value(values, segment.name)
            out.append("" if value is None else quote(value, safe=""))
    return "".join(out)


def _fill_header(segments: tuple[Segment, ...], values: Mapping[str, Secret | None]) -> str:
    return "".join(s if isinstance(s, str) else (_value(values, s.name) or "") for s in segments)


# --- response mapping ----------------------------------------------------------------------------


def _path(value: Any, where: str, *, required: bool = False) -> tuple[str, ...] | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{where} must be a dotted path such as error.code", where)
    parts = tuple(value.strip().split("."))
    if any(not part for part in parts):
        raise _invalid(f"{where} has an empty segment: {value!r}", where)
    return parts


def _lookup(document: Any, path: tuple[str, ...] | None) -> Any:
    if path is None:
        return None
    for part in path:
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def _text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


@dataclass(frozen=True, slots=True)
class ResponseMapping:
    """Where the outcome is in the processor's JSON answer (dotted paths) and what its
    status values mean. ``decline_http_statuses``: answers with these HTTP statuses are
    declines (a Stripe-style 402), read with the decline paths."""

    status: tuple[str, ...]
    statuses: Mapping[str, AuthorizeStatus]
    reference: tuple[str, ...] | None = None
    decline_code: tuple[str, ...] | None = None
    decline_message: tuple[str, ...] | None = None
    error_code: tuple[str, ...] | None = None
    error_message: tuple[str, ...] | None = None
    decline_http_statuses: frozenset[int] = frozenset()

    def _malformed(self, problem: str, response: HttpResponse) -> MalformedProcessorResponse:
        return MalformedProcessorResponse(
            f"the processor's answer (HTTP {response.status}) {problem}",
            upstream_status=response.status,
            trace_id=_text(response.headers.get("x-request-id"), 128),
            hint="Check metadata.template.url and metadata.template.response of the processor "
            "account against the processor's API.",
        )

    def _document(self, response: HttpResponse) -> Any:
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def parse(self, response: HttpResponse) -> AuthorizeResult:
        if response.status in self.decline_http_statuses:
            document = self._document(response)
            return AuthorizeResult(
                AuthorizeStatus.FAILED,
                _text(_lookup(document, self.reference), 255),
                _text(_lookup(document, self.decline_code), 64) or "card_declined",
                _text(_lookup(document, self.decline_message)),
            )
        if not 200 <= response.status < 300:
            raise self._error(response)
        document = self._document(response)
        if not isinstance(document, dict):
            raise self._malformed(f"is not a JSON object ({len(response.body)} bytes)", response)
        raw_status = _text(_lookup(document, self.status), 64)
        status = self.statuses.get(raw_status) if raw_status is not None else None
        if status is None:
            known = ", ".join(sorted(self.statuses))
            raise self._malformed(
                f"has no status at {'.'.join(self.status)} that the template maps ({known})",
                response,
            )
        reference = _text(_lookup(document, self.reference), 255)
        if self.reference is not None and reference is None:
            raise self._malformed(f"has no {'.'.join(self.reference)}", response)
        if status is not AuthorizeStatus.FAILED:
            return AuthorizeResult(status, reference)
        code = _text(_lookup(document, self.decline_code), 64) or raw_status
        return AuthorizeResult(
            status, reference, code, _text(_lookup(document, self.decline_message))
        )

    def _error(self, response: HttpResponse) -> VaultswitchError:
        document = self._document(response)
        status = response.status
        code = _text(_lookup(document, self.error_code), 64)
        message = _text(_lookup(document, self.error_message))
        detail = f": {message}" if message else ""
        common: dict[str, Any] = {
            "upstream_status": status,
            "upstream_code": code,
            "trace_id": _text(response.headers.get("x-request-id"), 128),
        }
        if status in (401, 403):
            return ProcessorAuthenticationFailed(
                f"the processor rejected the API key (HTTP {status}){detail}", **common
            )
        if status == 429:
            return ProcessorRateLimited(
                f"the processor is rate limiting (HTTP 429){detail}", **common
            )
        if status >= 500:
            return ProcessorUnavailable(
                f"the processor failed to authorize the payment (HTTP {status}); the outcome "
                "is unknown until a retry with the same Idempotency-Key",
                **common,
            )
        if 400 <= status < 500:
            return ProcessorRejectedRequest(
                f"the processor rejected the request (HTTP {status}){detail}", **common
            )
        return self._malformed("is not a 2xx, 4xx or 5xx answer", response)


def _parse_response(raw: Any, where: str) -> ResponseMapping:
    if not isinstance(raw, Mapping):
        raise _invalid(f"{where} must be an object with status and statuses", where)
    known = {
        "status",
        "statuses",
        "reference",
        "decline_code",
        "decline_message",
        "error_code",
        "error_message",
        "decline_http_statuses",
    }
    for key in raw:
        if key not in known:
            raise _invalid(f"{where}.{key} is not a response field", f"{where}.{key}")
    statuses_raw = raw.get("statuses")
    if not isinstance(statuses_raw, Mapping) or not statuses_raw:
        raise _invalid(
            f"{where}.statuses must map the processor's status values to succeeded, failed "
            "or processing",
            f"{where}.statuses",
        )
    statuses: dict[str, AuthorizeStatus] = {}
    for key, target in statuses_raw.items():
        outcome = _OUTCOMES.get(target) if isinstance(target, str) else None
        if outcome is None:
            raise _invalid(
                f"{where}.statuses.{key} must be succeeded, failed or processing",
                f"{where}.statuses.{key}",
            )
        statuses[str(key)] = outcome
    http_statuses = raw.get("decline_http_statuses", [])
    if not isinstance(http_statuses, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 300 <= s <= 599 for s in http_statuses
    ):
        raise _invalid(
            f"{where}.decline_http_statuses must be a list of HTTP statuses 300-599",
            f"{where}.decline_http_statuses",
        )
    return ResponseMapping(
        status=_path(raw.get("status"), f"{where}.status", required=True) or (),
        statuses=statuses,
        reference=_path(raw.get("reference"), f"{where}.reference"),
        decline_code=_path(raw.get("decline_code"), f"{where}.decline_code"),
        decline_message=_path(raw.get("decline_message"), f"{where}.decline_message"),
        error_code=_path(raw.get("error_code"), f"{where}.error_code"),
        error_message=_path(raw.get("error_message"), f"{where}.error_message"),
        decline_http_statuses=frozenset(http_statuses),
    )


# --- the template ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilledRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed, validated request template (build with :func:`parse_template`)."""

    name: str
    method: str
    url_base: str
    url_query: tuple[Segment, ...]
    headers: tuple[tuple[str, tuple[Segment, ...]], ...]
    body_type: BodyType
    body: tuple[Segment, ...]
    response: ResponseMapping
    description: str = ""

    @property
    def placeholders(self) -> frozenset[str]:
        """Every placeholder the template uses."""
        names = set(_names(self.url_query)) | set(_names(self.body))
        for _, segments in self.headers:
            names.update(_names(segments))
        return frozenset(names)

    @property
    def is_relative(self) -> bool:
        return not urlsplit(self.url_base).scheme

    def fill(
        self, values: Mapping[str, Secret | None], base_url: str | None = None
    ) -> FilledRequest:
        """The request with every placeholder replaced by its escaped value (a missing
        value fills as empty, or ``null`` for a bare JSON value)."""
        url = self.url_base
        if self.is_relative:
            if base_url is None:
                raise _invalid(
                    f"template {self.name} has a relative url: metadata.base_url is required",
                    "metadata.base_url",
                )
            url = normalise_base_url(base_url) + url.lstrip("/")
        if self.url_query:
            url += "?" + _fill_encoded(self.url_query, values)
        headers: dict[str, str] = {}
        for name, segments in self.headers:
            value = _fill_header(segments, values)
            if not _HEADER_VALUE.fullmatch(value):
                raise InvalidRequest(
                    f"the value for header {name} holds a control or non-ASCII character",
                    field=f"metadata.template.headers.{name}",
                    hint="A value placed in a header must be one line of printable ASCII text.",
                )
            if value.strip():
                headers[name.lower()] = value
        body: bytes | None = None
        if self.body:
            if self.body_type is BodyType.JSON:
                body = _fill_json(self.body, values).encode()
            else:
                body = _fill_encoded(self.body, values).encode()
            headers.setdefault("content-type", _CONTENT_TYPES[self.body_type])
        return FilledRequest(self.method, url, headers, body)


def _parse_url(raw: Any, where: str) -> tuple[str, tuple[Segment, ...]]:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(f"{where} must be a URL or a path relative to metadata.base_url", where)
    text = raw.strip()
    base, _, query = text.partition("?")
    if "#" in text:
        raise _invalid(f"{where} must not have a fragment", where)
    if _OPENER in base:
        raise _invalid(f"{where} may hold placeholders only in its query string", where)
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise _invalid(f"{where} is not a valid URL", where) from None
    if parts.scheme:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid(f"{where} must be an http:// or https:// URL with a host", where)
        if parts.username is not None or parts.password is not None:
            raise _invalid(f"{where} must not carry credentials (use headers)", where)
    elif parts.netloc:
        raise _invalid(f"{where} must be an absolute http(s) URL or a path", where)
    return base, _split(query, where, URL_FIELDS) if query else ()


def _parse_headers(raw: Any, where: str) -> tuple[tuple[str, tuple[Segment, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise _invalid(f"{where} must be an object of header names to values", where)
    headers: list[tuple[str, tuple[Segment, ...]]] = []
    seen: set[str] = set()
    for name, value in raw.items():
        place = f"{where}.{name}"
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise _invalid(f"{place}: the header name must be an HTTP token", place)
        if name.lower() in seen:
            raise _invalid(f"{place}: the header is given twice", place)
        seen.add(name.lower())
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or _BAD_HEADER_VALUE.search(value):
            raise _invalid(f"{place} must be one line of text", place)
        headers.append((name, _split(value, place)))
    return tuple(headers)


_TEMPLATE_KEYS = frozenset(
    {"name", "description", "example", "method", "url", "headers", "body_type", "body", "response"}
)


def parse_template(raw: Any, where: str = "metadata.template") -> Template:
    """Validate a template document (as an account's ``metadata.template`` or a shipped
    YAML file holds it); errors are InvalidRequest naming the place
    (``metadata.template.body``, ``metadata.template.headers.Authorization`` ...)."""
    if not isinstance(raw, Mapping):
        raise _invalid(f"{where} must be an object (or the name of a shipped template)", where)
    for key in raw:
        if key not in _TEMPLATE_KEYS:
            raise _invalid(
                f"{where}.{key} is not a template field; "
                f"fields: {', '.join(sorted(_TEMPLATE_KEYS))}",
                f"{where}.{key}",
            )
    name = raw.get("name", "custom")
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"{where}.name must be a non-empty string", f"{where}.name")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _invalid(f"{where}.description must be a string", f"{where}.description")
    method = raw.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise _invalid(
            f"{where}.method must be one of {', '.join(sorted(_METHODS))}", f"{where}.method"
        )
    url_base, url_query = _parse_url(raw.get("url"), f"{where}.url")
    headers = _parse_headers(raw.get("headers"), f"{where}.headers")
    body_type_raw = raw.get("body_type", "json")
    try:
        body_type = BodyType(body_type_raw)
    except ValueError:
        raise _invalid(f"{where}.body_type must be json or form", f"{where}.body_type") from None
    body_raw = raw.get("body")
    body: tuple[Segment, ...] = ()
    if body_raw is not None:
        if not isinstance(body_raw, str):
            raise _invalid(
                f"{where}.body must be the body's text (a JSON or form template string)",
                f"{where}.body",
            )
        text = body_raw.strip()
        if body_type is BodyType.JSON:
            body = _split_json(text, f"{where}.body")
        else:
            body = _split(text, f"{where}.body")
    return Template(
        name=name.strip(),
        method=method.upper(),
        url_base=url_base,
        url_query=url_query,
        headers=headers,
        body_type=body_type,
        body=body,
        response=_parse_response(raw.get("response"), f"{where}.response"),
        description=description.strip(),
    )


def shipped_template_names() -> list[str]:
    """The templates shipped in ``processors/templates/`` (``sandbox`` and examples)."""
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath("templates")
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def load_shipped_template(name: str, where: str = "metadata.template") -> Template:
    """A shipped template by name: ``sandbox``, ``stripe_example``, ``adyen_example``."""
    if name not in shipped_template_names():
        raise _invalid(
            f"{where}: no shipped template {name!r}; "
            f"shipped: {', '.join(shipped_template_names())}",
            where,
        )
    text = (
        resources.files(_TEMPLATES_PACKAGE)
        .joinpath(f"templates/{name}.yaml")
        .read_text(encoding="utf-8")
    )
    return parse_template(yaml.safe_load(text), where)


# --- values --------------------------------------------------------------------------------------


def card_values(card: Card) -> dict[str, Secret | None]:
    """The card placeholders from a revealed card (the detokenize path)."""
    return {
        "card_number": Secret(card.number.reveal()),
        "card_exp_month": Secret(str(card.expiry.month)),
        "card_exp_year": Secret(str(card.expiry.year)),
        "card_cvc": card.cvc,
        "card_holder_name": None if card.holder_name is None else Secret(card.holder_name),
    }


def payment_values(
    amount: int, currency: str, reference: str, idempotency_key: str | None = None
) -> dict[str, Secret | None]:
    """The payment placeholders (the currency upper case)."""
    return {
        "amount": Secret(str(amount)),
        "currency": Secret(currency.upper()),
        "reference": Secret(reference),
        "idempotency_key": None if idempotency_key is None else Secret(idempotency_key),
    }


def authorize_values(data: AuthorizeData) -> dict[str, Secret | None]:
    return {
        **payment_values(data.amount, data.currency, data.reference, data.idempotency_key),
        **card_values(data.card),
    }


# --- the connector -------------------------------------------------------------------------------


class HttpTemplateConnector(ProcessorConnector):
    """A processor described by a :class:`Template`. Account metadata: ``template`` (an
    object, or the name of a shipped template) and ``base_url`` (for relative template
    URLs). Credentials: ``HeaderKey``; its ``api_key`` fills ``{{$api_key}}``."""

    name = "http_template"
    accepted_credentials = (HeaderKey,)
    supported_flows = frozenset({ProcessorFlow.AUTHORIZE})

    def __init__(self, template: Template, base_url: str | None = None) -> None:
        self.template = template
        self.base_url = None if base_url is None else normalise_base_url(base_url)
        if template.is_relative and self.base_url is None:
            raise _invalid(
                f"template {template.name} has a relative url: set metadata.base_url",
                "metadata.base_url",
            )

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> HttpTemplateConnector:
        if not isinstance(metadata, Mapping):
            raise _invalid(
                "an http_template account needs metadata.template (an object or the name of "
                f"a shipped template: {', '.join(shipped_template_names())})",
                "metadata.template",
            )
        raw = metadata.get("template")
        if isinstance(raw, str):
            template = load_shipped_template(raw.strip())
        else:
            template = parse_template(raw)
        base_url = metadata.get("base_url")
        if base_url is not None and not isinstance(base_url, str):
            raise _invalid("metadata.base_url must be a URL string", "metadata.base_url")
        return cls(template, base_url)

    def __repr__(self) -> str:
        return (
            f"HttpTemplateConnector(template={self.template.name!r}, "
            f"{self.template.method} {self.base_url or ''}{self.template.url_base})"
        )

    def build_request(
        self, values: Mapping[str, Secret | None], credentials: Credentials | None = None
    ) -> HttpRequest:
        """Fill the template with ``values`` (placeholder name → Secret: revealed card
        values or vault aliases) and the account's API key."""
        merged = dict(values)
        if credentials is not None:
            self.check_credentials(credentials)
            assert isinstance(credentials, HeaderKey)
            merged["api_key"] = credentials.api_key
        filled = self.template.fill(merged, self.base_url)
        return HttpRequest(
            method=filled.method,
            url=filled.url,
            flow=ProcessorFlow.AUTHORIZE,
            headers=filled.headers,
            body=filled.body,
            retry_safe="idempotency_key" in self.template.placeholders
            and merged.get("idempotency_key") is not None,
        )

    def build_authorize(self, credentials: Credentials, data: AuthorizeData) -> HttpRequest:
        return self.build_request(authorize_values(data), credentials)

    def parse_authorize(self, response: HttpResponse) -> AuthorizeResult:
        return self.template.response.parse(response)
