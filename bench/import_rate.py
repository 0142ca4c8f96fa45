"""Card import rate: `vaultswitch import` rows/s against the vault's own reveal-multiple
throughput, measured in the same run on the same system.

Starts `vaultswitch up` (vault, orchestrator, sandbox processor as child processes, SQLite)
in a temporary data dir. Each round seeds fresh card JSON aliases through the vault API
(not timed), then times, one after the other:

- reveal: the vault's own `GET /aliases?aliases=a1,...,a20` over those aliases, 20 per
  request, `--concurrency` requests in flight (aliases/s);
- import: `vaultswitch import` of a CSV naming the same aliases, one row per alias
  (the import is run in this process through the command's own function, with its
  default batching: 20 rows per request, `--concurrency` batches in flight; rows/s,
  reading and journaling the file included).

Goal: import rows/s at least 50% of reveal aliases/s, on the median of the rounds' ratios.
Writes bench/results/import_rate.json.

    .venv/bin/python bench/import_rate.py [--rounds 3] [--rows 2000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vaultswitch.domain.digits import luhn_check_digit  # noqa: E402
from vaultswitch.ops.importer import ImportOptions, run_import  # noqa: E402
from vaultswitch.ops.target import resolve_target  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "import_rate.json"
TOKEN_PATH = "/auth/realms/vgs/protocol/openid-connect/token"
GOAL = 0.50
BATCH = 20


def _start_up(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "vaultswitch.cli",
        "up",
        "--data-dir",
        str(data_dir),
        "--vault-port",
        "0",
        "--orchestrator-port",
        "0",
        "--processor-port",
        "0",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    up_file = data_dir / "up.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("vaultswitch up exited before it was ready")
        if up_file.exists():
            try:
                up = json.loads(up_file.read_text())
                response = httpx.get(up["orchestrator_url"] + "/health", timeout=2)
                if response.status_code == 200:
                    return process, up
            except (ValueError, KeyError, httpx.HTTPError):
                pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("vaultswitch up was not ready within 120 s")


def _token(up: dict[str, Any]) -> str:
    response = httpx.post(
        up["vault_url"] + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": up["client_id"],
            "client_secret": up["client_secret"],
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _numbers(start: int, count: int) -> list[str]:
    out = []
    for i in range(start, start + count):
        partial = f"49{i:013d}"
        out.append(partial + luhn_check_digit(partial))
    return out


def _seed(up: dict[str, Any], token: str, numbers: list[str]) -> list[str]:
    base = f"{up['vault_url']}/{up['vault_id']}/aliases"
    headers = {"Authorization": f"Bearer {token}"}
    aliases: list[str] = []
    with httpx.Client(timeout=60) as http:
        for start in range(0, len(numbers), BATCH):
            data = [
                {
                    "value": json.dumps(
                        {"card_number": n, "card_exp_month": "03", "card_exp_year": "2030"}
                    ),
                    "format": "UUID",
                    "classifiers": ["bench"],
                }
                for n in numbers[start : start + BATCH]
            ]
            response = http.post(base, json={"data": data}, headers=headers)
            response.raise_for_status()
            aliases.extend(item["aliases"][0]["alias"] for item in response.json()["data"])
    return aliases


async def _reveal(up: dict[str, Any], token: str, aliases: list[str], concurrency: int) -> float:
    """Aliases/s of reveal-multiple, 20 per request, ``concurrency`` in flight."""
    base = f"{up['vault_url']}/{up['vault_id']}/aliases"
    headers = {"Authorization": f"Bearer {token}"}
    chunks = [aliases[i : i + BATCH] for i in range(0, len(aliases), BATCH)]
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as http:

        async def worker() -> None:
            while not queue.empty():
                chunk = queue.get_nowait()
                response = await http.get(
                    base, params={"aliases": ",".join(chunk)}, headers=headers
                )
                response.raise_for_status()
                assert len(response.json()["data"]) == len(chunk)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(aliases) / (time.perf_counter() - started)


def _import(
    up: dict[str, Any], aliases: list[str], round_no: int, work: Path, concurrency: int
) -> tuple[float, dict[str, int]]:
    path = work / f"round{round_no}.csv"
    lines = ["customer_id,alias"] + [
        f"r{round_no}-c{i % 500},{alias}" for i, alias in enumerate(aliases)
    ]
    path.write_text("\n".join(lines) + "\n")
    target = resolve_target(up["orchestrator_url"], up["api_key"], work)
    options = ImportOptions(path=path, concurrency=concurrency, progress=False)
    with open(os.devnull, "w") as devnull:
        started = time.perf_counter()
        summary = run_import(target, options, Console(file=devnull))
        seconds = time.perf_counter() - started
    return len(aliases) / seconds, summary.counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    console = Console()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vs-import-bench-") as tmp:
        work = Path(tmp)
        process, up = _start_up(work / "data")
        try:
            token = _token(up)
            for n in range(args.rounds):
                aliases = _seed(up, token, _numbers(n * args.rows, args.rows))
                reveal = asyncio.run(_reveal(up, token, aliases, args.concurrency))
                rate, counts = _import(up, aliases, n, work, args.concurrency)
                if counts["imported"] != args.rows:
                    raise SystemExit(f"round {n}: not every row was imported: {counts}")
                rounds.append(
                    {
                        "reveal_aliases_per_s": round(reveal, 1),
                        "import_rows_per_s": round(rate, 1),
                        "ratio": round(rate / reveal, 3),
                    }
                )
                console.print(f"round {n + 1}: {rounds[-1]}")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    ratio = median("ratio")
    met = ratio >= GOAL
    table = Table(
        title=f"import rate ({args.rounds} rounds of {args.rows} rows, concurrency "
        f"{args.concurrency}, SQLite, vaultswitch up)"
    )
    for column in ("measure", "median", "range"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, label in (
        ("reveal_aliases_per_s", "vault reveal-multiple, aliases/s"),
        ("import_rows_per_s", "vaultswitch import, rows/s"),
    ):
        values = [r[key] for r in rounds]
        table.add_row(label, f"{median(key):,.0f}", f"{min(values):,.0f}-{max(values):,.0f}")
    ratios = [r["ratio"] for r in rounds]
    table.add_row(
        f"import / reveal (goal ≥{GOAL:.0%}) " + ("✓" if met else "✗"),
        f"{ratio:.0%}",
        f"{min(ratios):.0%}-{max(ratios):.0%}",
    )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "import_rate",
                "method": (
                    "per round: seed fresh card JSON aliases, time the vault's reveal-multiple "
                    "over them (20 per request), then time vaultswitch import of a CSV naming "
                    "them (one row per alias); ratio = rows/s / aliases/s; goal on the median"
                ),
                "rounds": args.rounds,
                "rows_per_round": args.rows,
                "concurrency": args.concurrency,
                "database": "sqlite",
                "cpus": os.cpu_count(),
                "machine": (
                    f"{platform.machine()} {platform.system()}, Python {platform.python_version()}"
                ),
                "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "results": rounds,
                "reveal_aliases_per_s_median": median("reveal_aliases_per_s"),
                "import_rows_per_s_median": median("import_rows_per_s"),
                "ratio_median": ratio,
                "goal": GOAL,
                "goal_met": met,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {RESULTS}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
