"""Errors the vault server returns; vault-http renders them in the VGS error shape.

A `detail` never contains a stored value, only field names, formats and aliases.
"""

from __future__ import annotations

from typing import ClassVar


class VaultApiError(Exception):
    """Base of every vault API error: HTTP status, reason title, stable code and detail."""

    default_status: ClassVar[int] = 500
    default_title: ClassVar[str] = "Internal server error"
    default_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status: int = status or self.default_status
        self.title: str = title or self.default_title
        self.code: str = code or self.default_code
        self.detail: str = detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(detail)

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class BadRequest(VaultApiError):
    """400: the request is invalid (codes INVALID_REQUEST, TOO_MANY_VALUES, INVALID_FORMAT, ...)."""

    default_status = 400
    default_title = "Bad request"
    default_code = "INVALID_REQUEST"


class Unauthorized(VaultApiError):
    default_status = 401
    default_title = "Unauthorized"
    default_code = "UNAUTHORIZED"


class Forbidden(VaultApiError):
    """403: codes FORBIDDEN, REVEAL_DISABLED, INSUFFICIENT_SCOPE."""

    default_status = 403
    default_title = "Forbidden"
    default_code = "FORBIDDEN"


class AliasNotFoundError(VaultApiError):
    default_status = 404
    default_title = "Not found"
    default_code = "ALIAS_NOT_FOUND"


class VaultNotFoundError(VaultApiError):
    default_status = 404
    default_title = "Not found"
    default_code = "VAULT_NOT_FOUND"


class NoVaultData(VaultApiError):
    """404: an admin command that only reads (or needs an existing vault) found no store."""

    default_status = 404
    default_title = "Not found"
    default_code = "NO_VAULT_DATA"


class Conflict(VaultApiError):
    """409: e.g. ALIAS_SPACE_EXHAUSTED when no free alias of a short format is left."""

    default_status = 409
    default_title = "Conflict"
    default_code = "CONFLICT"


class PayloadTooLarge(VaultApiError):
    default_status = 413
    default_title = "Payload too large"
    default_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(VaultApiError):
    default_status = 415
    default_title = "Unsupported media type"
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(VaultApiError):
    default_status = 429
    default_title = "Too many requests"
    default_code = "RATE_LIMITED"

    def __init__(self, detail: str, *, retry_after: int = 60, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(VaultApiError):
    """503: storage busy or unreachable (STORAGE_UNAVAILABLE)."""

    default_status = 503
    default_title = "Service unavailable"
    default_code = "STORAGE_UNAVAILABLE"


class MasterKeyRotated(ServiceUnavailable):
    """503: the database moved to a newer master key that this process cannot load."""

    default_code = "MASTER_KEY_ROTATED"


class MasterKeyMismatch(VaultApiError):
    """The master key given does not open this database's keys (startup / admin error)."""

    default_status = 500
    default_title = "Internal server error"
    default_code = "MASTER_KEY_MISMATCH"


class InvalidMasterKey(VaultApiError):
    """The configured master key is not urlsafe-base64 of 32 bytes (startup / admin error)."""

    default_status = 500
    default_title = "Internal server error"
    default_code = "INVALID_MASTER_KEY"


class DecryptionFailed(VaultApiError):
    """A sealed value did not open: wrong key, or ciphertext moved to another record/vault."""

    default_status = 500
    default_title = "Internal server error"
    default_code = "DECRYPTION_FAILED"
