"""Every `TELECOM_*` variable the product reads, in one model. Each entry point (the worker, the
`telecom` CLI, the codec server, the demo and its seeding, the benchmark's workers) reads the
environment once, here (`load`), and passes the values down; nothing else reads it. A bad value
stops the program at start with one message that names the variable and the problem, never the
value of a secret. `python -m edge.settings` prints the README's table of them.

The scripts, the tests and the benchmark read a few variables of their own (`NOT_SETTINGS`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from models.archive import ArchiveRole
from models.common import TASK_QUEUE, StaffId

from .codec import KeyRing, KeyRingError, data_converter
from .id_hash import HashKeyError, HashKeyRing, development_keys, hash_keys

if TYPE_CHECKING:
    from temporalio.converter import DataConverter

PREFIX = "TELECOM_"
DEFAULT_DATABASE_URL = "sqlite:///telecom-service.db"
MIN_TOKEN_LENGTH = 16
MAX_SESSION_HOURS = 720.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_WORKER_PROCESSES = 64

NOT_SETTINGS = {
    "TELECOM_CODEC_PORT": ("8081", "scripts/run: the codec server's port (it sets TELECOM_CODEC_ADDRESS from it)"),
    "TELECOM_TEST_POSTGRES_URL": ("none", "tests: a PostgreSQL server to run every database test on as well "
                                          "(.ci/run sets it)"),
    "TELECOM_BENCH_POSTGRES_URL": ("none", "scripts/bench, `python -m bench`: a PostgreSQL server to run on as well"),
    "TELECOM_BENCH_POSTGRES": ("1", "scripts/bench: 0 runs on SQLite only"),
    "TELECOM_PG_DIR": ("/tmp/telecom-test-pg", "scripts/postgres: the throwaway server's directory"),
    "TELECOM_PG_PORT": ("55432", "scripts/postgres: its port"),
    "TELECOM_PG_FSYNC": ("off", "scripts/postgres: its fsync setting"),
}
"""Variables read by the scripts, the tests and the benchmark, not by the product: name → (default,
who reads it and what for)."""


class SettingsError(ValueError):
    """Bad settings: one line per problem, each naming its variable; never a secret's value."""

    def for_program(self, program: str) -> str:
        """What the program says before it stops."""
        problems = str(self).splitlines()
        if len(problems) == 1:
            return f"{program}: {problems[0]}"
        return f"{program}: {len(problems)} settings are wrong:\n" + "\n".join(f"  {p}" for p in problems)


def _host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, e.g. 127.0.0.1:9464")
    return value


