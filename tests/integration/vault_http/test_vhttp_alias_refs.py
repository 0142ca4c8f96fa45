"""Request log lines name aliases only by keyed digest, and every request is traceable to its
aliases (issue 6 item 15).

FPE aliases are Luhn-valid 16-digit numbers that keep a card's first 6 and last 4 digits: in a
log they look like card numbers (the scrubber masked them, so no line said which alias a
request used). Now the path is logged with the alias replaced by ``alias:<10 hex>`` and each
request line lists ``alias_ref`` for every alias it used; ``vaultswitch vault alias-ref ALIAS``
prints the same digest, so an operator can grep for it. Checked on a real server process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from vhttp_process import cli_json, served_vault

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

PAN = "4111111111111111"
MISSING_FPE = "4111112222221112"  # FPE-shaped (Luhn-valid 16 digits), stored nowhere
REF = re.compile(r"alias:[0-9a-f]{10}")


def _ref(alias: str, data_dir: Path) -> str:
    ref = cli_json("alias-ref", alias, "--data-dir", str(data_dir))["alias_ref"]
    assert isinstance(ref, str)
    assert REF.fullmatch(ref)
    return ref


def _requests(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["trace_id"]: line for line in lines if line.get("event") == "request"}


def test_request_lines_carry_alias_refs_and_no_alias(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with VaultService.open(VaultSettings(data_dir=data_dir)) as service:
        vault_id = service.create_vault("shop").vault_id
        username, password = service.create_access_credentials(vault_id)
    auth = (username, password.reveal())

    with served_vault(data_dir, tmp_path / "vault.log") as server:
        base = f"{server.url}/{vault_id}"
        with httpx.Client(base_url=base, auth=auth) as c:
            created = c.post(
                "/aliases",
                json={
                    "data": [
                        {"value": PAN, "format": "FPE_SIX_T_FOUR"},
                        {"value": "note", "format": "UUID"},
                    ]
                },
            )
            assert created.status_code == 201, created.text
            fpe = created.json()["data"][0]["aliases"][0]["alias"]
            uuid = created.json()["data"][1]["aliases"][0]["alias"]
            ref_create = c.post("/aliases", json={"data": [{"alias": fpe, "format": "UUID"}]})
            other = next(
                a["alias"] for a in ref_create.json()["data"][0]["aliases"] if a["format"] == "UUID"
            )
            calls = {
                "reveal": c.get(f"/aliases/{fpe}"),
                "reveal_many": c.get("/aliases", params={"aliases": f"{fpe},{uuid}"}),
                "update": c.put(f"/aliases/{fpe}", json={"data": {"classifiers": ["pan"]}}),
                "missing": c.get(f"/aliases/{MISSING_FPE}"),
                "batch_delete": c.post("/aliases/delete", json={"data": [uuid]}),
                "delete": c.delete(f"/aliases/{fpe}"),
            }
        calls["unauthenticated"] = httpx.get(f"{base}/aliases/{other}")
    statuses = {name: r.status_code for name, r in calls.items()}
    assert statuses == {
        "reveal": 200,
        "reveal_many": 200,
        "update": 204,
        "missing": 404,
        "batch_delete": 204,
        "delete": 204,
        "unauthenticated": 401,
    }
    assert len(fpe) == 16
    assert fpe.isdigit()

    log = server.log_text()
    for shown in (PAN, fpe, MISSING_FPE, uuid, other, fpe[:6] + "*", MISSING_FPE[:6] + "*"):
        assert shown not in log, shown

    with VaultService.open(VaultSettings(data_dir=data_dir)) as service:
        log_refs = service.log_refs()
    refs = {a: log_refs.alias(a) for a in (fpe, uuid, other, MISSING_FPE)}
    assert len(set(refs.values())) == 4
    assert _ref(fpe, data_dir) == refs[fpe]  # what the CLI prints: the same key, the same digest
    lines = _requests(server.log_lines())

    def line(r: httpx.Response) -> dict[str, Any]:
        return lines[r.headers["vgs-request-id"]]

    assert set(line(created)["alias_ref"]) == {refs[fpe], refs[uuid]}
    assert set(line(ref_create)["alias_ref"]) == {refs[fpe], refs[other]}
    expected_paths = {
        "reveal": (f"/{vault_id}/aliases/{refs[fpe]}", {refs[fpe]}),
        "reveal_many": (f"/{vault_id}/aliases", {refs[fpe], refs[uuid]}),
        "update": (f"/{vault_id}/aliases/{refs[fpe]}", {refs[fpe]}),
        "missing": (f"/{vault_id}/aliases/{refs[MISSING_FPE]}", {refs[MISSING_FPE]}),
        "batch_delete": (f"/{vault_id}/aliases/delete", {refs[uuid]}),
        "delete": (f"/{vault_id}/aliases/{refs[fpe]}", {refs[fpe]}),
        "unauthenticated": (f"/{vault_id}/aliases/{refs[other]}", {refs[other]}),
    }
    for name, (path, aliases) in expected_paths.items():
        found = line(calls[name])
        assert found["path"] == path, (name, found)
        assert set(found["alias_ref"]) == aliases, (name, found)
    assert line(calls["reveal_many"])["query"] == f"aliases={refs[fpe]},{refs[uuid]}"
    # grep for one alias's reference finds every request that used it
    with_fpe = {t for t, found in lines.items() if refs[fpe] in str(found)}
    assert with_fpe == {
        line(r)["trace_id"]
        for r in (
            created,
            ref_create,
            calls["reveal"],
            calls["reveal_many"],
            calls["update"],
            calls["delete"],
        )
    }
