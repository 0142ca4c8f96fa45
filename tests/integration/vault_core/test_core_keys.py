"""Key rotation, re-encryption, master key rotation/mismatch, AAD binding in the DB, credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from vc_helpers import CTX, new_key_text, nv, open_service

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import crypto, store
from vaultswitch.vault.core.errors import BadRequest, DecryptionFailed, MasterKeyMismatch
from vaultswitch.vault.core.service import VaultService


def _versions(svc: VaultService) -> list[int]:
    with svc.engine.connect() as conn:
        return sorted(conn.execute(sa.select(store.records.c.key_version)).scalars())


def test_data_key_rotation_and_reencrypt(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        vid = svc.create_vault().vault_id
        old = [svc.create_aliases(vid, [nv(f"old-{i}")], CTX)[0] for i in range(5)]
        assert svc.rotate_data_key(vid) == 2
        assert svc.get_vault(vid).key_version == 2
        new = svc.create_aliases(vid, [nv("new-0")], CTX)[0]
        assert _versions(svc) == [1, 1, 1, 1, 1, 2]
        for rec in [*old, new]:
            a = rec.aliases[0].alias
            assert svc.reveal(vid, [a], "PERSISTENT", CTX)[a].value == rec.value
        # Dedup still finds values sealed under the old version.
        assert svc.create_aliases(vid, [nv("old-0")], CTX)[0].aliases == old[0].aliases
        calls: list[tuple[int, int]] = []
        assert svc.reencrypt(vid, lambda d, t: calls.append((d, t)), batch_size=2) == 5
        assert calls[0] == (0, 5)
        assert calls[-1] == (5, 5)
        assert _versions(svc) == [2] * 6
        for rec in old:
            a = rec.aliases[0].alias
            assert svc.reveal(vid, [a], "PERSISTENT", CTX)[a].value == rec.value
        assert svc.reencrypt(vid) == 0
    finally:
        svc.close()


def test_rotation_seen_by_other_process(database_url: str, tmp_path: Path) -> None:
    key = Secret(new_key_text())
    a = open_service(database_url, tmp_path, master_key=key)
    b = open_service(database_url, tmp_path, master_key=key)
    try:
        vid = a.create_vault().vault_id
        b.create_aliases(vid, [nv("warm")], CTX)  # b caches version 1
        a.rotate_data_key(vid)
        b.create_aliases(vid, [nv("after")], CTX)
        assert _versions(a) == [1, 2]
    finally:
        a.close()
        b.close()


def test_master_key_rotation(database_url: str, tmp_path: Path) -> None:
    old_text = new_key_text()
    svc = open_service(database_url, tmp_path, master_key=Secret(old_text))
    vid = svc.create_vault().vault_id
    rec = svc.create_aliases(vid, [nv("4111111111111111")], CTX)[0]
    alias = rec.aliases[0].alias
    client, secret = svc.create_service_account([vid])
    username, password = svc.create_access_credentials(vid)
    svc.rotate_data_key(vid)
    new_key = crypto.generate_key()
    count = svc.rotate_master_key(new_key)
    assert count >= 4  # 2 data keys, 1 fingerprint key, the pepper
    assert svc.master_key_id == crypto.master_key_id(new_key)
    assert svc.reveal(vid, [alias], "PERSISTENT", CTX)[alias].value == rec.value
    svc.close()

    with pytest.raises(MasterKeyMismatch) as info:
        open_service(database_url, tmp_path, master_key=Secret(old_text))
    assert "wrong master key" in info.value.detail
    assert old_text not in info.value.detail

    again = open_service(
        database_url, tmp_path, master_key=Secret(crypto.encode_master_key(new_key))
    )
    try:
        assert again.reveal(vid, [alias], "PERSISTENT", CTX)[alias].value == rec.value
        assert again.create_aliases(vid, [nv("4111111111111111")], CTX)[0].aliases == rec.aliases
        assert again.authenticate_client(client.client_id, secret.reveal()) is not None
        assert again.authenticate_access_credentials(username, password.reveal()) == vid
    finally:
        again.close()


def test_wrong_master_key_on_open(database_url: str, tmp_path: Path) -> None:
    open_service(database_url, tmp_path).close()
    with pytest.raises(MasterKeyMismatch):
        open_service(database_url, tmp_path)


def test_master_key_file_created_on_first_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/vault.db"
    svc = open_service(url, tmp_path, master_key=None)
    svc.close()
    key_file = tmp_path / "master.key"
    assert key_file.exists()
    assert (key_file.stat().st_mode & 0o777) == 0o600
    open_service(url, tmp_path, master_key=None).close()


def test_ciphertext_moved_between_records_fails(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        vid = svc.create_vault().vault_id
        a, b = (r.aliases[0].alias for r in svc.create_aliases(vid, [nv("aaa"), nv("bbb")], CTX))
        with svc.engine.begin() as conn:
            rows = conn.execute(sa.select(store.records.c.id, store.records.c.ciphertext)).all()
            conn.execute(
                store.records.update()
                .where(store.records.c.id == rows[0].id)
                .values(ciphertext=rows[1].ciphertext)
            )
        with pytest.raises(DecryptionFailed):
            svc.reveal(vid, [a, b], "PERSISTENT", CTX)
    finally:
        svc.close()


def test_ciphertext_moved_between_vaults_fails(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        v1 = svc.create_vault(vault_id="vault-one").vault_id
        v2 = svc.create_vault(vault_id="vault-two").vault_id
        a1 = svc.create_aliases(v1, [nv("one")], CTX)[0].aliases[0].alias
        a2 = svc.create_aliases(v2, [nv("two")], CTX)[0].aliases[0].alias
        with svc.engine.begin() as conn:
            one = conn.execute(sa.select(store.records).where(store.records.c.vault_id == v1)).one()
            conn.execute(
                store.records.update()
                .where(store.records.c.vault_id == v2)
                .values(ciphertext=one.ciphertext)
            )
        with pytest.raises(DecryptionFailed):
            svc.reveal(v2, [a2], "PERSISTENT", CTX)
        assert svc.reveal(v1, [a1], "PERSISTENT", CTX)[a1].value.reveal() == "one"
    finally:
        svc.close()


def test_service_accounts_and_access_credentials(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        vid = svc.create_vault().vault_id
        account, secret = svc.create_service_account([vid], ["aliases:read"], 120, "ci")
        assert account.vault_ids == (vid,)
        assert account.scopes == ("aliases:read",)
        assert account.token_lifespan == 120
        assert not account.disabled
        assert secret.reveal() not in repr(account)
        assert svc.authenticate_client(account.client_id, secret.reveal()) == account
        assert svc.authenticate_client(account.client_id, secret.reveal() + "x") is None
        assert svc.authenticate_client("ACnobody", secret.reveal()) is None
        assert svc.get_service_account(account.client_id) == account
        assert svc.create_service_account([vid])[0].token_lifespan == 300
        svc.set_service_account_disabled(account.client_id, True)
        assert svc.authenticate_client(account.client_id, secret.reveal()) is None
        with pytest.raises(BadRequest):
            svc.create_service_account([vid], token_lifespan=59)
        with pytest.raises(BadRequest):
            svc.create_service_account([vid], ["aliases:admin"])
        with svc.engine.connect() as conn:
            stored = conn.execute(sa.select(store.service_accounts.c.secret_hash)).scalars().all()
        assert all(secret.reveal().encode() not in s for s in stored)

        user, password = svc.create_access_credentials(vid)
        assert user.startswith("US")
        assert len(user) == 24
        assert len(password.reveal()) == 36
        assert svc.authenticate_access_credentials(user, password.reveal()) == vid
        assert svc.authenticate_access_credentials(user, "wrong") is None
        assert svc.authenticate_access_credentials("USnobody", password.reveal()) is None
    finally:
        svc.close()


def test_vault_admin(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path, environment="live")
    try:
        info = svc.create_vault("Main", reveal_enabled=False)
        assert info.vault_id.startswith("tnt")
        assert len(info.vault_id) == 11
        assert info.vault_id[3:].isalnum()
        assert info.vault_id == info.vault_id.lower()
        assert (info.name, info.reveal_enabled, info.environment, info.key_version) == (
            "Main", False, "live", 1,
        )  # fmt: skip
        assert svc.list_vaults() == [info]
        assert (
            svc.create_aliases(info.vault_id, [nv("x")], CTX)[0]
            .aliases[0]
            .alias.startswith("tok_live_")
        )
        with pytest.raises(Exception, match="already exists"):
            svc.create_vault(vault_id=info.vault_id)
        with pytest.raises(BadRequest):
            svc.create_vault(vault_id="Bad Id")
    finally:
        svc.close()


def test_migrations_match_metadata(database_url: str, tmp_path: Path) -> None:
    svc = open_service(database_url, tmp_path)
    try:
        with svc.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), store.metadata)
        diff = [
            d for d in diff if not (d[0] == "remove_table" and d[1].name == store.VERSION_TABLE)
        ]
        assert diff == []
        with svc.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert store.VERSION_TABLE in tables
        if database_url.startswith("sqlite"):
            with svc.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        svc.close()
    # Opening again is a no-op migration.
    open_service(database_url, tmp_path, master_key=svc.settings.master_key).close()
