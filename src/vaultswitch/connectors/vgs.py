"""The VGS (Very Good Security) vault connector: Vault API v2 (OAuth2) or v1 (Basic).

Sans-IO: every flow returns a :class:`~vaultswitch.connectors.base.Call`. Single-token
mode stores the whole card as one JSON value (Hyperswitch ``CardCustomData``, never
the CVC); multi-token mode stores one alias per field (number, expiry month and year,
CVC, holder name) with a per-field format and storage policy (CVC and cryptogram
always VOLATILE).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import quote, urlencode

from vaultswitch.connectors.base import (
    AccessToken,
    AccessTokenGrant,
    Call,
    CardVaultIds,
    Credentials,
    DeleteResult,
    Flow,
    HttpRequest,
    HttpResponse,
    InsertResult,
    NetworkTokenVaultIds,
    RetrieveResult,
    SessionResult,
    SignatureKey,
    SingleVaultId,
    StorageType,
    VaultConnector,
    VaultId,
    VaultRequestData,
    as_access_token,
    require_request_data,
    require_request_items,
)
from vaultswitch.connectors.registry import register_connector
from vaultswitch.connectors.vgs_wire import (
    AliasItem,
    Endpoint,
    ErrorContext,
    card_value,
    create_body,
    delete_body,
    json_object,
    malformed,
    map_error,
    network_token_value,
    parse_create_response,
    parse_reveal_multiple,
    parse_reveal_single,
    vault_data_from_value,
)
from vaultswitch.domain.cards import Card, CardNumber, NetworkToken
from vaultswitch.domain.errors import (
    InvalidCardData,
    InvalidCredentials,
    InvalidRequest,
    VaultswitchError,
)
from vaultswitch.domain.secret import Secret

DEFAULT_AUTH_BASE_URL = "https://auth.verygoodsecurity.com/"
DEFAULT_VAULT_BASE_URLS = {
    "sandbox": "https://{vault_id}.sandbox.vault-api.verygoodvault.com/",
    "live": "https://{vault_id}.live.vault-api.verygoodvault.com/",
}
DEFAULT_V1_BASE_URLS = {
    "sandbox": "https://api.sandbox.verygoodvault.com/",
    "live": "https://api.live.verygoodvault.com/",
}
TOKEN_PATH = "auth/realms/vgs/protocol/openid-connect/token"  # noqa: S105 (a URL path)
MAX_BATCH_SIZE = 20
VAULT_ID_PATTERN = re.compile(r"tnt[a-z0-9]{8}")
SINGLE_CLASSIFIER = "data"

#: Alias formats VGS documents (``format`` of ``POST /aliases``).
ALIAS_FORMATS = frozenset(
    {
        "UUID",
        "RAW_UUID",
        "NUM_LENGTH_PRESERVING",
        "GENERIC_T_FOUR",
        "VGS_FIXED_LEN_GENERIC",
        "FPE_SIX_T_FOUR",
        "FPE_T_FOUR",
        "PFPT",
        "NON_LUHN_FPE_ALPHANUMERIC",
        "ALPHANUMERIC_SIX_T_FOUR",
        "FPE_SSN_T_FOUR",
        "FPE_ACC_NUM_T_FOUR",
        "FPE_ALPHANUMERIC_ACC_NUM_T_FOUR",
        "ALPHANUMERIC_LENGTH_PRESERVING",
        "ALPHANUMERIC_LENGTH_PRESERVING_T_FOUR",
        "ALPHANUMERIC_SSN_T_FOUR",
        "ALPHANUMERIC_LENGTH_PRESERVING_SIX_T_FOUR",
        "CUSTOM",
        "JS",
    }
)

CARD_FIELDS = ("card_number", "card_exp_month", "card_exp_year", "card_cvc", "card_holder_name")
NETWORK_TOKEN_FIELDS = (
    "network_token",
    "network_token_exp_month",
    "network_token_exp_year",
    "cryptogram",
)
#: Classifier sent with each per-field value (Hyperswitch's names).
FIELD_CLASSIFIERS: Mapping[str, str] = {
    "card_number": "card_number",
    "card_exp_month": "card_expiry_month",
    "card_exp_year": "card_expiry_year",
    "card_cvc": "card_cvc",
    "card_holder_name": "card_holder_name",
    "network_token": "payment_token",
    "network_token_exp_month": "token_expiry_month",
    "network_token_exp_year": "token_expiry_year",
    "cryptogram": "token_cryptogram",
}
#: Sensitive authentication data: only ever VOLATILE.
VOLATILE_ONLY_FIELDS = frozenset({"card_cvc", "cryptogram"})
EXPIRY_FIELDS = frozenset(
    {"card_exp_month", "card_exp_year", "network_token_exp_month", "network_token_exp_year"}
)
#: Values many cards share (one alias each under fingerprinting): kept on delete by default.
HOLDER_NAME_FIELDS = frozenset({"card_holder_name"})


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """Alias format and storage of one per-field token."""

    format: str = "UUID"
    storage: StorageType = StorageType.PERSISTENT


def default_field_policy() -> dict[str, FieldPolicy]:
    """UUID everywhere; PERSISTENT for numbers, expiry and holder name, VOLATILE for CVC and
    cryptogram."""
    return {
        name: FieldPolicy(
            "UUID",
            StorageType.VOLATILE if name in VOLATILE_ONLY_FIELDS else StorageType.PERSISTENT,
        )
        for name in (*CARD_FIELDS, *NETWORK_TOKEN_FIELDS)
    }


def _config_error(option: str, message: str, hint: str | None = None) -> InvalidRequest:
    return InvalidRequest(f"VGS connector option {option}: {message}", field=option, hint=hint)


def _storage(value: Any, option: str) -> StorageType:
    if isinstance(value, StorageType):
        return value
    if isinstance(value, str) and value.strip().upper() in StorageType.__members__:
        return StorageType[value.strip().upper()]
    raise _config_error(option, "must be PERSISTENT or VOLATILE")


def _alias_format(value: Any, option: str) -> str:
    if isinstance(value, str) and value.strip().upper() in ALIAS_FORMATS:
        return value.strip().upper()
    raise _config_error(
        option, "is not a VGS alias format", hint=f"Use one of {', '.join(sorted(ALIAS_FORMATS))}."
    )


def _base_url(value: Any, option: str, *, needs_vault_id: bool) -> str:
    if not isinstance(value, str) or not re.match(r"https?://[^/\s]", value.strip()):
        raise _config_error(option, "must be an http:// or https:// URL")
    url = value.strip().replace("{{vault_id}}", "{vault_id}")
    if needs_vault_id and "{vault_id}" not in url:
        raise _config_error(
            option,
            "must contain {vault_id} (or {{vault_id}}) where the vault ID goes",
            hint="e.g. https://{vault_id}.sandbox.vault-api.verygoodvault.com/ or "
            "http://127.0.0.1:8220/{vault_id}/",
        )
    return url if url.endswith("/") else url + "/"


def _field_policy(value: Any) -> dict[str, FieldPolicy]:
    policy = default_field_policy()
    if value is None:
        return policy
    if not isinstance(value, Mapping):
        raise _config_error("field_policy", "must map field names to {format, storage}")
    for name, entry in value.items():
        option = f"field_policy.{name}"
        if name not in policy:
            raise _config_error(
                option,
                "is not a card or network token field",
                hint=f"Fields: {', '.join(policy)}.",
            )
        base = policy[name]
        if isinstance(entry, FieldPolicy):
            fmt, storage = entry.format, entry.storage
        elif isinstance(entry, Mapping):
            unknown = set(entry) - {"format", "storage"}
            if unknown:
                raise _config_error(option, f"unknown keys {', '.join(sorted(map(str, unknown)))}")
            fmt = entry.get("format", base.format)
            storage = entry.get("storage", base.storage)
        else:
            raise _config_error(option, "must be {format, storage}")
        resolved = FieldPolicy(
            _alias_format(fmt, f"{option}.format"), _storage(storage, f"{option}.storage")
        )
        if name in VOLATILE_ONLY_FIELDS and resolved.storage is not StorageType.VOLATILE:
            raise _config_error(
                f"{option}.storage",
                f"{name} must be VOLATILE: card security codes and cryptograms may never "
                "be stored persistently (PCI DSS)",
            )
        policy[name] = resolved
    return policy


@dataclass(frozen=True, slots=True)
class VgsConfig:
    """How the connector reaches VGS and how it tokenizes. Validated on construction."""

    environment: str = "sandbox"
    api_version: str = "v2"
    vault_base_url: str | None = None
    auth_base_url: str = DEFAULT_AUTH_BASE_URL
    v1_base_url: str | None = None
    token_format: str = "UUID"  # noqa: S105 (an alias format)
    token_storage: StorageType = StorageType.PERSISTENT
    classifier: str = SINGLE_CLASSIFIER
    field_policy: Mapping[str, FieldPolicy] = field(default_factory=default_field_policy)
    batch_size: int = MAX_BATCH_SIZE
    delete_expiry_aliases: bool = False
    delete_holder_name_aliases: bool = False

    def __post_init__(self) -> None:
        env = self.environment.strip().lower() if isinstance(self.environment, str) else ""
        if env not in DEFAULT_VAULT_BASE_URLS:
            raise _config_error("environment", "must be sandbox or live")
        version = self.api_version.strip().lower() if isinstance(self.api_version, str) else ""
        if version not in ("v1", "v2"):
            raise _config_error("api_version", "must be v2 (OAuth2) or v1 (HTTP Basic)")
        batch = self.batch_size
        if (
            isinstance(batch, bool)
            or not isinstance(batch, int)
            or not 1 <= batch <= MAX_BATCH_SIZE
        ):
            raise _config_error("batch_size", f"must be an integer from 1 to {MAX_BATCH_SIZE}")
        if not isinstance(self.classifier, str) or not self.classifier.strip():
            raise _config_error("classifier", "must be a non-empty string")
        values: dict[str, Any] = {
            "environment": env,
            "api_version": version,
            "vault_base_url": _base_url(
                self.vault_base_url or DEFAULT_VAULT_BASE_URLS[env],
                "vault_base_url",
                needs_vault_id=True,
            ),
            "auth_base_url": _base_url(self.auth_base_url, "auth_base_url", needs_vault_id=False),
            "v1_base_url": _base_url(
                self.v1_base_url or DEFAULT_V1_BASE_URLS[env], "v1_base_url", needs_vault_id=False
            ),
            "token_format": _alias_format(self.token_format, "token_format"),
            "token_storage": _storage(self.token_storage, "token_storage"),
            "classifier": self.classifier.strip(),
            "field_policy": _field_policy(self.field_policy),
            "delete_expiry_aliases": bool(self.delete_expiry_aliases),
            "delete_holder_name_aliases": bool(self.delete_holder_name_aliases),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> VgsConfig:
        """Build from keyword options (e.g. TOML/JSON), naming any unknown option."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidRequest(
                f"unknown VGS connector option(s): {', '.join(unknown)}",
                field=unknown[0],
                hint=f"Known options: {', '.join(sorted(known))}.",
            )
        return cls(**options)

    @property
    def vault_base_template(self) -> str:
        """The base URL template of the configured API version."""
        return self.vault_base_url if self.api_version == "v2" else self.v1_base_url  # type: ignore[return-value]

    @property
    def token_url(self) -> str:
        return self.auth_base_url + TOKEN_PATH


