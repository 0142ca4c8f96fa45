"""Routes in the vault's core on SQLite and PostgreSQL: create, list, get, replace, create by
id, delete, all-or-none apply, limits, the audit row of every change; the migration that
gives accounts created with every alias scope the routes scopes too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import routes as core_routes
from vaultswitch.vault.core import store
from vaultswitch.vault.core.errors import BadRequest, Conflict, VaultNotFoundError
from vaultswitch.vault.core.models import SCOPES, AuditContext
from vaultswitch.vault.core.routes import RouteNotFoundError
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

CTX = AuditContext("ACroutes", "127.0.0.1", "trace-r")
ROUTE_ID = "04b2e1b7-fb60-472f-a79f-af7e2353f122"
MASTER = "0" * 43 + "="


def doc(name: str) -> dict[str, Any]:
    return {"destination_override_endpoint": "*", "host_endpoint": name, "entries": []}


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Any:
    settings = VaultSettings(
        data_dir=tmp_path, database_url=database_url, master_key=Secret(MASTER)
    )
    svc = VaultService.open(settings)
    try:
        yield svc
    finally:
        svc.close()


def _route_audit(svc: VaultService, vault_id: str) -> list[tuple[str, str | None, str]]:
    return [
        (e.action, e.detail, e.actor)
        for e in reversed(svc.list_audit(vault_id=vault_id))
        if e.action.startswith("admin.route.")
    ]


def test_create_list_get_replace_delete(service: VaultService) -> None:
    vault = service.create_vault("routes").vault_id
    assert service.list_routes(vault) == []
    first = service.create_route(vault, doc("a"), CTX)
    second = service.create_route(vault, doc("b"), CTX, route_id=ROUTE_ID.upper())
    assert second.route_id == ROUTE_ID
    assert first.created_at == first.updated_at
    assert [r.route_id for r in service.list_routes(vault)] == [first.route_id, ROUTE_ID]
    assert service.get_route(vault, ROUTE_ID).document == doc("b")

    replaced, created = service.put_route(vault, ROUTE_ID, doc("c"), CTX)
    assert created is False
    assert replaced.document == doc("c")
    assert replaced.created_at == second.created_at
    assert replaced.updated_at >= second.updated_at
    new_id = "5b0e3c1a-7d44-4f0e-9a51-2f6a8c3d9e10"
    made, created = service.put_route(vault, new_id, doc("d"), CTX)
    assert created is True
    assert made.route_id == new_id

    service.delete_route(vault, first.route_id, CTX)
    assert [r.route_id for r in service.list_routes(vault)] == [ROUTE_ID, new_id]
    assert _route_audit(service, vault) == [
        ("admin.route.create", first.route_id, "ACroutes"),
        ("admin.route.create", ROUTE_ID, "ACroutes"),
        ("admin.route.update", ROUTE_ID, "ACroutes"),
        ("admin.route.create", new_id, "ACroutes"),
        ("admin.route.delete", first.route_id, "ACroutes"),
    ]


def test_errors(service: VaultService) -> None:
    vault = service.create_vault("routes").vault_id
    other = service.create_vault("other").vault_id
    service.create_route(vault, doc("a"), CTX, route_id=ROUTE_ID)
    with pytest.raises(Conflict) as exists:
        service.create_route(vault, doc("a"), CTX, route_id=ROUTE_ID)
    assert exists.value.code == "ROUTE_EXISTS"
    for call in (
        lambda: service.get_route(other, ROUTE_ID),  # routes are per vault
        lambda: service.delete_route(other, ROUTE_ID, CTX),
    ):
        with pytest.raises(RouteNotFoundError) as missing:
            call()
        assert missing.value.code == "ROUTE_NOT_FOUND"
        assert missing.value.status == 404
    with pytest.raises(VaultNotFoundError):
        service.list_routes("tntzzzzzzzz")
    with pytest.raises(VaultNotFoundError):
        service.create_route("tntzzzzzzzz", doc("a"), CTX)
    with pytest.raises(BadRequest) as bad_id:
        service.get_route(vault, "../etc")
    assert bad_id.value.code == "INVALID_ROUTE"
    with pytest.raises(BadRequest) as too_large:
        service.create_route(vault, {"tags": {"x": "y" * core_routes.MAX_ROUTE_BYTES}}, CTX)
    assert too_large.value.code == "ROUTE_TOO_LARGE"
    with pytest.raises(BadRequest):
        service.create_route(vault, {"x": float("nan")}, CTX)
    assert [r.route_id for r in service.list_routes(vault)] == [ROUTE_ID]


def test_apply_is_all_or_none(service: VaultService) -> None:
    vault = service.create_vault("routes").vault_id
    service.create_route(vault, doc("a"), CTX, route_id=ROUTE_ID)
    results = service.apply_routes(vault, [(ROUTE_ID, doc("a2")), (None, doc("b"))], CTX)
    assert [created for _, created in results] == [False, True]
    before = service.list_routes(vault)
    with pytest.raises(BadRequest):
        service.apply_routes(
            vault, [(ROUTE_ID, doc("a3")), (None, {"x": "y" * core_routes.MAX_ROUTE_BYTES})], CTX
        )
    assert service.list_routes(vault) == before


def test_the_route_limit(service: VaultService, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = service.create_vault("routes").vault_id
    monkeypatch.setattr(core_routes, "MAX_ROUTES_PER_VAULT", 2)
    service.create_route(vault, doc("a"), CTX)
    service.create_route(vault, doc("b"), CTX, route_id=ROUTE_ID)
    with pytest.raises(Conflict) as full:
        service.create_route(vault, doc("c"), CTX)
    assert full.value.code == "TOO_MANY_ROUTES"
    service.put_route(vault, ROUTE_ID, doc("b2"), CTX)  # replacing is not adding
    assert len(service.list_routes(vault)) == 2


def test_accounts_with_every_alias_scope_get_the_route_scopes(
    database_url: str, tmp_path: Path
) -> None:
    """A store made before routes existed: its "all scopes" accounts get routes:* too."""
    engine = store.create_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(store.MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_initial")
        now = store.utcnow()
        for client_id, scopes in (
            ("ACall", ["aliases:read", "aliases:write", "aliases:delete"]),
            ("ACsome", ["aliases:read"]),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO service_accounts (client_id, name, secret_hash, vault_ids, "
                    "scopes, token_lifespan, disabled, created_at) VALUES (:c, :c, :h, '[]', "
                    ":s, 300, false, :t)"
                ),
                {"c": client_id, "h": b"x", "s": json.dumps(scopes), "t": now},
            )
    engine.dispose()
    settings = VaultSettings(
        data_dir=tmp_path, database_url=database_url, master_key=Secret(MASTER)
    )
    with VaultService.open(settings) as svc:
        every = svc.get_service_account("ACall")
        some = svc.get_service_account("ACsome")
        assert every is not None
        assert some is not None
        assert every.scopes == SCOPES
        assert some.scopes == ("aliases:read",)
        # and a new account's default is every scope
        vault = svc.create_vault("v").vault_id
        account, _ = svc.create_service_account([vault])
        assert set(account.scopes) >= {"routes:read", "routes:write"}
