"""An id that names no account is never written down verbatim (issue 6 item 2).

Swapping the client id and the secret (or the v1 username and password) is a common mistake:
the secret then arrives in the id field. The server's log lines and the audit log record such
an id only as ``unknown:<10 hex>``, a digest keyed by a server secret (the same id gives the
same digest, so repeated attempts can be grouped). Checked on a real server process: its log
file and the audit log as the CLI prints it.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
from vhttp_process import cli_json, served_vault
from vhttp_support import TOKEN_PATH

from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.settings import VaultSettings

UNKNOWN = re.compile(r"unknown:[0-9a-f]{10}")


def test_swapped_client_id_and_secret_are_recorded_only_as_a_digest(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with VaultService.open(VaultSettings(data_dir=data_dir)) as service:
        vault_id = service.create_vault("shop").vault_id
        account, secret_obj = service.create_service_account([vault_id])
        username, password_obj = service.create_access_credentials(vault_id)
    client_id, secret = account.client_id, secret_obj.reveal()
    password = password_obj.reveal()

    with served_vault(data_dir, tmp_path / "vault.log") as server:
        swapped = {
            "grant_type": "client_credentials",
            "client_id": secret,
            "client_secret": client_id,
        }
        statuses = [httpx.post(server.url + TOKEN_PATH, data=swapped).status_code for _ in range(2)]
        basic = httpx.post(  # swapped in the Basic header instead of the form
            server.url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(secret, client_id),
        )
        v1 = httpx.post(  # v1 access credentials, username and password swapped
            server.url + "/aliases",
            json={"data": [{"value": "x", "format": "UUID"}]},
            auth=(password, username),
        )
        wrong = httpx.post(  # a known client id with a wrong secret: the id is no secret
            server.url + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": "no",
            },
        )
    assert statuses == [401, 401]
    assert basic.status_code == 401
    assert v1.status_code == 401
    assert wrong.status_code == 401

    log = server.log_text()
    assert secret not in log
    assert password not in log
    assert base64.b64encode(f"{secret}:{client_id}".encode()).decode() not in log
    requests = [line for line in server.log_lines() if line.get("event") == "request"]
    token_ids = [line["client_id"] for line in requests if line["path"] == TOKEN_PATH]
    assert len(token_ids) == 4
    assert all(UNKNOWN.fullmatch(i) for i in token_ids[:3]), token_ids
    assert len(set(token_ids[:3])) == 1  # the same id, the same digest
    assert token_ids[3] == client_id
    v1_ids = [line["client_id"] for line in requests if line["path"] == "/aliases"]
    assert len(v1_ids) == 1
    assert UNKNOWN.fullmatch(v1_ids[0])
    assert v1_ids[0] != token_ids[0]  # a different secret gives a different digest

    audit = cli_json("audit", "--action", "token.issue", "--data-dir", str(data_dir))
    text = str(audit)
    assert secret not in text
    assert password not in text
    failures = [row["actor"] for row in audit if row["outcome"] == "failure"]
    assert sorted(failures) == sorted([token_ids[0]] * 3 + [client_id])
