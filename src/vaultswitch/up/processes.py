"""The servers `up` runs, each a child process: start, wait for health, watch, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

STOP_TIMEOUT_S = 15.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when `up` dies, even by SIGKILL (no orphaned servers)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class StartError(Exception):
    """A server did not come up; ``hint`` says what to try, ``log_tail`` what it said."""

    def __init__(self, message: str, hint: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.hint = hint
        self.log_tail = log_tail


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def free_port(host: str) -> int:
    """A port the OS says is free on ``host`` now (for `--*-port 0`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class ServerSpec:
    """One server: the `vaultswitch` sub-command that runs it and the URL it answers on."""

    name: str
    args: Sequence[str]
    host: str
    port: int
    port_option: str
    env: Mapping[str, str] = field(default_factory=dict)
    #: where the server's output goes (its request log lines); None: inherited
    log_file: Path | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass
class Running:
    spec: ServerSpec
    process: subprocess.Popen[bytes]


class Supervisor:
    """Starts the servers in order and stops them all, whichever way `up` ends."""

    def __init__(self) -> None:
        self.running: list[Running] = []

    def start(self, spec: ServerSpec, *, timeout_s: float = 60.0) -> None:
        """Start ``spec`` and return once its `/health` answers 200."""
        if port_in_use(spec.host, spec.port):
            raise StartError(
                f"{spec.name}: port {spec.port} on {spec.host} is already in use",
                f"stop what uses it, or pick another port: `vaultswitch up {spec.port_option} 0` "
                "(0 = any free port)",
            )
        argv = [sys.executable, "-m", "vaultswitch.cli", *spec.args]
        env = {**os.environ, **spec.env}
        output: IO[bytes] | None = None
        if spec.log_file is not None:
            spec.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            output = spec.log_file.open("ab")
        # its own session: a Ctrl-C reaches `up` alone, which then stops each server once
        try:
            process = subprocess.Popen(  # noqa: S603
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            if output is not None:
                output.close()  # the child has its own copy
        self.running.append(Running(spec, process))
        self._wait_healthy(spec, process, timeout_s)

    def _wait_healthy(
        self, spec: ServerSpec, process: subprocess.Popen[bytes], timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise StartError(
                        f"{spec.name} exited with status {process.returncode} while starting",
                        f"its last log lines are below ({spec.log_file or 'stderr'}); fix the "
                        "cause and run `vaultswitch up` again",
                        _tail(spec.log_file),
                    )
                try:
                    if http.get(spec.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise StartError(
            f"{spec.name} did not answer {spec.url}/health within {timeout_s:.0f} s",
            f"see its log ({spec.log_file or 'stderr'}); is the machine very busy?",
            _tail(spec.log_file),
        )

    def watch(self) -> Running:
        """Block until one server exits; return it (the others still run)."""
        while True:
            for run in self.running:
                if run.process.poll() is not None:
                    return run
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGINT every server that still runs (newest first), then wait; kill stragglers."""
        for run in reversed(self.running):
            if run.process.poll() is None:
                run.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for run in reversed(self.running):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                run.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()
        self.running.clear()
