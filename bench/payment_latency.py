"""Payment latency and payment-method create throughput of the orchestrator, against its own
parts called directly, on a running `vaultswitch up` (vault, sandbox processor and
orchestrator, each its own process on loopback; this script is a separate client process).

    .venv/bin/python bench/payment_latency.py [--rounds 5] [--payments 150] [--creates 320]

(a) payment: ``POST /v2/payments`` with the ``payment_method_id`` of a saved card (saved
    without a CVC, so the payment reveals one alias), sequential, one keep-alive httpx client;
(b) its parts: the vault reveal of a card alias of the same vault through the VGS connector
    and ``VaultClient`` (warm token cache, keep-alive), then the sandbox processor authorize
    of the same card through the sandbox processor connector over a keep-alive httpx client
    (a new reference and idempotency key each time, as the orchestrator sends);
(c) creates at a fixed concurrency through one async httpx client per side:
    ``POST /v2/payment-methods`` with distinct Luhn-valid cards, and the vault's own
    ``POST /{vault}/aliases`` (Bearer token) with as many distinct values, each the body the
    VGS connector sends for a card.

The machine drifts (2 shared cores), so the two sides of each comparison run interleaved:
within a round, (a) and (b) alternate in blocks of ``--block`` requests (which goes first
alternates too), and (c) runs orchestrator, vault, vault, orchestrator, half the creates each
time. Ratios are taken per round; the goals are checked on their median over the rounds.
CPU time of every process (/proc) is recorded per request and phase. Goals: payment p50 <=
1.5 x (reveal p50 + authorize p50); payment-method create throughput >= 50% of the vault's.
Writes bench/results/payment_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from vaultswitch.client import ClientConfig, VaultClient
from vaultswitch.connectors.base import (
    AccessToken,
    HeaderKey,
    SignatureKey,
    SingleVaultId,
    VaultRequestData,
)
from vaultswitch.connectors.vgs import VgsConnector
from vaultswitch.domain.cards import Card
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.processors.base import AuthorizeData, AuthorizeStatus
from vaultswitch.orchestrator.processors.sandbox import SandboxProcessorConnector
from vaultswitch.orchestrator.processors.transport import HttpxSend, authorize

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "payment_latency.json"
LATENCY_GOAL = 1.5  # payment p50 <= 1.5 x (reveal p50 + authorize p50)
THROUGHPUT_GOAL = 0.50  # payment-method create >= 50% of the vault's create
START_TIMEOUT_S = 90.0
PHASE_TIMEOUT_S = 300.0  # no phase may run longer (bounded time on a loaded machine)
SAVED_CARD = "4111111111111111"  # approved by the sandbox processor
EXPIRY = ("12", "2031")
HOLDER = "Ada Lovelace"
ORDER_AMOUNT, CURRENCY = 1050, "USD"
SERVERS = ("orchestrator", "vault", "processor")


# --- cards ---------------------------------------------------------------------------------


def luhn_complete(partial: str) -> str:
    """``partial`` + the check digit that makes it pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:  # doubled: it sits left of the check digit
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return partial + str((10 - total % 10) % 10)


def distinct_cards(prefix: str) -> Iterator[str]:
    """Endless distinct 16-digit Luhn-valid numbers starting with ``prefix``."""
    width = 15 - len(prefix)
    for n in range(10**width):
        yield luhn_complete(f"{prefix}{n:0{width}d}")


# --- vaultswitch up and CPU accounting ----------------------------------------------------


