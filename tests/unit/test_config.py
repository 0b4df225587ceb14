"""Settings from RISKLOOP_* variables: embedded defaults, every bad value named, secrets hidden."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from riskloop.config import Secret, Settings
from riskloop.errors import ConfigError


def test_defaults_give_embedded_sqlite_and_keyring_under_the_data_dir() -> None:
    s = Settings.from_env({})
    assert s.data_dir == Path("riskloop-data")
    assert s.database_url.get() == "sqlite:///riskloop-data/riskloop.db"
    assert s.keyring_path == Path("riskloop-data/keyring.json")
    assert s.is_sqlite
    assert s.auto_migrate is True
    assert s.sqlite_synchronous == "FULL"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert (s.log_level, s.log_format) == ("INFO", "text")
    assert s.max_batch == 1000
    assert s.feature_store == "memory"
    assert s.redis_url.get() == "redis://127.0.0.1:6379/0"
    assert s.feature_set_path is None
    assert s.max_body_bytes == 5 * 1024 * 1024


def test_data_dir_moves_the_database_and_the_keyring(tmp_path: Path) -> None:
    s = Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path)})
    assert s.database_url.get() == f"sqlite:///{tmp_path.as_posix()}/riskloop.db"
    assert s.keyring_path == tmp_path / "keyring.json"


def test_explicit_keyring_path_and_database_url_win_over_the_data_dir(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
            "RISKLOOP_KEYRING_PATH": str(tmp_path / "secrets" / "ring.json"),
            "RISKLOOP_DATABASE_URL": "sqlite:///elsewhere.db",
        }
    )
    assert s.keyring_path == tmp_path / "secrets" / "ring.json"
    assert s.database_url.get() == "sqlite:///elsewhere.db"


def test_an_empty_value_counts_as_unset() -> None:
    s = Settings.from_env({"RISKLOOP_PORT": "", "RISKLOOP_DATABASE_URL": ""})
    assert s.port == 8000
    assert s.database_url.get() == "sqlite:///riskloop-data/riskloop.db"


def test_valid_values_are_parsed_and_normalised(tmp_path: Path) -> None:
    feature_set = tmp_path / "features.yaml"
    feature_set.write_text("name: x\n")
    s = Settings.from_env(
        {
            "RISKLOOP_PORT": "8080",
            "RISKLOOP_AUTO_MIGRATE": "Off",
            "RISKLOOP_SQLITE_SYNCHRONOUS": "normal",
            "RISKLOOP_LOG_LEVEL": " debug ",
            "RISKLOOP_LOG_FORMAT": "JSON",
            "RISKLOOP_MAX_BATCH": "100000",
            "RISKLOOP_FEATURE_STORE": "redis",
            "RISKLOOP_REDIS_URL": "rediss://cache:6380/1",
            "RISKLOOP_FEATURE_SET": str(feature_set),
            "RISKLOOP_MAX_BODY_BYTES": "1024",
        }
    )
    assert s.port == 8080
    assert s.auto_migrate is False
    assert s.sqlite_synchronous == "NORMAL"
    assert s.log_level == "DEBUG"
    assert s.log_format == "json"
    assert s.max_batch == 100_000
    assert s.feature_store == "redis"
    assert s.redis_url.get() == "rediss://cache:6380/1"
    assert s.feature_set_path == feature_set
    assert s.max_body_bytes == 1024


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("RISKLOOP_PORT", "eighty", "expected an integer"),
        ("RISKLOOP_PORT", "0", "from 1 to 65535"),
        ("RISKLOOP_PORT", "65536", "from 1 to 65535"),
        ("RISKLOOP_AUTO_MIGRATE", "maybe", "expected true or false"),
        ("RISKLOOP_SQLITE_SYNCHRONOUS", "OFF", "expected one of full, normal"),
        ("RISKLOOP_LOG_LEVEL", "TRACE", "expected one of debug, info, warning, error"),
        ("RISKLOOP_LOG_FORMAT", "xml", "expected one of text, json"),
        ("RISKLOOP_MAX_BATCH", "0", "from 1 to 100000"),
        ("RISKLOOP_MAX_BATCH", "1.5", "expected an integer"),
        ("RISKLOOP_FEATURE_STORE", "disk", "expected one of memory, redis"),
        ("RISKLOOP_REDIS_URL", "http://cache:6379", "redis://"),
        ("RISKLOOP_DATABASE_URL", "mysql://u:p@db/risk", "sqlite:/// or postgresql://"),
        ("RISKLOOP_DATABASE_URL", "riskloop.db", "sqlite:/// or postgresql://"),
        ("RISKLOOP_FEATURE_SET", "/nonexistent/features.yaml", "no such file"),
        ("RISKLOOP_MAX_BODY_BYTES", "1023", "from 1024 to"),
    ],
)
def test_rejects_invalid_value_naming_the_variable(variable: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert info.value.variable == variable
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{variable}: ")


def test_the_error_for_a_bad_database_url_does_not_echo_the_url() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_DATABASE_URL": "mysql://u:hunter2@db/risk"})
    assert "hunter2" not in str(info.value)


def test_rejects_unknown_riskloop_variable() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_PROT": "8080", "RISKLOOP_PORT": "8080"})
    assert info.value.variable == "RISKLOOP_PROT"
    assert "unknown setting" in info.value.reason


def test_lets_be_the_riskloop_variables_that_are_not_settings() -> None:
    """`riskloop users add` reads RISKLOOP_NEW_PASSWORD, the quickstart tells users to export
    RISKLOOP_KEY: neither may stop every command as a misspelt setting."""
    s = Settings.from_env({"RISKLOOP_NEW_PASSWORD": "x" * 12, "RISKLOOP_KEY": "rk_x"})
    assert s == Settings.from_env({})


def test_ignores_variables_without_the_prefix() -> None:
    s = Settings.from_env({"PORT": "1", "HOME": "/root", "RISKLOOPX": "1"})
    assert s.port == 8000


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("postgres://rl:pw@db:5432/risk", "postgresql+psycopg://rl:pw@db:5432/risk"),
        ("postgresql://rl:pw@db:5432/risk", "postgresql+psycopg://rl:pw@db:5432/risk"),
        ("postgresql+psycopg2://rl@db/risk", "postgresql+psycopg://rl@db/risk"),
        ("postgresql+psycopg://rl@db/risk", "postgresql+psycopg://rl@db/risk"),
    ],
)
def test_postgres_url_is_normalised_to_psycopg(raw: str, normalised: str) -> None:
    s = Settings.from_env({"RISKLOOP_DATABASE_URL": raw})
    assert s.database_url.get() == normalised
    assert not s.is_sqlite


def test_secret_never_shows_its_value() -> None:
    secret = Secret("postgresql+psycopg://rl:hunter2@db/risk")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert repr(secret) == "Secret('**********')"
    assert secret.get() == "postgresql+psycopg://rl:hunter2@db/risk"


def test_settings_repr_hides_database_and_redis_passwords() -> None:
    s = Settings.from_env(
        {
            "RISKLOOP_DATABASE_URL": "postgres://rl:hunter2@db/risk",
            "RISKLOOP_REDIS_URL": "redis://:s3cr3t@cache:6379/0",
        }
    )
    shown = repr(s) + str(s)
    assert "hunter2" not in shown
    assert "s3cr3t" not in shown


def test_secrets_compare_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert hash(Secret("a")) == hash(Secret("a"))


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_variables_maps_every_environment_name_to_a_field() -> None:
    names = Settings.variables()
    assert names["RISKLOOP_DATA_DIR"] == "data_dir"
    assert names["RISKLOOP_FEATURE_SET"] == "feature_set_path"
    assert set(names.values()) == {f.name for f in dataclasses.fields(Settings)}


def test_without_a_mapping_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RISKLOOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKLOOP_PORT", "9123")
    assert Settings.from_env().port == 9123
