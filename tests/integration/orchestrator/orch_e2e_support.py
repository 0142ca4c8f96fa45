"""End-to-end tests: the orchestrator as `vaultswitch orchestrator serve` (several workers)
and the sandbox processor as `vaultswitch processor serve`, each a real process on
loopback, their log lines teed into server log files (tests/server_logs.py); and which
worker process served a connection, read from /proc (Linux)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from orch_pay_support import PROCESSOR_KEY, LiveProcessor, Shop
from orch_support import LiveVault, Orchestrator
from pm_support import PmVault, PmWorld

from server_logs import tee_lines
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.settings import ENV_PREFIX, OrchestratorSettings

START_TIMEOUT_S = 90.0


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any vaultswitch setting (they would leak into
    the servers), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_")}
    return {**env, "NO_COLOR": "1", **extra}


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def processor_process(*args: str, api_key: str = PROCESSOR_KEY) -> Iterator[LiveProcessor]:
    """`vaultswitch processor serve --port 0 --api-key KEY ARGS`: its URL from stdout."""
    command = [sys.executable, "-m", "vaultswitch.cli", "processor", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--api-key", api_key, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    errors: list[str] = []
    printed: list[str] = []
    tee_lines(proc.stderr, "processor-process", errors)
    tee_lines(proc.stdout, "processor-process-stdout", printed)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not printed:
            assert proc.poll() is None, "the processor exited:\n" + "".join(errors)
            assert time.monotonic() < deadline, "no URL printed:\n" + "".join(errors)
            time.sleep(0.05)
        yield LiveProcessor(printed[0].strip(), api_key)
    finally:
        _stop(proc)


@dataclass
class OrchestratorProcess:
    """`vaultswitch orchestrator serve` as a child process, and an Orchestrator on it."""

    proc: subprocess.Popen[str]
    orch: Orchestrator
    log: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return httpx.URL(self.orch.url).port or 80

    def worker_pids(self) -> set[int]:
        """uvicorn's worker processes (spawned by multiprocessing; not its resource
        tracker)."""
        return {pid for pid in children_of(self.proc.pid) if b"spawn_main" in _cmdline(pid)}

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines it wrote so far (every worker's)."""
        found = []
        for line in list(self.log):
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found


def settings_env(settings: OrchestratorSettings) -> dict[str, str]:
    """``VAULTSWITCH_ORCHESTRATOR_*`` for every setting given explicitly."""
    env = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        text = value.reveal() if isinstance(value, Secret) else str(value)
        env[f"{ENV_PREFIX}{name.upper()}"] = text
    return env


@contextmanager
def orchestrator_process(
    settings: OrchestratorSettings, *, workers: int = 2
) -> Iterator[OrchestratorProcess]:
    """`vaultswitch orchestrator serve --port 0 --workers N --database-url ... --redis-url ...`
    with the other settings in its environment; waits for /health."""
    assert settings.admin_api_key is not None
    flags = ["--port", "0", "--workers", str(workers), "--log-level", "debug"]
    flags += ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        flags += ["--database-url", settings.database_url]
    if settings.redis_url:
        flags += ["--redis-url", settings.redis_url]
    env = settings_env(settings)
    for name in ("DATA_DIR", "DATABASE_URL", "REDIS_URL"):
        env.pop(ENV_PREFIX + name, None)  # given as flags
    command = [sys.executable, "-m", "vaultswitch.cli", "orchestrator", "serve", *flags]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(**env),
    )
    assert proc.stdout is not None
    log: list[str] = []
    tee_lines(proc.stdout, "orchestrator-process", log)
    try:
        url = _wait_listening(proc, log)
        _wait_healthy(proc, url, log)
        with httpx.Client(base_url=url, timeout=60) as http:
            orch = Orchestrator(url, settings.admin_api_key.reveal(), settings, http)
            yield OrchestratorProcess(proc, orch, log)
    finally:
        _stop(proc)


def _wait_listening(proc: subprocess.Popen[str], log: list[str]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        for line in list(log):
            if line.startswith("{") and '"orchestrator.listening"' in line:
                return str(json.loads(line)["url"])
        assert proc.poll() is None, "the orchestrator exited:\n" + "".join(log)
        assert time.monotonic() < deadline, "the orchestrator never listened:\n" + "".join(log)
        time.sleep(0.05)


def _wait_healthy(proc: subprocess.Popen[str], url: str, log: list[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert proc.poll() is None, "the orchestrator exited:\n" + "".join(log)
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "no /health answer:\n" + "".join(log)
        time.sleep(0.1)


# --- which worker served a connection -------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _server_socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the loopback TCP connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.rsplit(":", 1)[1], 16) == server_port and (
            int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            return inode
    return None


def serving_pid(response: httpx.Response, server_port: int, pids: set[int]) -> int | None:
    """Which of ``pids`` holds the server end of the (kept-alive) connection that carried
    ``response``."""
    stream = response.extensions["network_stream"]
    client_port = int(stream.get_extra_info("client_addr")[1])
    inode = _server_socket_inode(server_port, client_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


@contextmanager
def clients_on_every_worker(
    server: OrchestratorProcess, count: int, *, max_tries: int = 200
) -> Iterator[list[httpx.Client]]:
    """``count`` httpx clients, each with one open connection to the orchestrator, the
    connections spread so that every worker holds at least one (new connections are handed
    to whichever worker accepts first, so more are opened until each worker has one)."""
    workers = server.worker_pids()
    by_worker: dict[int, list[httpx.Client]] = {pid: [] for pid in workers}
    opened: list[httpx.Client] = []
    try:
        for _ in range(max_tries):
            covered = all(by_worker.values())
            if covered and sum(map(len, by_worker.values())) >= count:
                break
            client = httpx.Client(base_url=server.orch.url, timeout=60)
            opened.append(client)
            pid = serving_pid(client.get("/health"), server.port, workers)
            assert pid is not None, "no worker holds the connection"
            by_worker[pid].append(client)
        assert all(by_worker.values()), f"a worker accepted none of {len(opened)} connections"
        chosen: list[httpx.Client] = []
        while len(chosen) < count:  # round robin over the workers
            for clients in by_worker.values():
                if clients and len(chosen) < count:
                    chosen.append(clients.pop())
        yield chosen
    finally:
        for client in opened:
            client.close()


# --- the helpers of the other test modules, on one merchant -------------------------------


def live_vault_of(vault: PmVault) -> LiveVault:
    """The external vault of a PmVault as the LiveVault that open_shop takes."""
    box = vault.external
    return LiveVault(vault.url, box.vault_id, box.client_id, box.client_secret)


def world_of(shop: Shop, vault: PmVault) -> PmWorld:
    """The shop's merchant as a PmWorld (set_vault, create, saved) on the same customer."""
    assert shop.vault_account_id is not None
    return PmWorld(shop.orch, vault, shop.setup, shop.customer_id, shop.vault_account_id)
