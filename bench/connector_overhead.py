"""Connector overhead: our client (VGS connector + VaultClient / AsyncVaultClient) versus bare
httpx doing the same HTTP exchanges, against a VGS-like loopback server in another process.

    .venv/bin/python bench/connector_overhead.py [--rounds 15] [--ops 200]

Both sides use the same httpx settings (ClientConfig.httpx_options()), one keep-alive
connection, the same request bytes (checked), and decode the JSON answer. The bare side uses
a pre-fetched token and does only what any caller must: build the JSON body, send, decode.
Our side also validates credentials, looks the token up in the cache, builds and parses
through the connector (including card validation on retrieve) and logs (production logging
configuration at INFO, JSON lines to /dev/null). Rounds interleave ours/bare (alternating which
goes first) and the table reports medians of the per-round means. Goal: ours <= 1.20 x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _vgs_stub import start_process
from vaultswitch.client import AsyncVaultClient, ClientConfig, VaultClient
from vaultswitch.connectors.base import (
    SignatureKey,
    SingleVaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "connector_overhead.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Connector overhead (client vs bare httpx)"
GOAL = 1.20
VAULT_ID = "tntbench000"
PAN = "4111111111111111"


def _configure_logging() -> str:
    """Production-like logging: INFO, JSON lines, redaction; written to /dev/null."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 (lives for the whole run)
    try:
        from vaultswitch.logs import configure_logging
    except ImportError:  # pragma: no cover - the shared set-up is missing
        import structlog

        structlog.configure(
            processors=[structlog.processors.JSONRenderer()],
            wrapper_class=structlog.make_filtering_bound_logger(20),
            logger_factory=structlog.PrintLoggerFactory(file=devnull),
            cache_logger_on_first_use=True,
        )
        return "structlog JSON at INFO (fallback)"
    configure_logging("info", stream=devnull)
    return "vaultswitch.logs.configure_logging('info') to /dev/null"


