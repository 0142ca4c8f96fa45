"""Settings precedence and the multi-worker rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultswitch.orchestrator.server import ServeError, check_multi_worker
from vaultswitch.orchestrator.settings import OrchestratorSettings


def test_flags_beat_env_beat_toml_beat_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "vaultswitch.toml"
    toml.write_text('[orchestrator]\nport = 9001\nhost = "127.0.0.2"\nlog_level = "debug"\n')
    monkeypatch.setenv("VAULTSWITCH_CONFIG", str(toml))
    monkeypatch.setenv("VAULTSWITCH_ORCHESTRATOR_PORT", "9002")
    monkeypatch.setenv("VAULTSWITCH_ORCHESTRATOR_HOST", "127.0.0.3")
    settings = OrchestratorSettings(port=9003)
    assert settings.port == 9003
    assert settings.host == "127.0.0.3"
    assert settings.log_level == "debug"
    monkeypatch.delenv("VAULTSWITCH_CONFIG")
    monkeypatch.delenv("VAULTSWITCH_ORCHESTRATOR_PORT")
    monkeypatch.delenv("VAULTSWITCH_ORCHESTRATOR_HOST")
    defaults = OrchestratorSettings()
    assert (defaults.host, defaults.port) == ("127.0.0.1", 8221)
    assert defaults.resolved_database_url() == "sqlite:///.vaultswitch/orchestrator.db"


def test_admin_key_and_secrets_never_show_in_repr() -> None:
    settings = OrchestratorSettings(admin_api_key="adm_very_secret", master_key="mk_secret")
    assert "adm_very_secret" not in repr(settings)
    assert "mk_secret" not in repr(settings)


def test_postgres_urls_use_psycopg() -> None:
    settings = OrchestratorSettings(database_url="postgresql://u@h/db")
    assert settings.resolved_database_url() == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("database_url", "redis_url", "needs"),
    [
        (None, "redis://127.0.0.1:6379/0", "PostgreSQL"),
        ("postgresql://u@h/db", None, "Redis"),
    ],
)
def test_several_workers_need_postgres_and_redis(
    database_url: str | None, redis_url: str | None, needs: str
) -> None:
    settings = OrchestratorSettings(workers=2, database_url=database_url, redis_url=redis_url)
    with pytest.raises(ServeError) as caught:
        check_multi_worker(settings)
    assert needs in str(caught.value)
    assert "--workers 1" in caught.value.hint
    check_multi_worker(
        OrchestratorSettings(
            workers=2, database_url="postgresql://u@h/db", redis_url="redis://h:6379/0"
        )
    )
