"""POST /aliases never reveals a stored value the caller may not reveal (issue 6 item 1).

A create response carries the values the caller sent. A reference item (``{"alias", "format"}``)
names a value the caller did not send: its ``value`` is returned only when a reveal would be
allowed (scope ``aliases:read`` - v1 access credentials hold every scope - and the vault's
reveal switch on), and is left out otherwise. Checked over real HTTP for v1 and v2, reveal on
and off, several scope sets, with new values and references mixed in one request.
"""

from __future__ import annotations

import httpx
import pytest
from vhttp_support import TOKEN_PATH, Vault

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.models import AuditContext, NewValue

STORED_PAN = "5201784564572092"
STORED_TEXT = "stored-secret-text"
STORED_CVC = "737"
SENT_PAN = "4111111111111111"
SENT_TEXT = "sent-in-this-request"

# (api, scopes of the service account); v1 access credentials carry every scope
CALLERS = [
    pytest.param("v1", None, id="v1-basic"),
    pytest.param("v2", ("aliases:write",), id="v2-write"),
    pytest.param("v2", ("aliases:write", "aliases:delete"), id="v2-write-delete"),
    pytest.param("v2", ("aliases:write", "aliases:read"), id="v2-write-read"),
]


def _client(vault: Vault, vault_id: str, api: str, scopes: tuple[str, ...] | None) -> httpx.Client:
    if api == "v1":
        username, password = vault.service.create_access_credentials(vault_id)
        return httpx.Client(base_url=vault.url, auth=(username, password.reveal()))
    account, secret = vault.service.create_service_account([vault_id], scopes or ())
    r = httpx.post(
        vault.url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": secret.reveal(),
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return httpx.Client(
        base_url=f"{vault.url}/{vault_id}", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize("reveal", [True, False], ids=["reveal-on", "reveal-off"])
@pytest.mark.parametrize(("api", "scopes"), CALLERS)
def test_create_by_reference_follows_the_reveal_rules(
    vault: Vault, api: str, scopes: tuple[str, ...] | None, reveal: bool
) -> None:
    service = vault.service
    vault_id = service.create_vault("matrix").vault_id
    ctx = AuditContext("seed")
    seeded = service.create_aliases(
        vault_id,
        [
            NewValue(Secret(STORED_PAN), "UUID"),
            NewValue(Secret(STORED_TEXT), "UUID", ("note",)),
            NewValue(Secret(STORED_CVC), "UUID", storage="VOLATILE"),
            NewValue(Secret(SENT_PAN), "UUID"),  # the caller later sends this value itself
        ],
        ctx,
    )
    pan_alias, text_alias, cvc_alias = (r.aliases[0].alias for r in seeded[:3])
    service.set_reveal(vault_id, reveal)
    may_reveal = reveal and (scopes is None or "aliases:read" in scopes)

    with _client(vault, vault_id, api, scopes) as c:
        r = c.post(
            "/aliases",
            json={
                "data": [
                    {"value": SENT_PAN, "format": "FPE_SIX_T_FOUR"},  # known value, new format
                    {"alias": pan_alias, "format": "RAW_UUID"},
                    {"value": SENT_TEXT, "format": "UUID"},
                    {"alias": text_alias, "format": "UUID"},  # its own format: deduplicated
                    {"alias": cvc_alias, "format": "UUID", "storage": "VOLATILE"},
                ]
            },
        )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert len(data) == 5
    # values the caller sent come back whatever the reveal rules say
    assert data[0]["value"] == SENT_PAN
    assert data[2]["value"] == SENT_TEXT
    # referenced records still report their aliases (the new one included) and metadata
    assert {a["format"] for a in data[1]["aliases"]} == {"UUID", "RAW_UUID"}
    assert {a["alias"] for a in data[3]["aliases"]} == {text_alias}
    assert data[3]["classifiers"] == ["note"]
    assert data[4]["storage"] == "VOLATILE"
    references = {1: STORED_PAN, 3: STORED_TEXT, 4: STORED_CVC}
    for i, stored in references.items():
        if may_reveal:
            assert data[i]["value"] == stored
        else:
            assert "value" not in data[i], data[i]
    if not may_reveal:
        assert STORED_PAN not in r.text
        assert STORED_TEXT not in r.text
        assert f'"{STORED_CVC}"' not in r.text

    revealed = {e.alias for e in service.list_audit(vault_id=vault_id, action="alias.reveal")}
    if may_reveal:  # a stored value that left the vault is a reveal, and audited as one
        assert {pan_alias, text_alias, cvc_alias} <= revealed
    else:
        assert revealed == set()


def test_reference_with_read_scope_only_is_refused(vault: Vault) -> None:
    alias = (
        vault.service.create_aliases(
            vault.vault_id, [NewValue(Secret(STORED_TEXT), "UUID")], AuditContext("seed")
        )[0]
        .aliases[0]
        .alias
    )
    with _client(vault, vault.vault_id, "v2", ("aliases:read",)) as c:
        r = c.post("/aliases", json={"data": [{"alias": alias, "format": "RAW_UUID"}]})
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "INSUFFICIENT_SCOPE"
    assert STORED_TEXT not in r.text
