"""Alias create / reveal / update / delete on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from vc_helpers import CTX, nv, open_service

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core import store
from vaultswitch.vault.core.errors import (
    AliasNotFoundError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    VaultNotFoundError,
)
from vaultswitch.vault.core.formats import luhn_valid
from vaultswitch.vault.core.models import AliasReference, NewValue
from vaultswitch.vault.core.service import VaultService

PAN = "4111111111111111"


@pytest.fixture
def svc(database_url: str, tmp_path: Path) -> Iterator[VaultService]:
    service = open_service(database_url, tmp_path)
    yield service
    service.close()


@pytest.fixture
def vault_id(svc: VaultService) -> str:
    return svc.create_vault("test").vault_id


def _count(svc: VaultService, table: sa.Table) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_create_and_reveal_round_trip(svc: VaultService, vault_id: str) -> None:
    [rec] = svc.create_aliases(vault_id, [nv(PAN, "UUID", "credit-card")], CTX)
    wire = rec.to_wire()
    alias = wire["aliases"][0]["alias"]
    assert wire["value"] == PAN
    assert wire["classifiers"] == ["credit-card"]
    assert alias.startswith("tok_sandbox_")
    assert wire["created_at"].endswith("Z")
    assert wire["storage"] == "PERSISTENT"
    got = svc.reveal(vault_id, [alias], "PERSISTENT", CTX)
    assert got[alias].to_wire() == wire


def test_dedup_same_value_same_format(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv(PAN, "UUID", "first")], CTX)[0]
    b = svc.create_aliases(vault_id, [nv(PAN, "UUID", "second")], CTX)[0]
    assert a.aliases == b.aliases
    assert b.classifiers == ("first",)  # a dedup hit keeps the stored classifiers
    same_request = svc.create_aliases(vault_id, [nv(PAN), nv(PAN)], CTX)
    assert same_request[0].aliases == same_request[1].aliases == a.aliases
    assert _count(svc, store.records) == 1


def test_new_format_adds_alias_to_same_record(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv(PAN, "UUID")], CTX)[0]
    b = svc.create_aliases(vault_id, [nv(PAN, "FPE_SIX_T_FOUR")], CTX)[0]
    fmts = {x.format: x.alias for x in b.aliases}
    assert set(fmts) == {"UUID", "FPE_SIX_T_FOUR"}
    assert fmts["UUID"] == a.aliases[0].alias
    fpe = fmts["FPE_SIX_T_FOUR"]
    assert fpe[:6] == PAN[:6]
    assert fpe[-4:] == PAN[-4:]
    assert fpe != PAN
    assert luhn_valid(fpe)
    revealed = svc.reveal(vault_id, [fpe], "PERSISTENT", CTX)[fpe]
    assert revealed.value.reveal() == PAN
    assert set(revealed.aliases) == set(b.aliases)
    assert _count(svc, store.records) == 1


def test_fingerprinting_off_makes_new_records(svc: VaultService) -> None:
    vid = svc.create_vault("nofp", fingerprinting=False).vault_id
    a = svc.create_aliases(vid, [nv(PAN)], CTX)[0]
    b = svc.create_aliases(vid, [nv(PAN)], CTX)[0]
    assert a.aliases != b.aliases
    assert _count(svc, store.records) == 2


def test_fingerprints_are_per_vault(svc: VaultService, vault_id: str) -> None:
    other = svc.create_vault("other").vault_id
    a = svc.create_aliases(vault_id, [nv(PAN)], CTX)[0]
    b = svc.create_aliases(other, [nv(PAN)], CTX)[0]
    assert a.aliases != b.aliases
    with svc.engine.connect() as conn:
        fps = conn.execute(sa.select(store.records.c.fingerprint)).scalars().all()
    assert len(set(fps)) == 2


def test_reference_adds_alias_and_returns_existing(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv(PAN, "UUID", "card")], CTX)[0]
    uuid_alias = a.aliases[0].alias
    ref = svc.create_aliases(
        vault_id, [AliasReference(uuid_alias, "PFPT")], CTX, caller_may_reveal=True
    )[0]
    assert ref.value is not None
    assert ref.value.reveal() == PAN
    assert ref.classifiers == ("card",)
    fmts = {x.format: x.alias for x in ref.aliases}
    assert set(fmts) == {"UUID", "PFPT"}
    again = svc.create_aliases(vault_id, [AliasReference(uuid_alias, "PFPT")], CTX)[0]
    assert {x.format: x.alias for x in again.aliases} == fmts
    same = svc.create_aliases(vault_id, [AliasReference(fmts["PFPT"], "UUID")], CTX)[0]
    assert {x.format: x.alias for x in same.aliases} == fmts


def test_reference_errors(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv("hello", "UUID")], CTX)[0].aliases[0].alias
    with pytest.raises(AliasNotFoundError) as nf:
        svc.create_aliases(vault_id, [AliasReference("tok_sandbox_missing", "UUID")], CTX)
    assert "data[0].alias" in nf.value.detail
    with pytest.raises(BadRequest) as dup:
        svc.create_aliases(vault_id, [AliasReference(a, "RAW_UUID")] * 2, CTX)
    assert dup.value.code == "DUPLICATE_ALIAS_REFERENCE"
    with pytest.raises(BadRequest) as fit:
        svc.create_aliases(vault_id, [AliasReference(a, "FPE_SIX_T_FOUR")], CTX)
    assert fit.value.detail.startswith("data[0].format:")
    assert "hello" not in fit.value.detail


def test_mixed_items_keep_request_order(svc: VaultService, vault_id: str) -> None:
    first = svc.create_aliases(vault_id, [nv("v1")], CTX)[0].aliases[0].alias
    items = [nv("v2"), AliasReference(first, "RAW_UUID"), nv("val3", "GENERIC_T_FOUR")]
    out = svc.create_aliases(vault_id, items, CTX, caller_may_reveal=True)
    assert [r.value.reveal() for r in out if r.value] == ["v2", "v1", "val3"]


def test_reference_values_follow_the_reveal_rules(svc: VaultService, vault_id: str) -> None:
    first = svc.create_aliases(vault_id, [nv("stored")], CTX)[0].aliases[0].alias
    items = [nv("sent"), AliasReference(first, "RAW_UUID")]
    hidden = svc.create_aliases(vault_id, items, CTX)  # by default the caller may not reveal
    assert [r.value.reveal() if r.value else None for r in hidden] == ["sent", None]
    assert {a.alias for a in hidden[1].aliases} >= {first}
    svc.set_reveal(vault_id, False)
    off = svc.create_aliases(vault_id, items, CTX, caller_may_reveal=True)
    assert [r.value.reveal() if r.value else None for r in off] == ["sent", None]
    assert svc.list_audit(vault_id=vault_id, action="alias.reveal") == []
    svc.set_reveal(vault_id, True)
    shown = svc.create_aliases(vault_id, items, CTX, caller_may_reveal=True)
    assert [r.value.reveal() if r.value else None for r in shown] == ["sent", "stored"]
    reveals = svc.list_audit(vault_id=vault_id, action="alias.reveal")
    assert [(e.alias, e.detail) for e in reveals] == [(first, "PERSISTENT by create reference")]


def test_validation_errors_name_the_item(svc: VaultService, vault_id: str) -> None:
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [nv("x"), nv("123", "FPE_SIX_T_FOUR")], CTX)
    assert e.value.detail == "data[1].value: FPE_SIX_T_FOUR needs 12-19 digits"
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [nv("")], CTX)
    assert e.value.detail.startswith("data[0].value")
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [nv("x", "CUSTOM")], CTX)
    assert "format not supported by this vault" in e.value.detail
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [nv("x", storage="DISK")], CTX)
    assert e.value.detail.startswith("data[0].storage")
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [NewValue(Secret("x"), "UUID", ("",))], CTX)
    assert e.value.detail.startswith("data[0].classifiers[0]")
    with pytest.raises(BadRequest):
        svc.create_aliases(vault_id, [NewValue(Secret("x"), "UUID", ("c",) * 51)], CTX)
    with pytest.raises(BadRequest):
        svc.create_aliases(vault_id, [], CTX)
    assert _count(svc, store.records) == 0
    assert _count(svc, store.audit_log) == 0


def test_limits(tmp_path: Path, database_url: str) -> None:
    svc = open_service(database_url, tmp_path, max_items=3, max_body_bytes=10)
    try:
        vid = svc.create_vault().vault_id
        with pytest.raises(BadRequest) as e:
            svc.create_aliases(vid, [nv(str(i)) for i in range(4)], CTX)
        assert (e.value.code, e.value.detail) == ("TOO_MANY_VALUES", "Too many values (limit: 3)")
        with pytest.raises(BadRequest) as e:
            svc.reveal(vid, ["a", "b", "c", "d"], "PERSISTENT", CTX)
        assert e.value.code == "TOO_MANY_VALUES"
        with pytest.raises(BadRequest) as e:
            svc.delete_aliases(vid, ["a", "b", "c", "d"], "PERSISTENT", CTX)
        assert e.value.code == "TOO_MANY_VALUES"
        with pytest.raises(PayloadTooLarge):
            svc.create_aliases(vid, [nv("x" * 11)], CTX)
        assert len(svc.create_aliases(vid, [nv("x" * 10)] * 3, CTX)) == 3
    finally:
        svc.close()


def test_default_limit_message(svc: VaultService, vault_id: str) -> None:
    with pytest.raises(BadRequest) as e:
        svc.create_aliases(vault_id, [nv(str(i)) for i in range(21)], CTX)
    assert e.value.detail == "Too many values (limit: 20)"


def test_reveal_all_or_nothing_and_disabled(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv("v")], CTX)[0].aliases[0].alias
    with pytest.raises(AliasNotFoundError) as e:
        svc.reveal(vault_id, [a, "tok_sandbox_nope1", "tok_sandbox_nope2"], "PERSISTENT", CTX)
    assert "tok_sandbox_nope1" in e.value.detail
    assert "tok_sandbox_nope2" in e.value.detail
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vault_id, [a], "VOLATILE", CTX)
    svc.set_reveal(vault_id, False)
    with pytest.raises(Forbidden) as f:
        svc.reveal(vault_id, [a], "PERSISTENT", CTX)
    assert f.value.code == "REVEAL_DISABLED"
    assert svc.set_reveal(vault_id, True).reveal_enabled
    assert svc.reveal(vault_id, [a, a], "PERSISTENT", CTX)[a].value.reveal() == "v"


def test_unknown_vault(svc: VaultService) -> None:
    with pytest.raises(VaultNotFoundError):
        svc.create_aliases("tntmissing", [nv("v")], CTX)
    with pytest.raises(VaultNotFoundError):
        svc.get_vault("tntmissing")


def test_update_classifiers(svc: VaultService, vault_id: str) -> None:
    recs = svc.create_aliases(vault_id, [nv(PAN, "UUID", "a"), nv(PAN, "FPE_T_FOUR")], CTX)
    alias = recs[1].aliases[0].alias
    svc.update_classifiers(vault_id, alias, ["secure"], "PERSISTENT", CTX)
    for a in recs[1].aliases:
        assert svc.reveal(vault_id, [a.alias], "PERSISTENT", CTX)[a.alias].classifiers == (
            "secure",
        )
    with pytest.raises(AliasNotFoundError):
        svc.update_classifiers(vault_id, "tok_sandbox_x", ["a"], "PERSISTENT", CTX)


def test_delete_last_alias_deletes_value(svc: VaultService, vault_id: str) -> None:
    rec = svc.create_aliases(vault_id, [nv(PAN, "UUID"), nv(PAN, "RAW_UUID")], CTX)[1]
    a1, a2 = (x.alias for x in rec.aliases)
    svc.delete_alias(vault_id, a1, "PERSISTENT", CTX)
    assert _count(svc, store.records) == 1
    left = svc.reveal(vault_id, [a2], "PERSISTENT", CTX)[a2]
    assert [x.alias for x in left.aliases] == [a2]
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vault_id, [a1], "PERSISTENT", CTX)
    svc.delete_alias(vault_id, a2, "PERSISTENT", CTX)
    assert _count(svc, store.records) == 0
    assert _count(svc, store.alias_table if hasattr(store, "alias_table") else store.aliases) == 0
    with pytest.raises(AliasNotFoundError):
        svc.delete_alias(vault_id, a2, "PERSISTENT", CTX)
    # After deletion the same value gets a brand-new alias.
    again = svc.create_aliases(vault_id, [nv(PAN, "UUID")], CTX)[0].aliases[0].alias
    assert again not in (a1, a2)


def test_batch_delete_is_atomic(svc: VaultService, vault_id: str) -> None:
    recs = svc.create_aliases(vault_id, [nv("a"), nv("b")], CTX)
    names = [r.aliases[0].alias for r in recs]
    with pytest.raises(AliasNotFoundError) as e:
        svc.delete_aliases(vault_id, [*names, "tok_sandbox_gone"], "PERSISTENT", CTX)
    assert "tok_sandbox_gone" in e.value.detail
    assert len(svc.reveal(vault_id, names, "PERSISTENT", CTX)) == 2
    svc.delete_aliases(vault_id, names, "PERSISTENT", CTX)
    assert _count(svc, store.records) == 0


def test_audit_rows(svc: VaultService, vault_id: str) -> None:
    a = svc.create_aliases(vault_id, [nv(PAN)], CTX)[0].aliases[0].alias
    svc.create_aliases(vault_id, [nv(PAN)], CTX)
    svc.reveal(vault_id, [a], "PERSISTENT", CTX)
    svc.update_classifiers(vault_id, a, ["x"], "PERSISTENT", CTX)
    svc.delete_alias(vault_id, a, "PERSISTENT", CTX)
    with pytest.raises(AliasNotFoundError):
        svc.reveal(vault_id, [a], "PERSISTENT", CTX)
    events = svc.list_audit(vault_id=vault_id)
    assert [e.action for e in events] == [
        "alias.delete", "alias.update", "alias.reveal", "alias.create", "alias.create",
    ]  # fmt: skip
    assert events[-1].detail is not None
    assert events[-1].detail.startswith("created")
    assert events[-2].detail is not None
    assert events[-2].detail.startswith("deduplicated")
    for e in events:
        assert (e.alias, e.actor, e.source, e.trace_id, e.outcome) == (
            a, "ACtestclient", "127.0.0.1", "trace-1", "success",
        )  # fmt: skip
        assert PAN not in str(e.to_json())
    assert [e.action for e in svc.list_audit(action="alias.reveal")] == ["alias.reveal"]
    assert len(svc.list_audit(limit=2)) == 2
    from datetime import UTC, datetime

    from vaultswitch.vault.core.models import AuditEvent

    svc.audit(
        AuditEvent(None, datetime.now(UTC), "x", vault_id, "alias.reveal", a, "not_found",
                   None, None, "404")
    )  # fmt: skip
    assert svc.list_audit(limit=1)[0].outcome == "not_found"
