"""VGS wire format: JSON bodies, response records, and upstream errors mapped to typed errors.

Pure functions over bytes and JSON; :mod:`vaultswitch.connectors.vgs` composes them
into flows. Nothing here ever puts a vaulted value or a credential into a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from vaultswitch.connectors.base import HttpResponse, StorageType
from vaultswitch.domain.cards import Card, CardNumber, NetworkToken
from vaultswitch.domain.errors import (
    AliasNotFound,
    InvalidCardData,
    InvalidRequest,
    MalformedVaultResponse,
    PermissionDenied,
    RateLimited,
    VaultAuthenticationFailed,
    VaultNotFound,
    VaultswitchError,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret

MAX_DETAIL_CHARS = 200
_REDACTED = "[redacted]"
_LONG_DIGIT_RUN = re.compile(r"[0-9](?:[ \-]?[0-9]){11,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_AUTH_FAILURE_CODES = frozenset({"invalid_client", "unauthorized_client", "invalid_grant"})
_VAULT_NOT_FOUND_CODES = frozenset({"VAULT_NOT_FOUND", "TENANT_NOT_FOUND"})


class Endpoint(StrEnum):
    """Which kind of VGS endpoint answered, for error mapping."""

    TOKEN = "token"  # noqa: S105 (an endpoint kind)
    CREATE = "create"
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What the error mapper needs to know about the request that failed."""

    endpoint: Endpoint
    api_version: str
    operation: str
    scope: str | None = None
    aliases: tuple[str, ...] = ()
    vault_id: str | None = None
    environment: str | None = None
    secrets: tuple[Secret, ...] = ()


@dataclass(frozen=True, slots=True)
class AliasItem:
    """One value to alias, with the classifier, format and storage to create it with."""

    value: Secret
    classifier: str
    format: str
    storage: StorageType


# --- generic helpers -----------------------------------------------------------------------


def decode_json(response: HttpResponse) -> Any | None:
    """The body as JSON, or None when it is empty or not JSON."""
    if not response.body:
        return None
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def trace_id_of(response: HttpResponse, body: Any | None = None) -> str | None:
    """VGS trace id: the body's ``trace_id`` or the ``vgs-request-id`` header."""
    if isinstance(body, dict):
        value = body.get("trace_id")
        if isinstance(value, str) and value:
            return clean_text(value, limit=100)
    header = response.headers.get("vgs-request-id") or response.headers.get("x-request-id")
    return clean_text(header, limit=100) if header else None


