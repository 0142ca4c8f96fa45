"""Vault HTTP throughput: alias create and reveal vs the trivial /health endpoint.

Starts `vaultswitch.vault.cli serve` (SQLite, one process) in a subprocess, drives it
from a separate load process (raw asyncio HTTP/1.1 keep-alive client, fixed
concurrency) and reports requests/s and p50/p99 latency. Goal: create >= 40% and
reveal >= 50% of /health throughput. Writes bench/results/vault_throughput.json.

    .venv/bin/python bench/vault_throughput.py [--requests 3000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- load generator (runs in its own process) --------------------------------------------


async def _one_connection(
    port: int, requests: list[bytes], latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw in requests:
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


async def _drive(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    shares = [requests[i::concurrency] for i in range(concurrency)]
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_one_connection(port, s, latencies, errors) for s in shares if s))
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


def _load_process(
    port: int, requests: list[bytes], concurrency: int, out: multiprocessing.Queue[Any]
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, requests, concurrency)))


def run_load(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    """Drive the server from a separate process; return its measurements."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[Any] = ctx.Queue()
    proc = ctx.Process(target=_load_process, args=(port, requests, concurrency, queue))
    proc.start()
    result: dict[str, Any] = queue.get(timeout=600)
    proc.join()
    return result


# --- requests ------------------------------------------------------------------------------


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    console = Console()

    from vaultswitch.vault.service import VaultService
    from vaultswitch.vault.settings import VaultSettings

    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        settings = VaultSettings(data_dir=Path(tmp))
        service = VaultService.open(settings)
        vault = service.create_vault("bench")
        account, secret = service.create_service_account([vault.vault_id])
        service.close()

        port = _free_port()
        env = {**os.environ, "VAULTSWITCH_RATE_LIMIT_PER_MINUTE": str(10**9)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vaultswitch.vault.cli",
                "serve",
                "--data-dir",
                tmp,
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
            token = httpx.post(
                base + TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(account.client_id, secret.reveal()),
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            json_auth = {**auth, "Content-Type": "application/json"}
            prefix = f"/{vault.vault_id}"
            n, c = args.requests, args.concurrency

            health = [_request("GET", "/health", {})] * n
            creates = [
                _request(
                    "POST",
                    prefix + "/aliases",
                    json_auth,
                    json.dumps(
                        {
                            "data": [
                                {"value": f"4{i:015d}", "format": "UUID", "classifiers": ["pan"]}
                            ]
                        }
                    ).encode(),
                )
                for i in range(n)
            ]
            warm = [_request("GET", "/health", {})] * 200
            run_load(port, warm, c)
            results: dict[str, dict[str, Any]] = {}
            results["health"] = run_load(port, health, c)
            results["create"] = run_load(port, creates, c)

            # aliases to reveal: created above; fetch a sample through the API
            with httpx.Client(base_url=base + prefix, headers=auth) as client:
                body = {"data": [{"value": f"5{i:015d}", "format": "UUID"} for i in range(20)]}
                aliases = []
                for _ in range(5):
                    r = client.post("/aliases", json=body)
                    aliases += [d["aliases"][0]["alias"] for d in r.json()["data"]]
                    body = {
                        "data": [
                            {"value": f"6{len(aliases)}{i:014d}", "format": "UUID"}
                            for i in range(20)
                        ]
                    }
            reveals = [
                _request("GET", f"{prefix}/aliases/{aliases[i % len(aliases)]}", auth)
                for i in range(n)
            ]
            results["reveal"] = run_load(port, reveals, c)
        finally:
            server.terminate()
            server.wait(timeout=15)

    health_rps = results["health"]["rps"]
    table = Table(title=f"vault throughput ({n} requests, concurrency {c}, SQLite, 1 process)")
    for col in ("endpoint", "req/s", "p50 ms", "p99 ms", "errors", "% of /health", "goal"):
        table.add_column(col, justify="right" if col != "endpoint" else "left")
    ok = True
    for name, r in results.items():
        ratio = r["rps"] / health_rps
        r["ratio_to_health"] = round(ratio, 3)
        goal = GOALS.get(name)
        met = goal is None or ratio >= goal
        r["goal"] = goal
        r["goal_met"] = met
        ok = ok and met and r["errors"] == 0
        table.add_row(
            name,
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            str(r["errors"]),
            f"{ratio:.0%}",
            "-" if goal is None else (f"≥{goal:.0%} " + ("✓" if met else "✗")),
        )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "vault_throughput",
        "requests": n,
        "concurrency": c,
        "database": "sqlite",
        "workers": 1,
        "cpus": os.cpu_count(),
        "results": results,
        "goals_met": ok,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
