"""`vaultswitch up` as a user runs it: a real process, a real port, the printed credentials work."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_up(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vaultswitch.cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
        assert proc.poll() is None, "vaultswitch up exited early"
    else:
        proc.kill()
        raise AssertionError("vaultswitch up did not answer /health")
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    return out


def _field(output: str, name: str) -> str:
    match = re.search(rf"{name}\s+(\S+)", output)
    assert match, f"{name!r} not in output:\n{output}"
    return match.group(1)


def test_up_bootstraps_a_vault_whose_printed_credentials_work(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    first = _stop(_run_up(tmp_path, port))  # the banner is read once the process ended
    vault_id = _field(first, "vault id")
    client_id = _field(first, "client id")
    secret = _field(first, "client secret")
    assert re.fullmatch(r"tnt[a-z0-9]{8}", vault_id)
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600

    proc = _run_up(tmp_path, port)
    try:
        token = httpx.post(
            base + TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert token.status_code == 200
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = httpx.post(
            f"{base}/{vault_id}/aliases",
            json={"data": [{"value": "4111111111111111", "format": "FPE_SIX_T_FOUR"}]},
            headers=bearer,
        )
        assert created.status_code == 201
        alias = created.json()["data"][0]["aliases"][0]["alias"]
        assert alias[:6] == "411111"
        assert alias[-4:] == "1111"
        assert len(alias) == 16
    finally:
        second = _stop(proc)
    # second start: same vault, no secrets printed again
    assert _field(second, "vault id") == vault_id
    assert secret not in second
    assert "4111111111111111" not in first + second
