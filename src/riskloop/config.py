"""Settings: read once from ``RISKLOOP_*`` environment variables, then frozen.

This is the only module that reads the environment. Defaults give the embedded mode: one
process, a SQLite file and a keyring file in a data directory. An invalid or unknown setting
raises :class:`~riskloop.errors.ConfigError` naming the variable, which stops start-up.

>>> s = Settings.from_env({"RISKLOOP_DATA_DIR": "/tmp/rl"})
>>> s.database_url.get()
'sqlite:////tmp/rl/riskloop.db'
>>> s.database_url
Secret('**********')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from riskloop.errors import ConfigError, InvalidInput

T = TypeVar("T")
PREFIX = "RISKLOOP_"


class Secret(Generic[T]):
    """A value that never shows in ``repr``, ``str`` or logs; call :meth:`get` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def get(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _int_between(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("expected an integer") from None
        if not lo <= value <= hi:
            raise ValueError(f"expected an integer from {lo} to {hi}")
        return value

    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _upper_choice(*options: str) -> Callable[[str], str]:
    inner = _choice(*(o.lower() for o in options))
    return lambda raw: inner(raw).upper()


def _database_url(raw: str) -> Secret[str]:
    scheme = urlsplit(raw).scheme
    if scheme.startswith("postgres"):
        # One driver for PostgreSQL: psycopg 3.
        return Secret("postgresql+psycopg://" + raw.split("://", 1)[1])
    if scheme == "sqlite":
        return Secret(raw)
    raise ValueError("expected a sqlite:/// or postgresql:// URL")


def _redis_url(raw: str) -> Secret[str]:
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected a redis:// or rediss:// URL")
    return Secret(raw)


def _nats_url(raw: str) -> Secret[str]:
    # Comma-separated for a cluster; a URL may carry a user and password, hence the Secret.
    for url in raw.split(","):
        if urlsplit(url.strip()).scheme not in ("nats", "tls", "ws", "wss"):
            raise ValueError("expected nats://host:port (comma-separated for a cluster)")
    return Secret(raw.strip())


def _nats_stream(raw: str) -> str:
    value = raw.strip()
    if not value or any(c in value for c in " .*>\t/\\"):
        raise ValueError("expected a name without spaces, dots, slashes, * or >")
    return value


def _nats_prefix(raw: str) -> str:
    value = raw.strip()
    tokens = value.split(".")
    if not value or any(not t or any(c in t for c in " *>\t") for t in tokens):
        raise ValueError("expected subject tokens separated by dots, without spaces, * or >")
    return value


def _webhook_url(raw: str) -> Secret[str]:
    try:
        parts = urlsplit(raw.strip())
        host = parts.hostname
    except ValueError:
        raise ValueError("expected an http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("expected an http:// or https:// URL")
    return Secret(raw.strip())


def _existing_file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError(f"no such file: {raw}")
    return path


_CASE_ACTIONS = ("block_card", "freeze_account", "close_account", "refund_customer")


def _case_actions(raw: str) -> frozenset[str]:
    """Case actions that need a second person's approval: comma-separated, or ``none``."""
    names = {a.strip().lower() for a in raw.split(",") if a.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = sorted(names - set(_CASE_ACTIONS))
    if unknown:
        raise ValueError(f"unknown action {unknown[0]!r}; expected {', '.join(_CASE_ACTIONS)}")
    return frozenset(names)


def _schedule(raw: str) -> tuple[tuple[str, timedelta], ...]:
    """``NAME=INTERVAL,...`` (s, m, h, d) or ``off``; job names are checked against the
    catalogue when the scheduler starts."""
    from riskloop.service.schedule import parse_schedule

    return parse_schedule(raw)


def _model_name(raw: str) -> str:
    from riskloop.errors import InvalidInput
    from riskloop.training.registry import check_name

    try:
        return check_name(raw.strip())
    except InvalidInput as exc:
        raise ValueError(exc.reason) from None


def _event_type(raw: str) -> str:
    from riskloop.intake import EVENT_TYPES

    value = raw.strip()
    if value not in EVENT_TYPES:
        raise ValueError(f"expected one of {', '.join(EVENT_TYPES)}")
    return value


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError("expected a number from 0 to 1")
    return value


def _locations(raw: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in raw.split(",") if p.strip())
    for p in parts:
        fmt, sep, rest = p.partition(":")
        if sep and fmt in ("ofac", "un", "ftm") and not rest:
            raise ValueError(f"{p!r}: a format needs a location after it")
    return parts


def _review_days(raw: str) -> str:
    from riskloop.screening.records import parse_review_days

    try:
        parse_review_days(raw)
    except InvalidInput as exc:
        raise ValueError(exc.errors[0].reason) from None
    return raw


def _retention(raw: str) -> tuple[tuple[str, int, str | None], ...]:
    """``NAME=DAYS[:ACTION],...`` over contracts and other data (docs/retention.md); checked
    against the feature set's windows once the settings are complete."""
    from riskloop.service.retention_policy import parse_retention

    return parse_retention(raw)


# RISKLOOP_* variables that are not settings, so the spelling check lets them be: the new
# user's password `riskloop users add` reads (never on the command line) and the API key the
# quickstart tells a user to export for curl.
NOT_SETTINGS = frozenset({"RISKLOOP_NEW_PASSWORD", "RISKLOOP_KEY"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting riskloop reads, with its environment variable in ``metadata``."""

    data_dir: Path = field(
        default=Path("riskloop-data"), metadata={"env": "DATA_DIR", "parse": Path}
    )
    database_url: Secret[str] = field(
        default=Secret(""), metadata={"env": "DATABASE_URL", "parse": _database_url}
    )
    keyring_path: Path = field(default=Path(""), metadata={"env": "KEYRING_PATH", "parse": Path})
    auto_migrate: bool = field(default=True, metadata={"env": "AUTO_MIGRATE", "parse": _bool})
    sqlite_synchronous: str = field(
        default="FULL",
        metadata={"env": "SQLITE_SYNCHRONOUS", "parse": _upper_choice("FULL", "NORMAL")},
    )
    host: str = field(default="127.0.0.1", metadata={"env": "HOST", "parse": str})
    port: int = field(default=8000, metadata={"env": "PORT", "parse": _int_between(1, 65535)})
    log_level: str = field(
        default="INFO",
        metadata={"env": "LOG_LEVEL", "parse": _upper_choice("DEBUG", "INFO", "WARNING", "ERROR")},
    )
    log_format: str = field(
        default="text", metadata={"env": "LOG_FORMAT", "parse": _choice("text", "json")}
    )
    max_batch: int = field(
        default=1000, metadata={"env": "MAX_BATCH", "parse": _int_between(1, 100_000)}
    )
    feature_store: str = field(
        default="memory", metadata={"env": "FEATURE_STORE", "parse": _choice("memory", "redis")}
    )
    redis_url: Secret[str] = field(
        default=Secret("redis://127.0.0.1:6379/0"),
        metadata={"env": "REDIS_URL", "parse": _redis_url},
    )
    feature_set_path: Path | None = field(
        default=None, metadata={"env": "FEATURE_SET", "parse": _existing_file}
    )
    max_body_bytes: int = field(
        default=5 * 1024 * 1024,
        metadata={"env": "MAX_BODY_BYTES", "parse": _int_between(1024, 1024**3)},
    )
    decision_deadline_ms: int = field(
        default=250,
        metadata={"env": "DECISION_DEADLINE_MS", "parse": _int_between(1, 60_000)},
    )
    model_path: Path | None = field(
        default=None, metadata={"env": "MODEL_PATH", "parse": _existing_file}
    )
    task_webhook_url: Secret[str] | None = field(
        default=None, metadata={"env": "TASK_WEBHOOK_URL", "parse": _webhook_url}
    )
    four_eyes_actions: frozenset[str] = field(
        default=frozenset({"close_account", "freeze_account"}),
        metadata={"env": "FOUR_EYES_ACTIONS", "parse": _case_actions},
    )
    # Scheduled jobs in `riskloop serve` (docs/operations.md#scheduling); `off` for none.
    schedule: tuple[tuple[str, timedelta], ...] = field(
        default=(
            ("labels-resolve", timedelta(minutes=15)),
            ("drift", timedelta(hours=1)),
            ("performance", timedelta(days=1)),
            ("freshness", timedelta(minutes=15)),
            ("kyc-sync", timedelta(minutes=1)),
            ("rescreen", timedelta(minutes=15)),
            ("kyc-reviews", timedelta(days=1)),
        ),
        metadata={"env": "SCHEDULE", "parse": _schedule},
    )
    # The `train` job retrains this model for this event type (both, or neither).
    retrain_model: str | None = field(
        default=None, metadata={"env": "RETRAIN_MODEL", "parse": _model_name}
    )
    retrain_event_type: str | None = field(
        default=None, metadata={"env": "RETRAIN_EVENT_TYPE", "parse": _event_type}
    )
    # How often a server judges running canaries against their guardrails (seconds).
    canary_check_seconds: int = field(
        default=10, metadata={"env": "CANARY_CHECK_SECONDS", "parse": _int_between(1, 3600)}
    )
    # How long a dashboard login lasts (hours); a role change or disabling ends it sooner.
    session_hours: int = field(
        default=8, metadata={"env": "SESSION_HOURS", "parse": _int_between(1, 168)}
    )

    # Sanctions/PEP screening: a match at or above `alert` raises a hit; below `ignore` is
    # not shown (docs/screening.md).
    screening_alert: float = field(
        default=0.70, metadata={"env": "SCREENING_ALERT", "parse": _fraction}
    )
    screening_ignore: float = field(
        default=0.50, metadata={"env": "SCREENING_IGNORE", "parse": _fraction}
    )
    # Where the `lists-refresh` job reloads lists from: comma-separated files, directories
    # or http(s) URLs, each optionally `format:` prefixed (ofac:, un:, ftm:).
    screening_lists: tuple[str, ...] = field(
        default=(), metadata={"env": "SCREENING_LISTS", "parse": _locations}
    )
    # Periodic KYC review by risk rating, in days.
    kyc_review_days: str = field(
        default="high=365,medium=730,low=1095",
        metadata={"env": "KYC_REVIEW_DAYS", "parse": _review_days},
    )
    # Retention overrides, e.g. `login=400:delete,dead_letters=30` (docs/retention.md); the
    # rest keep their contract's (or OTHER's) default.
    retention: tuple[tuple[str, int, str | None], ...] = field(
        default=(), metadata={"env": "RETENTION", "parse": _retention}
    )

    # The event bus (docs/streams.md): `memory` (in-process) or `nats` (JetStream), which
    # `riskloop consume` reads.
    bus: str = field(default="memory", metadata={"env": "BUS", "parse": _choice("memory", "nats")})
    nats_url: Secret[str] = field(
        default=Secret("nats://127.0.0.1:4222"), metadata={"env": "NATS_URL", "parse": _nats_url}
    )
    nats_stream: str = field(
        default="RISKLOOP", metadata={"env": "NATS_STREAM", "parse": _nats_stream}
    )
    # Subjects are <prefix>.events.<event_type>, <prefix>.decisions.<outcome>, <prefix>.dead.…
    nats_prefix: str = field(
        default="riskloop", metadata={"env": "NATS_PREFIX", "parse": _nats_prefix}
    )
    consume_dead_after: int = field(
        default=5, metadata={"env": "CONSUME_DEAD_AFTER", "parse": _int_between(1, 1000)}
    )
    consume_concurrency: int = field(
        default=8, metadata={"env": "CONSUME_CONCURRENCY", "parse": _int_between(1, 256)}
    )

    def __post_init__(self) -> None:
        # Paths that default to the data directory are filled in here so that one setting
        # (RISKLOOP_DATA_DIR) moves everything.
        if not self.database_url.get():
            url = f"sqlite:///{(self.data_dir / 'riskloop.db').as_posix()}"
            object.__setattr__(self, "database_url", Secret(url))
        if self.keyring_path == Path(""):
            object.__setattr__(self, "keyring_path", self.data_dir / "keyring.json")
        if self.screening_ignore > self.screening_alert:
            raise ConfigError(
                PREFIX + "SCREENING_IGNORE", "must not be above RISKLOOP_SCREENING_ALERT"
            )
        if (self.retrain_model is None) != (self.retrain_event_type is None):
            missing, given = ("RETRAIN_EVENT_TYPE", "RETRAIN_MODEL")
            if self.retrain_model is None:
                missing, given = given, missing
            raise ConfigError(
                PREFIX + missing, f"required with {PREFIX}{given} (the train job needs both)"
            )
        self._check_retention()

    def _check_retention(self) -> None:
        # The defaults fit the default feature set (a unit test says so): load the features
        # only when either changed.
        if not self.retention and self.feature_set_path is None:
            return
        from riskloop.errors import InvalidDefinition
        from riskloop.features import load_feature_set
        from riskloop.service.retention_policy import check_feature_windows, retention_policy

        try:
            feature_set = load_feature_set(self.feature_set_path)
        except InvalidDefinition:
            return  # build() reports a broken feature set with its own error
        check_feature_windows(retention_policy(self.retention), feature_set)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get().startswith("sqlite")

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable name -> settings field name."""
        return {PREFIX + f.metadata["env"]: f.name for f in fields(cls)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        known = cls.variables()
        unknown = sorted(
            k for k in env if k.startswith(PREFIX) and k not in known and k not in NOT_SETTINGS
        )
        if unknown:
            raise ConfigError(unknown[0], "unknown setting (check the spelling)")
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = PREFIX + f.metadata["env"]
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                raise ConfigError(name, str(exc)) from None
        return cls(**values)