def _http_origin(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("must be an http:// or https:// URL, e.g. http://localhost:8233")
    return value.rstrip("/")


def _existing_file(value: Path) -> Path:
    if not value.is_file():
        raise ValueError(f"{value}: no such file")
    return value


class Settings(BaseModel):
    """The product's settings; each field's alias is its environment variable."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
                              hide_input_in_errors=True)

    mode: Literal["development", "production"] = Field(
        "development", alias="TELECOM_MODE",
        description="`development` or `production`: production refuses to start without a payload key ring, and "
                    "the worker also without an ID hash key (§ Personal data)")
    task_queue: str = Field(
        TASK_QUEUE, alias="TELECOM_TASK_QUEUE", min_length=1, max_length=200,
        description="the worker's task queue, where `telecom … start` and the demo start cases")
    database_url: SecretStr = Field(
        SecretStr(DEFAULT_DATABASE_URL), alias="TELECOM_DATABASE_URL",
        description="SQLAlchemy URL of the records and the default adapters' tables, e.g. "
                    "`postgresql+psycopg://user@host/db` (secret: it may hold a password)")
    policy_file: Path | None = Field(
        None, alias="TELECOM_POLICY_FILE",
        description="policy TOML the worker loads at start (`config/policy.example.toml`); unset: the built-in "
                    "policy (§ Policy)")
    calendar_file: Path | None = Field(
        None, alias="TELECOM_CALENDAR_FILE",
        description="working-day overrides TOML (`config/calendar.example.toml`); unset: the `holidays` package "
                    "alone")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", alias="TELECOM_LOG_LEVEL", description="the worker's and the codec server's log level")
    max_cached_workflows: int = Field(
        500, alias="TELECOM_MAX_CACHED_WORKFLOWS", ge=0,
        description="cases the worker keeps in memory between their steps (§ Performance)")
    worker_processes: int = Field(
        1, alias="TELECOM_WORKER_PROCESSES", ge=1, le=MAX_WORKER_PROCESSES,
        description="worker processes `telecom-worker` runs on the task queue, each about one core's work "
                    "(`--processes N` overrides it; § Performance)")
    metrics_address: str | None = Field(
        None, alias="TELECOM_METRICS_ADDRESS",
        description="host:port of the worker's Prometheus `/metrics` endpoint, the port + 1 for each further "
                    "worker process; unset: off (§ Metrics)")
    codec_keys: SecretStr | None = Field(
        None, alias="TELECOM_CODEC_KEYS",
        description="the payload key ring, `kid2:<base64 of 32 random bytes>,kid1:<…>`, newest first; unset (and "
                    "no key file): clear text, development only (§ Personal data)")
    codec_key_file: Path | None = Field(
        None, alias="TELECOM_CODEC_KEY_FILE",
        description="instead of TELECOM_CODEC_KEYS: a file (mode 600) with one `kid:base64` per line, `#` comments")
    codec_compression: Literal["zlib", "off"] = Field(
        "zlib", alias="TELECOM_CODEC_COMPRESSION",
        description="`zlib`: payloads of 256 bytes or more are compressed before they are encrypted (every version "
                    "since reads both); `off` while workers of an older version still run (§ Personal data)")
    id_hash_key: SecretStr | None = Field(
        None, alias="TELECOM_ID_HASH_KEY",
        description="the ID-number hash key ring, `kid2:<base64 of at least 32 random bytes>,kid1:<…>`, newest "
                    "first; unset: the public development key, with a warning (§ ID numbers)")
    codec_token: SecretStr | None = Field(
        None, alias="TELECOM_CODEC_TOKEN",
        description=f"the codec server's bearer token, at least {MIN_TOKEN_LENGTH} characters; required by the "
                    "codec server (§ Personal data)")
    codec_address: str = Field(
        "127.0.0.1:8081", alias="TELECOM_CODEC_ADDRESS", description="host:port the codec server listens on")
    codec_allowed_origin: str = Field(
        "http://localhost:8233", alias="TELECOM_CODEC_ALLOWED_ORIGIN",
        description="the one Web UI origin allowed to call the codec server")
    codec_session_hours: float = Field(
        8.0, alias="TELECOM_CODEC_SESSION_HOURS",
        description=f"how long a codec server sign-in lasts, in hours (at most {MAX_SESSION_HOURS:g})")
    ui_url: str = Field(
        "http://localhost:8233", alias="TELECOM_UI_URL", description="the Web UI the demo links its cases to")
    archive_staff: dict[StaffId, ArchiveRole] | None = Field(
        None, alias="TELECOM_ARCHIVE_STAFF",
        description="who may use `telecom archive`, `staff:role,staff:role`; roles `agent` and `auditor` read with "
                    "personal data masked, `legal` reads it unmasked and places legal holds; unset: nobody "
                    "(docs/archive.md)")
    demo_run: str | None = Field(
        None, alias="TELECOM_DEMO_RUN", pattern=r"^[0-9]{1,20}$",
        description="the demo run's id (digits), whose subscriber `python -m starter.seed` added; unset: the "
                    "current time")

    _payload_keys: KeyRing | None = PrivateAttr(None)
    _id_hash_keys: HashKeyRing | None = PrivateAttr(None)

    @field_validator("archive_staff", mode="before")
    @classmethod
    def _staff_roles(cls, value: Any) -> Any:
        """`staff:role,staff:role` into a mapping; the field's type then checks each id and role."""
        if not isinstance(value, str):
            return value
        staff: dict[str, str] = {}
        for entry in value.split(","):
            member, colon, role = (part.strip() for part in entry.partition(":"))
            if not colon or not member or not role:
                raise ValueError("must be staff:role pairs separated by commas, e.g. h.li:agent,w.chen:legal")
            if member in staff:
                raise ValueError(f"{member} is given twice")
            staff[member] = role
        return staff

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("metrics_address", "codec_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _host_port(value)

    @field_validator("codec_allowed_origin", "ui_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        return _http_origin(value)

    @field_validator("policy_file", "calendar_file", "codec_key_file")
    @classmethod
    def _file(cls, value: Path | None) -> Path | None:
        return None if value is None else _existing_file(value)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        import sqlalchemy as sa  # here: the CLI, which has no database, starts faster without it

        try:
            sa.make_url(value.get_secret_value())
        except sa.exc.ArgumentError:  # its message quotes the URL, which may hold a password
            raise ValueError("not a database URL, e.g. sqlite:///telecom-service.db or "
                             "postgresql+psycopg://user@host/db") from None
        return value

    @field_validator("codec_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("codec_session_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> float:
        try:
            hours = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number of hours, e.g. 8") from None
        if not 0 < hours <= MAX_SESSION_HOURS:  # also refuses NaN
            raise ValueError(f"must be more than 0 and at most {MAX_SESSION_HOURS:g}")
        return hours

    @model_validator(mode="after")
    def _key_rings(self) -> Settings:
        """Both rings are parsed here, once; their errors name the variable and key ids only."""
        production = self.mode == "production"
        payload = KeyRing.configured(self.codec_keys.get_secret_value() if self.codec_keys else None,
                                     self.codec_key_file)
        if payload is None and production:
            raise KeyRingError("TELECOM_MODE=production needs a key ring: set TELECOM_CODEC_KEYS or "
                               "TELECOM_CODEC_KEY_FILE")
        self._payload_keys = payload
        if self.id_hash_key is not None:
            self._id_hash_keys = hash_keys(self.id_hash_key.get_secret_value(), production=production)
        return self

    @property
    def payload_keys(self) -> KeyRing | None:
        """The payload key ring; None: clear text (development only)."""
        return self._payload_keys

    @property
    def compress(self) -> bool:
        return self.codec_compression == "zlib"

    def data_converter(self) -> DataConverter:
        """The converter of this process's clients: its key ring, and compression as set."""
        return data_converter(self.payload_keys, compress=self.compress)

    def id_hash_keys(self) -> HashKeyRing:
        """The ID hash key ring, for the processes that hash (the worker, the demo's seeding): unset,
        production refuses (SettingsError) and development falls back to the public key, warned."""
        if self._id_hash_keys is not None:
            return self._id_hash_keys
        try:
            return hash_keys(None, production=True) if self.mode == "production" else development_keys()
        except HashKeyError as error:
            raise SettingsError(str(error)) from None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """The settings `environ` holds (a blank variable is unset); SettingsError lists every problem."""
        data = {name: environ[name].strip() for name in variables() if environ.get(name, "").strip()}
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise SettingsError("\n".join(_problems(error))) from None


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for e in error.errors(include_url=False, include_input=False, include_context=False):
        message = e["msg"].removeprefix("Value error, ")
        where = ": ".join(str(part) for part in e["loc"] if part != "[key]")  # a mapping's entry: its key
        problems.append(f"{where}: {message}" if where else message)
    return problems


def variables() -> dict[str, str]:
    """Variable name → field name."""
    return {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


def current() -> Settings:
    """The settings of this process, read from its environment; SettingsError lists every problem
    (for a program that reports it in its own way, e.g. `telecom -o json`)."""
    return Settings.from_environ(os.environ)


def load(program: str, status: int = 1) -> Settings:
    """The settings of this process, read from its environment: the entry points' one call. A bad
    value ends the program with exit `status` and the message on stderr, not a traceback."""
    try:
        return current()
    except SettingsError as error:
        print(error.for_program(program), file=sys.stderr)
        raise SystemExit(status) from None


def _shown_default(name: str) -> str:
    field = Settings.model_fields[name]
    default = field.default
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if default is None:
        return "none"
    return f"`{default:g}`" if isinstance(default, float) else f"`{default}`"


def readme_table() -> str:
    """The README's table of every product setting: variable, default, meaning."""
    return _table([(alias, _shown_default(name), Settings.model_fields[name].description or "")
                   for alias, name in variables().items()])


def readme_other_table() -> str:
    """The README's table of the variables that are not settings (`NOT_SETTINGS`)."""
    return _table([(name, "none" if default == "none" else f"`{default}`", meaning)
                   for name, (default, meaning) in NOT_SETTINGS.items()])


def _table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {default} | {meaning} |" for name, default, meaning in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(readme_table() + "\n" + readme_other_table())
