"""The request log's alias handling: paths, queries and create results, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.models import AliasInfo, AliasReference, NewValue, Record
from vaultswitch.vault.http.request_log import (
    RequestLog,
    created_aliases,
    path_alias,
    referenced_aliases,
)

REFS = LogRefs(bytes(range(32)))
LOG = RequestLog(REFS)
FPE = "4111119876541113"


def test_path_alias_finds_only_the_alias_route() -> None:
    assert path_alias(f"/aliases/{FPE}") == FPE
    assert path_alias("/aliases/delete") is None  # the batch-delete route
    assert path_alias("/aliases") is None
    assert path_alias("/aliases/") is None
    assert path_alias("/aliases/a/b") is None
    assert path_alias("/health") is None


def test_paths_are_logged_with_the_alias_replaced() -> None:
    ref = REFS.alias(FPE)
    assert LOG.path(f"/tnt12345678/aliases/{FPE}", f"/aliases/{FPE}") == (
        f"/tnt12345678/aliases/{ref}",
        FPE,
    )
    assert LOG.path(f"/aliases/{FPE}", f"/aliases/{FPE}") == (f"/aliases/{ref}", FPE)
    assert LOG.path("/tnt12345678/aliases/delete", "/aliases/delete") == (
        "/tnt12345678/aliases/delete",
        None,
    )


def test_queries_list_references_instead_of_aliases() -> None:
    a, b = REFS.alias("tok_sandbox_a"), REFS.alias(FPE)
    query, listed = LOG.query(f"aliases=tok_sandbox_a,%20{FPE}&storage=VOLATILE".encode())
    assert query == f"aliases={a},{b}&storage=VOLATILE"
    assert listed == ["tok_sandbox_a", FPE]
    query, listed = LOG.query(f"q={FPE}&q=,&x=1".encode())  # legacy name, repeats, blanks
    assert query == f"q={b}&q=,&x=1"
    assert listed == [FPE]
    assert LOG.query(b"storage=VOLATILE") == ("storage=VOLATILE", [])
    assert LOG.query(b"x=" + b"y" * 600)[0] == "x=" + "y" * 510  # still capped


def test_fields_list_every_alias_once() -> None:
    fields = LOG.fields(f"/aliases/{FPE}", f"/aliases/{FPE}", f"aliases={FPE}".encode(), [FPE])
    assert fields["alias_ref"] == [REFS.alias(FPE)]
    assert FPE not in str(fields)
    plain = LOG.fields("/health", "/health", b"", None)
    assert plain == {"path": "/health", "query": ""}


def test_created_aliases_are_the_references_and_the_answers() -> None:
    now = datetime.now(UTC)
    items = [NewValue(Secret("v"), "UUID"), AliasReference("tok_sandbox_old", "RAW_UUID")]
    records = [
        Record(Secret("v"), (), (AliasInfo("tok_sandbox_new", "UUID"),), now, "PERSISTENT"),
        Record(
            None,
            (),
            (AliasInfo("tok_sandbox_old", "UUID"), AliasInfo("raw-uuid", "RAW_UUID")),
            now,
            "PERSISTENT",
        ),
    ]
    assert created_aliases(items, records) == ["tok_sandbox_new", "tok_sandbox_old", "raw-uuid"]
    assert referenced_aliases(items) == ["tok_sandbox_old"]
    assert referenced_aliases(items[:1]) is None
