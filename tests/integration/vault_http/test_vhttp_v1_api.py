"""Vault API v1 (HTTP Basic access credentials), including the official `vgs-api-client`."""

from __future__ import annotations

import httpx
import pytest
import vgs
import vgs.exceptions
from vhttp_support import Vault


def test_official_vgs_client_runs_unchanged(vault: Vault) -> None:
    config = vgs.config(username=vault.username, password=vault.password, host=vault.url)
    api = vgs.Aliases(config)
    records = api.redact(
        [
            {"format": "UUID", "value": "5201784564572092", "classifiers": ["credit-card"]},
            {"format": "FPE_SIX_T_FOUR", "value": "4111111111111111"},
            {"format": "UUID", "value": "123", "storage": "VOLATILE"},
        ]
    )
    assert len(records) == 3
    first = records[0]["aliases"][0]["alias"]
    assert first.startswith("tok_")
    assert len(records[1]["aliases"][0]["alias"]) == 16
    volatile = records[2]["aliases"][0]["alias"]

    revealed = api.reveal([first, records[1]["aliases"][0]["alias"]])
    assert revealed[first]["value"] == "5201784564572092"
    assert revealed[first]["classifiers"] == ["credit-card"]

    api.update(first, {"classifiers": ["secure"]})
    assert api.reveal(first)[first]["classifiers"] == ["secure"]

    api.delete(first)
    with pytest.raises(vgs.exceptions.NotFoundException):
        api.reveal(first)
    with pytest.raises(vgs.exceptions.NotFoundException):
        api.reveal(volatile)  # VOLATILE alias looked up as PERSISTENT
    with pytest.raises(vgs.exceptions.NotFoundException):
        api.delete("tok_sandbox_doesnotexist")


def test_official_client_bad_credentials(vault: Vault) -> None:
    config = vgs.config(username=vault.username, password="wrong-password", host=vault.url)
    with pytest.raises(vgs.exceptions.UnauthorizedException):
        vgs.Aliases(config).redact([{"format": "UUID", "value": "x"}])
    config = vgs.config(username="USnobody", password="x", host=vault.url)
    with pytest.raises(vgs.exceptions.UnauthorizedException):
        vgs.Aliases(config).reveal("tok_sandbox_abc")


def test_v1_with_tenant_prefix_must_match(vault: Vault) -> None:
    other = vault.new_vault(name="other")
    with httpx.Client(
        base_url=f"{vault.url}/{vault.vault_id}", auth=(vault.username, vault.password)
    ) as c:
        r = c.post("/aliases", json={"data": [{"value": "a", "format": "UUID"}]})
        assert r.status_code == 201
    with httpx.Client(
        base_url=f"{vault.url}/{other.vault_id}", auth=(vault.username, vault.password)
    ) as c:
        r = c.post("/aliases", json={"data": [{"value": "a", "format": "UUID"}]})
        assert r.status_code == 401
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_v1_batch_delete_and_storage_query(vault: Vault) -> None:
    with vault.v1() as c:
        r = c.post(
            "/aliases",
            json={"data": [{"value": "cvc", "format": "UUID", "storage": "VOLATILE"}]},
        )
        alias = r.json()["data"][0]["aliases"][0]["alias"]
        assert c.get(f"/aliases/{alias}", params={"storage": "VOLATILE"}).status_code == 200
        assert (
            c.get("/aliases", params={"aliases": alias, "storage": "VOLATILE"}).status_code == 200
        )
        assert c.delete(f"/aliases/{alias}", params={"storage": "PERSISTENT"}).status_code == 404
        assert c.post("/aliases/delete?storage=VOLATILE", json={"data": [alias]}).status_code == 204
        assert c.get(f"/aliases/{alias}", params={"storage": "VOLATILE"}).status_code == 404
