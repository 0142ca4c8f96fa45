"""The filter pipeline over our vault's core, in-process (VaultCoreBackend), on a real
SQLite file and a real PostgreSQL database: what the proxies store and reveal."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters import (
    AliasBackendError,
    AliasNotFound,
    Message,
    ValueNotRedactable,
    apply_filters,
    apply_filters_sync,
)
from vaultswitch.proxy.filters.vault_backend import VaultCoreBackend, async_vault_backend
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.parse import parse_entry
from vaultswitch.vault.core import store
from vaultswitch.vault.core.models import AuditContext, NewValue
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

PAN = "4111111111111111"
PAN2 = "5555555555554444"
JSON_CT = ("Content-Type", "application/json")
CTX = AuditContext(actor="ACtest", source="127.0.0.1", trace_id="setup")


@pytest.fixture
def svc(database_url: str, tmp_path: Path) -> Iterator[VaultService]:
    key = Secret(base64.urlsafe_b64encode(os.urandom(32)).decode())
    service = VaultService.open(
        VaultSettings(data_dir=tmp_path, database_url=database_url, master_key=key)
    )
    yield service
    service.close()


@pytest.fixture
def vault_id(svc: VaultService) -> str:
    return svc.create_vault("proxy").vault_id


def entry(transformer: str, *config: str, op: str = "REDACT", **extra: Any) -> Entry:
    return parse_entry(
        {
            "phase": "REQUEST",
            "operation": op,
            "token_manager": extra.pop("storage", "PERSISTENT"),
            "public_token_generator": extra.pop("fmt", "UUID"),
            "transformer": transformer,
            "transformer_config": list(config),
            "targets": ["body"],
            **extra,
        },
        "entry",
    )


def backend(svc: VaultService, vault_id: str, request_id: str = "req-1") -> VaultCoreBackend:
    return VaultCoreBackend.for_request(svc, vault_id, request_id, client="10.0.0.7")


def stored(svc: VaultService, vault_id: str, alias: str, storage: str = "PERSISTENT") -> str:
    record = svc.reveal(vault_id, [alias], storage, CTX)[alias]
    assert record.value is not None
    return record.value.reveal()


def count_records(svc: VaultService) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(store.records)).scalar_one())


def test_inbound_redact_stores_the_card_and_sends_aliases(
    svc: VaultService, vault_id: str, database_url: str, tmp_path: Path
) -> None:
    entries = [
        entry(
            "JSON_PATH",
            "$.card.number",
            fmt="FPE_SIX_T_FOUR",
            classifiers={"TAGS": ["credit-card"]},
        ),
        entry("JSON_PATH", "$.card.cvc", storage="VOLATILE"),
        entry("JSON_PATH", "$.card.again"),
    ]
    body = json.dumps({"card": {"number": PAN, "cvc": "123", "again": PAN}, "amount": 10})
    result = apply_filters_sync(
        entries, Message.of([JSON_CT], body.encode()), backend(svc, vault_id)
    )
    card = json.loads(result.message.body)["card"]
    assert card["number"] != PAN
    assert card["number"][:6] == PAN[:6]
    assert card["number"][-4:] == "1111"
    assert stored(svc, vault_id, card["number"]) == PAN
    assert stored(svc, vault_id, card["cvc"], "VOLATILE") == "123"
    assert stored(svc, vault_id, card["again"]) == PAN  # same record, a UUID alias of it
    assert card["again"].startswith("tok_sandbox_")
    assert count_records(svc) == 1  # fingerprinting: one record for the PAN, CVC volatile
    record = svc.reveal(vault_id, [card["number"]], "PERSISTENT", CTX)[card["number"]]
    assert record.classifiers == ("credit-card",)
    creates = svc.list_audit(vault_id, action="alias.create")
    assert {(e.actor, e.source, e.trace_id) for e in creates} == {("proxy", "10.0.0.7", "req-1")}
    if database_url.startswith("sqlite"):
        for path in tmp_path.glob("vault.db*"):
            assert PAN.encode() not in path.read_bytes()


def test_the_same_card_gets_the_same_alias_in_later_messages(
    svc: VaultService, vault_id: str
) -> None:
    entries = [entry("FORM_FIELD", "card_number")]
    first = apply_filters_sync(
        entries, Message.of([], f"card_number={PAN}".encode()), backend(svc, vault_id)
    )
    second = apply_filters_sync(
        entries, Message.of([], f"x=1&card_number={PAN}".encode()), backend(svc, vault_id, "req-2")
    )
    assert (
        dict(parse_qsl(first.message.body.decode()))["card_number"]
        == dict(parse_qsl(second.message.body.decode()))["card_number"]
    )


def test_more_values_than_one_api_batch_in_one_message(svc: VaultService, vault_id: str) -> None:
    pans = [f"4000000000{i:06d}" for i in range(30)]  # more than the vault's 20 per call
    body = json.dumps({"cards": [{"number": p} for p in pans]}).encode()
    result = apply_filters_sync(
        [entry("JSON_PATH", "$.cards[*].number")],
        Message.of([JSON_CT], body),
        backend(svc, vault_id),
    )
    aliases = [c["number"] for c in json.loads(result.message.body)["cards"]]
    assert len(set(aliases)) == 30
    assert [stored(svc, vault_id, a) for a in aliases] == pans


def test_outbound_enrich_reveals_known_aliases_and_passes_the_rest(
    svc: VaultService, vault_id: str
) -> None:
    made = svc.create_aliases(
        vault_id, [NewValue(Secret(PAN), "UUID"), NewValue(Secret(PAN2), "UUID")], CTX
    )
    known = [rec.aliases[0].alias for rec in made]
    [cvc] = svc.create_aliases(vault_id, [NewValue(Secret("737"), "UUID", (), "VOLATILE")], CTX)
    unknown = [f"tok_sandbox_unknown{i}" for i in range(22)]
    # 25 aliases: more than one reveal call's 20, unknown ones among them (split to find)
    fields = {f"u{i}": a for i, a in enumerate(unknown)}
    body = json.dumps(
        {"a": known[0], "b": known[1], "raw": PAN2, **fields, "cvc": cvc.aliases[0].alias}
    ).encode()
    entries = [
        entry("JSON_PATH", "$.a", "$.b", "$.raw", *[f"$.u{i}" for i in range(22)], op="ENRICH"),
        entry("JSON_PATH", "$.cvc", op="ENRICH", storage="VOLATILE"),
    ]
    result = apply_filters_sync(entries, Message.of([JSON_CT], body), backend(svc, vault_id))
    out = json.loads(result.message.body)
    assert (out["a"], out["b"], out["cvc"]) == (PAN, PAN2, "737")
    assert out["raw"] == PAN2  # not an alias: passed as it was
    assert [out[f"u{i}"] for i in range(22)] == unknown
    assert (result.revealed, result.unknown) == (3, 23)
    reveals = svc.list_audit(vault_id, action="alias.reveal", limit=50)
    assert {e.alias for e in reveals if e.trace_id == "req-1"} == {*known, cvc.aliases[0].alias}

    with pytest.raises(AliasNotFound) as caught:
        apply_filters_sync(
            entries, Message.of([JSON_CT], body), backend(svc, vault_id), strict=True
        )
    assert caught.value.status == 400
    assert PAN2 not in str(caught.value)


def test_a_value_its_format_refuses_is_a_400_and_nothing_is_stored(
    svc: VaultService, vault_id: str
) -> None:
    entries = [entry("FORM_FIELD", "card_number", "cvc", fmt="FPE_SIX_T_FOUR")]
    with pytest.raises(ValueNotRedactable) as caught:
        apply_filters_sync(
            entries, Message.of([], f"card_number={PAN}&cvc=12".encode()), backend(svc, vault_id)
        )
    assert "form field cvc" in caught.value.detail
    assert caught.value.status == 400
    assert count_records(svc) == 0


def test_reveal_disabled_is_the_vault_s_answer(svc: VaultService, vault_id: str) -> None:
    [rec] = svc.create_aliases(vault_id, [NewValue(Secret(PAN), "UUID")], CTX)
    svc.set_reveal(vault_id, False)
    body = json.dumps({"n": rec.aliases[0].alias}).encode()
    with pytest.raises(AliasBackendError) as caught:
        apply_filters_sync(
            [entry("JSON_PATH", "$.n", op="ENRICH")],
            Message.of([JSON_CT], body),
            backend(svc, vault_id),
        )
    assert caught.value.code == "REVEAL_DISABLED"
    assert caught.value.status == 403


def test_an_unknown_vault_is_the_vault_s_answer(svc: VaultService) -> None:
    with pytest.raises(AliasBackendError) as caught:
        apply_filters_sync(
            [entry("REGEX", r"\d{16}")], Message.of([], PAN.encode()), backend(svc, "tntmissing0")
        )
    assert caught.value.status == 404


async def test_the_async_pipeline_runs_the_vault_in_worker_threads(
    svc: VaultService, vault_id: str
) -> None:
    redact = [entry("JSON_PATH", "$.card.number")]
    message = Message.of([JSON_CT], json.dumps({"card": {"number": PAN}}).encode())
    redacted = await apply_filters(redact, message, async_vault_backend(backend(svc, vault_id)))
    alias = json.loads(redacted.message.body)["card"]["number"]
    assert stored(svc, vault_id, alias) == PAN
    enrich = [entry("JSON_PATH", "$.card.number", op="ENRICH")]
    revealed = await apply_filters(
        enrich, redacted.message, async_vault_backend(backend(svc, vault_id))
    )
    assert revealed.message.body == message.body
