"""Which vault a profile's cards go to, and the vault calls payment methods make.

A profile with the external vault enabled uses its ``vault_connector_id`` account (a
``vault_processor`` / ``vgs`` account: ``SignatureKey`` credentials, ``metadata.vault_base_url``
/ ``auth_base_url``); a profile without one uses the internal vault of the settings
(``internal_vault_*``). Both are reached the same way: the shared
:class:`~vaultswitch.client.AsyncVaultClient` running the VGS connector over HTTP.

Cards are stored in one of two modes (the profile's ``multi_token``):

- single-token: one PERSISTENT alias holding the card as JSON (never the CVC); a CVC, when
  given, becomes a VOLATILE alias of its own (:meth:`VgsConnector.insert_field`);
- multi-token: one alias per field (number, expiry month and year, holder name
  PERSISTENT; CVC VOLATILE).

:func:`load_card` is how a payment gets a saved card back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection

from vaultswitch.connectors.base import (
    AccessToken,
    Call,
    CardVaultIds,
    SessionResult,
    SignatureKey,
    SingleVaultId,
    VaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card, CardExpiry, CardNumber, parse_cvc
from vaultswitch.domain.errors import (
    AliasNotFound,
    InvalidRequest,
    MalformedVaultResponse,
    VaultNotFound,
    VaultswitchError,
)
from vaultswitch.domain.secret import Secret

from . import accounts
from .crypto import Keyring
from .errors import CONNECTOR_ERROR, ApiError, not_found
from .repos import connector_accounts as accounts_repo
from .repos.profiles import Profile

if TYPE_CHECKING:
    from .auth import Caller
    from .context import AppContext
    from .repos.payment_methods import PaymentMethod

T = TypeVar("T")

INTERNAL = "internal"
VAULT_CONNECTOR_NOT_FOUND = "vault_connector_not_found"
SINGLE = "single"
MULTI = "multi"
PROXY = "proxy"
#: The single-token alias's key in :class:`VaultIds`.
DATA = "data"
#: How long a VOLATILE alias lives: VGS keeps VOLATILE data for one hour (our vault's
#: default ``volatile_ttl`` is the same). Shown as ``card_cvc_token_storage.expires_at``.
VOLATILE_TTL = timedelta(hours=1)

CVC_EXPIRED_HINT = (
    "The CVC saved with this card was kept only as a VOLATILE alias in the vault, which "
    "expires (1 hour on VGS) and is never stored by the orchestrator: send the CVC again "
    "with the payment (payment_method_data.card_token.card_cvc)."
)


# --- which vault ---------------------------------------------------------------------------


def config_error(code: str, message: str, hint: str) -> ApiError:
    """424: the vault cannot be used as configured (a setting or account to fix)."""
    return ApiError(424, code, message, hint=hint, type_=CONNECTOR_ERROR)


@dataclass(frozen=True)
class VaultTarget:
    """A vault and how to reach it: the VGS connector, its credentials, and the connector
    account id recorded on payment methods (``"internal"`` for the internal vault)."""

    connector_id: str
    connector: VgsConnector
    credentials: SignatureKey = field(repr=False)
    #: the vault's own base URL (vault id included): aliases are unique within it
    location: str = field(repr=False)


def _target(build: Callable[[], accounts.VaultTarget]) -> VaultTarget:
    """Wrap what :mod:`accounts` resolved; a setting the connector refuses (e.g. a
    malformed internal vault URL) is a 424 naming it."""
    try:
        resolved = build()
        connector, credentials = resolved.connector, resolved.credentials
        if not isinstance(connector, VgsConnector) or not isinstance(credentials, SignatureKey):
            raise config_error(
                "vault_not_configured",
                "The vault connector is not a VGS connector with SignatureKey credentials",
                'Use a connector account with connector_name "vgs" and auth_type "SignatureKey".',
            )
        connector.check_credentials(credentials)
    except InvalidRequest as exc:
        raise config_error(
            "vault_not_configured", f"The vault cannot be used: {exc.message}", exc.hint
        ) from None
    vault_id = credentials.api_secret.reveal().strip()
    location = connector.config.vault_base_template.replace("{vault_id}", vault_id)
    return VaultTarget(resolved.account_id or INTERNAL, connector, credentials, location)


def profile_vault(ctx: AppContext, conn: Connection, profile: Profile) -> VaultTarget:
    """Where this profile's new cards go (run inside a DB read): its active external vault
    connector account, or the internal vault; 424 when neither can be used."""
    return _target(lambda: accounts.resolve_vault(ctx, conn, profile))


def stored_vault(
    ctx: AppContext, conn: Connection, merchant_id: str, connector_id: str
) -> VaultTarget:
    """The vault a payment method was saved in (run inside a DB read), whatever the
    profile uses now. 424 ``vault_connector_not_found`` when its account was deleted."""
    if connector_id == INTERNAL:
        return _target(lambda: accounts.internal_vault(ctx))
    account = accounts_repo.get(conn, merchant_id, connector_id)
    if account is None or account.connector_type != accounts_repo.VAULT_PROCESSOR:
        raise config_error(
            VAULT_CONNECTOR_NOT_FOUND,
            f"The vault connector account {connector_id} this payment method was saved "
            "through no longer exists",
            "The card cannot be read back: save it again through the profile's current vault "
            "(POST /v2/payment-methods).",
        )
    if not account.usable:
        state = "disabled" if account.disabled else "inactive (its connection test failed)"
        raise config_error(
            "vault_not_configured",
            f"The vault connector account {connector_id} is {state}",
            f"Fix the account (PUT /v2/connector-accounts/{connector_id}, then POST "
            f"/v2/connector-accounts/{connector_id}/verify must answer status active) and "
            "make sure disabled is false.",
        )
    return _target(
        lambda: accounts.VaultTarget(
            "external",
            accounts.vault_connector_of(ctx.keyring, account),
            accounts.credentials_of(ctx.keyring, account),
            account.id,
        )
    )


# --- the aliases of a payment method --------------------------------------------------------


_CARD_ID_FIELDS = tuple(f.name for f in fields(CardVaultIds))


@dataclass(frozen=True)
class VaultIds:
    """The aliases of one payment method, by field: ``data`` (+ ``card_cvc``) in single-token
    mode, one per card field in multi-token mode, the given aliases for a proxy card."""

    mode: str
    aliases: Mapping[str, str] = field(repr=False)

    @property
    def cvc_alias(self) -> str | None:
        return self.aliases.get("card_cvc")

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, **self.aliases}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> VaultIds:
        mode = str(value.get("mode"))
        aliases = {k: v for k, v in value.items() if k != "mode" and isinstance(v, str)}
        return cls(mode, aliases)

    def card_vault_id(self, *, with_cvc: bool) -> VaultId:
        """The connector's vault id for the card (single alias, or per-field aliases)."""
        if self.mode == SINGLE:
            return SingleVaultId(self.aliases[DATA])
        values = {name: self.aliases.get(name) for name in _CARD_ID_FIELDS}
        if not with_cvc:
            values["card_cvc"] = None
        return CardVaultIds(**values)  # type: ignore[arg-type]


