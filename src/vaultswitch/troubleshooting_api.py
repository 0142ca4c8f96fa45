"""Catalogue entries of the orchestrator API (Hyperswitch-shaped `error.code`), the
processor connector errors and the sandbox processor's own codes."""

from __future__ import annotations

from vaultswitch.orchestrator.processors import errors as processor_errors

_DOCS = "See /docs on the orchestrator for the request shapes."

# (code, status, message, hint) of `{"error": {"code", ...}}` answered by the orchestrator.
ORCHESTRATOR_API: tuple[tuple[str, int, str, str], ...] = (
    (
        "IR_01",
        401,
        "API key not provided or invalid: missing, wrong, expired or revoked.",
        "Send `Authorization: api-key=<key>` (a merchant key from POST /v2/api-keys; "
        "`vaultswitch up` writes one to up.json as api_key) or `Authorization: "
        "admin-api-key=<key>` for admin routes (up.json: admin_api_key).",
    ),
    (
        "IR_02",
        404,
        "Unrecognized request URL: no route has that path.",
        f"Check the path and method; every route starts with /v2/. {_DOCS}",
    ),
    (
        "IR_03",
        405,
        "The route exists but not for this HTTP method.",
        f"Use one of the methods in the Allow header. {_DOCS}",
    ),
    (
        "IR_04",
        400,
        "A required field is missing (the message and `error.field` name it).",
        f"Add the field. {_DOCS}",
    ),
    (
        "IR_06",
        422,
        "Well-formed but invalid request data (an id of the wrong kind, a missing header "
        "such as X-Merchant-Id, an Idempotency-Key reused with another body).",
        "Fix the named field or header; for an Idempotency-Key, send a new key for a new "
        "request.",
    ),
    (
        "IR_07",
        400,
        "A value has the wrong type or form (the message names the field, never the value).",
        f"Fix the named field. {_DOCS}",
    ),
    (
        "IR_12",
        400,
        "A customer with this merchant_reference_id already exists.",
        "Use GET /v2/customers/reference/{merchant_reference_id} to find it, or pick another "
        "reference.",
    ),
    (
        "IR_14",
        400,
        "The payment is not in a state that allows this (e.g. it was already confirmed).",
        "GET /v2/payments/{id} shows its status; create a new intent to pay again.",
    ),
    (
        "HE_00",
        500,
        "An unexpected server error (its details are in the orchestrator's log under the "
        "request id).",
        "Quote `error.request_id` to the operator; the log line with that id says what failed.",
    ),
    (
        "HE_01",
        400,
        "The object already exists, or a request with this Idempotency-Key is still running "
        "(409).",
        "Retrieve the existing object; for a running idempotent request, retry in a moment "
        "with the same key.",
    ),
    (
        "HE_02",
        404,
        "No such object for this merchant (another merchant's ids answer the same).",
        "Check the id; ids are only visible to the merchant that created them.",
    ),
    (
        "vault_not_configured",
        424,
        "The profile's vault cannot be used: no external vault connector account and no "
        "internal vault, or the account is not active.",
        "Activate a VGS connector account (POST /v2/connector-accounts, see "
        "docs/activation.md) and set it on the profile, or configure the internal vault "
        "(`vaultswitch up` does both).",
    ),
    (
        "vault_connector_not_found",
        424,
        "The payment method's vault connector account was deleted.",
        "Delete the payment method and save the card again with the profile's current vault.",
    ),
    (
        "processor_not_configured",
        424,
        "The profile has no active payment processor account (or connector_id names none).",
        "Create one: POST /v2/connector-accounts with connector_type payment_processor "
        "(connector_name sandbox, see docs/sandbox-processor.md).",
    ),
)

#: The sandbox processor's own `{"error": {"code"}}` answers (docs/sandbox-processor.md).
SANDBOX_PROCESSOR: tuple[tuple[str, int, str, str], ...] = (
    (
        "missing_api_key",
        401,
        "No `Authorization: Bearer <api key>` header.",
        "Send the processor account's api_key as a Bearer token.",
    ),
    (
        "invalid_api_key",
        401,
        "The API key is not one the processor accepts.",
        "Use a key given to `vaultswitch processor serve --api-key` (or "
        "VAULTSWITCH_PROCESSOR_API_KEY); `vaultswitch up` keeps it in up.json.",
    ),
    ("invalid_json", 400, "The body is not JSON.", "Send a JSON object."),
    (
        "missing_field",
        400,
        "A required field is missing (`error.field` names it).",
        "See docs/sandbox-processor.md for the authorization body.",
    ),
    (
        "invalid_field",
        400,
        "A field has a wrong value (`error.field` names it, never the value).",
        "See docs/sandbox-processor.md for the authorization body.",
    ),
    (
        "idempotency_key_reused",
        422,
        "The Idempotency-Key was used before with another body.",
        "Send a new key for a new authorization.",
    ),
    (
        "body_too_large",
        413,
        "The body is larger than the processor accepts.",
        "Send a smaller body (VAULTSWITCH_PROCESSOR_MAX_BODY_BYTES).",
    ),
    (
        "unsupported_media_type",
        415,
        "The body is not application/json.",
        "Send Content-Type: application/json.",
    ),
    ("not_found", 404, "No such route or authorization.", "See docs/sandbox-processor.md."),
    ("method_not_allowed", 405, "The route does not take this method.", "Use GET or POST."),
    (
        "internal_error",
        500,
        "The processor failed unexpectedly.",
        "Its log line with the request id says what failed.",
    ),
)

PROCESSOR_CONNECTOR_ERRORS = (
    processor_errors.ProcessorError,
    processor_errors.ProcessorAuthenticationFailed,
    processor_errors.ProcessorUnavailable,
    processor_errors.ProcessorRateLimited,
    processor_errors.ProcessorRejectedRequest,
    processor_errors.ProcessorTransactionNotFound,
    processor_errors.MalformedProcessorResponse,
)
