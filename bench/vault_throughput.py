"""Vault HTTP throughput: alias create and reveal vs the trivial /health endpoint.

Starts `vaultswitch.vault.cli serve` (SQLite, one process) in a subprocess and drives
it from a separate load process (raw asyncio HTTP/1.1 keep-alive client, fixed
concurrency). The three phases (health, create, reveal) run interleaved for several
rounds, each phase for a fixed time; the report gives per-round requests/s, the
median and range over the rounds, and each endpoint's ratio to the /health phase of
the same round. Goal: create >= 40% and reveal >= 50% of /health throughput, in the
median over the rounds. Writes bench/results/vault_throughput.json.

    .venv/bin/python bench/vault_throughput.py [--rounds 5] [--seconds 1.5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "vault_throughput.json"
TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"
GOALS = {"create": 0.40, "reveal": 0.50}
PHASES = ("health", "create", "reveal")
REVEAL_ALIASES = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def create_body(n: int) -> bytes:
    """The create request body for the n-th distinct value (always the same length)."""
    value = f"4{n:015d}"
    return json.dumps(
        {"data": [{"value": value, "format": "UUID", "classifiers": ["pan"]}]}
    ).encode()


# --- load generator (runs in its own process) --------------------------------------------


class Requests:
    """Endless request bytes for one phase: fixed GETs in turn, or creates of distinct values."""

    def __init__(self, fixed: list[bytes]) -> None:
        self._fixed = fixed
        self._i = 0
        self._create: tuple[bytes, bytes, bytes] | None = None

    @classmethod
    def creates(cls, path: str, headers: dict[str, str], start: int) -> Requests:
        """POSTs of values start, start+1, ... (built from a template: cheap for the client)."""
        reqs = cls([])
        reqs._i = start
        marker = 999_999_999_999_999
        whole = _request("POST", path, headers, create_body(marker))
        head, tail = whole.split(b"%015d" % marker)
        reqs._create = (head, b"%015d", tail)
        assert reqs.next() == _request("POST", path, headers, create_body(start))
        reqs._i = start
        return reqs

    def next(self) -> bytes:
        i = self._i
        self._i = i + 1
        if self._create is not None:
            head, digits, tail = self._create
            return head + digits % i + tail
        return self._fixed[i % len(self._fixed)]


async def _one_connection(
    port: int,
    source: Requests,
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            raw = source.next()
            start = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def _drive(port: int, source: Requests, seconds: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_one_connection(port, source, deadline, latencies, errors) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def _load_process(port: int, concurrency: int, jobs: Any, out: Any) -> None:
    """Serve phase requests from the parent until it sends None (one process, reused)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    while True:
        job = jobs.get()
        if job is None:
            return
        kind, seconds, payload = job
        if kind == "create":
            path, headers, start = payload
            source = Requests.creates(path, headers, start)
        else:
            source = Requests(payload)
        out.put(asyncio.run(_drive(port, source, seconds, concurrency)))


class LoadProcess:
    """A separate process generating load (so client CPU is not the server's)."""

    def __init__(self, port: int, concurrency: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._jobs: Any = ctx.Queue()
        self._out: Any = ctx.Queue()
        self._proc = ctx.Process(
            target=_load_process, args=(port, concurrency, self._jobs, self._out)
        )
        self._proc.start()

    def run(self, kind: str, seconds: float, payload: Any) -> dict[str, Any]:
        self._jobs.put((kind, seconds, payload))
        result: dict[str, Any] = self._out.get(timeout=600)
        return result

    def close(self) -> None:
        self._jobs.put(None)
        self._proc.join(timeout=30)


# --- orchestration -----------------------------------------------------------------------


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/health").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")


