"""Every error code a user can meet, with its hint; renders docs/troubleshooting.md."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaultswitch.domain.errors import ALL_ERRORS
from vaultswitch.domain.migration import ALL_OUTCOMES
from vaultswitch.vault.core.models import MAX_CLASSIFIER_LENGTH, MAX_CLASSIFIERS, SCOPES
from vaultswitch.vault.core.routes import MAX_ROUTE_BYTES, MAX_ROUTES_PER_VAULT

CLI_WHERE = "command line"


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    status: int  # the HTTP status; for an admin CLI code, the exit status
    where: str
    message: str
    hint: str

    @property
    def status_label(self) -> str:
        return f"exit {self.status}" if self.where == CLI_WHERE else f"HTTP {self.status}"


# Codes our vault server returns in VGS error bodies (`errors[].code`).
VAULT_SERVER_CODES: tuple[Entry, ...] = tuple(
    Entry(code, status, "vault server", message, hint)
    for code, status, message, hint in (
        (
            "UNAUTHORIZED",
            401,
            "No valid credentials: a missing, expired or foreign Bearer token, or wrong v1 "
            "access credentials.",
            "Fetch a token from /auth/realms/vgs/protocol/openid-connect/token with a service "
            "account assigned to this vault (`vaultswitch vault service-accounts list --vault "
            "ID`); v1 needs the vault's access credentials (`vaultswitch vault "
            "access-credentials list --vault ID`, new ones: `vaultswitch vault "
            "access-credentials create --vault ID`).",
        ),
        (
            "VAULT_NOT_FOUND",
            404,
            "No vault has the id in the Host header or the path prefix.",
            "Check the vault id (`vaultswitch vault list`) and the URL template "
            "`http://HOST:PORT/{vault_id}/`.",
        ),
        (
            "INVALID_VAULT_ID",
            400,
            "The vault id is not of the form tnt + 8 lowercase letters or digits.",
            "Use the id `vaultswitch vault create` printed, e.g. tntabc12345.",
        ),
        (
            "ALIAS_NOT_FOUND",
            404,
            "No value is stored under that alias in the requested storage.",
            "Read with the storage the alias was created in (`?storage=VOLATILE` for VOLATILE "
            "aliases); VOLATILE aliases expire after the TTL; deleted aliases are gone.",
        ),
        (
            "REVEAL_DISABLED",
            403,
            "Reveal is switched off for this vault.",
            "Enable it with `vaultswitch vault reveal enable --vault ID` (on VGS: ask VGS "
            "Support).",
        ),
        (
            "INSUFFICIENT_SCOPE",
            403,
            "The token lacks the scope this operation needs.",
            "Use a service account with aliases:read (reveal), aliases:write (create, update) "
            "and aliases:delete (delete) as needed, routes:read / routes:write for the "
            "vault-management API (/rule-chains) (`vaultswitch vault service-accounts list "
            "--vault ID` shows their scopes; a new one: `vaultswitch vault service-account "
            "--vault ID --scopes aliases:read,aliases:write,aliases:delete`; add "
            "routes:read,routes:write for routes).",
        ),
        (
            "TOO_MANY_VALUES",
            400,
            "More than 20 items in one request.",
            "Split the request into batches of at most 20 items (the VGS limit).",
        ),
        (
            "INVALID_REQUEST",
            400,
            "The body is not valid JSON or does not match the schema; the detail names the field.",
            "Send `Content-Type: application/json` and the body shape from docs/vault-api.md.",
        ),
        (
            "MALFORMED_JSON",
            400,
            "The body is not valid JSON (or uses NaN/Infinity, invalid UTF-8, absurd nesting).",
            "Send a JSON document with `Content-Type: application/json`.",
        ),
        (
            "UNKNOWN_FIELD",
            400,
            "The body has a field the vault does not know (it is rejected, not ignored).",
            "Remove the field the detail names; see docs/vault-api.md for the body shapes.",
        ),
        (
            "INVALID_CLASSIFIER",
            400,
            "A classifier is not a short tag string.",
            f"Use 1-{MAX_CLASSIFIER_LENGTH} characters of letters, digits and _ . : / - per "
            "classifier.",
        ),
        (
            "FORBIDDEN",
            403,
            "These credentials may not do this.",
            "Check the service account's vaults and scopes (`vaultswitch vault service-accounts "
            "list --vault ID`).",
        ),
        (
            "NOT_FOUND",
            404,
            "No such endpoint.",
            "Check the path: /aliases, /aliases/{alias}, /aliases/delete, the token endpoint.",
        ),
        (
            "METHOD_NOT_ALLOWED",
            405,
            "The endpoint does not take that HTTP method.",
            "See docs/vault-api.md for the methods of each endpoint.",
        ),
        (
            "INTERNAL_ERROR",
            500,
            "An unexpected failure inside the vault; the body carries only the trace id.",
            "Find the trace id in the server log (`vgs-request-id`) and report it.",
        ),
        (
            "DECRYPTION_FAILED",
            500,
            "A stored value did not open: wrong key, or a ciphertext moved between records.",
            "Check the master key; restore the record from a backup if it was tampered with.",
        ),
        (
            "INVALID_ROUTE",
            400,
            "A route document (a management API body, the file of `vaultswitch routes apply "
            "--file FILE --vault ID`) is not a valid VGS route; the detail names the place, e.g. "
            "`data[0].attributes.entries[2].transformer`.",
            "Fix the field the detail names; docs/routes.md shows every field. Start from "
            "what `vaultswitch routes get --vault ID` prints, which `vaultswitch routes apply "
            "--file FILE --vault ID` takes back.",
        ),
        (
            "UNSUPPORTED_ROUTE_FEATURE",
            400,
            "A route uses a VGS feature this vault does not implement (a Larky `operations` "
            "pipeline, a transformer other than JSON_PATH, FORM_FIELD and REGEX, SFTP, a "
            "condition field other than PathInfo, ContentType and QueryString, ...); it is "
            "refused, never ignored. The detail names the place.",
            "Express the filter with what docs/routes.md lists as supported, or leave that "
            "route on VGS.",
        ),
        (
            "ROUTE_NOT_FOUND",
            404,
            "The vault has no route with that id.",
            "List the vault's routes and their ids with `vaultswitch routes get --vault ID` "
            "(or GET /rule-chains).",
        ),
        (
            "ROUTE_EXISTS",
            409,
            "A route with that id exists already.",
            "Replace it with PUT /rule-chains/{id}, or give the new route no id.",
        ),
        (
            "TOO_MANY_ROUTES",
            409,
            f"The vault has {MAX_ROUTES_PER_VAULT} routes, the most one vault may have.",
            "Delete routes it no longer needs (`vaultswitch routes delete ID --vault ID`), or "
            "merge routes for the same host into one with several entries.",
        ),
        (
            "ROUTE_TOO_LARGE",
            400,
            f"A route is larger than {MAX_ROUTE_BYTES} bytes.",
            "Split its entries over several routes.",
        ),
        (
            "TENANT_REQUIRED",
            400,
            "A vault-management API request (/rule-chains) names no vault.",
            "Send the vault id in the `VGS-Tenant` header (VGS's clients do: `api.headers"
            '["VGS-Tenant"] = vault_id`), or use the path prefix /tntxxxxxxxx/rule-chains.',
        ),
        (
            "INVALID_SCOPE",
            400,
            "An admin command named a scope the vault does not know.",
            f"Use {', '.join(SCOPES)} (comma-separated in `vaultswitch vault service-account "
            "--vault ID --scopes ...`).",
        ),
        (
            "INVALID_TOKEN_LIFESPAN",
            400,
            "An admin command asked for access tokens that live less than 60 seconds.",
            "Pass `--token-lifespan` of at least 60 (seconds), or leave it out for the "
            "default (300): `vaultswitch vault service-account --vault ID --token-lifespan "
            "300`.",
        ),
        (
            "CLIENT_NOT_FOUND",
            400,
            "An admin command named a service account that does not exist.",
            "List the accounts with `vaultswitch vault service-accounts list` (add `--vault "
            "ID` for one vault's) or create one with `vaultswitch vault service-account "
            "--vault ID`.",
        ),
        (
            "CREDENTIALS_NOT_FOUND",
            400,
            "An admin command named v1 access credentials that do not exist (or were revoked).",
            "List them with `vaultswitch vault access-credentials list` (add `--vault ID` for "
            "one vault's) or create new ones with `vaultswitch vault access-credentials create "
            "--vault ID`.",
        ),
        (
            "VAULT_EXISTS",
            409,
            "A vault with that id already exists.",
            "Pick another id or omit it to get a generated one.",
        ),
        (
            "CONFLICT",
            409,
            "The change conflicts with the current state.",
            "Re-read the state and retry.",
        ),
        (
            "HTTP_ERROR",
            400,
            "The HTTP request itself was not acceptable to the server.",
            "Check the method, path and headers against docs/vault-api.md.",
        ),
        (
            "INVALID_FORMAT",
            400,
            "Unknown alias format.",
            "Use one of the formats listed in docs/vault-api.md (e.g. UUID, FPE_SIX_T_FOUR).",
        ),
        (
            "UNSUPPORTED_FORMAT",
            400,
            "A format VGS lists but this vault does not implement (CUSTOM, JS).",
            "Pick a built-in format.",
        ),
        (
            "INVALID_VALUE",
            400,
            "The value does not fit the requested format (e.g. FPE formats need digits).",
            "Check the item the detail names against the format's input rules.",
        ),
        (
            "INVALID_ALIAS",
            400,
            "An alias is malformed.",
            "Pass aliases exactly as the create call returned them.",
        ),
        (
            "INVALID_STORAGE",
            400,
            "storage must be PERSISTENT or VOLATILE.",
            "Fix the `storage` field or query parameter.",
        ),
        (
            "INVALID_CLASSIFIERS",
            400,
            "classifiers must be a list of short strings.",
            f"Send a list of at most {MAX_CLASSIFIERS} classifiers, each 1-"
            f"{MAX_CLASSIFIER_LENGTH} characters of letters, digits and _ . : / -.",
        ),
        (
            "DUPLICATE_ALIAS_REFERENCE",
            400,
            "The same alias is referenced twice in one create request.",
            "Reference each existing alias once per request.",
        ),
        (
            "PAYLOAD_TOO_LARGE",
            413,
            "The request body is over the limit (32 MB).",
            "Send smaller values or fewer items per request.",
        ),
        (
            "UNSUPPORTED_MEDIA_TYPE",
            415,
            "The body is not declared as JSON.",
            "Set `Content-Type: application/json`.",
        ),
        (
            "RATE_LIMITED",
            429,
            "The vault's per-minute request limit is used up.",
            "Wait for Retry-After seconds; on your own vault raise the limit "
            "(`vaultswitch vault serve --rate-limit N`, or `rate_limit_per_minute`).",
        ),
        (
            "ALIAS_SPACE_EXHAUSTED",
            409,
            "No unused alias of a short format could be generated for this value.",
            "Use a longer format (UUID) for short values.",
        ),
        (
            "STORAGE_UNAVAILABLE",
            503,
            "The database or Redis did not answer.",
            "Check `database_url` / `redis_url` and that the servers are up; retry.",
        ),
        (
            "MASTER_KEY_ROTATED",
            503,
            "The database moved to a new master key (`vaultswitch vault rotate-master-key` "
            "ran in another process) and this server cannot load it: its key comes from "
            "VAULTSWITCH_MASTER_KEY, or its key file does not hold the new key. A server "
            "whose key file `rotate-master-key` replaced loads the new key by itself.",
            "Restart the server with the new key: set VAULTSWITCH_MASTER_KEY to the content "
            "of the file `vaultswitch vault rotate-master-key --output FILE` wrote, then "
            "`vaultswitch vault serve` (with the server's `--data-dir`, as the detail shows).",
        ),
        (
            "MASTER_KEY_MISMATCH",
            500,
            "The master key does not open this database's keys.",
            "Start with the master key the database is under now: after a rotation that is "
            "the newest key `vaultswitch vault rotate-master-key` wrote (the key file it "
            "replaced, or its `--output` file when the key comes from VAULTSWITCH_MASTER_KEY). "
            "If the key ids in the detail match, a wrapped key was altered: restore the "
            "database from a backup.",
        ),
        (
            "INVALID_MASTER_KEY",
            500,
            "The master key is not URL-safe base64 of 32 bytes.",
            'Generate one with `python -c "import os,base64;'
            'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`.',
        ),
    )
)

# Codes only commands report (in their JSON error `{"error", "detail", "hint"}`).
CLI_CODES: tuple[Entry, ...] = tuple(
    Entry(code, exit_status, CLI_WHERE, message, hint)
    for code, exit_status, message, hint in (
        (
            "CANNOT_START",
            2,
            "A server command (`vaultswitch vault serve`, `vaultswitch orchestrator serve`) "
            "cannot start as configured, e.g. `--workers` above 1 without PostgreSQL and "
            "Redis; the detail says what is wrong.",
            "Do what the error's own hint says (it names the option to change); every "
            "option is listed by `vaultswitch vault serve --help` and `vaultswitch "
            "orchestrator serve --help`.",
        ),
        (
            "OUTPUT_REQUIRED",
            1,
            "`rotate-master-key` was run with the master key in VAULTSWITCH_MASTER_KEY, where "
            "the new key cannot be written.",
            "Pass a file for the new key: `vaultswitch vault rotate-master-key --output FILE` "
            "(written 0600, never printed), then set VAULTSWITCH_MASTER_KEY to its content.",
        ),
        (
            "FILE_EXISTS",
            1,
            "`rotate-master-key` would overwrite a file: the `--output` file, or a "
            "`master.key.new` left by a rotation that stopped before its commit.",
            "Pass an `--output` path that does not exist yet; for a left-over "
            "`master.key.new` (the database is not under it, the detail says so) delete it, "
            "unless another rotation is running, and run `vaultswitch vault "
            "rotate-master-key` again.",
        ),
        (
            "NO_VAULT_DATA",
            1,
            "There is no vault data at the data dir (no vault.db) or in the database the "
            "command was given; commands other than `create` never create a store.",
            "Pass the data dir the vault uses, e.g. `vaultswitch vault list --data-dir DIR` "
            "with the DIR given to `vaultswitch up --data-dir DIR` or `vaultswitch vault serve "
            "--data-dir DIR` (default ./.vaultswitch, or VAULTSWITCH_DATA_DIR), or the same "
            "--database-url; to start a new store there run `vaultswitch vault create "
            "--data-dir DIR` or `vaultswitch up --data-dir DIR`.",
        ),
        (
            "NO_ORCHESTRATOR",
            2,
            "A command that talks to the orchestrator (`vaultswitch import`, `vaultswitch "
            "migrate --from A --to B`) was given no "
            "orchestrator URL or API key, and found no `up.json` in its data dir to read them "
            "from.",
            "Pass `--orchestrator-url URL --api-key KEY` (or set VAULTSWITCH_ORCHESTRATOR_URL "
            "and VAULTSWITCH_API_KEY), or start everything with `vaultswitch up --data-dir "
            "DIR` and pass the same `--data-dir DIR`.",
        ),
        (
            "IMPORT_FILE_INVALID",
            2,
            "`vaultswitch import` cannot read the file at all: it does not exist, is empty, or "
            "its CSV header names an unknown column, a column twice, no customer_id, or "
            "neither alias nor card_number. (A bad row is not this: it is reported `invalid` "
            "and the import goes on.)",
            "Give a CSV file whose first line names its columns (customer_id, customer_name, "
            "customer_email, alias or card_number / card_exp_month / card_exp_year / "
            "card_holder_name, last4, card_isin, card_network, expiry_month, expiry_year), or "
            "a JSON lines file with those keys; see docs/import.md.",
        ),
        (
            "IMPORT_JOURNAL_MISMATCH",
            2,
            "The journal next to the file (`FILE.journal`) was written by another import: the "
            "file changed since, or it was run against another orchestrator or profile.",
            "Run the import as it was started (same file, `--orchestrator-url` and "
            "`--profile-id`); to import the file anew, delete FILE.journal first (rows "
            "already imported are then answered `duplicate`).",
        ),
        (
            "IMPORT_JOURNAL_CORRUPT",
            2,
            "The journal next to the file (`FILE.journal`) is not an import journal, or a line "
            "other than the last is not a row record.",
            "Move the journal away (or delete it) and run `vaultswitch import FILE` again; "
            "rows already imported are then answered `duplicate`.",
        ),
        (
            "IMPORT_STOPPED",
            1,
            "The orchestrator refused a batch of an import (a wrong API key, an unknown "
            "profile, a vault that cannot be used: the detail has its HTTP status, code and "
            "message), or did not answer after several tries. Rows answered so far are in the "
            "journal.",
            "Fix what the detail and hint name (`vaultswitch explain CODE` for its code), then "
            "run the same `vaultswitch import FILE` command again: it continues where it "
            "stopped and creates no duplicate.",
        ),
        (
            "MIGRATE_STOPPED",
            1,
            "The orchestrator refused a request of a migration run (an unknown or "
            "unusable vault connector account, a wrong API key: the detail has its HTTP "
            "status, code and message), or did not answer after several tries.",
            "Fix what the detail and hint name (`vaultswitch explain CODE` for its code), then "
            "run the same command again, e.g. `vaultswitch migrate --from SOURCE --to TARGET`: "
            "it continues the open migration and moves no payment method twice.",
        ),
        (
            "MIGRATE_INCOMPLETE",
            1,
            "A migration run (`vaultswitch migrate --from A --to B`) ran to the end, but some "
            "payment methods failed to move, "
            "their copies did not verify, or their source aliases could not be deleted (the "
            "detail counts them).",
            "Look up each payment method's reason in the report (`vaultswitch explain "
            "REASON`), fix it, and run the same command again (e.g. `vaultswitch migrate "
            "--from SOURCE --to TARGET --verify`): only what is not done is tried again.",
        ),
    )
)

# OAuth errors of the token endpoint (Keycloak shape `{"error", "error_description"}`).
OAUTH_CODES: tuple[Entry, ...] = (
    Entry(
        "invalid_client",
        401,
        "token endpoint",
        "Unknown client id or wrong client secret.",
        "Use the client id and secret `vaultswitch vault service-account --vault ID` printed; "
        "the secret is shown only once: if it is lost, create a new account and disable the "
        "old one (`vaultswitch vault service-accounts disable CLIENT_ID`). A disabled account "
        "gets this error too (`vaultswitch vault service-accounts list` shows which are).",
    ),
    Entry(
        "unsupported_grant_type",
        400,
        "token endpoint",
        "Only grant_type=client_credentials is supported.",
        "Send grant_type=client_credentials as a form field.",
    ),
    Entry(
        "invalid_request",
        400,
        "token endpoint",
        "A form field is missing.",
        "Send grant_type, client_id and client_secret as application/x-www-form-urlencoded "
        "fields (or the client pair as HTTP Basic).",
    ),
    Entry(
        "invalid_scope",
        400,
        "token endpoint",
        "The token request asked for a scope the service account was not given.",
        "Ask for a subset of the account's scopes, or none for all of them "
        "(`vaultswitch vault service-accounts list` shows each account's scopes).",
    ),
)


# Codes of the connection test (`vaultswitch.client.checks`) that are not errors of the
# hierarchy: the outcome codes, and a transport failure told apart from a 5xx answer.
CHECK_CODES: tuple[Entry, ...] = (
    Entry(
        "ok",
        200,
        "connection check",
        "The check passed.",
        "Nothing to fix.",
    ),
    Entry(
        "skipped",
        200,
        "connection check",
        "The check did not run because a check it needs failed (e.g. `vault` needs `token`).",
        "Fix the first failing check (its code and hint say how), then run the test again.",
    ),
    Entry(
        "vault_unreachable",
        503,
        "connection check",
        "No HTTP answer from the auth or vault host: the name did not resolve, the connection "
        "was refused or timed out, or the TLS certificate is not trusted. The message names "
        "the host.",
        "Check the connector's auth_base_url / vault_base_url (host, port, http versus https) "
        "and that the host resolves and is reachable from here (DNS, firewall, proxy); for a "
        "TLS failure point ClientConfig.verify at the CA that signed the certificate; for a "
        "vaultswitch vault check that it is running (`vaultswitch up`). A vault host built "
        "from the vault ID does not exist when the vault ID is wrong or of the other "
        "environment.",
    ),
    # the checks `vaultswitch doctor` adds (vaultswitch.client.checks.doctor)
    Entry(
        "dns_failed",
        503,
        "doctor check",
        "The auth or vault host name does not resolve here (`auth_dns` / `vault_dns`).",
        "Check the host in the connector's auth_base_url / vault_base_url and this machine's "
        "DNS (resolver, /etc/hosts, VPN). A vault host built from the vault ID does not exist "
        "when the vault ID is mistyped or of the other environment (sandbox vault IDs do not "
        "work in live).",
    ),
    Entry(
        "tcp_failed",
        503,
        "doctor check",
        "No TCP connection to the auth or vault host (`auth_tcp` / `vault_tcp`): refused "
        "(nothing listens on the port) or timed out (a firewall drops the packets).",
        "Check the port of the connector's URL and the network path; for a vaultswitch vault "
        "check that it is running (`vaultswitch up`).",
    ),
    Entry(
        "tls_failed",
        503,
        "doctor check",
        "The TLS handshake with the auth or vault host failed (`auth_tls` / `vault_tls`): "
        "an untrusted, expired or mismatched certificate, or no TLS on that port.",
        "Trust the CA that signed the certificate (`vaultswitch doctor --ca-file FILE`, "
        "ClientConfig.verify in code), fix the host name in the connector's URL, renew an "
        "expired certificate, or use http:// for a plain-HTTP server.",
    ),
    Entry(
        "scope_missing",
        424,
        "doctor check",
        "The access token lacks a scope a flow needs (`scopes`): aliases:write to insert, "
        "aliases:read to retrieve, aliases:delete to delete. The message names the flows "
        "that will fail.",
        "Give the service account the missing scopes; a vaultswitch vault fixes them at "
        "creation, so create one with all three: `vaultswitch vault service-account --vault ID "
        "--scopes aliases:read,aliases:write,aliases:delete`.",
    ),
    Entry(
        "clock_skew",
        424,
        "doctor check",
        "This machine's clock is more than 60 s away from the auth host's, judged by the "
        "access token's iat (`clock_skew`).",
        "Set the clock right and keep it synchronised with NTP (`timedatectl set-ntp true`, "
        "chrony or ntpd).",
    ),
    Entry(
        "round_trip_mismatch",
        502,
        "doctor check",
        "The `round_trip` check (`vaultswitch doctor --write`) read back another value than it "
        "had just written.",
        "Check that vault_base_url reaches the vault itself, not a proxy or cache in between, "
        "and report it with the vault's trace id.",
    ),
    Entry(
        "alias_wrong_storage",
        404,
        "doctor check",
        "The alias (`vaultswitch doctor --alias A`) is not in the storage asked for, but in "
        "the other one: a VOLATILE alias read as PERSISTENT, or the other way round.",
        "Read it with the storage it was written in (`?storage=VOLATILE`, `vaultswitch doctor "
        "--alias A --storage VOLATILE`); VOLATILE aliases expire after the vault's TTL, so "
        "saved cards must be PERSISTENT.",
    ),
    Entry(
        "proxy_unreachable",
        503,
        "doctor check",
        "The outbound proxy of the account's metadata.proxy_url does not resolve or accepts "
        "no TCP connection (`proxy`).",
        "Check the host and port of metadata.proxy_url (VGS's outbound proxy listens on "
        "8443 and differs between sandbox and live) and the network path.",
    ),
    Entry(
        "proxy_certificate_invalid",
        424,
        "doctor check",
        "The account's metadata.certificate is not an X.509 CA certificate in PEM or base64, "
        "or it has expired (`proxy`).",
        "Put the outbound proxy's current CA certificate in metadata.certificate, as PEM or "
        "its base64 (PUT /v2/connector-accounts/{id}).",
    ),
)


# Reason codes of a vault migration's per-payment-method results (answered with 200).
MIGRATION_CODES: tuple[Entry, ...] = tuple(
    Entry(outcome.code, 200, "vault migration result", outcome.message, outcome.hint)
    for outcome in ALL_OUTCOMES
)


def connector_entries() -> tuple[Entry, ...]:
    """Errors raised by connectors and clients (the domain error hierarchy)."""
    return tuple(
        Entry(cls.code, cls.status, "connector / client", cls.default_message, cls.default_hint)
        for cls in ALL_ERRORS
    )


def orchestrator_entries() -> tuple[Entry, ...]:
    """The orchestrator API's codes and the processor connector's errors."""
    from vaultswitch.troubleshooting_api import ORCHESTRATOR_API, PROCESSOR_CONNECTOR_ERRORS

    api = tuple(Entry(c, s, "orchestrator API", m, h) for c, s, m, h in ORCHESTRATOR_API)
    return api + tuple(
        Entry(cls.code, cls.status, "processor connector", cls.default_message, cls.default_hint)
        for cls in PROCESSOR_CONNECTOR_ERRORS
    )


def proxy_server_entries() -> tuple[Entry, ...]:
    from vaultswitch.troubleshooting_api import PROXY_CLI, PROXY_SERVER

    return tuple(Entry(c, s, "proxy", m, h) for c, s, m, h in PROXY_SERVER) + tuple(
        Entry(c, s, CLI_WHERE, m, h) for c, s, m, h in PROXY_CLI
    )


def sandbox_processor_entries() -> tuple[Entry, ...]:
    from vaultswitch.troubleshooting_api import SANDBOX_PROCESSOR

    return tuple(Entry(c, s, "sandbox processor", m, h) for c, s, m, h in SANDBOX_PROCESSOR)


def proxy_filter_entries() -> tuple[Entry, ...]:
    """What the vault's proxies answer when a route's entries cannot be applied."""
    from vaultswitch.proxy.filters.errors import catalogue

    return tuple(Entry(c, s, "proxy", m, h) for c, s, m, h in catalogue())


def all_entries() -> tuple[Entry, ...]:
    return (
        connector_entries()
        + CHECK_CODES
        + VAULT_SERVER_CODES
        + OAUTH_CODES
        + CLI_CODES
        + orchestrator_entries()
        + sandbox_processor_entries()
        + MIGRATION_CODES
        + proxy_filter_entries()
        + proxy_server_entries()
    )


def find_entries(code: str) -> list[Entry]:
    """Every entry with that code (case-insensitive): a code can exist at several layers."""
    wanted = code.strip().lower()
    return [entry for entry in all_entries() if entry.code.lower() == wanted]


def server_hint(code: str) -> str | None:
    """The hint for a vault error code (``errors[].code``, or one of the admin CLI)."""
    for entry in VAULT_SERVER_CODES + CLI_CODES:
        if entry.code == code:
            return entry.hint
    return None


# A command in a hint: `vaultswitch ...` in backticks.
COMMAND_RE = re.compile(r"`(vaultswitch(?: [^`]*)?)`")
_TAKES_DATA_DIR = re.compile(r"vaultswitch (?:vault|up|routes)\b")


def runnable_hint(hint: str, data_dir_flag: str) -> str:
    """The hint with ``data_dir_flag`` (`` --data-dir DIR`` or "") added to each vault
    command in it that does not name a data dir already, so it works when copied."""
    if not data_dir_flag:
        return hint

    def complete(match: re.Match[str]) -> str:
        command = match.group(1)
        if _TAKES_DATA_DIR.match(command) and "--data-dir" not in command:
            command += data_dir_flag
        return f"`{command}`"

    return COMMAND_RE.sub(complete, hint)


def render_markdown() -> str:
    """The text of docs/troubleshooting.md (a test keeps the file in step)."""
    lines = [
        "# Troubleshooting",
        "",
        "Every error vaultswitch reports has a stable code, an HTTP status, a message and a",
        "hint. `vaultswitch explain CODE` prints the entry for one code. This page is",
        "generated from the code (`python -m vaultswitch.troubleshooting > "
        "docs/troubleshooting.md`).",
        "",
        "## The usual VGS failure modes",
        "",
        "- **OAuth 401** (`vault_authentication_failed`): the client ID / client secret pair",
        "  is wrong, or the service account lacks the vault scopes.",
        "- **Wrong vault ID** (`vault_not_found`): a typo, a vault of another environment",
        "  (sandbox IDs do not work in live), or credentials not assigned to the vault.",
        "- **Missing or expired alias** (`alias_not_found`): the insert failed, the alias was",
        "  deleted, or a VOLATILE alias outlived its TTL.",
        "- **Network** (`vault_unreachable`): the auth or vault host gave no HTTP answer",
        "  (DNS, connection refused, timeout, untrusted TLS certificate).",
        "",
    ]
    connectors = connector_entries()
    sections = (
        ("Connector and client errors", connectors),
        ("Connection check codes (`vaultswitch.client.checks`)", CHECK_CODES),
        ("Vault server errors (`errors[].code` in the VGS error body)", VAULT_SERVER_CODES),
        ("Token endpoint errors (`error` in the OAuth body)", OAUTH_CODES),
        ("Command-line errors (`error` in the JSON error of a command)", CLI_CODES),
        ("Orchestrator API errors (`error.code`) and processor errors", orchestrator_entries()),
        ("Sandbox processor errors (`error.code` of its own API)", sandbox_processor_entries()),
        (
            "Proxy errors (`errors[].code` of the proxies, and their commands)",
            proxy_server_entries(),
        ),
        ("Vault migration results (`reason` of a payment method)", MIGRATION_CODES),
        ("Proxy filter errors (route entries that cannot be applied)", proxy_filter_entries()),
    )
    for title, entries in sections:
        lines += [f"## {title}", ""]
        if entries is CHECK_CODES:
            lines += [
                "Each check of a connection test (`token`, then `vault`) reports `ok`, `skipped`",
                "or the code of what went wrong: one of the errors above, or",
                "`vault_unreachable` when a host gave no HTTP answer at all.",
                "`vaultswitch doctor` adds checks of its own (docs/doctor.md), whose codes",
                "follow `vault_unreachable` below.",
                "",
            ]
        elif entries is CLI_CODES:
            lines += [
                'A failing command prints `{"error", "detail", "hint"}` as the last line',
                "of stderr and exits with the status shown; the vault admin commands also",
                "report the vault server codes above (e.g. `VAULT_NOT_FOUND` for an unknown",
                "`--vault`).",
                "",
            ]
        elif entries is MIGRATION_CODES:
            lines += [
                "A vault migration answers each payment method with a status and, when there",
                "is something to say, a reason: a vault error's code (above) or one of these.",
                "The report of a migration run has them for every payment method",
                "(docs/migrate.md).",
                "",
            ]
        elif title.startswith("Proxy filter"):
            lines += [
                "The inbound and outbound proxies answer these in the vault's error shape when",
                "a route's entries cannot be applied to a request (the status shown) or to an",
                "upstream's response (502). docs/proxy.md says what the entries do.",
                "",
            ]
        elif entries is connectors:
            lines += [
                "The status is the one an API built on vaultswitch should answer with",
                "(`error.status`): 424 Failed Dependency when the vault rejects the",
                "connector's configuration (credentials, vault ID, scopes), 404 for a missing",
                "alias, 429 when rate limited, 503 when the vault cannot be reached, 502 for",
                "an unreadable answer, 400 for bad input (naming the field). The vault's own",
                "status is kept in `upstream_status`, its trace id in `trace_id`.",
                "",
            ]
        for entry in entries:
            lines += [
                f"### `{entry.code}` ({entry.status_label})",
                "",
                entry.message,
                "",
                f"**Fix:** {entry.hint}",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
