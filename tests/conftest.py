"""Real engines only: the time-skipping test server (one per test, its clock is the test's) and a
real database migrated by Alembic."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.database import make_engine, upgrade
from adapters.inventory import seed_inventory
from adapters.network import seed_services
from models import search
from edge.codec import data_converter
from models.policy import Policy
from worker import build_worker

TEST_QUEUE = "telecom-service-test"


def seed(engine: sa.Engine) -> None:
    """The default adapters' outside-world state (coverage, number pool, network lines), as the demo
    seeds it."""
    seed_inventory(engine)
    seed_services(engine)


def binary(name: str) -> str:
    """A Temporal binary from its PyPI package (never downloaded): on PATH or beside this Python."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} not found: install the project with its test extra (pip install -e '.[test]')")
    return found


POSTGRES_URL = os.environ.get("TELECOM_TEST_POSTGRES_URL")
"""Set (by .ci/run, from scripts/postgres) to run every database test on PostgreSQL as well."""


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    """A fresh database migrated by Alembic: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
        upgrade(engine)
        seed(engine)
        yield engine
        engine.dispose()
        return
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    seed(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


async def register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in search.ALL}))


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
            data_converter=data_converter(),
            test_server_existing_path=binary("temporal-test-server")) as env:
        await register_search_attributes(env.client)
        yield env


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture
def complaints(env):
    from starter import Complaints
    return Complaints(env.client, task_queue=TEST_QUEUE)


@pytest.fixture
async def worker(env, engine, policy):
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE) as worker:
        yield worker


def rows(engine: sa.Engine, table, workflow_id: str | None = None) -> list:
    """All rows of a table (for one case), oldest first."""
    from sqlmodel import Session, select
    with Session(engine) as session:
        query = select(table)
        if workflow_id is not None:
            query = query.where(table.workflow_id == workflow_id)
        return list(session.exec(query).all())
