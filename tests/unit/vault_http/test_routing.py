"""Tenant resolution from host and path."""

from __future__ import annotations

import pytest

from vaultswitch.vault.http.routing import Target, is_vault_id, resolve_tenant


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        (
            "tntabc12345.sandbox.vault-api.local",
            "/aliases",
            Target("tntabc12345", "/aliases", "host"),
        ),
        ("TNTABC12345.localhost:8220", "/aliases", Target("tntabc12345", "/aliases", "host")),
        (
            "127.0.0.1:8220",
            "/tntabc12345/aliases/tok_x",
            Target("tntabc12345", "/aliases/tok_x", "path"),
        ),
        ("127.0.0.1:8220", "/tntabc12345", Target("tntabc12345", "/", "path")),
        ("127.0.0.1:8220", "/aliases", Target(None, "/aliases", None)),
        ("tntabc.localhost", "/aliases", Target(None, "/aliases", None)),
        ("127.0.0.1", "/tntABC12345/aliases", Target(None, "/tntABC12345/aliases", None)),
        (None, "/health", Target(None, "/health", None)),
    ],
)
def test_resolve_tenant(host: str | None, path: str, expected: Target) -> None:
    assert resolve_tenant(host, path) == expected


def test_path_prefix_wins_over_host() -> None:
    assert resolve_tenant("tnthost0000.x", "/tntpath0000/aliases").vault_id == "tntpath0000"


def test_is_vault_id() -> None:
    assert is_vault_id("tnt0a1b2c3d")
    assert not is_vault_id("tnt0a1b2c3")
    assert not is_vault_id("TNT0a1b2c3d")
