"""Hyperswitch's error body, plus our hint: ``{"error": {"type", "code", "message", "hint",
...}}``.

Handlers raise :class:`ApiError` (or one of the helpers below); errors from connectors
and clients (:class:`~vaultswitch.domain.errors.VaultswitchError`) keep their own status,
code, message and hint. Request validation errors name the field and never echo the
value that was sent. Anything else becomes a 500 without its text (the request id in the
body and the log line finds it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vaultswitch.domain.errors import VaultswitchError
from vaultswitch.domain.redaction import scrub_text
from vaultswitch.orchestrator.log import logger

INVALID_REQUEST = "invalid_request"
OBJECT_NOT_FOUND = "object_not_found"
DUPLICATE_REQUEST = "duplicate_request"
CONNECTOR_ERROR = "connector_error"
SERVER_NOT_AVAILABLE = "server_not_available"
RATE_LIMITED = "rate_limited"
API_ERROR = "api"

API_REFERENCE_HINT = "See /docs for the request shapes of this API."


class ApiError(Exception):
    """An error answered as Hyperswitch's body. ``extra`` keys are added to ``error``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str,
        type_: str = INVALID_REQUEST,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = scrub_text(message)
        self.hint = scrub_text(hint)
        self.type = type_
        self.field = field
        self.headers = headers
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }
        if self.field is not None:
            error["field"] = self.field
        error.update({k: v for k, v in self.extra.items() if v is not None})
        return {"error": error}

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"


# --- the errors handlers raise ---------------------------------------------------------------


def unauthorized(
    message: str = "API key not provided or invalid API key used", hint: str = ""
) -> ApiError:
    return ApiError(
        401,
        "IR_01",
        message,
        hint=hint
        or "Send `Authorization: api-key=<key>` with a merchant API key (POST /v2/api-keys "
        "issues one), or `Authorization: admin-api-key=<key>` for admin routes.",
    )


def missing_field(field: str, *, label: str | None = None, hint: str | None = None) -> ApiError:
    named = f"{label} ({field})" if label else field
    return ApiError(
        400,
        "IR_04",
        f"Missing required field: {named}",
        hint=hint or f"Add `{field}` to the request. {API_REFERENCE_HINT}",
        field=field,
    )


def invalid_value(
    field: str, reason: str, *, label: str | None = None, hint: str | None = None
) -> ApiError:
    """400 IR_07: a value has the wrong type or form (``reason`` never quotes the value)."""
    named = f"{label} ({field})" if label else field
    return ApiError(
        400,
        "IR_07",
        f"Invalid value provided: {named}: {reason}",
        hint=hint or f"Fix `{field}`. {API_REFERENCE_HINT}",
        field=field,
    )


def invalid_data(
    field: str, reason: str, *, label: str | None = None, hint: str | None = None
) -> ApiError:
    """422 IR_06: well-formed but semantically invalid (e.g. an id of the wrong kind)."""
    named = f"{label} ({field})" if label else field
    return ApiError(
        422,
        "IR_06",
        f"Invalid request data: {named}: {reason}",
        hint=hint or f"Fix `{field}`. {API_REFERENCE_HINT}",
        field=field,
    )


def missing_header(header: str, hint: str) -> ApiError:
    return ApiError(422, "IR_06", f"Missing header key: `{header}`", hint=hint, field=header)


def not_found(entity: str, hint: str | None = None) -> ApiError:
    """404 HE_02; the same answer for an id that does not exist and one of another merchant."""
    return ApiError(
        404,
        "HE_02",
        f"{entity} does not exist in our records",
        hint=hint or f"Check the {entity.lower()} id; ids are only visible to their merchant.",
        type_=OBJECT_NOT_FOUND,
    )


def duplicate(
    entity: str, *, code: str = "HE_01", field: str | None = None, hint: str | None = None
) -> ApiError:
    return ApiError(
        400,
        code,
        f"The {entity} with the specified details already exists in our records",
        hint=hint or f"Retrieve the existing {entity} instead, or change {field or 'the details'}.",
        type_=DUPLICATE_REQUEST,
        field=field,
    )