def alias_refs(ctx: AppContext, target: VaultTarget, ids: VaultIds) -> set[str]:
    """HMACs of (vault, alias) for every alias of ``ids``: what the alias table stores."""
    return {alias_ref(ctx, target, alias) for alias in ids.aliases.values()}


def alias_ref(ctx: AppContext, target: VaultTarget, alias: str) -> str:
    return hmac.new(
        _alias_ref_key(ctx), f"{target.location}|{alias}".encode(), hashlib.sha256
    ).hexdigest()


_ALIAS_REF_KEYS: WeakKeyDictionary[Keyring, bytes] = WeakKeyDictionary()


def _alias_ref_key(ctx: AppContext) -> bytes:
    key = _ALIAS_REF_KEYS.get(ctx.keyring)
    if key is None:
        key = _ALIAS_REF_KEYS[ctx.keyring] = ctx.keyring.derive("payment-method-alias-ref")
    return key


# --- running connector calls -----------------------------------------------------------------


async def _run_with_token(
    ctx: AppContext, target: VaultTarget, build: Callable[[AccessToken | None], Call[T]]
) -> T:
    """Run a connector call the client has no flow for (the lone-field aliases), with the
    cached access token and one re-fetch when the vault refuses it (401)."""
    client = ctx.vault_client
    connector, credentials = target.connector, target.credentials
    token = None
    if connector.requires_access_token(credentials):
        token = await client.access_token(connector, credentials)
    try:
        return await client.run(build(token), connector=connector.name)
    except VaultNotFound as exc:
        if token is None or exc.upstream_status != 401:
            raise
    token = await client.access_token(connector, credentials, force_refresh=True)
    return await client.run(build(token), connector=connector.name)