def _reveal_aliases(base: str, auth: dict[str, str]) -> list[str]:
    """Existing aliases to reveal (created through the API, values outside the create range)."""
    aliases: list[str] = []
    with httpx.Client(base_url=base, headers=auth) as client:
        for batch in range(REVEAL_ALIASES // 20):
            body = {
                "data": [{"value": f"5{batch:03d}{i:012d}", "format": "UUID"} for i in range(20)]
            }
            r = client.post("/aliases", json=body)
            r.raise_for_status()
            aliases += [d["aliases"][0]["alias"] for d in r.json()["data"]]
    return aliases


def _summary(rounds: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [r[key] for r in rounds]
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    console = Console(width=140)

    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.settings import VaultSettings

    per_round: dict[str, list[dict[str, Any]]] = {p: [] for p in PHASES}
    wal_sizes: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        settings = VaultSettings(data_dir=Path(tmp))
        service = VaultService.open(settings)
        vault = service.create_vault("bench")
        account, secret = service.create_service_account([vault.vault_id])
        service.close()

        port = _free_port()
        env = {**os.environ, "VAULTSWITCH_RATE_LIMIT_PER_MINUTE": str(10**9)}
        cmd = [sys.executable, "-m", "vaultswitch.vault.cli", "serve"]
        cmd += ["--data-dir", tmp, "--port", str(port)]
        server = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        load: LoadProcess | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base)
            token = httpx.post(
                base + TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(account.client_id, secret.reveal()),
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            json_auth = {**auth, "Content-Type": "application/json"}
            prefix = f"/{vault.vault_id}"
            aliases = _reveal_aliases(base + prefix, auth)

            health = [_request("GET", "/health", {})]
            reveals = [_request("GET", f"{prefix}/aliases/{a}", auth) for a in aliases]
            load = LoadProcess(port, args.concurrency)
            next_value = 0
            for rnd in range(args.rounds):
                row: dict[str, dict[str, Any]] = {}
                row["health"] = load.run("health", args.seconds, health)
                payload = (prefix + "/aliases", json_auth, next_value)
                row["create"] = load.run("create", args.seconds, payload)
                next_value += row["create"]["requests"] + args.concurrency
                row["reveal"] = load.run("reveal", args.seconds, reveals)
                wal = Path(tmp) / "vault.db-wal"
                wal_mb = round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0
                for name in PHASES:
                    r = row[name]
                    r["ratio_to_health"] = round(r["rps"] / row["health"]["rps"], 3)
                    per_round[name].append(r)
                console.print(
                    f"round {rnd + 1}: "
                    + ", ".join(f"{n} {row[n]['rps']:,.0f} req/s" for n in PHASES)
                    + f" (WAL file {wal_mb} MB)"
                )
                wal_sizes.append(wal_mb)
        finally:
            if load is not None:
                load.close()
            server.terminate()
            server.wait(timeout=15)

    c = args.concurrency
    title = (
        f"vault throughput ({args.rounds} interleaved rounds of {args.seconds:g} s per phase, "
        f"concurrency {c}, SQLite, 1 process)"
    )
    table = Table(title=title)
    columns = (
        "endpoint",
        "req/s median",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "errors",
        "% of /health median",
        "% range",
        "goal",
    )
    for col in columns:
        table.add_column(col, justify="right" if col != "endpoint" else "left")
    ok = True
    results: dict[str, dict[str, Any]] = {}
    for name in PHASES:
        rounds = per_round[name]
        rps = _summary(rounds, "rps")
        ratio = _summary(rounds, "ratio_to_health")
        errors = sum(r["errors"] for r in rounds)
        goal = GOALS.get(name)
        met = goal is None or ratio["median"] >= goal
        ok = ok and met and errors == 0
        results[name] = {
            "rps_median": rps["median"],
            "rps_min": rps["min"],
            "rps_max": rps["max"],
            "ratio_to_health_median": ratio["median"],
            "ratio_to_health_min": ratio["min"],
            "ratio_to_health_max": ratio["max"],
            "p50_ms_median": _summary(rounds, "p50_ms")["median"],
            "p99_ms_median": _summary(rounds, "p99_ms")["median"],
            "requests": sum(r["requests"] for r in rounds),
            "errors": errors,
            "goal": goal,
            "goal_met": met,
            "rounds": rounds,
        }
        table.add_row(
            name,
            f"{rps['median']:,.0f}",
            f"{rps['min']:,.0f}-{rps['max']:,.0f}",
            f"{results[name]['p50_ms_median']:.2f}",
            f"{results[name]['p99_ms_median']:.2f}",
            str(errors),
            f"{ratio['median']:.0%}",
            f"{ratio['min']:.0%}-{ratio['max']:.0%}",
            "-" if goal is None else (f"≥{goal:.0%} " + ("✓" if met else "✗")),
        )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload_out = {
        "benchmark": "vault_throughput",
        "method": (
            "interleaved rounds of health -> create -> reveal, each phase a fixed time; "
            "ratio = endpoint req/s / /health req/s of the same round; goal on the median ratio"
        ),
        "rounds": args.rounds,
        "seconds_per_phase": args.seconds,
        "concurrency": c,
        "database": "sqlite",
        "workers": 1,
        "cpus": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "results": results,
        "wal_file_mb_after_each_round": wal_sizes,
        "goals_met": ok,
    }
    RESULTS.write_text(json.dumps(payload_out, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
