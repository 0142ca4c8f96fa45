"""Settings precedence: kwargs > env > TOML [vault] > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultswitch.vault.settings import VaultSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "VAULTSWITCH_CONFIG",
        "VAULTSWITCH_PORT",
        "VAULTSWITCH_DATA_DIR",
        "VAULTSWITCH_MASTER_KEY",
        "VAULTSWITCH_DATABASE_URL",
        "VAULTSWITCH_VOLATILE_TTL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = VaultSettings()
    assert s.data_dir == Path(".vaultswitch")
    assert s.resolved_database_url() == "sqlite:///.vaultswitch/vault.db"
    assert s.resolved_master_key_file() == Path(".vaultswitch/master.key")
    assert (s.environment, s.volatile_ttl, s.max_items, s.port) == ("sandbox", 3600, 20, 8220)
    assert s.redis_prefix == "vaultswitch:"


def test_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "conf.toml"
    cfg.write_text('[vault]\nport = 9001\nvolatile_ttl = 10\nenvironment = "live"\n')
    monkeypatch.setenv("VAULTSWITCH_CONFIG", str(cfg))
    s = VaultSettings()
    assert (s.port, s.volatile_ttl, s.environment) == (9001, 10, "live")
    monkeypatch.setenv("VAULTSWITCH_PORT", "9002")
    s = VaultSettings()
    assert (s.port, s.volatile_ttl) == (9002, 10)
    assert VaultSettings(port=9003).port == 9003


def test_local_toml_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "vaultswitch.toml").write_text("[vault]\nmax_items = 5\n")
    assert VaultSettings().max_items == 5


def test_master_key_from_env_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULTSWITCH_MASTER_KEY", "A" * 43 + "=")
    s = VaultSettings()
    assert s.master_key is not None
    assert s.master_key.reveal() == "A" * 43 + "="
    assert "AAAA" not in repr(s)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_normalised(url: str, expected: str) -> None:
    assert VaultSettings(database_url=url).resolved_database_url() == expected