def from_vaultswitch_error(exc: VaultswitchError, request_id: str | None = None) -> ApiError:
    """A connector/client error keeps its catalogue code, status, message and hint."""
    status = exc.status
    if status == 503:
        type_ = SERVER_NOT_AVAILABLE
    elif status == 429:
        type_ = RATE_LIMITED
    elif status == 404:
        type_ = OBJECT_NOT_FOUND
    elif status in (424, 502, 504):
        type_ = CONNECTOR_ERROR
    elif 400 <= status < 500 or status == 501:
        type_ = INVALID_REQUEST
    else:
        type_ = API_ERROR
    headers = None
    if exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    return ApiError(
        status,
        exc.code,
        exc.message,
        hint=exc.hint,
        type_=type_,
        field=exc.field,
        headers=headers,
        upstream_status=exc.upstream_status,
        trace_id=exc.trace_id,
    )


# --- request validation --------------------------------------------------------------------


def _field_path(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "body"


def _where(loc: Sequence[int | str]) -> str:
    return str(loc[0]) if loc else "body"


def from_validation_error(exc: RequestValidationError) -> ApiError:
    """The first problem, named by its field; pydantic's ``input`` is never used."""
    errors = exc.errors()
    if not errors:
        return ApiError(400, "IR_06", "The request body is not valid", hint=API_REFERENCE_HINT)
    first = errors[0]
    kind = str(first.get("type", ""))
    loc = tuple(first.get("loc", ()))
    field = _field_path(loc)
    where = _where(loc)
    if kind == "json_invalid":
        return ApiError(
            400,
            "IR_06",
            "The request body is not valid JSON",
            hint="Send a JSON object with `Content-Type: application/json`.",
            field="body",
        )
    if kind == "missing":
        if where == "body" and field == "body":
            return ApiError(
                400,
                "IR_04",
                "Missing required field: body (a JSON object)",
                hint="Send a JSON object with `Content-Type: application/json`. "
                + API_REFERENCE_HINT,
                field="body",
            )
        return missing_field(field)
    if kind == "extra_forbidden":
        return ApiError(
            400,
            "IR_07",
            f"Unknown field: {field}",
            hint=f"Remove `{field}`; this API accepts only the fields in its schema. "
            + API_REFERENCE_HINT,
            field=field,
        )
    reason = scrub_text(str(first.get("msg", "invalid value")))
    if reason.startswith("Value error, "):
        reason = reason[len("Value error, ") :]
    if where == "body" and field == "body":
        return ApiError(
            400,
            "IR_06",
            f"The request body is not valid: {reason}",
            hint="Send a JSON object. " + API_REFERENCE_HINT,
            field="body",
        )
    return invalid_value(field, reason)


# --- rendering ---------------------------------------------------------------------------


def error_response(error: ApiError, request_id: str | None = None) -> JSONResponse:
    body = error.body()
    if request_id:
        body["error"].setdefault("request_id", request_id)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def internal_error() -> ApiError:
    return ApiError(
        500,
        "HE_00",
        "Something went wrong on our side",
        hint="This is a bug in vaultswitch; report it with the request id (X-Request-Id).",
        type_=API_ERROR,
    )


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _http_exception(exc: StarletteHTTPException) -> ApiError:
    if exc.status_code == 404:
        return ApiError(
            404,
            "IR_02",
            "Unrecognized request URL",
            hint="Check the path and method against /docs (all routes start with /v2/).",
        )
    if exc.status_code == 405:
        return ApiError(
            405,
            "IR_03",
            "The HTTP method is not applicable for this API",
            hint="Check the method against /docs.",
        )
    if exc.status_code == 413:
        return ApiError(413, "IR_07", "The request body is too large", hint="Send a smaller body.")
    return ApiError(
        exc.status_code,
        "IR_06" if exc.status_code < 500 else "HE_00",
        "The request could not be processed",
        hint=API_REFERENCE_HINT,
        type_=INVALID_REQUEST if exc.status_code < 500 else API_ERROR,
    )


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into Hyperswitch's body."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc, _request_id(request))

    async def vaultswitch_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VaultswitchError)
        if exc.status >= 500 and exc.status not in (501, 502, 503, 504):
            logger().error("vaultswitch_error", code=exc.code, error_type=type(exc).__name__)
        return error_response(from_vaultswitch_error(exc), _request_id(request))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(from_validation_error(exc), _request_id(request))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(_http_exception(exc), _request_id(request))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(VaultswitchError, vaultswitch_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