async def reveal_aliases(
    ctx: AppContext, target: VaultTarget, aliases: Sequence[str]
) -> dict[str, Secret]:
    """One reveal-multiple request (at most the connector's batch size, 20) for PERSISTENT
    aliases; an alias the vault left out of its answer is left out here. A vault that
    refuses the request because an alias is unknown raises AliasNotFound."""
    connector, credentials = target.connector, target.credentials
    return await _run_with_token(
        ctx, target, lambda token: connector.reveal_aliases(credentials, token, aliases)
    )


# --- insert ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedCard:
    ids: VaultIds
    cvc_expires_at: datetime | None


async def save_card(
    ctx: AppContext, target: VaultTarget, card: Card, *, multi_token: bool
) -> SavedCard:
    """Insert ``card`` into the vault: its aliases, and when its CVC (if any) expires.

    Single-token: the CVC is written first as its own VOLATILE alias (if the card insert
    then fails, that alias expires on its own), then the card without it.
    """
    client = ctx.vault_client
    connector, credentials = target.connector, target.credentials
    now = datetime.now(UTC)
    cvc_expires = now + VOLATILE_TTL if card.cvc is not None else None
    if multi_token:
        request = VaultRequestData(vaulting_data=card, should_generate_multiple_tokens=True)
        result = await client.insert(connector, credentials, request)
        vault_id = result.vault_id
        if not isinstance(vault_id, CardVaultIds):  # pragma: no cover - connector contract
            raise MalformedVaultResponse("the vault answered a multi-token insert with one alias")
        aliases = {
            name: alias
            for name in _CARD_ID_FIELDS
            if isinstance(alias := getattr(vault_id, name), str)
        }
        return SavedCard(VaultIds(MULTI, aliases), cvc_expires)
    single: dict[str, str] = {}
    if card.cvc is not None:
        cvc = card.cvc
        single["card_cvc"] = await _run_with_token(
            ctx, target, lambda token: connector.insert_field(credentials, token, "card_cvc", cvc)
        )
    result = await client.insert(
        connector, credentials, VaultRequestData(vaulting_data=card.without_cvc())
    )
    if not isinstance(result.vault_id, SingleVaultId):  # pragma: no cover - connector contract
        raise MalformedVaultResponse("the vault answered a single-token insert with many aliases")
    single[DATA] = result.vault_id.alias
    return SavedCard(VaultIds(SINGLE, single), cvc_expires)


# --- delete ---------------------------------------------------------------------------------


async def delete_aliases(
    ctx: AppContext, target: VaultTarget, ids: VaultIds, keep: set[str]
) -> None:
    """Delete the aliases of ``ids`` from the vault, except those whose alias ref is in
    ``keep`` (held by another payment method). An alias the vault no longer has counts as
    deleted. Multi-token mode keeps the shared expiry and holder-name aliases (the
    connector's default); a proxy card's aliases are never ours to delete."""
    if ids.mode == PROXY:
        return
    client = ctx.vault_client
    connector, credentials = target.connector, target.credentials

    def kept(name: str) -> bool:
        alias = ids.aliases.get(name)
        return alias is None or alias_ref(ctx, target, alias) in keep

    main = DATA if ids.mode == SINGLE else "card_number"
    if not kept(main):
        request = VaultRequestData(connector_vault_id=ids.card_vault_id(with_cvc=False))
        with suppress(AliasNotFound):  # already gone
            await client.delete(connector, credentials, request)
    cvc = ids.cvc_alias
    if cvc is not None and not kept("card_cvc"):
        with suppress(AliasNotFound):  # expired: VOLATILE data goes by itself
            await _run_with_token(
                ctx,
                target,
                lambda token: connector.delete_field(credentials, token, "card_cvc", cvc),
            )


# --- sessions -------------------------------------------------------------------------------


async def session_details(ctx: AppContext, target: VaultTarget) -> SessionResult:
    """What a client-side SDK needs to collect a card into this vault (VGS Collect: the
    vault id and the environment); no request is sent."""
    return await ctx.vault_client.create_session(
        target.connector, target.credentials, VaultRequestData()
    )