class Up:
    """`vaultswitch up` in a child process on free ports; ``info`` is its up.json."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        # the vault's per-vault rate limit (3000/min by default) would answer 429 here
        env = {**os.environ, "VAULTSWITCH_RATE_LIMIT_PER_MINUTE": str(10**9)}
        cmd = [sys.executable, "-m", "vaultswitch.cli", "up", "--data-dir", str(data_dir)]
        cmd += ["--vault-port", "0", "--orchestrator-port", "0", "--processor-port", "0"]
        self.log = (data_dir.parent / "up.log").open("wb")
        self.process = subprocess.Popen(
            cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.info = self._wait()

    def _wait(self) -> dict[str, Any]:
        path = self.data_dir / "up.json"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vaultswitch up exited with status {self.process.returncode}")
            if path.exists():
                try:
                    info: dict[str, Any] = json.loads(path.read_text())
                    return info
                except ValueError:
                    pass  # written atomically, but be safe
            time.sleep(0.2)
        raise RuntimeError("vaultswitch up did not write up.json in time")

    def server_pids(self) -> dict[str, int]:
        """The pids of up's three servers (Linux /proc; empty elsewhere)."""
        found: dict[str, int] = {}
        proc = Path("/proc")
        if not proc.is_dir():
            return found
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != self.process.pid:
                continue
            for name in SERVERS:
                if f" {name} serve " in f" {cmdline} ":
                    found[name] = int(entry.name)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # up stops its servers, then exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class CpuMeter:
    """CPU seconds (user + system) used so far by each server and by this client."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def read(self) -> dict[str, float]:
        out = {"client": time.process_time()}
        for name, pid in self.pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[name] = (int(fields[11]) + int(fields[12])) / self.tick
        return out


class CpuTotals:
    """CPU seconds and request counts per phase, summed over a round's blocks."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}
        self.requests: dict[str, int] = {}

    def add(self, phase: str, before: dict[str, float], after: dict[str, float], n: int) -> None:
        spent = self.seconds.setdefault(phase, {})
        for name, value in after.items():
            spent[name] = spent.get(name, 0.0) + value - before.get(name, value)
        self.requests[phase] = self.requests.get(phase, 0) + n

    def per_request_ms(self) -> dict[str, dict[str, float]]:
        return {
            phase: {k: round(v / self.requests[phase] * 1000, 3) for k, v in spent.items()}
            for phase, spent in self.seconds.items()
        }


# --- set-up --------------------------------------------------------------------------------


