"""Alembic on both databases: a schema created by the first migration upgrades to the newest with
its rows intact, and the newest schema is exactly what the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

# Imported for their tables: those of every migration, as env.py registers them.
import activities.archive
import activities.archive_purge
import activities.termination  # noqa: F401
import adapters.billing
import adapters.inventory
import adapters.network
import adapters.provisioning  # noqa: F401
from activities.database import MIGRATIONS, upgrade
from activities.tables import Case

pytestmark = pytest.mark.postgres  # the database is the point: SQLite and PostgreSQL


def _alembic(engine: sa.Engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def test_a_database_of_the_first_migration_upgrades_to_the_newest(engine):
    _alembic(engine, command.downgrade, "0001")  # the fixture's database, back to the first schema
    assert not sa.inspect(engine).has_table("networkservice")
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(Case(workflow_id="complaint-OLD", run_id="r1", case_type="complaint", state="closed",
                         opened_at=now, updated_at=now))
        session.commit()
    upgrade(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"networkservice", "poolnumber", "billingaccount", "case"} <= tables
    with Session(engine) as session:
        assert session.get(Case, "complaint-OLD").state == "closed"


def test_the_newest_schema_matches_the_models(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], "write a migration for these model changes"
