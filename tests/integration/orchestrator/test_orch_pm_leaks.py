"""After saving, reading, listing, failing on and deleting every test card: no card number
in the orchestrator's SQLite files or its log lines, and neither holder names nor vault
aliases in clear in the database."""

from __future__ import annotations

import io
from pathlib import Path

import structlog
from pm_support import HOLDER, PmWorld, all_valid_numbers, card, pm_world

from vaultswitch.domain.cards import CardNumber
from vaultswitch.logs import configure_logging


def _cvc(number: str) -> str:
    return "1234" if CardNumber(number).brand.value == "amex" else "123"


def luhn_broken(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _exercise(world: PmWorld, numbers: list[str]) -> list[str]:
    """Every flow on every number; returns the aliases the vaults created."""
    for index, number in enumerate(numbers):
        mode = index % 3
        if mode == 0:
            world.set_vault(external=True)
        elif mode == 1:
            world.set_vault(external=True, multi_token=True)
        else:
            world.set_vault(external=False)
        saved = world.saved(card(number, card_cvc=_cvc(number)))
        assert world.create(card(number)).json()["duplicate"] is True
        bad = world.create(card(luhn_broken(number)))
        assert bad.status_code == 400
        assert (
            world.http.get(f"/v2/payment-methods/{saved['id']}", headers=world.headers).status_code
            == 200
        )
        if index % 2:
            deleted = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
            assert deleted.status_code == 200
    listed = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    )
    assert listed.status_code == 200
    vault = world.vault
    return vault.created_aliases(vault.external) + vault.created_aliases(vault.internal)


def test_no_card_number_in_the_database_files_or_the_logs(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)  # before the servers start: they bind loggers
    numbers = all_valid_numbers()
    try:
        with pm_world(tmp_path) as world:
            aliases = _exercise(world, numbers)
            db_files = sorted(world.db_path().parent.glob("orchestrator.db*"))
            contents = b"".join(path.read_bytes() for path in db_files)
    finally:
        structlog.reset_defaults()
    lines = stream.getvalue().splitlines()
    assert any('"payment_method' in line or "/v2/payment-methods" in line for line in lines)
    assert len(db_files) >= 1
    assert b"payment_methods" in contents  # the table is there
    for number in numbers + [luhn_broken(n) for n in numbers]:
        assert number.encode() not in contents, number
        assert not [line for line in lines if number in line], number
    assert HOLDER.encode() not in contents
    assert aliases
    for alias in aliases:
        assert alias.encode() not in contents, alias