class System:
    """What the phases use: URLs, keys, a customer, a saved card and its parts' clients."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.orch_url = str(info["orchestrator_url"])
        self.vault_url = str(info["vault_url"])
        self.merchant = {
            "Authorization": f"api-key={info['api_key']}",
            "X-Profile-Id": str(info["profile_id"]),
        }
        # the VGS connector exactly as the orchestrator's connector account builds it
        self.connector = VgsConnector(
            vault_base_url=self.vault_url + "/{vault_id}/", auth_base_url=self.vault_url + "/"
        )
        self.vault_creds = SignatureKey(
            Secret(str(info["client_id"])),
            Secret(str(info["client_secret"])),
            Secret(str(info["vault_id"])),
        )
        self.processor = SandboxProcessorConnector.from_metadata(
            {"base_url": str(info["processor_url"])}
        )
        self.processor_creds = HeaderKey(Secret(str(info["processor_api_key"])))
        self.card = Card.parse(SAVED_CARD, *EXPIRY, None, HOLDER)

    def orchestrator(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.orch_url, headers=self.merchant, timeout=30.0, trust_env=False
        )

    def create_customer(self, http: httpx.Client) -> str:
        r = http.post("/v2/customers", json={"name": "Bench Customer", "email": "b@example.com"})
        r.raise_for_status()
        return str(r.json()["id"])

    def save_card(self, http: httpx.Client, customer_id: str) -> str:
        r = http.post("/v2/payment-methods", json=pm_body(customer_id, SAVED_CARD))
        r.raise_for_status()
        return str(r.json()["id"])

    def vault_token(self) -> str:
        r = httpx.post(
            self.vault_url + "/auth/realms/vgs/protocol/openid-connect/token",
            data={"grant_type": "client_credentials"},
            auth=(self.vault_creds.api_key.reveal(), self.vault_creds.key1.reveal()),
            trust_env=False,
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def insert_body(self, number: str) -> bytes:
        """The body the VGS connector sends to save this card (the orchestrator's request)."""
        card = Card.parse(number, *EXPIRY, None, HOLDER)
        token = AccessToken(Secret("unused"), "Bearer", time.time() + 3600)
        call = self.connector.insert(self.vault_creds, token, VaultRequestData(vaulting_data=card))
        (request,) = call.requests
        assert request.body is not None
        return request.body


def pm_body(customer_id: str, number: str) -> dict[str, Any]:
    month, year = EXPIRY
    return {
        "customer_id": customer_id,
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {
            "card": {
                "card_number": number,
                "card_exp_month": month,
                "card_exp_year": year,
                "card_holder_name": HOLDER,
            }
        },
    }


# --- (a) and (b): latency ------------------------------------------------------------------


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    n = len(ordered)

    def at(q: float) -> float:
        return ordered[min(n - 1, max(0, round(q * n) - 1))] * 1000

    return {
        "n": n,
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(at(0.90), 3),
        "p99_ms": round(at(0.99), 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


class Payments:
    """(a): payments with the saved card, one keep-alive connection."""

    def __init__(self, http: httpx.Client, customer_id: str, pm_id: str) -> None:
        self.http = http
        self.body = {
            "amount_details": {"order_amount": ORDER_AMOUNT, "currency": CURRENCY},
            "customer_id": customer_id,
            "payment_method_id": pm_id,
        }

    def run(self, count: int, samples: list[float]) -> None:
        for _ in range(count):
            started = time.perf_counter()
            r = self.http.post("/v2/payments", json=self.body)
            elapsed = time.perf_counter() - started
            if r.status_code != 200 or r.json()["status"] != "succeeded":
                raise RuntimeError(f"payment answered HTTP {r.status_code}: {r.text[:300]}")
            samples.append(elapsed)


class Parts:
    """(b): the payment's two remote parts, called directly over keep-alive connections."""

    def __init__(self, system: System, alias: str, vault: VaultClient) -> None:
        self.system = system
        self.vault = vault
        self.lookup = VaultRequestData(connector_vault_id=SingleVaultId(alias))
        self.http = httpx.Client(timeout=30.0, trust_env=False)
        self.send = HttpxSend(self.http)
        self._n = 0

    def reveal(self) -> Card:
        s = self.system
        data = self.vault.retrieve(s.connector, s.vault_creds, self.lookup).vault_data
        assert isinstance(data, Card)
        return data

    def authorize(self, card: Card) -> None:
        self._n += 1
        ref = f"bench{self._n:09d}{random.randrange(16**8):08x}"
        data = AuthorizeData(
            amount=ORDER_AMOUNT,
            currency=CURRENCY,
            reference=ref,
            card=card,
            idempotency_key="att_" + ref,
        )
        result = authorize(self.system.processor, self.system.processor_creds, data, self.send)
        if result.status is not AuthorizeStatus.SUCCEEDED:
            raise RuntimeError(f"authorize answered {result.status}")

    def run(self, count: int, samples: dict[str, list[float]]) -> None:
        for _ in range(count):
            t0 = time.perf_counter()
            card = self.reveal()
            t1 = time.perf_counter()
            self.authorize(card)
            t2 = time.perf_counter()
            samples["reveal"].append(t1 - t0)
            samples["authorize"].append(t2 - t1)
            samples["reveal_then_authorize"].append(t2 - t0)

    def close(self) -> None:
        self.http.close()


def latency_round(
    payments: Payments, parts: Parts, count: int, block: int, meter: CpuMeter, odd: bool
) -> dict[str, Any]:
    """(a) and (b) alternating in blocks; percentiles and CPU per request of each side."""
    paid: list[float] = []
    split: dict[str, list[float]] = {"reveal": [], "authorize": [], "reveal_then_authorize": []}
    cpu = CpuTotals()
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    done = 0
    blocks = 0
    while done < count and time.monotonic() < deadline:
        n = min(block, count - done)
        sides = ["payment", "parts"]
        if (blocks % 2 == 1) != odd:
            sides.reverse()
        for phase in sides:
            before = meter.read()
            if phase == "payment":
                payments.run(n, paid)
            else:
                parts.run(n, split)
            cpu.add(phase, before, meter.read(), n)
        done += n
        blocks += 1
    return {
        "payment": percentiles(paid),
        "parts": {name: percentiles(values) for name, values in split.items()},
        "cpu_ms_per_request": cpu.per_request_ms(),
    }


# --- (c): create throughput ----------------------------------------------------------------


async def _drive(
    client: httpx.AsyncClient,
    requests: list[tuple[str, Any]],
    concurrency: int,
    expect: int,
) -> tuple[list[float], float]:
    """Send every (url, body) with ``concurrency`` in flight; latencies and elapsed seconds."""
    queue = iter(requests)
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        for url, body in queue:
            started = time.perf_counter()
            if isinstance(body, bytes):
                r = await client.post(url, content=body)
            else:
                r = await client.post(url, json=body)
            latencies.append(time.perf_counter() - started)
            if r.status_code != expect:
                errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(concurrency))), timeout=PHASE_TIMEOUT_S
    )
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} creates failed, first: {errors[0]}")
    return latencies, elapsed


