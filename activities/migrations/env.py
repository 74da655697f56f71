"""Alembic environment: runs on the connection handed over by `activities.database.upgrade`,
or on TELECOM_DATABASE_URL when called from the `alembic` command line."""

from alembic import context
from sqlmodel import SQLModel

from activities.database import make_engine
import activities.network  # noqa: F401  (registers the network tables)
import activities.termination  # noqa: F401  (registers the billing and termination tables)
import models.inventory_tables  # noqa: F401  (registers the inventory and provisioning tables)
from models.tables import UTCDateTime

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
    with make_engine().connect() as own:
        run(own)
        own.commit()
