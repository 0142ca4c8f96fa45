"""The end-to-end scenarios of test_orch_e2e_workers.py on SQLite, everything in one
process (the orchestrator, our vault and two sandbox processors as LiveServers), for what
the other orchestrator tests do not cover already:

- activation failures: the hint of each failure mode, a profile on the inactive account
  refusing to save cards (424), the fix with a partial PUT (test_orch_connector_accounts.py
  checks the codes);
- save/get/list/delete and duplicates in multi-token mode and in the internal vault
  (test_orch_pm_save.py / test_orch_pm_duplicates.py: single-token duplicates);
- payments with a card saved multi-token, in the internal vault and as a proxy_card, by
  each outcome card (test_orch_pay_cards.py: single-token and new cards);
- concurrent idempotent retries of a new declined card and of a multi-token card
  (test_orch_pay_idempotency.py: a single-token card).
Cross-merchant isolation is covered by test_orch_pay_isolation.py,
test_orch_connector_accounts.py, test_orch_pm_save.py and test_orch_customers.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from orch_e2e_scenarios import (
    CONCURRENT,
    WRONG_CREDENTIALS,
    System,
    activation_fails,
    concurrent_retries,
    outcome_card,
    save_get_list_delete,
)
from orch_pay_support import OUTCOMES, serve_processor
from orch_support import orchestrator_settings, serve_orchestrator
from pm_support import serve_pm_vault

from vaultswitch.domain.secret import Secret


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root = tmp_path_factory.mktemp("e2e-sqlite")
    with (
        serve_pm_vault(root / "vault") as vault,
        serve_processor() as processor,
        serve_processor(latency_ms=300) as slow_processor,
    ):
        box = vault.internal
        settings = orchestrator_settings(
            root / "orchestrator",
            internal_vault_base_url=vault.url + "/{vault_id}/",
            internal_vault_auth_base_url=vault.url + "/",
            internal_vault_id=box.vault_id,
            internal_vault_client_id=box.client_id,
            internal_vault_client_secret=Secret(box.client_secret),
        )
        with serve_orchestrator(settings) as orch:
            yield System(orch, vault, processor, slow_processor)


@pytest.mark.parametrize("mode", list(WRONG_CREDENTIALS))
def test_wrong_credentials_keep_the_account_inactive_with_the_diagnosis(
    system: System, mode: str
) -> None:
    activation_fails(system, mode)


@pytest.mark.parametrize("mode", ["multi", "internal"])
def test_save_get_list_delete_and_duplicates(system: System, mode: str) -> None:
    save_get_list_delete(system, mode)


@pytest.mark.parametrize("number", list(OUTCOMES), ids=[f"{n}-{c}" for n, c in OUTCOMES.items()])
def test_each_outcome_card_saved_multi_token_internal_or_as_proxy_card(
    system: System, number: str
) -> None:
    outcome_card(system, number, saved_in=("multi", "internal", "proxy"))


@pytest.mark.parametrize("kind", ["new card declined", "multi-token card approved"])
def test_concurrent_retries_make_one_payment(system: System, kind: str) -> None:
    clients = [httpx.Client(base_url=system.orch.url, timeout=60) for _ in range(CONCURRENT)]
    try:
        concurrent_retries(system, kind, clients)
    finally:
        for client in clients:
            client.close()
