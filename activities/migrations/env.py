"""Alembic environment: runs on the connection handed over by `activities.database.upgrade`,
or on TELECOM_DATABASE_URL when called from the `alembic` command line."""

from alembic import context
from sqlmodel import SQLModel

# Imported for their tables: the record layer's, the archive's access log and purge certificates, the termination
# claim and erasure tables, the default adapters'.
import activities.archive
import activities.archive_purge
import activities.tables
import activities.termination  # noqa: F401
import adapters.billing
import adapters.inventory
import adapters.network
import adapters.provisioning  # noqa: F401
from activities.database import make_engine
from edge.settings import load
from edge.sql import UTCDateTime

config = context.config
connection = config.attributes.get("connection")


def render_item(type_, obj, _context):
    """Migrations stand alone: render our UTC wrapper as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=SQLModel.metadata,
                      render_as_batch=True, compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    with make_engine(load("alembic").database_url.get_secret_value()).connect() as own:
        run(own)
        own.commit()