async def create_round(
    system: System,
    customer_id: str,
    orch_cards: list[str],
    vault_bodies: list[bytes],
    token: str,
    concurrency: int,
    meter: CpuMeter,
    odd: bool,
) -> dict[str, Any]:
    """ABBA halves (BAAB in odd rounds): requests/s and CPU per request of each side."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    orch = httpx.AsyncClient(headers=system.merchant, timeout=60.0, limits=limits, trust_env=False)
    vault_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    vault = httpx.AsyncClient(headers=vault_headers, timeout=60.0, limits=limits, trust_env=False)
    orch_url = system.orch_url + "/v2/payment-methods"
    vault_url = f"{system.vault_url}/{system.vault_creds.api_secret.reveal()}/aliases"
    jobs: dict[str, list[tuple[str, Any]]] = {
        "orchestrator": [(orch_url, pm_body(customer_id, n)) for n in orch_cards],
        "vault": [(vault_url, body) for body in vault_bodies],
    }
    clients = {"orchestrator": (orch, 200), "vault": (vault, 201)}
    latencies: dict[str, list[float]] = {"orchestrator": [], "vault": []}
    seconds = {"orchestrator": 0.0, "vault": 0.0}
    cpu = CpuTotals()
    try:
        # open the connections first: both sides start with `concurrency` warm connections
        for client, url in ((orch, system.orch_url), (vault, system.vault_url)):
            await asyncio.gather(*(client.get(url + "/health") for _ in range(concurrency)))
        order = ["orchestrator", "vault", "vault", "orchestrator"]
        if odd:
            order = ["vault", "orchestrator", "orchestrator", "vault"]
        taken = {"orchestrator": 0, "vault": 0}
        for side in order:
            half = len(jobs[side]) // 2 if taken[side] == 0 else len(jobs[side])
            part = jobs[side][taken[side] : half]
            taken[side] = half
            client, expect = clients[side]
            before = meter.read()
            lat, elapsed = await _drive(client, part, concurrency, expect)
            cpu.add(side, before, meter.read(), len(part))
            latencies[side] += lat
            seconds[side] += elapsed
    finally:
        await orch.aclose()
        await vault.aclose()
    out: dict[str, Any] = {}
    for side in ("orchestrator", "vault"):
        stats = percentiles(latencies[side])
        out[side] = {
            "requests": stats.pop("n"),
            "seconds": round(seconds[side], 3),
            "rps": round(len(latencies[side]) / seconds[side], 1),
            **stats,
        }
    out["cpu_ms_per_request"] = cpu.per_request_ms()
    return out


# --- report --------------------------------------------------------------------------------


def _med(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _col(rounds: list[dict[str, Any]], *path: str) -> list[float]:
    out = []
    for r in rounds:
        v: Any = r
        for p in path:
            v = v[p]
        out.append(float(v))
    return out


def _cpu_medians(rounds: list[dict[str, Any]], section: str) -> dict[str, dict[str, float]]:
    """Median over rounds of the CPU ms per request, per phase and process."""
    phases = rounds[0][section]["cpu_ms_per_request"]
    return {
        phase: {
            proc: _med([r[section]["cpu_ms_per_request"][phase].get(proc, 0.0) for r in rounds])
            for proc in phases[phase]
        }
        for phase in phases
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    stats = ("p50_ms", "p90_ms", "p99_ms", "mean_ms")
    latency = {
        name: {stat: _med(_col(rounds, "latency", *path, stat)) for stat in stats}
        for name, path in (
            ("payment", ("payment",)),
            ("reveal", ("parts", "reveal")),
            ("authorize", ("parts", "authorize")),
            ("reveal_then_authorize", ("parts", "reveal_then_authorize")),
        )
    }
    latency_ratios = _col(rounds, "latency_ratio")
    create = {
        side: {
            "rps_median": _med(_col(rounds, "creates", side, "rps")),
            "rps_min": min(_col(rounds, "creates", side, "rps")),
            "rps_max": max(_col(rounds, "creates", side, "rps")),
            "p50_ms_median": _med(_col(rounds, "creates", side, "p50_ms")),
            "p99_ms_median": _med(_col(rounds, "creates", side, "p99_ms")),
        }
        for side in ("orchestrator", "vault")
    }
    create_ratios = _col(rounds, "create_ratio")
    return {
        "latency_ms": latency,
        "latency_ratio_median": _med(latency_ratios),
        "latency_ratio_min": min(latency_ratios),
        "latency_ratio_max": max(latency_ratios),
        "latency_goal": LATENCY_GOAL,
        "latency_goal_met": _med(latency_ratios) <= LATENCY_GOAL,
        "overhead_p50_ms": round(
            latency["payment"]["p50_ms"]
            - latency["reveal"]["p50_ms"]
            - latency["authorize"]["p50_ms"],
            3,
        ),
        "latency_cpu_ms_per_request": _cpu_medians(rounds, "latency"),
        "create": create,
        "create_ratio_median": _med(create_ratios),
        "create_ratio_min": min(create_ratios),
        "create_ratio_max": max(create_ratios),
        "create_goal": THROUGHPUT_GOAL,
        "create_goal_met": _med(create_ratios) >= THROUGHPUT_GOAL,
        "create_cpu_ms_per_request": _cpu_medians(rounds, "creates"),
    }


def print_tables(console: Console, summary: dict[str, Any], meta: dict[str, Any]) -> None:
    lat = summary["latency_ms"]
    t = Table(
        title=f"payment latency, ms (medians of {meta['rounds']} rounds x "
        f"{meta['payments_per_round']} sequential requests per side, blocks of {meta['block']})"
    )
    for c in ("", "p50", "p90", "p99", "mean"):
        t.add_column(c, justify="left" if not c else "right")
    labels = {
        "payment": "(a) POST /v2/payments (saved card)",
        "reveal": "(b) vault reveal (VaultClient)",
        "authorize": "(b) processor authorize",
        "reveal_then_authorize": "(b) reveal + authorize, per pair",
    }
    for key, label in labels.items():
        row = lat[key]
        t.add_row(label, *(f"{row[s]:.2f}" for s in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")))
    console.print(t)

    c = summary["create"]
    t = Table(
        title=f"create throughput, req/s (concurrency {meta['concurrency']}, "
        f"{meta['creates_per_round']} distinct cards per side per round)"
    )
    for col in ("", "req/s median", "req/s range", "p50 ms", "p99 ms"):
        t.add_column(col, justify="left" if not col else "right")
    for side, label in (
        ("orchestrator", "(c) POST /v2/payment-methods"),
        ("vault", "(c) vault POST /{vault}/aliases"),
    ):
        row = c[side]
        t.add_row(
            label,
            f"{row['rps_median']:,.0f}",
            f"{row['rps_min']:,.0f}-{row['rps_max']:,.0f}",
            f"{row['p50_ms_median']:.2f}",
            f"{row['p99_ms_median']:.2f}",
        )
    console.print(t)

    t = Table(title="CPU ms per request (medians over rounds, /proc user+system)")
    procs = ("client", *SERVERS)
    for col in ("phase", *procs):
        t.add_column(col, justify="left" if col == "phase" else "right")
    for section, names in (
        ("latency_cpu_ms_per_request", {"payment": "(a) payment", "parts": "(b) parts"}),
        ("create_cpu_ms_per_request", {"orchestrator": "(c) pm create", "vault": "(c) vault"}),
    ):
        for phase, label in names.items():
            row = summary[section].get(phase, {})
            t.add_row(label, *(f"{row[p]:.2f}" if p in row else "-" for p in procs))
    console.print(t)

    t = Table(title="goals (checked on the median of the per-round ratios)")
    for col in ("goal", "measured (median)", "per-round range", "met?"):
        t.add_column(col)
    t.add_row(
        f"payment p50 ≤ {LATENCY_GOAL} x (reveal p50 + authorize p50)",
        f"{summary['latency_ratio_median']:.2f} x",
        f"{summary['latency_ratio_min']:.2f}-{summary['latency_ratio_max']:.2f}",
        "yes" if summary["latency_goal_met"] else "[red]NO[/red]",
    )
    t.add_row(
        f"payment-method create ≥ {THROUGHPUT_GOAL:.0%} of vault create",
        f"{summary['create_ratio_median']:.1%}",
        f"{summary['create_ratio_min']:.1%}-{summary['create_ratio_max']:.1%}",
        "yes" if summary["create_goal_met"] else "[red]NO[/red]",
    )
    console.print(t)


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--payments", type=int, default=150, help="per side, per round")
    parser.add_argument("--block", type=int, default=10, help="(a)/(b) alternate every N")
    parser.add_argument("--creates", type=int, default=320, help="per side, per round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=30, help="payments and pairs, once")
    args = parser.parse_args()
    console = Console(width=140)

    rounds: list[dict[str, Any]] = []
    run_prefix = f"4{random.randrange(10**5):05d}"  # fresh values for every run
    orch_cards = distinct_cards(run_prefix + "1")
    vault_cards = distinct_cards(run_prefix + "2")
    with tempfile.TemporaryDirectory(prefix="payment-bench-") as tmp:
        up = Up(Path(tmp) / "data")
        try:
            system = System(up.info)
            meter = CpuMeter(up.server_pids())
            console.print(
                f"vaultswitch up: orchestrator {system.orch_url}, vault {system.vault_url}, "
                f"processor {up.info['processor_url']}; CPU of {sorted(meter.pids)} from /proc"
            )
            with system.orchestrator() as http, VaultClient(ClientConfig(trust_env=False)) as vc:
                customer_id = system.create_customer(http)
                payments = Payments(http, customer_id, system.save_card(http, customer_id))
                saved = vc.insert(
                    system.connector,
                    system.vault_creds,
                    VaultRequestData(vaulting_data=system.card),
                ).vault_id
                assert isinstance(saved, SingleVaultId)
                parts = Parts(system, saved.alias, vc)
                token = system.vault_token()

                def creates(count: int, odd: bool) -> dict[str, Any]:
                    cards = [next(orch_cards) for _ in range(count)]
                    bodies = [system.insert_body(next(vault_cards)) for _ in range(count)]
                    return asyncio.run(
                        create_round(
                            system, customer_id, cards, bodies, token, args.concurrency, meter, odd
                        )
                    )

                # warm-up: connections, token caches, first-use imports on every side
                latency_round(payments, parts, args.warmup, args.block, meter, False)
                creates(args.concurrency * 4, False)
                for number in range(args.rounds):
                    odd = number % 2 == 1
                    row: dict[str, Any] = {"round": number + 1}
                    row["latency"] = latency_round(
                        payments, parts, args.payments, args.block, meter, odd
                    )
                    row["creates"] = creates(args.creates, odd)
                    lat = row["latency"]
                    sum_p50 = lat["parts"]["reveal"]["p50_ms"] + lat["parts"]["authorize"]["p50_ms"]
                    row["latency_ratio"] = round(lat["payment"]["p50_ms"] / sum_p50, 3)
                    made = row["creates"]
                    row["create_ratio"] = round(
                        made["orchestrator"]["rps"] / made["vault"]["rps"], 3
                    )
                    rounds.append(row)
                    console.print(
                        f"round {number + 1}: payment p50 {lat['payment']['p50_ms']:.2f} ms, "
                        f"reveal {lat['parts']['reveal']['p50_ms']:.2f} + authorize "
                        f"{lat['parts']['authorize']['p50_ms']:.2f} ms "
                        f"(ratio {row['latency_ratio']:.2f}); creates orchestrator "
                        f"{made['orchestrator']['rps']:,.0f} / vault "
                        f"{made['vault']['rps']:,.0f} req/s ({row['create_ratio']:.0%})"
                    )
                parts.close()
        finally:
            up.stop()

    meta = {
        "rounds": args.rounds,
        "payments_per_round": args.payments,
        "block": args.block,
        "creates_per_round": args.creates,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
    }
    summary = summarise(rounds)
    print_tables(console, summary, meta)
    payload = {
        "benchmark": "payment_latency",
        "method": (
            "vaultswitch up (SQLite, one process per server, loopback); per round: (a) "
            "payments and (b) their parts alternating in blocks, then (c) creates ABBA "
            "(orchestrator, vault, vault, orchestrator; reversed in odd rounds); ratios "
            "within a round, goals on the median over rounds; CPU from /proc"
        ),
        **meta,
        "cpus": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "httpx": httpx.__version__,
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": summary,
        "rounds_detail": rounds,
        "goals_met": summary["latency_goal_met"] and summary["create_goal_met"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")
    return 0 if payload["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
