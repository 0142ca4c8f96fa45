"""VGS connector configuration, credentials checks and the connector registry."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from vaultswitch.connectors import registry
from vaultswitch.connectors.base import (
    BodyKey,
    Flow,
    HeaderKey,
    SignatureKey,
    StorageType,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.connectors.registry import connector_names, get_connector, register_connector
from vaultswitch.connectors.vgs import FieldPolicy, VgsConfig, VgsConnector
from vaultswitch.domain.errors import (
    FlowNotSupported,
    InvalidCredentials,
    InvalidRequest,
    VaultswitchError,
    WrongCredentialType,
)
from vaultswitch.domain.secret import Secret

from .vgs_fixtures import CLIENT_ID, CLIENT_SECRET, CREDS, VAULT_ID

# --- registry ------------------------------------------------------------------------------


def test_registry_knows_vgs_and_builds_it_with_options() -> None:
    assert "vgs" in connector_names()
    connector = get_connector("vgs", environment="live")
    assert isinstance(connector, VgsConnector)
    assert connector.name == "vgs"
    assert connector.config.environment == "live"
    assert isinstance(get_connector(" VGS "), VgsConnector)


def test_registry_unknown_name_lists_known_ones() -> None:
    with pytest.raises(InvalidRequest) as info:
        get_connector("tokenex")
    assert "tokenex" in info.value.message
    assert "vgs" in info.value.message
    assert info.value.field == "connector_name"
    assert info.value.status == 400


def test_registry_bad_options_are_the_connectors_error() -> None:
    with pytest.raises(InvalidRequest) as info:
        get_connector("vgs", vault_url="https://x/{vault_id}/")
    assert "vault_url" in info.value.message
    assert info.value.field == "vault_url"


def test_register_a_new_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_factories", dict(registry._factories))

    class Dummy(VaultConnector):
        name = "dummy"

        def __init__(self, **config: Any) -> None:
            self.config = config

    register_connector("dummy", Dummy)
    register_connector("dummy", Dummy)  # same factory again: fine
    assert "dummy" in connector_names()
    built = get_connector("dummy", a=1)
    assert isinstance(built, Dummy)
    assert built.config == {"a": 1}
    with pytest.raises(FlowNotSupported):
        built.insert(CREDS, None, VaultRequestData())
    with pytest.raises(ValueError, match="already registered"):
        register_connector("dummy", lambda **_: Dummy())
    register_connector("dummy", lambda **_: Dummy(b=2), replace=True)
    assert get_connector("dummy").config == {"b": 2}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="lower-case identifier"):
        register_connector("bad name!", Dummy)


def test_builtin_module_that_does_not_register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_factories", {})
    monkeypatch.setitem(registry.BUILTIN_MODULES, "ghost", "vaultswitch.domain.errors")
    with pytest.raises(VaultswitchError, match="did not register"):
        get_connector("ghost")


def test_lazy_import_registers_vgs(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    monkeypatch.setattr(registry, "_factories", {})
    monkeypatch.delitem(sys.modules, "vaultswitch.connectors.vgs")
    connector = get_connector("vgs")
    assert type(connector).__name__ == "VgsConnector"
    assert "vgs" in registry._factories
    importlib.import_module("vaultswitch.connectors.vgs")


# --- config --------------------------------------------------------------------------------


def test_config_defaults_are_real_vgs_hosts() -> None:
    cfg = VgsConfig()
    assert cfg.environment == "sandbox"
    assert cfg.api_version == "v2"
    assert cfg.vault_base_url == "https://{vault_id}.sandbox.vault-api.verygoodvault.com/"
    assert cfg.auth_base_url == "https://auth.verygoodsecurity.com/"
    assert cfg.v1_base_url == "https://api.sandbox.verygoodvault.com/"
    assert cfg.token_url == (
        "https://auth.verygoodsecurity.com/auth/realms/vgs/protocol/openid-connect/token"
    )
    assert (cfg.token_format, cfg.token_storage, cfg.classifier) == (
        "UUID",
        StorageType.PERSISTENT,
        "data",
    )
    assert cfg.batch_size == 20
    assert cfg.field_policy["card_number"] == FieldPolicy("UUID", StorageType.PERSISTENT)
    assert cfg.field_policy["card_exp_year"].storage is StorageType.PERSISTENT
    assert cfg.field_policy["card_cvc"].storage is StorageType.VOLATILE
    assert cfg.field_policy["cryptogram"].storage is StorageType.VOLATILE


def test_config_live_hosts() -> None:
    cfg = VgsConfig(environment="LIVE")
    assert cfg.environment == "live"
    assert cfg.vault_base_url == "https://{vault_id}.live.vault-api.verygoodvault.com/"
    assert cfg.v1_base_url == "https://api.live.verygoodvault.com/"


def test_config_accepts_hyperswitch_template_and_adds_slash() -> None:
    cfg = VgsConfig(
        vault_base_url="http://127.0.0.1:8200/{{vault_id}}",
        auth_base_url="http://127.0.0.1:8200",
        v1_base_url="http://127.0.0.1:8200/v1/{vault_id}",
    )
    assert cfg.vault_base_url == "http://127.0.0.1:8200/{vault_id}/"
    assert cfg.auth_base_url == "http://127.0.0.1:8200/"
    assert cfg.v1_base_url == "http://127.0.0.1:8200/v1/{vault_id}/"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"environment": "production"}, "environment"),
        ({"environment": 1}, "environment"),
        ({"api_version": "v3"}, "api_version"),
        ({"vault_base_url": "https://vault.example.com/"}, "vault_base_url"),
        ({"vault_base_url": "ftp://{vault_id}.example.com/"}, "vault_base_url"),
        ({"auth_base_url": "auth.example.com"}, "auth_base_url"),
        ({"v1_base_url": "not a url"}, "v1_base_url"),
        ({"token_format": "SHA256"}, "token_format"),
        ({"token_storage": "DISK"}, "token_storage"),
        ({"classifier": " "}, "classifier"),
        ({"batch_size": 21}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        (
            {"field_policy": {"card_cvc": {"storage": "PERSISTENT"}}},
            "field_policy.card_cvc.storage",
        ),
        ({"field_policy": {"cryptogram": FieldPolicy()}}, "field_policy.cryptogram.storage"),
        ({"field_policy": {"card_pin": {"format": "UUID"}}}, "field_policy.card_pin"),
        ({"field_policy": {"card_number": {"fmt": "UUID"}}}, "field_policy.card_number"),
        ({"field_policy": {"card_number": "UUID"}}, "field_policy.card_number"),
        ({"field_policy": ["card_number"]}, "field_policy"),
        ({"field_policy": {"card_number": {"format": "NOPE"}}}, "field_policy.card_number.format"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_config_errors_name_the_option(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        VgsConnector(**options)
    assert info.value.field == field
    assert info.value.status == 400


def test_cvc_persistent_error_explains_why() -> None:
    with pytest.raises(InvalidRequest, match="VOLATILE"):
        VgsConfig(field_policy={"card_cvc": FieldPolicy("UUID", StorageType.PERSISTENT)})


def test_field_policy_partial_override_keeps_defaults() -> None:
    cfg = VgsConfig(
        field_policy={
            "card_number": {"format": "fpe_six_t_four"},
            "card_cvc": {"format": "NUM_LENGTH_PRESERVING"},
            "card_exp_month": FieldPolicy("RAW_UUID", StorageType.VOLATILE),
        },
        token_storage="volatile",  # type: ignore[arg-type]
        token_format="raw_uuid",
    )
    assert cfg.field_policy["card_number"] == FieldPolicy("FPE_SIX_T_FOUR", StorageType.PERSISTENT)
    assert cfg.field_policy["card_cvc"] == FieldPolicy(
        "NUM_LENGTH_PRESERVING", StorageType.VOLATILE
    )
    assert cfg.field_policy["card_exp_month"].storage is StorageType.VOLATILE
    assert cfg.field_policy["card_exp_year"] == FieldPolicy()
    assert cfg.token_storage is StorageType.VOLATILE
    assert cfg.token_format == "RAW_UUID"


def test_connector_takes_config_or_options_not_both() -> None:
    cfg = VgsConfig(environment="live")
    assert VgsConnector(cfg).config is cfg
    with pytest.raises(InvalidRequest, match="not both"):
        VgsConnector(cfg, environment="live")
    assert "live" in repr(VgsConnector(cfg))


# --- credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [BodyKey(Secret("a"), Secret("b")), HeaderKey(Secret("a"))],
)
def test_only_signature_key(credentials: Any) -> None:
    connector = VgsConnector()
    with pytest.raises(WrongCredentialType) as info:
        connector.check_credentials(credentials)
    assert "SignatureKey" in info.value.message
    with pytest.raises(WrongCredentialType):
        connector.access_token(credentials)


@pytest.mark.parametrize(
    ("vault_id", "problem"),
    [
        ("abc12345678", "does not start with tnt"),
        ("tntABC12345", "uppercase"),
        ("tntabc1234", "10 characters"),
        ("tntabc123456", "12 characters"),
        ("tntabc-2345", "other than lowercase"),
        ("", "does not start with tnt"),
    ],
)
def test_vault_id_shape(vault_id: str, problem: str) -> None:
    credentials = SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(vault_id))
    with pytest.raises(InvalidCredentials) as info:
        VgsConnector().check_credentials(credentials)
    assert info.value.field == "connector_account_details.api_secret"
    assert problem in info.value.message
    assert "tnt followed by 8 lowercase letters or digits" in info.value.hint
    assert CLIENT_SECRET not in str(info.value)


def test_vault_id_is_trimmed() -> None:
    credentials = SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(f" {VAULT_ID} "))
    VgsConnector().check_credentials(credentials)


@pytest.mark.parametrize(("attr", "index"), [("api_key", 0), ("key1", 1)])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_empty_client_id_or_secret(attr: str, index: int, version: str) -> None:
    values = [Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret(VAULT_ID)]
    values[index] = Secret("  ")
    with pytest.raises(InvalidCredentials) as info:
        VgsConnector(api_version=version).check_credentials(SignatureKey(*values))
    assert info.value.field == f"connector_account_details.{attr}"
    assert ("username" in info.value.message) == (version == "v1" and attr == "api_key")


def test_access_token_needed_in_v2_only() -> None:
    v2, v1 = VgsConnector(), VgsConnector(api_version="v1")
    assert v2.requires_access_token(CREDS) is True
    assert v1.requires_access_token(CREDS) is False
    assert v2.supports(Flow.ACCESS_TOKEN)
    assert not v1.supports(Flow.ACCESS_TOKEN)
    for flow in (Flow.INSERT, Flow.RETRIEVE, Flow.DELETE, Flow.CREATE_SESSION):
        assert v1.supports(flow)
        assert v2.supports(flow)
    with pytest.raises(FlowNotSupported):
        v1.access_token(CREDS)
    with pytest.raises(FlowNotSupported):
        v1.token_cache_key(CREDS)


def test_token_cache_key_is_a_hash_of_url_client_and_vault() -> None:
    key = VgsConnector().token_cache_key(CREDS)
    raw = (
        "vgs|https://auth.verygoodsecurity.com/auth/realms/vgs/protocol/openid-connect/token"
        f"|{CLIENT_ID}|{VAULT_ID}"
    )
    assert key == hashlib.sha256(raw.encode()).hexdigest()
    assert CLIENT_ID not in key
    assert VAULT_ID not in key
    assert CLIENT_SECRET not in key
    other_vault = SignatureKey(Secret(CLIENT_ID), Secret(CLIENT_SECRET), Secret("tntzzz99999"))
    other_auth = VgsConnector(auth_base_url="http://127.0.0.1:9/")
    assert VgsConnector().token_cache_key(other_vault) != key
    assert other_auth.token_cache_key(CREDS) != key
    # the secret is not part of the key: rotating it keeps the slot
    rotated = SignatureKey(Secret(CLIENT_ID), Secret("new-secret"), Secret(VAULT_ID))
    assert VgsConnector().token_cache_key(rotated) == key
