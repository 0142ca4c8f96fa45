"""Helpers: the `vaultswitch` CLI and a `vaultswitch vault serve` server as separate processes.

For tests where what one process does (an admin command) must show in another (a server
that keeps running), as it does for an operator.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")}
    env.update(extra or {})
    return env


def cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `vaultswitch ARGS...` in a new process (the console script's entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "vaultswitch.cli", *args],
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_json(*args: str, env: Mapping[str, str] | None = None) -> Any:
    """`cli(...)` that must succeed; its JSON output."""
    done = cli(*args, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout)


def cli_error(*args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`cli(...)` that must fail; the JSON error object (the last line of stderr)."""
    done = cli(*args, env=env)
    assert done.returncode != 0, (args, done.stdout)
    error: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return error


_RUNNING_ON = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class ServerProcess:
    """`vaultswitch vault serve --data-dir DIR --port 0`: the port the OS gave it is read from
    its log, so no other process can take the port between choosing and binding it."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vaultswitch.cli",
                "vault",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--log-level",
                "info",
                *extra,
            ],
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._lines: list[bytes] = []
        self._port: queue.Queue[int] = queue.Queue()
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        try:
            port = self._port.get(timeout=60)
        except queue.Empty:
            self.proc.kill()
            self._reader.join(timeout=10)
            raise RuntimeError(f"vault server did not start: {self.log()!r}") from None
        self.url = f"http://127.0.0.1:{port}"
        self._wait_ready()

    def _read_log(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # read to the end, so the server never blocks on it
            self._lines.append(line)
            found = _RUNNING_ON.search(line)
            if found:
                self._port.put(int(found.group(1)))

    def log(self) -> str:
        return b"".join(self._lines).decode("utf-8", "replace")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"vault server did not get ready: {self.log()!r}")
            time.sleep(0.1)

    def stop(self) -> str:
        """Stop the server; its log (stdout and stderr)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        return self.log()

    def token(self, client_id: str, client_secret: str) -> httpx.Response:
        return httpx.post(
            self.url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
        )

    def bearer(self, client_id: str, client_secret: str) -> dict[str, str]:
        r = self.token(client_id, client_secret)
        assert r.status_code == 200, r.text
        return {"Authorization": "Bearer " + r.json()["access_token"]}

    def create(self, vault_id: str, value: str, auth: Any) -> httpx.Response:
        """POST /{vault}/aliases with one PERSISTENT UUID item; auth: headers or a Basic pair."""
        kwargs: dict[str, Any] = {"headers": auth} if isinstance(auth, dict) else {"auth": auth}
        return httpx.post(
            f"{self.url}/{vault_id}/aliases",
            json={"data": [{"value": value, "format": "UUID"}]},
            **kwargs,
        )

    def reveal(self, vault_id: str, alias: str, auth: Any) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": auth} if isinstance(auth, dict) else {"auth": auth}
        return httpx.get(f"{self.url}/{vault_id}/aliases/{alias}", **kwargs)


def alias_of(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    alias: str = response.json()["data"][0]["aliases"][0]["alias"]
    return alias


def value_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    value: str = response.json()["data"][0]["value"]
    return value
