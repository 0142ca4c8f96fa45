"""`vaultswitch proxy ca`, `proxy outbound serve` and `proxy inbound serve` as subprocesses on
a vault's data dir: the CA PEM and its files, the bound URL on stdout, a request through each
server, scrubbed JSON log lines with request ids on stderr, clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from proxy_support import CARD, Upstream, Vault, enrich_route, proxy_ca_file, redact_route

CLI = [sys.executable, "-m", "vaultswitch.cli"]


def env_of(vault: Vault, **extra: str) -> dict[str, str]:
    env = dict(os.environ, VAULTSWITCH_MASTER_KEY=vault.master_key, **extra)
    env.pop("VAULTSWITCH_DATA_DIR", None)
    return env


@contextmanager
def serving(args: list[str], env: dict[str, str], stderr: Path) -> Iterator[str]:
    with stderr.open("wb") as err:
        proc = subprocess.Popen([*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=err)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().strip()
            assert url.startswith("http://127.0.0.1:"), stderr.read_text()
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0


def test_proxy_ca_prints_the_ca_and_keeps_it_private(vault: Vault) -> None:
    run = subprocess.run(
        [*CLI, "proxy", "ca", "--data-dir", str(vault.data_dir)],
        capture_output=True,
        text=True,
        env=env_of(vault),
        check=True,
    )
    assert run.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert run.stdout == proxy_ca_file(vault).read_text()
    for name in ("proxy-ca.pem", "proxy-ca-key.pem"):
        assert (vault.data_dir / name).stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" not in run.stdout
    again = subprocess.run(
        [*CLI, "proxy", "ca", "--data-dir", str(vault.data_dir)],
        capture_output=True,
        text=True,
        env=env_of(vault),
        check=True,
    )
    assert again.stdout == run.stdout  # one CA per installation


def test_proxy_ca_on_a_missing_data_dir_says_so(tmp_path: Path, vault: Vault) -> None:
    run = subprocess.run(
        [*CLI, "proxy", "ca", "--data-dir", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=env_of(vault),
    )
    assert run.returncode == 1
    error = json.loads(run.stderr)
    assert error["error"] == "NO_DATA_DIR"
    assert "--data-dir" in error["hint"]
    assert not (tmp_path / "nowhere").exists()


def test_serving_on_a_dir_without_vault_data_fails_with_a_hint(
    tmp_path: Path, vault: Vault
) -> None:
    run = subprocess.run(
        [*CLI, "proxy", "inbound", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env_of(vault),
        timeout=60,
    )
    assert run.returncode == 1
    error = json.loads(run.stderr.strip().splitlines()[-1])
    assert error["error"] == "NO_VAULT_DATA"
    assert error["hint"]


def test_outbound_serve_reveals_through_connect_and_logs_without_the_card(
    vault: Vault, upstream: Upstream, tmp_path: Path
) -> None:
    alias = vault.alias(CARD)
    vault.routes(enrich_route())
    args = [
        "proxy",
        "outbound",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(vault.data_dir),
        "--allow-private-destinations",
        "--upstream-ca-file",
        str(upstream.ca_file),
    ]
    log = tmp_path / "outbound.log"
    with serving(args, env_of(vault), log) as url:
        port = int(url.rsplit(":", 1)[1])
        proxy_url = f"http://{vault.username}:{vault.password}@127.0.0.1:{port}"
        verify = ssl.create_default_context(cafile=str(proxy_ca_file(vault)))
        with httpx.Client(proxy=proxy_url, verify=verify) as client:
            response = client.post(f"{upstream.url}/pay", json={"card": {"number": alias}})
    assert response.status_code == 201
    assert upstream.recorder.last().json() == {"card": {"number": CARD}}
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "proxy.request"]
    assert any(
        r["method"] == "POST"
        and r["request_id"] == response.headers["vgs-request-id"]
        and r["request_entries"] == 1
        for r in requests
    )
    text = log.read_text()
    assert CARD not in text
    assert vault.password not in text


def test_inbound_serve_redacts_and_answers_404_without_a_route(
    vault: Vault, upstream: Upstream, tmp_path: Path
) -> None:
    args = [
        "proxy",
        "inbound",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(vault.data_dir),
        "--upstream-ca-file",
        str(upstream.ca_file),
    ]
    # routes are read again on each request (the default: within a second)
    env = env_of(vault, VAULTSWITCH_PROXY_ROUTES_REFRESH_SECONDS="0")
    with serving(args, env, tmp_path / "inbound.log") as url:
        missing = httpx.post(f"{url}/{vault.vault_id}/p", json={"card": {"number": CARD}})
        vault.routes(redact_route(upstream.url))
        response = httpx.post(f"{url}/{vault.vault_id}/p", json={"card": {"number": CARD}})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NO_ROUTE"
    assert response.status_code == 201
    assert upstream.recorder.last().json()["card"]["number"] != CARD
    assert CARD not in (tmp_path / "inbound.log").read_text()
