"""Engine and schema: a SQLite file or PostgreSQL, by URL (TELECOM_DATABASE_URL, edge.settings); the
schema is Alembic's."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        # Activities run in threads: wait a while for the writer lock, then fail and be retried
        # (a longer outage shows in the log as retries, not as one silent hang).
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False},
                                  hide_parameters=True)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:  # pragma: no cover - trivial
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted and overwritten values are zeroed in their pages, not left in free space.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)
    sa.event.listen(engine, "handle_error", _primary_message_only)
    return engine


def _primary_message_only(context: sa.engine.ExceptionContext) -> Exception | None:
    """PostgreSQL's DETAIL quotes values ("Failing row contains (…)", "Key (…)=(…)"), and both
    SQLAlchemy's message and the chained driver error print it: keep the primary message, which
    names the table, column or constraint only."""
    error, wrapped = context.original_exception, context.sqlalchemy_exception
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    if not isinstance(wrapped, sa.exc.DBAPIError) or primary is None:
        return None
    error.args = (primary,)
    return type(wrapped)(wrapped.statement, wrapped.params, error, hide_parameters=True,
                         connection_invalidated=wrapped.connection_invalidated)


def checkpoint_wal(engine: sa.Engine) -> None:
    """After an erasure: copy SQLite's WAL into the database and truncate it, so the page images
    that still hold erased values leave the -wal file. Raises while readers or another checkpoint
    keep it from completing, so the erasure activity is retried. PostgreSQL keeps old row versions
    until VACUUM (README)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        raise RuntimeError("the SQLite WAL checkpoint after the erasure did not complete: other connections "
                           "are reading or checkpointing; retried")


def upgrade(engine: sa.Engine, revision: str = "heads") -> None:
    """Create or upgrade the schema to `revision` with the project's Alembic migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