# --- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Account:
    client_id: Secret
    client_secret: Secret
    vault_id: str


def _vault_id_problem(vault_id: str) -> str:
    if not vault_id.startswith("tnt"):
        return "does not start with tnt"
    if vault_id != vault_id.lower():
        return "contains uppercase letters"
    if len(vault_id) != 11:
        return f"has {len(vault_id)} characters instead of 11"
    return "contains characters other than lowercase letters and digits"


# --- the connector -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Planned:
    """One value to send in an insert, and which payment method / field it belongs to."""

    owner: int
    field: str
    item: AliasItem


class VgsConnector(VaultConnector):
    """VGS Vault API connector (``vgs``); options are :class:`VgsConfig` fields."""

    name = "vgs"
    accepted_credentials = (SignatureKey,)
    supported_flows = frozenset(
        {Flow.ACCESS_TOKEN, Flow.INSERT, Flow.RETRIEVE, Flow.DELETE, Flow.CREATE_SESSION}
    )

    def __init__(self, config: VgsConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise InvalidRequest("pass either a VgsConfig or options, not both", field="config")
        self.config = config if config is not None else VgsConfig.from_options(options)

    def __repr__(self) -> str:
        cfg = self.config
        return f"VgsConnector(environment={cfg.environment}, api_version={cfg.api_version})"

    # --- credentials and auth ---------------------------------------------------------------

    def supports(self, flow: Flow) -> bool:
        if flow is Flow.ACCESS_TOKEN and self.config.api_version == "v1":
            return False
        return super().supports(flow)

    def check_credentials(self, credentials: Credentials) -> None:
        self._account(credentials)

    def _account(self, credentials: Credentials) -> _Account:
        super().check_credentials(credentials)
        assert isinstance(credentials, SignatureKey)
        v1 = self.config.api_version == "v1"
        who = (
            ("vault access credentials username", "password")
            if v1
            else ("OAuth client ID", "client secret")
        )
        for attr, label in (("api_key", who[0]), ("key1", who[1])):
            if not getattr(credentials, attr).reveal().strip():
                raise InvalidCredentials(
                    f"{attr} (the VGS {label}) is empty",
                    field=f"connector_account_details.{attr}",
                )
        vault_id = credentials.api_secret.reveal().strip()
        if not VAULT_ID_PATTERN.fullmatch(vault_id):
            raise InvalidCredentials(
                "api_secret must be the VGS vault ID; the value given "
                + _vault_id_problem(vault_id),
                field="connector_account_details.api_secret",
                hint="A VGS vault ID is tnt followed by 8 lowercase letters or digits "
                "(e.g. tntabc12345); find it in the VGS dashboard. Vault IDs are "
                "environment-specific.",
            )
        return _Account(
            Secret(credentials.api_key.reveal().strip()),
            Secret(credentials.key1.reveal().strip()),
            vault_id,
        )

    def requires_access_token(self, credentials: Credentials) -> bool:
        return self.config.api_version == "v2"

    def token_cache_key(self, credentials: Credentials) -> str:
        """SHA-256 hex of ``vgs|<token URL>|<client id>|<vault id>``."""
        if self.config.api_version != "v2":
            return super().token_cache_key(credentials)
        account = self._account(credentials)
        raw = f"vgs|{self.config.token_url}|{account.client_id.reveal()}|{account.vault_id}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def access_token(self, credentials: Credentials) -> Call[AccessTokenGrant]:
        if self.config.api_version != "v2":
            raise self._unsupported(Flow.ACCESS_TOKEN)
        account = self._account(credentials)
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": account.client_id.reveal(),
                "client_secret": account.client_secret.reveal(),
            }
        ).encode()
        request = HttpRequest(
            "POST",
            self.config.token_url,
            Flow.ACCESS_TOKEN,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=body,
        )
        ctx = ErrorContext(
            Endpoint.TOKEN,
            "v2",
            "issue an access token",
            secrets=(account.client_secret, account.client_id),
        )

        def parse(responses: Sequence[HttpResponse]) -> AccessTokenGrant:
            (response,) = _expect(responses, 1)
            if response.status != 200:
                raise map_error(response, ctx)
            return _parse_grant(response)

        return Call((request,), parse)

    def _headers(
        self, account: _Account, token: AccessToken | None, *, json_body: bool
    ) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if json_body:
            headers["Content-Type"] = "application/json"
        if self.config.api_version == "v2":
            if token is None:
                raise InvalidRequest(
                    "VGS Vault API v2 calls need an access token; run the access_token flow first",
                    field="access_token",
                )
            headers["Authorization"] = f"Bearer {token.token.reveal()}"
        else:
            pair = f"{account.client_id.reveal()}:{account.client_secret.reveal()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers

    def _base(self, account: _Account) -> str:
        return self.config.vault_base_template.replace("{vault_id}", account.vault_id)

    def _ctx(
        self,
        account: _Account,
        token: AccessToken | None,
        endpoint: Endpoint,
        operation: str,
        scope: str,
        aliases: tuple[str, ...] = (),
    ) -> ErrorContext:
        secrets = [account.client_secret]
        if token is not None:
            secrets.append(token.token)
        return ErrorContext(
            endpoint,
            self.config.api_version,
            operation,
            scope=scope if self.config.api_version == "v2" else None,
            aliases=aliases,
            vault_id=account.vault_id,
            environment=self.config.environment,
            secrets=tuple(secrets),
        )

    def _request(
        self,
        method: str,
        url: str,
        flow: Flow,
        headers: dict[str, str],
        body: bytes | None = None,
        *,
        retry_safe: bool = True,
    ) -> HttpRequest:
        return HttpRequest(
            method,
            url,
            flow,
            headers=headers,
            body=body,
            retry_safe=retry_safe,
            uses_access_token=self.config.api_version == "v2",
        )

    # --- insert -----------------------------------------------------------------------------

    def insert(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[InsertResult]:
        many = self.insert_many(credentials, token, [require_request_data(data)])

        def parse(responses: Sequence[HttpResponse]) -> InsertResult:
            return many.parse(responses)[0]

        return Call(many.requests, parse)

    def insert_many(
        self,
        credentials: Credentials,
        token: AccessToken | None,
        items: Sequence[VaultRequestData],
    ) -> Call[list[InsertResult]]:
        """Insert every payment method in as few requests as the 20-item limit allows."""
        account = self._account(credentials)
        token = as_access_token(token)
        require_request_items(items)
        planned: list[_Planned] = []
        for owner, data in enumerate(items):
            planned.extend(
                self._plan(owner, data, field_prefix="" if len(items) == 1 else f"items[{owner}].")
            )
        if not planned:
            return Call((), lambda responses: [])
        headers = self._headers(account, token, json_body=True)
        url = self._base(account) + "aliases"
        size = self.config.batch_size
        chunks = [planned[i : i + size] for i in range(0, len(planned), size)]
        requests = tuple(
            self._request(
                "POST",
                url,
                Flow.INSERT,
                headers,
                create_body([p.item for p in chunk]),
                retry_safe=False,
            )
            for chunk in chunks
        )
        ctx = self._ctx(account, token, Endpoint.CREATE, "create aliases", "aliases:write")

        def parse(responses: Sequence[HttpResponse]) -> list[InsertResult]:
            _expect(responses, len(chunks))
            _raise_first_error(responses, ctx, (200, 201))
            aliases: list[str] = []
            for chunk, response in zip(chunks, responses, strict=True):
                aliases.extend(parse_create_response(response, [p.item.format for p in chunk]))
            by_owner: list[dict[str, str]] = [{} for _ in items]
            for plan, alias in zip(planned, aliases, strict=True):
                by_owner[plan.owner][plan.field] = alias
            return [
                _insert_result(fields_, data.should_generate_multiple_tokens, data.vaulting_data)
                for fields_, data in zip(by_owner, items, strict=True)
            ]

        return Call(requests, parse)

    def _plan(self, owner: int, data: VaultRequestData, *, field_prefix: str) -> list[_Planned]:
        vaulting: object = data.vaulting_data
        where = f"{field_prefix}vaulting_data"
        if vaulting is None:
            raise InvalidRequest("insert needs the payment method data", field=where)
        if not isinstance(vaulting, Card | NetworkToken | CardNumber):
            raise InvalidRequest(
                "VGS vaults cards, card numbers and network tokens only", field=where
            )
        cfg = self.config
        if not data.should_generate_multiple_tokens:
            value = (
                network_token_value(vaulting)
                if isinstance(vaulting, NetworkToken)
                else card_value(vaulting)
            )
            item = AliasItem(value, cfg.classifier, cfg.token_format, cfg.token_storage)
            return [_Planned(owner, "data", item)]
        if isinstance(vaulting, CardNumber):
            raise InvalidRequest(
                "per-field tokens need a full card (number and expiry), not only a number",
                field=where,
            )
        values: list[tuple[str, Secret | None]]
        if isinstance(vaulting, Card):
            values = [
                ("card_number", vaulting.number.secret),
                ("card_exp_month", Secret(vaulting.expiry.month_str)),
                ("card_exp_year", Secret(vaulting.expiry.year_str)),
                ("card_cvc", vaulting.cvc),
                (
                    "card_holder_name",
                    None if vaulting.holder_name is None else Secret(vaulting.holder_name),
                ),
            ]
        else:
            values = [
                ("network_token", vaulting.token.secret),
                ("network_token_exp_month", Secret(vaulting.expiry.month_str)),
                ("network_token_exp_year", Secret(vaulting.expiry.year_str)),
                ("cryptogram", vaulting.cryptogram),
            ]
        planned = []
        for name, secret in values:
            if secret is None or not secret.reveal():
                continue
            policy = cfg.field_policy[name]
            item = AliasItem(secret, FIELD_CLASSIFIERS[name], policy.format, policy.storage)
            planned.append(_Planned(owner, name, item))
        return planned

    # --- retrieve ---------------------------------------------------------------------------

    def retrieve(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[RetrieveResult]:
        account = self._account(credentials)
        token = as_access_token(token)
        vault_id = _vault_id_of(data)
        headers = self._headers(account, token, json_body=False)
        base = self._base(account)
        if isinstance(vault_id, SingleVaultId):
            alias = vault_id.alias
            url = base + "aliases/" + quote(alias, safe="") + self._storage_query()
            request = self._request("GET", url, Flow.RETRIEVE, headers)
            ctx = self._ctx(
                account, token, Endpoint.ALIAS, "reveal an alias", "aliases:read", (alias,)
            )

            def parse_single(responses: Sequence[HttpResponse]) -> RetrieveResult:
                (response,) = _expect(responses, 1)
                _raise_first_error(responses, ctx, (200,))
                value = parse_reveal_single(response, alias)
                return RetrieveResult(vault_data_from_value(value, alias, response))

            return Call((request,), parse_single)

        groups = self._storage_groups(vault_id)
        requests = []
        contexts = []
        for storage, named in groups:
            unique = tuple(dict.fromkeys(alias for _name, alias in named))
            query = "?aliases=" + ",".join(quote(a, safe="") for a in unique)
            if storage is StorageType.VOLATILE:
                query += "&storage=VOLATILE"
            requests.append(self._request("GET", base + "aliases" + query, Flow.RETRIEVE, headers))
            contexts.append(
                self._ctx(account, token, Endpoint.ALIAS, "reveal aliases", "aliases:read", unique)
            )

        def parse_multi(responses: Sequence[HttpResponse]) -> RetrieveResult:
            _expect(responses, len(groups))
            for response, ctx in zip(responses, contexts, strict=True):
                if response.status != 200:
                    raise map_error(response, ctx)
            values: dict[str, Secret] = {}
            for (_storage, named), response in zip(groups, responses, strict=True):
                revealed = parse_reveal_multiple(response, [alias for _n, alias in named])
                for name, alias in named:
                    values[name] = revealed[alias]
            return RetrieveResult(_rebuild(vault_id, values, responses[0]))

        return Call(tuple(requests), parse_multi)

    def _storage_query(self) -> str:
        return "?storage=VOLATILE" if self.config.token_storage is StorageType.VOLATILE else ""

    def _storage_groups(
        self, vault_id: CardVaultIds | NetworkTokenVaultIds
    ) -> list[tuple[StorageType, list[tuple[str, str]]]]:
        """(storage, [(field, alias), ...]) in first-seen order: normally PERSISTENT, VOLATILE."""
        groups: dict[StorageType, list[tuple[str, str]]] = {}
        for name, alias in _field_aliases(vault_id):
            groups.setdefault(self.config.field_policy[name].storage, []).append((name, alias))
        return list(groups.items())

    # --- delete -----------------------------------------------------------------------------

    def delete(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[DeleteResult]:
        account = self._account(credentials)
        token = as_access_token(token)
        vault_id = _vault_id_of(data)
        base = self._base(account)
        if isinstance(vault_id, SingleVaultId):
            alias = vault_id.alias
            url = base + "aliases/" + quote(alias, safe="") + self._storage_query()
            headers = self._headers(account, token, json_body=False)
            request = self._request("DELETE", url, Flow.DELETE, headers)
            ctx = self._ctx(
                account, token, Endpoint.ALIAS, "delete an alias", "aliases:delete", (alias,)
            )

            def parse_single(responses: Sequence[HttpResponse]) -> DeleteResult:
                _expect(responses, 1)
                _raise_first_error(responses, ctx, (200, 202, 204))
                return DeleteResult((alias,))

            return Call((request,), parse_single)

        headers = self._headers(account, token, json_body=True)
        size = self.config.batch_size
        batches: list[tuple[StorageType, tuple[str, ...]]] = []
        for storage, named in self._storage_groups(vault_id):
            keep = [alias for name, alias in named if self._deletes(name)]
            unique = tuple(dict.fromkeys(keep))
            batches.extend((storage, unique[i : i + size]) for i in range(0, len(unique), size))
        requests = tuple(
            self._request(
                "POST", base + "aliases/delete", Flow.DELETE, headers, delete_body(chunk, storage)
            )
            for storage, chunk in batches
        )
        contexts = [
            self._ctx(account, token, Endpoint.ALIAS, "delete aliases", "aliases:delete", chunk)
            for _storage, chunk in batches
        ]

        def parse_multi(responses: Sequence[HttpResponse]) -> DeleteResult:
            _expect(responses, len(batches))
            for response, ctx in zip(responses, contexts, strict=True):
                if response.status not in (200, 202, 204):
                    raise map_error(response, ctx)
            return DeleteResult(tuple(alias for _storage, chunk in batches for alias in chunk))

        return Call(requests, parse_multi)

    def _deletes(self, name: str) -> bool:
        """Whether a multi-token delete deletes the alias of field ``name``: expiry and holder
        name aliases are shared by every card with the same value, so only when configured."""
        if name in EXPIRY_FIELDS:
            return self.config.delete_expiry_aliases
        if name in HOLDER_NAME_FIELDS:
            return self.config.delete_holder_name_aliases
        return True

    # --- session ----------------------------------------------------------------------------

    def create_session(
        self, credentials: Credentials, data: VaultRequestData
    ) -> Call[SessionResult]:
        """No request: VGS Collect needs only the vault ID and the environment."""
        account = self._account(credentials)
        details = {"external_vault_id": account.vault_id, "sdk_env": self.config.environment}
        return Call((), lambda responses: SessionResult(details))

    # --- one field as its own alias ---------------------------------------------------------

    def field_storage(self, name: str) -> StorageType:
        """The storage a lone alias of field ``name`` is written and read with."""
        return self._policy_of(name).storage

    def insert_field(
        self, credentials: Credentials, token: AccessToken | None, name: str, value: Secret
    ) -> Call[str]:
        """Store one card field as an alias of its own, with that field's format and storage
        (``card_cvc``: VOLATILE), and answer the alias. For a value that belongs with a card
        stored in single-token mode, such as the CVC kept for the next payment."""
        account = self._account(credentials)
        token = as_access_token(token)
        policy = self._policy_of(name)
        if not isinstance(value, Secret) or not value.reveal():
            raise InvalidRequest(f"{name} must be a non-empty Secret", field=name)
        item = AliasItem(value, FIELD_CLASSIFIERS[name], policy.format, policy.storage)
        headers = self._headers(account, token, json_body=True)
        request = self._request(
            "POST",
            self._base(account) + "aliases",
            Flow.INSERT,
            headers,
            create_body([item]),
            retry_safe=False,
        )
        ctx = self._ctx(account, token, Endpoint.CREATE, f"create a {name} alias", "aliases:write")

        def parse(responses: Sequence[HttpResponse]) -> str:
            (response,) = _expect(responses, 1)
            _raise_first_error(responses, ctx, (200, 201))
            (alias,) = parse_create_response(response, [policy.format])
            return alias

        return Call((request,), parse)

    def retrieve_field(
        self, credentials: Credentials, token: AccessToken | None, name: str, alias: str
    ) -> Call[Secret]:
        """Reveal a lone alias of field ``name`` (read with that field's storage)."""
        account = self._account(credentials)
        token = as_access_token(token)
        url = self._field_alias_url(account, name, alias)
        request = self._request(
            "GET", url, Flow.RETRIEVE, self._headers(account, token, json_body=False)
        )
        ctx = self._ctx(
            account, token, Endpoint.ALIAS, f"reveal a {name} alias", "aliases:read", (alias,)
        )

        def parse(responses: Sequence[HttpResponse]) -> Secret:
            (response,) = _expect(responses, 1)
            _raise_first_error(responses, ctx, (200,))
            return parse_reveal_single(response, alias)

        return Call((request,), parse)

    def reveal_aliases(
        self,
        credentials: Credentials,
        token: AccessToken | None,
        aliases: Sequence[str],
        storage: StorageType = StorageType.PERSISTENT,
    ) -> Call[dict[str, Secret]]:
        """Reveal up to ``batch_size`` (20) aliases in one ``GET /aliases?aliases=...``.

        The answer holds the value of every alias the vault returned; an alias missing from
        a 200 answer is missing from the dict (VGS does not document partial answers). A
        vault that refuses the whole request because one alias is unknown (ours: 404)
        raises :class:`~vaultswitch.domain.errors.AliasNotFound`: the caller splits the
        batch to find which.
        """
        account = self._account(credentials)
        token = as_access_token(token)
        unique = tuple(dict.fromkeys(aliases))
        if not unique:
            return Call((), lambda responses: {})
        if len(unique) > self.config.batch_size:
            raise InvalidRequest(
                f"at most {self.config.batch_size} aliases per reveal request",
                field="aliases",
            )
        for alias in unique:
            if not isinstance(alias, str) or not alias.strip():
                raise InvalidRequest("the alias is empty", field="aliases")
        query = "?aliases=" + ",".join(quote(a, safe="") for a in unique)
        if storage is StorageType.VOLATILE:
            query += "&storage=VOLATILE"
        request = self._request(
            "GET",
            self._base(account) + "aliases" + query,
            Flow.RETRIEVE,
            self._headers(account, token, json_body=False),
        )
        ctx = self._ctx(account, token, Endpoint.ALIAS, "reveal aliases", "aliases:read", unique)

        def parse(responses: Sequence[HttpResponse]) -> dict[str, Secret]:
            (response,) = _expect(responses, 1)
            _raise_first_error(responses, ctx, (200,))
            return parse_reveal_multiple(response, unique, missing_ok=True)

        return Call((request,), parse)

    def delete_field(
        self, credentials: Credentials, token: AccessToken | None, name: str, alias: str
    ) -> Call[DeleteResult]:
        """Delete a lone alias of field ``name`` (addressed with that field's storage)."""
        account = self._account(credentials)
        token = as_access_token(token)
        url = self._field_alias_url(account, name, alias)
        request = self._request(
            "DELETE", url, Flow.DELETE, self._headers(account, token, json_body=False)
        )
        ctx = self._ctx(
            account, token, Endpoint.ALIAS, f"delete a {name} alias", "aliases:delete", (alias,)
        )

        def parse(responses: Sequence[HttpResponse]) -> DeleteResult:
            _expect(responses, 1)
            _raise_first_error(responses, ctx, (200, 202, 204))
            return DeleteResult((alias,))

        return Call((request,), parse)

    def _policy_of(self, name: str) -> FieldPolicy:
        policy = self.config.field_policy.get(name) if isinstance(name, str) else None
        if policy is None:
            raise InvalidRequest(
                f"{name!r} is not a card or network token field",
                field="name",
                hint=f"Fields: {', '.join(self.config.field_policy)}.",
            )
        return policy

    def _field_alias_url(self, account: _Account, name: str, alias: str) -> str:
        storage = self._policy_of(name).storage
        if not isinstance(alias, str) or not alias.strip():
            raise InvalidRequest("the alias is empty", field="alias")
        query = "?storage=VOLATILE" if storage is StorageType.VOLATILE else ""
        return self._base(account) + "aliases/" + quote(alias, safe="") + query


# --- helpers -------------------------------------------------------------------------------


def _expect(responses: Sequence[HttpResponse], count: int) -> Sequence[HttpResponse]:
    if len(responses) != count:
        raise VaultswitchError(
            f"the VGS connector planned {count} request(s) but got {len(responses)} response(s)"
        )
    return responses


def _raise_first_error(
    responses: Sequence[HttpResponse], ctx: ErrorContext, ok: tuple[int, ...]
) -> None:
    for response in responses:
        if response.status not in ok:
            raise map_error(response, ctx)


def _parse_grant(response: HttpResponse) -> AccessTokenGrant:
    body = json_object(response, "an OAuth token")
    token = body.get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise malformed(response, "the VGS token answer has no access_token", body=body)
    expires_in = body.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in.strip())
    if isinstance(expires_in, float) and expires_in.is_integer():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise malformed(
            response, "the VGS token answer has no positive integer expires_in", body=body
        )
    token_type = body.get("token_type")
    scope = body.get("scope")
    return AccessTokenGrant(
        token=Secret(token.strip()),
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
        expires_in=expires_in,
        scope=scope if isinstance(scope, str) and scope else None,
    )


def _vault_id_of(data: VaultRequestData) -> VaultId:
    vault_id: object = require_request_data(data).connector_vault_id
    if vault_id is None:
        raise InvalidRequest("this flow needs connector_vault_id", field="connector_vault_id")
    if not isinstance(vault_id, SingleVaultId | CardVaultIds | NetworkTokenVaultIds):
        raise InvalidRequest("connector_vault_id has an unknown shape", field="connector_vault_id")
    for alias in vault_id.aliases():
        if not isinstance(alias, str) or not alias.strip():
            raise InvalidRequest(
                "connector_vault_id contains an empty alias", field="connector_vault_id"
            )
    return vault_id


def _field_aliases(vault_id: CardVaultIds | NetworkTokenVaultIds) -> list[tuple[str, str]]:
    if isinstance(vault_id, CardVaultIds):
        pairs = [
            ("card_number", vault_id.card_number),
            ("card_exp_month", vault_id.card_exp_month),
            ("card_exp_year", vault_id.card_exp_year),
            ("card_cvc", vault_id.card_cvc),
            ("card_holder_name", vault_id.card_holder_name),
        ]
    else:
        pairs = [
            ("network_token", vault_id.network_token),
            ("network_token_exp_month", vault_id.network_token_exp_month),
            ("network_token_exp_year", vault_id.network_token_exp_year),
            ("cryptogram", vault_id.cryptogram),
        ]
    return [(name, alias) for name, alias in pairs if alias is not None]


def _rebuild(
    vault_id: CardVaultIds | NetworkTokenVaultIds,
    values: Mapping[str, Secret],
    response: HttpResponse,
) -> Card | NetworkToken:
    def text(name: str) -> str:
        return values[name].reveal()

    def optional(name: str) -> Secret | None:
        return values.get(name)

    build: Callable[[], Card | NetworkToken]
    if isinstance(vault_id, CardVaultIds):
        label = "card"

        def build() -> Card | NetworkToken:
            holder = optional("card_holder_name")
            return Card.parse(
                values["card_number"],
                text("card_exp_month"),
                text("card_exp_year"),
                optional("card_cvc"),
                None if holder is None else holder.reveal(),
            )
    else:
        label = "network token"

        def build() -> Card | NetworkToken:
            return NetworkToken.parse(
                values["network_token"],
                text("network_token_exp_month"),
                text("network_token_exp_year"),
                optional("cryptogram"),
            )

    try:
        return build()
    except InvalidCardData as exc:
        raise malformed(
            response, f"the {label} rebuilt from its per-field aliases is not valid: {exc.message}"
        ) from None


def _insert_result(aliases: Mapping[str, str], multiple: bool, vaulting: object) -> InsertResult:
    if not multiple:
        alias = aliases["data"]
        return InsertResult(SingleVaultId(alias), alias)
    if isinstance(vaulting, Card):
        card_ids = CardVaultIds(
            aliases["card_number"],
            aliases["card_exp_month"],
            aliases["card_exp_year"],
            aliases.get("card_cvc"),
            aliases.get("card_holder_name"),
        )
        return InsertResult(card_ids, card_ids.card_number)
    token_ids = NetworkTokenVaultIds(
        aliases["network_token"],
        aliases["network_token_exp_month"],
        aliases["network_token_exp_year"],
        aliases.get("cryptogram"),
    )
    return InsertResult(token_ids, token_ids.network_token)


register_connector(VgsConnector.name, VgsConnector)
