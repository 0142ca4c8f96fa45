"""A vault server in its own process (`python -m vaultswitch.vault.cli serve`), as operators run
it: its log lines land in a file the test reads, and its data directory is a real one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vault_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `python -m vaultswitch.vault.cli ARGS` in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "vaultswitch.vault.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return done


def cli_json(*args: str, env: dict[str, str] | None = None) -> Any:
    return json.loads(vault_cli(*args, env=env).stdout)


@dataclass
class ServedVault:
    url: str
    log_file: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@contextmanager
def served_vault(
    data_dir: Path, log_file: Path, extra: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[ServedVault]:
    """`vault serve --data-dir DATA_DIR` on a free loopback port; stdout+stderr to log_file.

    On exit the server is stopped (SIGINT, as Ctrl-C would) and waited for, so the log file is
    complete when the block ends.
    """
    port = free_port()
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vaultswitch.vault.cli",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    served = ServedVault(url, log_file, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vault server did not start:\n{served.log_text()}")
            time.sleep(0.05)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
