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
        "Fix the named field or header; for an Idempotency-Key, send a new key for a new request.",
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
        "The object already exists, or a request with this Idempotency-Key is still running (409).",
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

#: The proxies' own answers (`errors[].code` in VGS's shape plus a hint) and their
#: command-line errors; see docs/proxy.md.
PROXY_SERVER: tuple[tuple[str, int, str, str], ...] = (
    (
        "PROXY_AUTHENTICATION_REQUIRED",
        407,
        "The outbound proxy got no, or wrong, Proxy-Authorization credentials.",
        "Use the vault's v1 access credentials in the proxy URL: "
        "http://USERNAME:PASSWORD@HOST:PORT (`vaultswitch vault access-credentials list "
        "--vault ID` lists them; new ones: `vaultswitch vault access-credentials create "
        "--vault ID`).",
    ),
    (
        "NOT_A_PROXY_REQUEST",
        400,
        "A request was sent to the outbound proxy as if it were the destination.",
        "Set the proxy as the client's proxy (HTTPS_PROXY=http://USERNAME:PASSWORD@HOST:PORT) "
        "instead of sending requests to it directly.",
    ),
    (
        "PROXY_BAD_REQUEST",
        400,
        "The proxy could not read the request's target or authority.",
        "Send an absolute http:// or https:// URL, or CONNECT host:port.",
    ),
    (
        "INVALID_HTTP",
        400,
        "The client's bytes are not valid HTTP/1.1.",
        "Check the client; the proxy speaks HTTP/1.1 (CONNECT for TLS).",
    ),
    (
        "DESTINATION_NOT_ALLOWED",
        403,
        "The destination host matches none of the proxy's allowed host patterns.",
        "Add it with `vaultswitch proxy outbound serve --allowed-host PATTERN`, or send the "
        "request to an allowed host.",
    ),
    (
        "PRIVATE_DESTINATION",
        403,
        "The destination resolves to a loopback or private address, which the proxy refuses "
        "by default.",
        "For a local sandbox, allow private destinations (the outbound proxy's "
        "allow_private_destinations setting, see docs/proxy.md; `vaultswitch up` does).",
    ),
    (
        "UPSTREAM_UNKNOWN_HOST",
        502,
        "The destination host does not resolve.",
        "Check the host name in the request URL.",
    ),
    (
        "UPSTREAM_UNREACHABLE",
        502,
        "The destination refused or dropped the connection.",
        "Check that the destination is up and listening on that port.",
    ),
    (
        "UPSTREAM_TLS_ERROR",
        502,
        "The destination's TLS certificate is not trusted or does not match its host.",
        "Trust its CA with VAULTSWITCH_PROXY_UPSTREAM_CA_FILE (a PEM bundle) or "
        "`vaultswitch proxy outbound serve --upstream-ca-file FILE`.",
    ),
    (
        "UPSTREAM_CA_FILE",
        500,
        "The upstream CA bundle given to the proxy cannot be read as PEM.",
        "Point VAULTSWITCH_PROXY_UPSTREAM_CA_FILE at a readable PEM bundle.",
    ),
    (
        "UPSTREAM_TIMEOUT",
        504,
        "The destination did not answer in time.",
        "Check the destination, or raise `vaultswitch proxy outbound serve "
        "--upstream-timeout SECONDS`.",
    ),
    (
        "UPSTREAM_PROTOCOL_ERROR",
        502,
        "The destination's answer is not valid HTTP/1.1.",
        "Check the destination; the proxy speaks HTTP/1.1 to it.",
    ),
    (
        "TLS_INTERCEPTION_FAILED",
        502,
        "The TLS handshake with the client inside CONNECT failed: the client does not trust "
        "the proxy's CA.",
        "Trust the proxy's CA on the client (`vaultswitch proxy ca --data-dir DIR` prints it; "
        "an account's metadata.certificate carries it).",
    ),
    (
        "VAULT_NOT_NAMED",
        404,
        "The inbound proxy got a request whose Host or path names no vault (tntxxxxxxxx).",
        "Address it as http://HOST:PORT/tntxxxxxxxx/... or with a Host tntxxxxxxxx.<anything>.",
    ),
    (
        "NO_ROUTE",
        404,
        "The vault has no inbound route for this Host.",
        "Add an inbound route with `vaultswitch routes apply --file routes.yaml --vault ID`.",
    ),
    (
        "ROUTE_UPSTREAM_INVALID",
        502,
        "The inbound route's destination_override_endpoint is not an http(s) URL.",
        "Fix it and apply the document again (`vaultswitch routes apply --file routes.yaml "
        "--vault ID`).",
    ),
)

PROXY_CLI: tuple[tuple[str, int, str, str], ...] = (
    (
        "CANNOT_LISTEN",
        2,
        "The proxy cannot listen on that address or port.",
        "Pick another port (`--port 0` = any free port) or stop what uses it.",
    ),
    (
        "INVALID_SETTING",
        2,
        "A proxy setting has a wrong value (the detail names it).",
        "Fix the flag or VAULTSWITCH_PROXY_* variable it names (`vaultswitch proxy outbound "
        "serve --help`).",
    ),
    (
        "NO_DATA_DIR",
        2,
        "The data directory holds no vault (the proxies use the vault's data).",
        "Pass the vault's data dir with --data-dir, or start `vaultswitch up` first.",
    ),
    (
        "PROXY_CA",
        2,
        "The proxy's CA files cannot be created or read.",
        "Check the data dir's permissions; `vaultswitch proxy ca --data-dir DIR` creates the "
        "CA on first use.",
    ),
)