class Setup:
    def __init__(self, port: int) -> None:
        base = f"http://127.0.0.1:{port}/"
        self.connector = VgsConnector(vault_base_url=base + "{vault_id}/", auth_base_url=base)
        self.creds = SignatureKey(Secret("bench-client"), Secret("bench-secret"), Secret(VAULT_ID))
        self.card = Card.parse(PAN, "12", "2030", None, "Ada Lovelace")
        self.insert_data = VaultRequestData(vaulting_data=self.card)
        self.config = ClientConfig(trust_env=False, max_connections=10)
        self.vault_url = f"{base}{VAULT_ID}/aliases"

    def bare_body(self) -> bytes:
        """What a caller writing raw httpx sends: same JSON, built per request."""
        card = self.card
        value = json.dumps(
            {
                "card_number": card.number.reveal(),
                "card_exp_month": card.expiry.month_str,
                "card_exp_year": card.expiry.year_str,
                "card_holder_name": card.holder_name,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        item = {"value": value, "classifiers": ["data"], "format": "UUID", "storage": "PERSISTENT"}
        return json.dumps({"data": [item]}, separators=(",", ":"), ensure_ascii=False).encode()

    def check_same_bytes(self, token: Any) -> dict[str, str]:
        """Assert the bare side sends exactly the connector's request; return its headers."""
        call = self.connector.insert(self.creds, token, self.insert_data)
        (request,) = call.requests
        assert request.url == self.vault_url, (request.url, self.vault_url)
        assert request.body == self.bare_body(), "bare and connector bodies differ"
        return dict(request.headers)


def _lookup(alias: str) -> VaultRequestData:
    return VaultRequestData(connector_vault_id=SingleVaultId(alias))


# --- sync ------------------------------------------------------------------------------------


def run_sync(setup: Setup, rounds: int, ops: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {
        "insert": {"ours": [], "bare": []},
        "retrieve": {"ours": [], "bare": []},
    }
    with (
        VaultClient(setup.config) as ours,
        httpx.Client(**setup.config.httpx_options()) as bare,
    ):
        token = ours.access_token(setup.connector, setup.creds)
        post_headers = setup.check_same_bytes(token)
        get_headers = {"Accept": "application/json", "Authorization": post_headers["Authorization"]}
        aliases = [
            ours.insert(setup.connector, setup.creds, setup.insert_data).fingerprint_id
            for _ in range(ops)
        ]
        lookups = [_lookup(a) for a in aliases]

        def ours_insert() -> None:
            ours.insert(setup.connector, setup.creds, setup.insert_data)

        def bare_insert() -> None:
            response = bare.post(setup.vault_url, content=setup.bare_body(), headers=post_headers)
            if response.status_code != 201:
                raise RuntimeError(f"bare insert got HTTP {response.status_code}")
            response.json()["data"][0]["aliases"][0]["alias"]

        def ours_retrieve(index: int) -> None:
            ours.retrieve(setup.connector, setup.creds, lookups[index])

        def bare_retrieve(index: int) -> None:
            response = bare.get(f"{setup.vault_url}/{aliases[index]}", headers=get_headers)
            if response.status_code != 200:
                raise RuntimeError(f"bare retrieve got HTTP {response.status_code}")
            json.loads(response.json()["data"][0]["value"])

        def timed(fn: Callable[[int], None]) -> float:
            started = time.perf_counter()
            for index in range(ops):
                fn(index)
            return (time.perf_counter() - started) / ops * 1e6

        sides: dict[str, dict[str, Callable[[int], None]]] = {
            "insert": {"ours": lambda _i: ours_insert(), "bare": lambda _i: bare_insert()},
            "retrieve": {"ours": ours_retrieve, "bare": bare_retrieve},
        }
        for op in sides:  # warm-up
            for side in ("ours", "bare"):
                timed(sides[op][side])
        for number in range(rounds):
            order = ("ours", "bare") if number % 2 == 0 else ("bare", "ours")
            for op in sides:
                for side in order:
                    times[op][side].append(timed(sides[op][side]))
    return times


# --- async -----------------------------------------------------------------------------------


async def run_async(setup: Setup, rounds: int, ops: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {
        "insert": {"ours": [], "bare": []},
        "retrieve": {"ours": [], "bare": []},
    }
    async with (
        AsyncVaultClient(setup.config) as ours,
        httpx.AsyncClient(**setup.config.httpx_options()) as bare,
    ):
        token = await ours.access_token(setup.connector, setup.creds)
        post_headers = setup.check_same_bytes(token)
        get_headers = {"Accept": "application/json", "Authorization": post_headers["Authorization"]}
        aliases = [
            (await ours.insert(setup.connector, setup.creds, setup.insert_data)).fingerprint_id
            for _ in range(ops)
        ]
        lookups = [_lookup(a) for a in aliases]

        async def ours_insert(_index: int) -> None:
            await ours.insert(setup.connector, setup.creds, setup.insert_data)

        async def bare_insert(_index: int) -> None:
            response = await bare.post(
                setup.vault_url, content=setup.bare_body(), headers=post_headers
            )
            if response.status_code != 201:
                raise RuntimeError(f"bare insert got HTTP {response.status_code}")
            response.json()["data"][0]["aliases"][0]["alias"]

        async def ours_retrieve(index: int) -> None:
            await ours.retrieve(setup.connector, setup.creds, lookups[index])

        async def bare_retrieve(index: int) -> None:
            response = await bare.get(f"{setup.vault_url}/{aliases[index]}", headers=get_headers)
            if response.status_code != 200:
                raise RuntimeError(f"bare retrieve got HTTP {response.status_code}")
            json.loads(response.json()["data"][0]["value"])

        async def timed(fn: Callable[[int], Awaitable[None]]) -> float:
            started = time.perf_counter()
            for index in range(ops):
                await fn(index)
            return (time.perf_counter() - started) / ops * 1e6

        sides: dict[str, dict[str, Callable[[int], Awaitable[None]]]] = {
            "insert": {"ours": ours_insert, "bare": bare_insert},
            "retrieve": {"ours": ours_retrieve, "bare": bare_retrieve},
        }
        for op in sides:
            for side in ("ours", "bare"):
                await timed(sides[op][side])
        for number in range(rounds):
            order = ("ours", "bare") if number % 2 == 0 else ("bare", "ours")
            for op in sides:
                for side in order:
                    times[op][side].append(await timed(sides[op][side]))
    return times


# --- CPU-only cost of the connector (no I/O) -------------------------------------------------


def connector_cpu(setup: Setup) -> dict[str, float]:
    """µs per op of the VGS connector alone (check, build, parse) and of the bare side's JSON
    work, on canned responses: how much of the overhead is translation, not the client."""
    import timeit

    from vaultswitch.connectors.base import AccessToken, HttpResponse

    connector, creds = setup.connector, setup.creds
    token = AccessToken(Secret("eyJbench"), "Bearer", time.time() + 3600)
    value = json.loads(setup.bare_body())["data"][0]["value"]
    alias = "tok_sandbox_0000000000000000000001"
    record = {
        "value": value,
        "classifiers": ["data"],
        "aliases": [{"alias": alias, "format": "UUID"}],
        "created_at": "2026-01-01T00:00:00Z",
        "storage": "PERSISTENT",
    }
    body = json.dumps({"data": [record]}).encode()
    created = HttpResponse(201, {"content-type": "application/json"}, body)
    revealed = HttpResponse(200, {"content-type": "application/json"}, body)
    lookup = _lookup(alias)

    def insert() -> None:
        connector.check_credentials(creds)
        connector.insert(creds, token, setup.insert_data).parse([created])

    def retrieve() -> None:
        connector.check_credentials(creds)
        connector.retrieve(creds, token, lookup).parse([revealed])

    def bare_insert() -> None:
        setup.bare_body()
        json.loads(body)["data"][0]["aliases"][0]["alias"]

    def bare_retrieve() -> None:
        json.loads(json.loads(body)["data"][0]["value"])

    def best(fn: Callable[[], None]) -> float:
        return min(timeit.repeat(fn, number=2000, repeat=5)) / 2000 * 1e6

    return {
        "insert": round(best(insert) - best(bare_insert), 1),
        "retrieve": round(best(retrieve) - best(bare_retrieve), 1),
    }


# --- report ----------------------------------------------------------------------------------


def summarise(
    mode: str, times: dict[str, dict[str, list[float]]], cpu: dict[str, float]
) -> list[dict[str, Any]]:
    rows = []
    for op, sides in times.items():
        ours = statistics.median(sides["ours"])
        bare = statistics.median(sides["bare"])
        ratios = [o / b for o, b in zip(sides["ours"], sides["bare"], strict=True)]
        rows.append(
            {
                "mode": mode,
                "operation": op,
                "ours_us": round(ours, 1),
                "bare_us": round(bare, 1),
                "overhead_us": round(ours - bare, 1),
                "connector_cpu_us": cpu[op],
                "ratio": round(ours / bare, 3),
                "round_ratio_min": round(min(ratios), 3),
                "round_ratio_max": round(max(ratios), 3),
                "goal_ratio": GOAL,
                "meets_goal": ours / bare <= GOAL,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], rounds: int, ops: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Connector overhead: medians of {rounds} rounds x {ops} ops, µs/op")
    columns = ("mode", "op", "ours", "bare", "overhead", "of which connector", "ratio")
    for column in (*columns, "round range", "goal"):
        table.add_column(column, justify="right" if column not in ("mode", "op") else "left")
    for row in rows:
        table.add_row(
            row["mode"],
            row["operation"],
            f"{row['ours_us']:.1f}",
            f"{row['bare_us']:.1f}",
            f"{row['overhead_us']:+.1f}",
            f"{row['connector_cpu_us']:.1f}",
            f"{row['ratio']:.3f}",
            f"{row['round_ratio_min']:.2f}-{row['round_ratio_max']:.2f}",
            "ok" if row["meets_goal"] else "MISSED",
        )
    Console().print(table)


def write_docs(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    lines = [
        SECTION,
        "",
        "What our client adds per operation over bare httpx doing the same HTTP exchange:",
        "`bench/connector_overhead.py` runs the VGS connector through `VaultClient` and",
        "`AsyncVaultClient` and, interleaved in the same run, bare `httpx` sending the same",
        "bytes (checked) with the same client settings and a pre-fetched token, against a",
        "VGS-like loopback server in a separate process (`bench/_vgs_stub.py`, uvicorn).",
        "Operations are sequential on one keep-alive connection; each cell is the median of",
        f"{meta['rounds']} rounds of {meta['ops']} operations (µs per operation). Our side",
        "includes credential checks, the token-cache lookup, the connector's request building",
        "and response parsing (card validation on retrieve) and logging with the production",
        f"configuration ({meta['logging']}).",
        f"Goal: at most {round((GOAL - 1) * 100)}% more than bare.",
        "",
        "| mode | operation | ours µs | bare µs | overhead µs | of which connector µs | ratio "
        "| per-round range | goal |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['operation']} | {row['ours_us']:.1f} | "
            f"{row['bare_us']:.1f} | {row['overhead_us']:+.1f} | "
            f"{row['connector_cpu_us']:.1f} | {row['ratio']:.3f} | "
            f"{row['round_ratio_min']:.2f}-{row['round_ratio_max']:.2f} | "
            f"{'met' if row['meets_goal'] else 'missed'} |"
        )
    lines += [
        "",
        '"Of which connector" is the VGS connector\'s own CPU time per operation (credential',
        "check, request building, response parsing with card validation) minus the bare side's",
        "JSON work, measured without I/O on canned responses; the rest of the overhead is the",
        "client (token cache, retry bookkeeping, logging, response conversion) and cache effects.",
        "",
        f"Measured {meta['when']} on {meta['machine']} (Python {meta['python']}, "
        f"httpx {meta['httpx']}). Re-run: `.venv/bin/python bench/connector_overhead.py`; "
        "raw numbers in `bench/results/connector_overhead.json`.",
        "",
    ]
    section = "\n".join(lines)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    logging_setup = _configure_logging()
    process, port = start_process()
    try:
        setup = Setup(port)
        sync_times = run_sync(setup, args.rounds, args.ops)
        async_times = asyncio.run(run_async(setup, args.rounds, args.ops))
    finally:
        process.terminate()
        process.wait(timeout=10)
    cpu = connector_cpu(setup)
    rows = summarise("sync", sync_times, cpu) + summarise("async", async_times, cpu)
    meta = {
        "rounds": args.rounds,
        "ops": args.ops,
        "logging": logging_setup,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "connector": "vgs (VgsConnector, Vault API v2)",
    }
    print_table(rows, args.rounds, args.ops)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "meta": meta,
                "results": rows,
                "raw_us_per_op": {"sync": sync_times, "async": async_times},
            },
            indent=2,
        )
        + "\n"
    )
    if not args.no_docs:
        write_docs(rows, meta)
    if not all(row["meets_goal"] for row in rows):
        print(f"goal missed: some ratio above {GOAL}", file=sys.stderr)


if __name__ == "__main__":
    main()
