"""VOLATILE storage in memory and Redis: TTL, dedup, sealed, never in the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from vc_helpers import CTX, nv, open_service

from vaultswitch.vault.core import store
from vaultswitch.vault.core.errors import AliasNotFoundError
from vaultswitch.vault.core.models import AliasReference
from vaultswitch.vault.core.service import VaultService

CVC = "737"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {}
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    return {"redis_url": url, "redis_prefix": prefix}


@pytest.fixture
def svc(backend: dict[str, str], tmp_path: Path) -> Iterator[VaultService]:
    service = open_service(f"sqlite:///{tmp_path}/vault.db", tmp_path, volatile_ttl=1, **backend)
    yield service
    service.close()
    if backend:
        client = redis.Redis.from_url(backend["redis_url"])
        keys = list(client.scan_iter(match=backend["redis_prefix"] + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_volatile_round_trip_and_metadata(svc: VaultService) -> None:
    vid = svc.create_vault().vault_id
    [rec] = svc.create_aliases(vid, [nv(CVC, "UUID", "cvc", storage="VOLATILE")], CTX)
    wire = rec.to_wire()
    assert wire["classifiers"] == []
    assert wire["created_at"] is None
    assert wire["storage"] == "VOLATILE"
    assert wire["value"] == CVC
    alias = wire["aliases"][0]["alias"]
    got = svc.reveal(vid, [alias], "VOLATILE", CTX)[alias].to_wire()
    assert got == wire
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vid, [alias], "PERSISTENT", CTX)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.records)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(store.aliases)).scalar() == 0


def test_volatile_dedup_within_ttl_and_expiry(svc: VaultService) -> None:
    vid = svc.create_vault().vault_id
    a = svc.create_aliases(vid, [nv(CVC, storage="VOLATILE")], CTX)[0].aliases[0].alias
    b = svc.create_aliases(vid, [nv(CVC, storage="VOLATILE")], CTX)[0].aliases[0].alias
    assert a == b
    other_fmt = svc.create_aliases(
        vid, [nv("1234", "NUM_LENGTH_PRESERVING", storage="VOLATILE")], CTX
    )
    assert other_fmt[0].aliases[0].alias != a
    persistent = svc.create_aliases(vid, [nv(CVC)], CTX)[0].aliases[0].alias
    assert persistent != a
    time.sleep(1.3)
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vid, [a], "VOLATILE", CTX)
    c = svc.create_aliases(vid, [nv(CVC, storage="VOLATILE")], CTX)[0].aliases[0].alias
    assert c != a
    assert svc.reveal(vid, [persistent], "PERSISTENT", CTX)[persistent].value.reveal() == CVC


def test_volatile_reference_update_delete(svc: VaultService) -> None:
    vid = svc.create_vault().vault_id
    a = svc.create_aliases(vid, [nv("4242", storage="VOLATILE")], CTX)[0].aliases[0].alias
    ref = svc.create_aliases(
        vid, [AliasReference(a, "NUM_LENGTH_PRESERVING", storage="VOLATILE")], CTX
    )[0]
    b = ref.aliases[0].alias
    assert b.isdigit()
    assert len(b) == 4
    assert b != a
    svc.update_classifiers(vid, a, ["ignored"], "VOLATILE", CTX)
    assert svc.reveal(vid, [a], "VOLATILE", CTX)[a].classifiers == ()
    with pytest.raises(AliasNotFoundError):
        svc.delete_aliases(vid, [a, "tok_sandbox_none"], "VOLATILE", CTX)
    assert svc.reveal(vid, [a, b], "VOLATILE", CTX)[b].value.reveal() == "4242"
    svc.delete_aliases(vid, [a, b], "VOLATILE", CTX)
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vid, [a], "VOLATILE", CTX)
    actions = [e.action for e in svc.list_audit(vault_id=vid)]
    assert actions.count("alias.delete") == 2


def test_fingerprinting_off_volatile(svc: VaultService) -> None:
    vid = svc.create_vault(fingerprinting=False).vault_id
    a = svc.create_aliases(vid, [nv(CVC, storage="VOLATILE")], CTX)[0].aliases[0].alias
    b = svc.create_aliases(vid, [nv(CVC, storage="VOLATILE")], CTX)[0].aliases[0].alias
    assert a != b


def test_redis_holds_only_sealed_values(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    svc = open_service(
        f"sqlite:///{tmp_path}/vault.db", tmp_path, redis_url=redis_url, redis_prefix=redis_prefix
    )
    client = redis.Redis.from_url(redis_url)
    try:
        vid = svc.create_vault().vault_id
        secret_cvc = "98761"
        alias = svc.create_aliases(vid, [nv(secret_cvc, storage="VOLATILE")], CTX)[0].aliases[0]
        keys = list(client.scan_iter(match=redis_prefix + "*"))
        assert keys
        assert all(k.decode().startswith(redis_prefix) for k in keys)
        for k in keys:
            assert secret_cvc.encode() not in (client.get(k) or b"")
            assert secret_cvc.encode() not in k
            assert 0 < client.ttl(k) <= svc.settings.volatile_ttl
        # A second service (another process, same Redis) reads and dedups it.
        other = open_service(
            f"sqlite:///{tmp_path}/vault.db",
            tmp_path,
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            master_key=svc.settings.master_key,
        )
        try:
            got = other.reveal(vid, [alias.alias], "VOLATILE", CTX)
            assert got[alias.alias].value.reveal() == secret_cvc
            again = other.create_aliases(vid, [nv(secret_cvc, storage="VOLATILE")], CTX)[0]
            assert again.aliases[0] == alias
        finally:
            other.close()
    finally:
        keys = list(client.scan_iter(match=redis_prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
        svc.close()
