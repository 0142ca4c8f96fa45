"""One error hierarchy: every error has a stable code, an HTTP status, a message and a hint.

Messages and hints never contain card data or credentials: callers pass field
names and masked values only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .redaction import scrub_text


class VaultswitchError(Exception):
    """Base of every error a user of vaultswitch can meet."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Something went wrong inside vaultswitch."
    default_hint: ClassVar[str] = "This is a bug; report it with the trace id."

    def __init__(
        self,
        message: str | None = None,
        *,
        hint: str | None = None,
        field: str | None = None,
        trace_id: str | None = None,
        upstream_status: int | None = None,
        upstream_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        # messages may quote what a caller sent (an alias, a field): never a card number
        self.message = scrub_text(message or self.default_message)
        self.hint = scrub_text(hint or self.default_hint)
        self.field = field
        self.trace_id = trace_id
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code
        self.retry_after = retry_after
        super().__init__(self.message)

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.field:
            text += f" (field: {self.field})"
        if self.trace_id:
            text += f" (trace id: {self.trace_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in API error bodies and structured logs."""
        body: dict[str, Any] = {
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "hint": self.hint,
        }
        for key in ("field", "trace_id", "upstream_status", "upstream_code", "retry_after"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


# --- input ---------------------------------------------------------------------------------


class InvalidRequest(VaultswitchError):
    code = "invalid_request"
    status = 400
    default_message = "The request is not valid."
    default_hint = "Check the named field against the API reference."


class InvalidCardData(InvalidRequest):
    code = "invalid_card_data"
    default_message = "The card data is not valid."
    default_hint = (
        "Check the named field: card numbers are 12-19 ASCII digits passing the Luhn check, "
        "expiry month 1-12, expiry year 2 or 4 digits, CVC 3 digits (4 for Amex)."
    )


class InvalidCredentials(InvalidRequest):
    code = "invalid_connector_credentials"
    default_message = "The connector credentials are not valid."
    default_hint = (
        "For VGS use auth_type SignatureKey with api_key = client ID, key1 = client secret, "
        "api_secret = vault ID (tnt followed by 8 lowercase letters or digits)."
    )


class WrongCredentialType(InvalidCredentials):
    code = "wrong_credential_type"
    default_message = "This connector does not accept that credential type."
    default_hint = "Use one of the credential types the connector lists (VGS takes SignatureKey)."


class FlowNotSupported(VaultswitchError):
    code = "flow_not_supported"
    status = 501
    default_message = "This connector does not support that flow."
    default_hint = "Use a connector that implements the flow, or a different flow."


# --- the vault said no -----------------------------------------------------------------------


class VaultError(VaultswitchError):
    """An error reported by (or about reaching) the external vault."""

    code = "vault_error"
    status = 502
    default_message = "The vault returned an error."
    default_hint = "See the upstream status and trace id in the vault's logs."


class VaultAuthenticationFailed(VaultError):
    code = "vault_authentication_failed"
    status = 424
    default_message = "The vault rejected the connector's credentials (OAuth token request 401)."
    default_hint = (
        "Check that the client ID and client secret match the VGS service account exactly, "
        "that the account is not disabled, and that it has the aliases:read and aliases:write "
        "scopes on this vault."
    )


class VaultNotFound(VaultError):
    code = "vault_not_found"
    status = 424
    default_message = "The vault does not exist or these credentials are not assigned to it."
    default_hint = (
        "Check the vault ID exactly (e.g. tntxxxxxxxx) and that the service account is assigned "
        "to it. Vault IDs are environment-specific: a sandbox vault ID does not work in live."
    )


class PermissionDenied(VaultError):
    code = "vault_permission_denied"
    status = 424
    default_message = "The vault refused the operation for these credentials."
    default_hint = (
        "Give the service account the scope the flow needs (aliases:read to reveal, "
        "aliases:write to create, aliases:delete to delete); reveal must also be enabled on "
        "the vault (VGS Support enables it)."
    )


class AliasNotFound(VaultError):
    code = "alias_not_found"
    status = 404
    default_message = "The vault has no data for that alias."
    default_hint = (
        "Confirm the insert succeeded and that you read with the same storage it was written "
        "with; VOLATILE aliases expire (1 hour by default) and deleted aliases are gone."
    )


class RateLimited(VaultError):
    code = "vault_rate_limited"
    status = 429
    default_message = "The vault is rate limiting these requests."
    default_hint = (
        "Wait for the retry-after interval; VGS allows 3,000 requests per minute per vault."
    )


class VaultUnavailable(VaultError):
    code = "vault_unavailable"
    status = 503
    default_message = "The vault could not be reached or failed to answer."
    default_hint = (
        "Check the vault base URL and the network path to it, then retry; a 5xx or timeout "
        "from VGS is usually transient."
    )


class MalformedVaultResponse(VaultError):
    code = "malformed_vault_response"
    status = 502
    default_message = "The vault answered with something vaultswitch cannot read."
    default_hint = (
        "Check that the base URL points at a VGS Vault API (v2 tenant host or v1 host) and "
        "not at a proxy or another service."
    )


ALL_ERRORS: tuple[type[VaultswitchError], ...] = (
    VaultswitchError,
    InvalidRequest,
    InvalidCardData,
    InvalidCredentials,
    WrongCredentialType,
    FlowNotSupported,
    VaultError,
    VaultAuthenticationFailed,
    VaultNotFound,
    PermissionDenied,
    AliasNotFound,
    RateLimited,
    VaultUnavailable,
    MalformedVaultResponse,
)
