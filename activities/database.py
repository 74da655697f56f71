"""Engine and schema: SQLite file by default, PostgreSQL by URL; the schema is Alembic's."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

DEFAULT_URL = "sqlite:///telecom-service.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url() -> str:
    return os.environ.get("TELECOM_DATABASE_URL", DEFAULT_URL)


def make_engine(url: str | None = None) -> sa.Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        # Activities run in threads: wait a while for the writer lock, then fail and be retried
        # (a longer outage shows in the log as retries, not as one silent hang).
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:  # pragma: no cover - trivial
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def upgrade(engine: sa.Engine, revision: str = "heads") -> None:
    """Create or upgrade the schema to `revision` with the project's Alembic migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
