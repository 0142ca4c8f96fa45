"""``doctor``'s checks that use the vault beyond the connection test's probe: the write
round trip (``--write``) and whether an alias exists (``--alias``)."""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vaultswitch.connectors.base import (
    Call,
    SingleVaultId,
    StorageType,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import AliasNotFound, PermissionDenied, VaultswitchError
from vaultswitch.domain.secret import Secret

from .connection import _api_version, _probe, _template_url, _vault_id, target_for
from .diagnosis import Target, diagnose
from .doctor_options import DoctorOptions
from .doctor_token import scope_hint
from .report import Outcome
from .steps import CheckContext, RunCall, StepRun

#: The lone alias field the round trip writes (PERSISTENT, format UUID by default).
ROUND_TRIP_FIELD = "card_holder_name"
#: The well-known test card of the round trip for a connector that stores cards only.
TEST_CARD = "4111111111111111"


def _vault_target(ctx: CheckContext) -> Target:
    setting = "vault_base_url" if _api_version(ctx.connector) == "v2" else "v1_base_url"
    return target_for(
        ctx.connector,
        ctx.credentials,
        "vault",
        _template_url(ctx.connector, ctx.credentials, setting),
    )


def _stage_failure(ctx: CheckContext, stage: str, exc: VaultswitchError, scope: str) -> Outcome:
    found = diagnose(exc, _vault_target(ctx))
    hint = found.hint
    if isinstance(exc, PermissionDenied) and stage != "reveal":
        hint = scope_hint(ctx, [scope])
    return Outcome.failed(found.code, f"{stage} failed: {found.message}", hint)


@dataclass
class _Trip:
    """The three calls of a round trip and what was written."""

    insert: Call[Any]
    reveal: Callable[[Any], Call[Any]]
    delete: Callable[[Any], Call[Any]]
    matches: Callable[[Any], bool]
    written: str
    alias_of: Callable[[Any], str]


def _vgs_trip(ctx: CheckContext, connector: VgsConnector) -> _Trip:
    value = "vaultswitch-doctor-" + secrets.token_hex(12)
    creds, token = ctx.credentials, ctx.token
    return _Trip(
        insert=connector.insert_field(creds, token, ROUND_TRIP_FIELD, Secret(value)),
        reveal=lambda alias: connector.retrieve_field(creds, token, ROUND_TRIP_FIELD, alias),
        delete=lambda alias: connector.delete_field(creds, token, ROUND_TRIP_FIELD, alias),
        matches=lambda revealed: hmac.compare_digest(revealed.reveal(), value),
        written=f"a throwaway value (not card data) as a lone {ROUND_TRIP_FIELD} alias",
        alias_of=lambda alias: str(alias),
    )


def _card_trip(ctx: CheckContext, connector: VaultConnector) -> _Trip:
    """A connector whose insert takes cards only: the well-known test card 4111 1111 1111
    1111 (a valid format, no real account), said so in the message."""
    year = time.gmtime().tm_year + 5
    card = Card.parse(TEST_CARD, "12", str(year))
    creds, token = ctx.credentials, ctx.token

    def ids(result: Any) -> VaultRequestData:
        return VaultRequestData(connector_vault_id=result.vault_id)

    def matches(result: Any) -> bool:
        data = result.vault_data
        number = getattr(getattr(data, "number", None), "secret", None)
        return isinstance(number, Secret) and hmac.compare_digest(number.reveal(), TEST_CARD)

    return _Trip(
        insert=connector.insert(creds, token, VaultRequestData(vaulting_data=card)),
        reveal=lambda result: connector.retrieve(creds, token, ids(result)),
        delete=lambda result: connector.delete(creds, token, ids(result)),
        matches=matches,
        written=(
            f"the test card {TEST_CARD[:6]}******{TEST_CARD[-4:]} (a well-known test number, "
            f"not a real card: the {connector.name} connector stores cards only)"
        ),
        alias_of=lambda result: ", ".join(result.vault_id.aliases()),
    )


def round_trip_check(ctx: CheckContext) -> StepRun:
    """Insert a throwaway value, reveal it, compare, delete it (also after a failed reveal)."""
    connector = ctx.connector
    trip = (
        _vgs_trip(ctx, connector)
        if isinstance(connector, VgsConnector)
        else _card_trip(ctx, connector)
    )
    try:
        written = yield RunCall(trip.insert, connector.name)
    except VaultswitchError as exc:
        return _stage_failure(ctx, "insert", exc, "aliases:write")
    alias = trip.alias_of(written)
    failure: Outcome | None = None
    try:
        revealed = yield RunCall(trip.reveal(written), connector.name)
        if not trip.matches(revealed):
            failure = Outcome.failed(
                code="round_trip_mismatch",
                message=f"the vault revealed alias {alias} as something other than what was "
                "written",
                hint="The vault returned another value for the alias it had just created: "
                "check that the connector's vault_base_url reaches the vault itself (not a "
                "proxy or cache in between), and report it with the vault's trace id.",
            )
    except VaultswitchError as exc:
        failure = _stage_failure(ctx, "reveal", exc, "aliases:read")
    try:
        yield RunCall(trip.delete(written), connector.name)
    except VaultswitchError as exc:
        deleted = _stage_failure(ctx, "delete", exc, "aliases:delete")
        left = f" (alias {alias} was left in the vault; it holds only throwaway data)"
        if failure is not None:
            return Outcome.failed(failure.code, failure.message + left, failure.hint)
        return Outcome.failed(deleted.code, deleted.message + left, deleted.hint)
    if failure is not None:
        return Outcome.failed(
            failure.code, failure.message + f" (alias {alias} was deleted again)", failure.hint
        )
    return Outcome.passed(
        f"inserted {trip.written}, revealed it (it matched) and deleted it again ({alias})"
    )


def _storage_of(connector: VaultConnector) -> StorageType:
    config = getattr(connector, "config", None)
    storage = getattr(config, "token_storage", None)
    return storage if isinstance(storage, StorageType) else StorageType.PERSISTENT


def _reader(connector: VaultConnector, storage: StorageType) -> VaultConnector | None:
    """The connector reading single aliases from ``storage`` (None when it cannot choose)."""
    if _storage_of(connector) is storage:
        return connector
    if isinstance(connector, VgsConnector):
        return VgsConnector(dataclasses.replace(connector.config, token_storage=storage))
    return None


def _other(storage: StorageType) -> StorageType:
    return StorageType.VOLATILE if storage is StorageType.PERSISTENT else StorageType.PERSISTENT


def _alias_missing_hint(alias: str, vault: str) -> str:
    causes = (
        "the insert that returned it failed or went to another vault (another vault ID, or "
        "the other environment: sandbox aliases do not exist in live)",
        "the alias was removed",
        "it was a VOLATILE alias and expired: VOLATILE values (CVCs, card data held for one "
        "payment) live only for the vault's TTL (VGS: 1 hour by default; a vaultswitch vault: "
        "its volatile_ttl) and are then gone for good, so saved cards need PERSISTENT aliases "
        "and a VOLATILE one is good only within its TTL",
    )
    return (
        f"{vault} has {alias} in neither storage. Either "
        + "; or ".join(causes)
        + ". Copy the alias exactly as the insert answered it."
    )


def alias_check(options: DoctorOptions) -> Callable[[CheckContext], StepRun]:
    def run(ctx: CheckContext) -> StepRun:
        connector, creds = ctx.connector, ctx.credentials
        alias = (options.alias or "").strip()
        storage = options.alias_storage or _storage_of(connector)
        vault_id = _vault_id(creds)
        vault = f"vault {vault_id}" if vault_id else "the vault"
        target = _vault_target(ctx)

        def exists(reader: VaultConnector) -> Call[bool]:
            data = VaultRequestData(connector_vault_id=SingleVaultId(alias))
            return _probe(reader.retrieve(creds, ctx.token, data))

        asked = _reader(connector, storage)
        assert asked is not None  # the connector's own storage, or a VGS connector
        try:
            found = yield RunCall(exists(asked), connector.name)
        except VaultswitchError as exc:
            return _alias_failure(exc, target)
        if found:
            return Outcome.passed(
                f"alias {alias} exists in {storage.value} storage of {vault} (its value was "
                "not read out)"
            )
        other = _other(storage)
        reader = _reader(connector, other)
        if reader is not None:
            try:
                elsewhere = yield RunCall(exists(reader), connector.name)
            except VaultswitchError:
                elsewhere = False
            if elsewhere:
                return Outcome.failed(
                    code="alias_wrong_storage",
                    message=f"alias {alias} is not in {storage.value} storage of {vault}, but "
                    f"it is in {other.value} storage",
                    hint=_wrong_storage_hint(alias, storage, other),
                )
        return Outcome.failed(
            AliasNotFound.code,
            f"{vault} has no alias {alias} in {storage.value} storage"
            + (f" nor in {other.value}" if reader is not None else ""),
            _alias_missing_hint(alias, vault),
        )

    return run


def _wrong_storage_hint(alias: str, storage: StorageType, other: StorageType) -> str:
    hint = (
        f"Read it with the storage it was written in: {other.value} "
        f"(`?storage={other.value}` on the vault API; `vaultswitch doctor --alias {alias} "
        f"--storage {other.value}` here; in code a VGS connector with token_storage="
        f"{other.value}, or the field policy of multi-token cards)."
    )
    if other is StorageType.VOLATILE:
        hint += (
            " VOLATILE aliases expire after the vault's TTL (VGS: 1 hour by default): a card "
            "saved for later must be written PERSISTENT."
        )
    return hint


def _alias_failure(exc: VaultswitchError, target: Target) -> Outcome:
    found = diagnose(exc, target)
    if isinstance(exc, PermissionDenied):
        return Outcome.failed(
            found.code,
            f"whether the alias exists cannot be told without reading it: {found.message}",
            found.hint,
        )
    return found
