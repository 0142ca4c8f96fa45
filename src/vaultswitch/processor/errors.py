"""The processor's HTTP errors: ``{"error": {code, message, field?, hint, request_id}}``.

Messages name fields, never the values sent in them (a card number or CVC never
appears in an error body).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the caller with its status, stable code, field and hint."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error["hint"] = self.hint
        error["request_id"] = request_id
        return {"error": error}

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, field={self.field!r})"


API_REFERENCE_HINT = "See docs/sandbox-processor.md for the request shape."


def invalid_field(field: str, message: str, hint: str = API_REFERENCE_HINT) -> ApiError:
    return ApiError(400, "invalid_field", message, field=field, hint=hint)


def missing_field(field: str) -> ApiError:
    return ApiError(
        400, "missing_field", f"{field} is required", field=field, hint=API_REFERENCE_HINT
    )


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "missing_api_key",
        "no API key: send Authorization: Bearer <api_key>",
        field="Authorization",
        hint="Send the connector account's api_key as a Bearer token.",
        headers={"www-authenticate": 'Bearer realm="vaultswitch-sandbox-processor"'},
    )


def invalid_api_key() -> ApiError:
    return ApiError(
        401,
        "invalid_api_key",
        "the API key is not one this processor accepts",
        field="Authorization",
        hint="Use a key the processor was started with (`vaultswitch processor serve "
        "--api-key KEY` or VAULTSWITCH_PROCESSOR_API_KEY).",
        headers={"www-authenticate": 'Bearer realm="vaultswitch-sandbox-processor"'},
    )


def not_found(message: str, field: str | None = None) -> ApiError:
    return ApiError(
        404,
        "not_found",
        message,
        field=field,
        hint="Authorizations are visible only to the API key that created them and live in "
        "memory: they are gone after a restart.",
    )
