"""The whole system end to end over real HTTP on loopback: `vaultswitch orchestrator serve
--workers 2` on PostgreSQL + Redis (its own key prefix), our vault (the merchants' external
vault and the orchestrator's internal one), and `vaultswitch processor serve` twice (one
fast, one with 300 ms per authorization so that concurrent retries overlap).

Activation with right and wrong credentials (each failure mode with its diagnosis and
fix), save/get/list/delete single- and multi-token and in the internal vault, duplicates,
proxy_card, payments approved and declined by each outcome card, idempotent concurrent
retries served by both workers, cross-merchant isolation (e2e_scenarios.py); afterwards
the token cache is in Redis under the prefix, and no card number is in the orchestrator's
log lines or its database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from orch_e2e_scenarios import (
    CONCURRENT,
    MODES,
    RETRY_KINDS,
    WRONG_CREDENTIALS,
    System,
    activation_fails,
    activation_succeeds,
    concurrent_retries,
    merchants_are_isolated,
    outcome_card,
    proxy_card_is_saved_without_a_vault_write,
    save_get_list_delete,
)
from orch_e2e_support import (
    OrchestratorProcess,
    clients_on_every_worker,
    orchestrator_process,
    processor_process,
    serving_pid,
)
from orch_pay_support import OUTCOMES
from orch_support import orchestrator_settings
from pm_support import serve_pm_vault

from card_leaks import Scanner, scan_postgres
from vaultswitch.domain.secret import Secret

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@dataclass
class WorkersSystem(System):
    server: OrchestratorProcess | None = None
    redis_url: str = ""
    redis_prefix: str = ""

    @property
    def process(self) -> OrchestratorProcess:
        assert self.server is not None
        return self.server


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, postgres_module_url: str, redis_server_url: str
) -> Iterator[WorkersSystem]:
    root = tmp_path_factory.mktemp("e2e-workers")
    prefix = f"vstest:{uuid.uuid4().hex[:10]}:"
    with (
        serve_pm_vault(root / "vault") as vault,
        processor_process() as processor,
        processor_process("--latency-ms", "300") as slow_processor,
    ):
        box = vault.internal
        settings = orchestrator_settings(
            root / "orchestrator",
            database_url=postgres_module_url,
            redis_url=redis_server_url,
            redis_prefix=prefix,
            internal_vault_base_url=vault.url + "/{vault_id}/",
            internal_vault_auth_base_url=vault.url + "/",
            internal_vault_id=box.vault_id,
            internal_vault_client_id=box.client_id,
            internal_vault_client_secret=Secret(box.client_secret),
        )
        try:
            with orchestrator_process(settings, workers=2) as server:
                assert len(server.worker_pids()) == 2
                yield WorkersSystem(
                    server.orch, vault, processor, slow_processor, server, redis_server_url, prefix
                )
        finally:
            _drop_redis_keys(redis_server_url, prefix)


def _drop_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    finally:
        client.close()


def test_right_credentials_activate_the_vault_account(system: WorkersSystem) -> None:
    activation_succeeds(system)


@pytest.mark.parametrize("mode", list(WRONG_CREDENTIALS))
def test_wrong_credentials_keep_the_account_inactive_with_the_diagnosis(
    system: WorkersSystem, mode: str
) -> None:
    activation_fails(system, mode)


@pytest.mark.parametrize("mode", list(MODES))
def test_save_get_list_delete_and_duplicates(system: WorkersSystem, mode: str) -> None:
    save_get_list_delete(system, mode)


def test_proxy_card_is_saved_without_a_vault_write_and_paid(system: WorkersSystem) -> None:
    proxy_card_is_saved_without_a_vault_write(system)


@pytest.mark.parametrize("number", list(OUTCOMES), ids=[f"{n}-{c}" for n, c in OUTCOMES.items()])
def test_each_outcome_card_gives_its_status_and_code(system: WorkersSystem, number: str) -> None:
    outcome_card(system, number, saved_in=(*MODES, "proxy"))


@pytest.mark.parametrize("kind", RETRY_KINDS)
def test_concurrent_retries_on_both_workers_make_one_payment(
    system: WorkersSystem, kind: str
) -> None:
    server = system.process
    workers = server.worker_pids()
    with clients_on_every_worker(server, CONCURRENT) as clients:
        served_by, refused_by = concurrent_retries(
            system, kind, clients, observe=lambda r: serving_pid(r, server.port, workers)
        )
    assert set(served_by) == workers  # the concurrent retries landed on both workers
    assert set(refused_by) == workers  # and so did the refused ones


def test_another_merchant_gets_404_for_everything_of_a_merchant(system: WorkersSystem) -> None:
    merchants_are_isolated(system)


# --- afterwards (these run last: they read what the tests above left) -------------------------


def test_the_token_cache_is_in_redis_under_the_prefix(system: WorkersSystem) -> None:
    import redis

    client = redis.Redis.from_url(system.redis_url)
    try:
        keys = list(client.scan_iter(match=system.redis_prefix + "*"))
        values = b"".join(client.get(key) or b"" for key in keys)
    finally:
        client.close()
    assert keys, "no access token was cached in Redis under the orchestrator's prefix"
    assert system.vault.external.client_secret.encode() not in values


def test_no_card_number_in_the_log_lines_or_the_database(
    system: WorkersSystem, postgres_module_url: str
) -> None:
    events = system.process.events()
    requests = [e for e in events if e.get("event") == "request"]
    assert len(requests) > 100
    assert {e["path"] for e in requests} >= {"/v2/payment-methods", "/v2/payments"}
    assert any(e.get("event") == "payment.attempt" for e in events)
    scanner = Scanner()
    log = "".join(system.process.log).encode()
    assert scanner.scan_bytes(log, "orchestrator log") == []
    assert scan_postgres(postgres_module_url, "orchestrator database", scanner) == []