def clean_text(text: str, *, secrets: Iterable[Secret] = (), limit: int = MAX_DETAIL_CHARS) -> str:
    """Upstream text made safe to show: known secrets and card-like digit runs removed,
    control characters dropped, truncated to ``limit`` characters."""
    for secret in secrets:
        raw = secret.reveal()
        if len(raw) >= 4:
            text = text.replace(raw, _REDACTED)
    text = _LONG_DIGIT_RUN.sub(_REDACTED, text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def retry_after_seconds(response: HttpResponse) -> float | None:
    """``Retry-After`` as seconds: delta-seconds, or an HTTP date relative to ``Date``."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    date_header = response.headers.get("date")
    if not date_header:
        return None
    try:
        delta = parsedate_to_datetime(raw) - parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    return max(0.0, delta.total_seconds())


def malformed(
    response: HttpResponse, message: str, *, body: Any | None = None
) -> MalformedVaultResponse:
    """A MalformedVaultResponse carrying the response's status and trace id."""
    return MalformedVaultResponse(
        message, trace_id=trace_id_of(response, body), upstream_status=response.status
    )


def json_object(response: HttpResponse, what: str) -> dict[str, Any]:
    """The body as a JSON object, or MalformedVaultResponse naming what was expected."""
    body = decode_json(response)
    if not isinstance(body, dict):
        kind = "no JSON" if body is None else f"JSON {type(body).__name__}"
        raise malformed(
            response,
            f"expected {what} as a JSON object from VGS (HTTP {response.status}), "
            f"got {kind} ({len(response.body)} bytes)",
        )
    return body


# --- errors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The first error of a VGS or OAuth error body, cleaned for display."""

    status: int
    code: str | None
    detail: str | None
    trace_id: str | None
    is_json: bool


def _opt_str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def read_upstream_error(response: HttpResponse, secrets: Iterable[Secret] = ()) -> UpstreamError:
    """Read ``{"errors": [...]}`` (both VGS shapes) or OAuth ``{"error": ...}`` bodies."""
    body = decode_json(response)
    code: str | None = None
    detail: str | None = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = _opt_str(first.get("code")) or _opt_str(first.get("title"))
            detail = _opt_str(first.get("detail")) or _opt_str(first.get("title"))
        elif _opt_str(body.get("error")):
            code = _opt_str(body.get("error"))
            detail = _opt_str(body.get("error_description"))
        elif _opt_str(body.get("message")):
            detail = _opt_str(body.get("message"))
    secrets = tuple(secrets)
    return UpstreamError(
        status=response.status,
        code=None if code is None else clean_text(code, secrets=secrets, limit=80),
        detail=None if detail is None else clean_text(detail, secrets=secrets),
        trace_id=trace_id_of(response, body),
        is_json=body is not None,
    )


def _with_detail(text: str, upstream: UpstreamError) -> str:
    if upstream.detail and upstream.code and upstream.detail != upstream.code:
        return f"{text}: {upstream.code}: {upstream.detail}"
    if upstream.detail or upstream.code:
        return f"{text}: {upstream.detail or upstream.code}"
    return text


def map_error(response: HttpResponse, ctx: ErrorContext) -> VaultswitchError:
    """Turn a non-success VGS response into the typed error that explains it."""
    up = read_upstream_error(response, ctx.secrets)
    common: dict[str, Any] = {
        "trace_id": up.trace_id,
        "upstream_status": up.status,
        "upstream_code": up.code,
    }
    status = response.status
    if status == 429:
        return RateLimited(
            _with_detail(f"VGS is rate limiting {ctx.operation} (HTTP 429)", up),
            retry_after=retry_after_seconds(response),
            **common,
        )
    if status >= 500:
        return VaultUnavailable(
            _with_detail(f"VGS failed to {ctx.operation} (HTTP {status})", up), **common
        )
    if ctx.endpoint is Endpoint.TOKEN:
        return _map_token_error(up, ctx, common)
    return _map_vault_error(up, ctx, common)


def _map_token_error(
    up: UpstreamError, ctx: ErrorContext, common: dict[str, Any]
) -> VaultswitchError:
    status = up.status
    if status == 401 or (status == 400 and (up.code or "").lower() in _AUTH_FAILURE_CODES):
        return VaultAuthenticationFailed(
            _with_detail(
                f"the VGS token endpoint rejected the client credentials (HTTP {status})", up
            ),
            **common,
        )
    if status == 403:
        return PermissionDenied(
            _with_detail("the VGS token endpoint refused this service account (HTTP 403)", up),
            hint="Check that the service account is enabled and allowed to use client credentials.",
            **common,
        )
    if status in (400, 422):
        return InvalidRequest(
            _with_detail(f"the VGS token endpoint rejected the request (HTTP {status})", up),
            **common,
        )
    if status == 404:
        return MalformedVaultResponse(
            "no VGS token endpoint at the configured auth URL (HTTP 404)",
            hint="Check auth_base_url: it must be the base of a Keycloak server with realm vgs "
            "(default https://auth.verygoodsecurity.com/).",
            **common,
        )
    return MalformedVaultResponse(f"unexpected HTTP {status} from the VGS token endpoint", **common)


def _vault_where(ctx: ErrorContext) -> str:
    if ctx.vault_id and ctx.environment:
        return f"vault {ctx.vault_id} ({ctx.environment})"
    return "the vault"


def _map_vault_error(
    up: UpstreamError, ctx: ErrorContext, common: dict[str, Any]
) -> VaultswitchError:
    status = up.status
    where = _vault_where(ctx)
    if status == 401:
        if ctx.api_version == "v1":
            return VaultAuthenticationFailed(
                _with_detail(
                    "VGS Vault API v1 rejected the vault access credentials (HTTP 401)", up
                ),
                hint="For api_version v1 use the vault's access credentials: api_key = username, "
                "key1 = password (dashboard → vault Settings → Access credentials).",
                **common,
            )
        return VaultNotFound(
            _with_detail(
                f"VGS answered 401 to {ctx.operation} with a fresh access token: the service "
                f"account is not assigned to {where}",
                up,
            ),
            **common,
        )
    if status == 403:
        scope = f" (it needs the {ctx.scope} scope)" if ctx.scope else ""
        return PermissionDenied(
            _with_detail(f"VGS refused to {ctx.operation} for this service account{scope}", up),
            **common,
        )
    if status == 404:
        code = (up.code or "").upper()
        if code in _VAULT_NOT_FOUND_CODES or not up.is_json or ctx.endpoint is Endpoint.CREATE:
            return VaultNotFound(
                _with_detail(f"VGS does not know {where} (HTTP 404)", up), **common
            )
        names = ", ".join(ctx.aliases) if ctx.aliases else "the requested alias"
        return AliasNotFound(
            _with_detail(f"VGS has no data for alias {names}", up),
            field="connector_vault_id",
            **common,
        )
    if status in (400, 413, 422):
        return InvalidRequest(
            _with_detail(f"VGS rejected the request to {ctx.operation} (HTTP {status})", up),
            hint="The upstream detail says what VGS objected to; check the connector "
            "configuration (formats, storage) and the payment method data.",
            **common,
        )
    return MalformedVaultResponse(
        _with_detail(f"unexpected HTTP {status} from VGS to {ctx.operation}", up), **common
    )


# --- bodies --------------------------------------------------------------------------------


def dumps(payload: Any) -> bytes:
    """Compact, deterministic JSON bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def create_body(items: Sequence[AliasItem]) -> bytes:
    """``POST /aliases`` body: ``{"data": [{value, classifiers, format, storage}, ...]}``."""
    return dumps(
        {
            "data": [
                {
                    "value": item.value.reveal(),
                    "classifiers": [item.classifier],
                    "format": item.format,
                    "storage": item.storage.value,
                }
                for item in items
            ]
        }
    )


def delete_body(aliases: Sequence[str], storage: StorageType) -> bytes:
    """``POST /aliases/delete`` body: ``{"data": [alias, ...], "storage": ...}``."""
    return dumps({"data": list(aliases), "storage": storage.value})


def card_value(card: Card | CardNumber) -> Secret:
    """The single-token value of a card: Hyperswitch ``CardCustomData`` JSON, never the CVC."""
    if isinstance(card, CardNumber):
        return Secret(dumps({"card_number": card.reveal()}).decode())
    payload: dict[str, str] = {
        "card_number": card.number.reveal(),
        "card_exp_month": card.expiry.month_str,
        "card_exp_year": card.expiry.year_str,
    }
    if card.holder_name:
        payload["card_holder_name"] = card.holder_name
    return Secret(dumps(payload).decode())


def network_token_value(token: NetworkToken) -> Secret:
    """The single-token value of a network token (``NetworkTokenCustomData``), no cryptogram."""
    return Secret(
        dumps(
            {
                "network_token": token.token.reveal(),
                "network_token_exp_month": token.expiry.month_str,
                "network_token_exp_year": token.expiry.year_str,
            }
        ).decode()
    )


# --- responses -----------------------------------------------------------------------------


def _record_aliases(record: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    aliases = record.get("aliases")
    found: list[tuple[str, str | None]] = []
    if isinstance(aliases, list):
        for entry in aliases:
            if isinstance(entry, dict):
                alias = entry.get("alias", entry.get("value"))
                fmt = entry.get("format")
                if isinstance(alias, str) and alias:
                    found.append((alias, fmt if isinstance(fmt, str) else None))
    return found


def parse_create_response(response: HttpResponse, formats: Sequence[str]) -> list[str]:
    """Aliases of a ``POST /aliases`` answer, matched to the request items by position;
    per item the alias in the requested format (else the first one)."""
    body = json_object(response, "the created aliases")
    data = body.get("data")
    if not isinstance(data, list):
        raise malformed(response, "VGS create-aliases answer has no data list", body=body)
    if len(data) != len(formats):
        raise malformed(
            response,
            f"VGS returned {len(data)} records for {len(formats)} values sent",
            body=body,
        )
    result: list[str] = []
    for index, (record, wanted) in enumerate(zip(data, formats, strict=True)):
        aliases = _record_aliases(record) if isinstance(record, dict) else []
        if not aliases:
            raise malformed(response, f"VGS record {index} carries no alias", body=body)
        chosen = next((alias for alias, fmt in aliases if fmt == wanted), aliases[0][0])
        result.append(chosen)
    return result


def _record_value(record: Any) -> str | None:
    if isinstance(record, dict):
        value = record.get("value")
        if isinstance(value, str):
            return value
    return None


def parse_reveal_single(response: HttpResponse, alias: str) -> Secret:
    """The value of ``GET /aliases/{alias}``: ``{"data": [record]}``."""
    body = json_object(response, f"the record of alias {alias}")
    data = body.get("data")
    record = data[0] if isinstance(data, list) and data else data
    value = _record_value(record)
    if value is None:
        raise malformed(response, f"VGS answer for alias {alias} has no string value", body=body)
    return Secret(value)


def parse_reveal_multiple(
    response: HttpResponse, aliases: Sequence[str], *, missing_ok: bool = False
) -> dict[str, Secret]:
    """Values of ``GET /aliases?aliases=...``: ``{"data": {alias: record}}`` (a list of
    records is tolerated). A requested alias missing from the answer is AliasNotFound, or
    with ``missing_ok`` left out of the result."""
    body = json_object(response, "the revealed records")
    data = body.get("data")
    by_alias: dict[str, Any] = {}
    if isinstance(data, dict):
        by_alias = dict(data)
    elif isinstance(data, list):
        for record in data:
            if isinstance(record, dict):
                for alias, _fmt in _record_aliases(record):
                    by_alias.setdefault(alias, record)
    else:
        raise malformed(response, "VGS reveal answer has no data object", body=body)
    values: dict[str, Secret] = {}
    missing = [alias for alias in aliases if alias not in by_alias]
    if missing_ok:
        aliases = [alias for alias in aliases if alias in by_alias]
    elif missing:
        raise AliasNotFound(
            f"VGS has no data for alias {', '.join(missing)}",
            field="connector_vault_id",
            trace_id=trace_id_of(response, body),
            upstream_status=response.status,
        )
    for alias in aliases:
        value = _record_value(by_alias[alias])
        if value is None:
            raise malformed(response, f"VGS record of alias {alias} has no string value", body=body)
        values[alias] = Secret(value)
    return values


def vault_data_from_value(
    value: Secret, alias: str, response: HttpResponse
) -> Card | NetworkToken | CardNumber:
    """Rebuild a payment method from a single-token value (card or network token JSON,
    a card with only a number, or a bare card number)."""
    text = value.reveal().strip()
    try:
        if text.isdigit():
            return CardNumber(text)
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise malformed(
                response, f"the value of alias {alias} is not card or network token JSON"
            )
        if payload.get("card_number") is not None:
            if payload.get("card_exp_month") is None and payload.get("card_exp_year") is None:
                return CardNumber(payload["card_number"])
            return Card.parse(
                payload["card_number"],
                payload.get("card_exp_month"),  # type: ignore[arg-type]
                payload.get("card_exp_year"),  # type: ignore[arg-type]
                None,
                payload.get("card_holder_name") or None,
            )
        if payload.get("network_token") is not None:
            return NetworkToken.parse(
                payload["network_token"],
                payload.get("network_token_exp_month"),  # type: ignore[arg-type]
                payload.get("network_token_exp_year"),  # type: ignore[arg-type]
            )
    except InvalidCardData as exc:
        raise malformed(
            response, f"the data stored under alias {alias} is not valid: {exc.message}"
        ) from None
    raise malformed(
        response, f"the value of alias {alias} has neither card_number nor network_token"
    )
