"""Typed errors about processors (the processor is reached over HTTP; a decline is NOT one
of these: it is an AuthorizeResult with status ``failed``).

They are :class:`~vaultswitch.domain.errors.VaultswitchError` subclasses: a stable code,
the HTTP status an API built on vaultswitch should answer with, a message and a hint.
"""

from __future__ import annotations

from vaultswitch.domain.errors import VaultswitchError

SERVE_HINT = "`vaultswitch processor serve --port 8230 --api-key KEY` starts the sandbox processor"


class ProcessorError(VaultswitchError):
    """An error reported by (or about reaching) a payment processor."""

    code = "processor_error"
    status = 502
    default_message = "The payment processor returned an error."
    default_hint = "See the upstream status and request id in the processor's logs."


class ProcessorAuthenticationFailed(ProcessorError):
    code = "processor_authentication_failed"
    status = 424
    default_message = "The payment processor rejected the connector account's API key."
    default_hint = (
        "Check connector_account_details.api_key (auth_type HeaderKey) of the processor "
        "account: it must be a key the processor accepts (for the sandbox, one given with "
        "--api-key or VAULTSWITCH_PROCESSOR_API_KEY)."
    )


class ProcessorUnavailable(ProcessorError):
    code = "processor_unavailable"
    status = 503
    default_message = "The payment processor could not be reached or failed to answer."
    default_hint = (
        "Check metadata.base_url of the processor account and that the processor is running "
        f"({SERVE_HINT}), then retry with the same Idempotency-Key."
    )


class ProcessorRateLimited(ProcessorError):
    code = "processor_rate_limited"
    status = 429
    default_message = "The payment processor is rate limiting these requests."
    default_hint = "Wait for the retry-after interval, then retry with the same Idempotency-Key."


class ProcessorRejectedRequest(ProcessorError):
    code = "processor_rejected_request"
    status = 422
    default_message = "The payment processor rejected the request as invalid."
    default_hint = "Fix the named field; the processor's own code is in upstream_code."


class ProcessorTransactionNotFound(ProcessorError):
    code = "processor_transaction_not_found"
    status = 404
    default_message = "The payment processor has no transaction with that id."
    default_hint = (
        "Check the connector_transaction_id and that the same processor account made it; the "
        "sandbox processor keeps transactions in memory only, so a restart forgets them."
    )


class MalformedProcessorResponse(ProcessorError):
    code = "malformed_processor_response"
    status = 502
    default_message = "The payment processor answered with something vaultswitch cannot read."
    default_hint = (
        "Check that metadata.base_url of the processor account points at the processor's API "
        f"and not at another service ({SERVE_HINT})."
    )


PROCESSOR_ERRORS: tuple[type[ProcessorError], ...] = (
    ProcessorError,
    ProcessorAuthenticationFailed,
    ProcessorUnavailable,
    ProcessorRateLimited,
    ProcessorRejectedRequest,
    ProcessorTransactionNotFound,
    MalformedProcessorResponse,
)