# --- reading a card back for a payment -----------------------------------------------------


async def load_card(
    ctx: AppContext,
    caller: Caller,
    pm_record: PaymentMethod,
    cvc: Secret | None,
    vault: VaultTarget | None = None,
) -> Card:
    """The saved card of ``pm_record``, revealed from its vault, for a payment.

    ``cvc``: the CVC sent with the payment; it wins over a stored one. Without it, the CVC
    saved with the card (a VOLATILE alias) is revealed when there is one; a card saved
    without a CVC comes back without one. A stored CVC that has expired is a 404
    (``alias_not_found``) whose hint says to send the CVC again. Another merchant's
    payment method is a 404 as if it did not exist. ``vault``: the payment method's
    :func:`stored_vault` when the caller has already read it (saves a database read).
    """
    if pm_record.merchant_id != caller.merchant_id:
        raise not_found("Payment method")
    target = vault
    if target is None:
        target = await ctx.db.read(
            lambda conn: stored_vault(ctx, conn, caller.merchant_id, pm_record.vault_connector_id)
        )
    ids = pm_record.vault_ids
    holder = pm_record.card_holder_name
    if ids.mode == PROXY:
        card = await _reveal_proxy(ctx, target, pm_record)
    else:
        request = VaultRequestData(connector_vault_id=ids.card_vault_id(with_cvc=False))
        result = await ctx.vault_client.retrieve(target.connector, target.credentials, request)
        data = result.vault_data
        if not isinstance(data, Card):
            raise MalformedVaultResponse(
                "the vault holds no full card (number and expiry) under this payment method's alias"
            )
        card = data
    if cvc is not None:
        secret = parse_cvc(cvc, card.brand)
    elif ids.cvc_alias is not None:
        secret = await _reveal_cvc(ctx, target, ids.cvc_alias, card)
    else:
        secret = None
    return Card(card.number, card.expiry, secret, holder or card.holder_name)


async def _reveal_cvc(ctx: AppContext, target: VaultTarget, alias: str, card: Card) -> Secret:
    connector, credentials = target.connector, target.credentials
    try:
        value = await _run_with_token(
            ctx,
            target,
            lambda token: connector.retrieve_field(credentials, token, "card_cvc", alias),
        )
    except AliasNotFound as exc:
        raise AliasNotFound(
            "The CVC saved with this payment method has expired or was deleted",
            hint=CVC_EXPIRED_HINT,
            field="payment_method_data.card_token.card_cvc",
            trace_id=exc.trace_id,
            upstream_status=exc.upstream_status,
        ) from None
    try:
        return parse_cvc(value, card.brand)
    except VaultswitchError:
        raise MalformedVaultResponse("the CVC alias holds something that is not a CVC") from None


async def _reveal_proxy(ctx: AppContext, target: VaultTarget, record: PaymentMethod) -> Card:
    """A proxy card: its number alias holds the number (or a whole card); expiry fields
    are the plain values we stored, or aliases revealed here."""
    connector, credentials = target.connector, target.credentials
    ids = record.vault_ids
    request = VaultRequestData(connector_vault_id=SingleVaultId(ids.aliases["card_number"]))
    result = await ctx.vault_client.retrieve(connector, credentials, request)
    data = result.vault_data
    if isinstance(data, Card):
        return data
    if not isinstance(data, CardNumber):
        raise MalformedVaultResponse("the proxy card's number alias does not hold a card number")

    async def part(name: str, plain: str | None) -> str:
        alias = ids.aliases.get(name)
        if alias is None:
            if plain is None:  # pragma: no cover - the create checks one of the two is there
                raise MalformedVaultResponse(f"the proxy card has no {name}")
            return plain
        revealed = await _run_with_token(
            ctx, target, lambda token: connector.retrieve_field(credentials, token, name, alias)
        )
        return revealed.reveal()

    month = await part("card_exp_month", record.expiry_month)
    year = await part("card_exp_year", record.expiry_year)
    try:
        expiry = CardExpiry.parse(month, year)
    except VaultswitchError:
        raise MalformedVaultResponse(
            "the proxy card's expiry aliases do not hold an expiry"
        ) from None
    return Card(data, expiry)
