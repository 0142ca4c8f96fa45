"""The admin CLI's audit actor is the OS account of the process uid, not $USERNAME / $LOGNAME
(issue 6 item 4): anyone can set those, and the quick start once set USERNAME to a v1
username, which then landed in the audit log."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from vhttp_process import cli_json

from vaultswitch.vault import cli


def test_actor_comes_from_the_uid_whatever_the_environment_says(tmp_path: Path) -> None:
    spoofed = {"USERNAME": "USspoofed", "LOGNAME": "USspoofed", "USER": "USspoofed"}
    d = ["--data-dir", str(tmp_path)]
    vault_id = cli_json("create", "--name", "shop", *d, env=spoofed)["vault_id"]
    rows = cli_json("audit", "--vault", vault_id, *d, env=spoofed)
    account = pwd.getpwuid(os.getuid()).pw_name
    assert [(r["action"], r["actor"]) for r in rows] == [("admin.vault.create", f"cli:{account}")]
    assert "USspoofed" not in str(rows)


def test_a_uid_without_a_passwd_entry_is_named_by_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)  # a container user with no /etc/passwd line
    monkeypatch.setenv("USERNAME", "USspoofed")
    assert cli._actor() == f"cli:uid:{os.getuid()}"
