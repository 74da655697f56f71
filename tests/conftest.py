"""Fixtures of the integration tests: real engines. (The fast workflow tests replace the
activities with fakes instead: tests/fakes.py.)

Temporal: `env` is a time-skipping test server of the test's own (its clock is the test's: the
tests sleep and assert absolute times on it), spawned while the previous test ran
(tests/time_skipping.py).

Databases: `engine` is a fresh database migrated by Alembic and seeded with the default adapters'
outside world, copied from a template built once per session (and per xdist worker): a SQLite file
copied, a PostgreSQL `CREATE DATABASE … TEMPLATE`. Every test that takes it runs on SQLite.

Which tests also run on PostgreSQL: those marked `postgres` (a test, or a whole module with
`pytestmark = pytest.mark.postgres`), when TELECOM_TEST_POSTGRES_URL is set (.ci/run sets it; CI
refuses to run without it, so no PostgreSQL test is skipped there). Mark a test `postgres` where the
database is the point: the record layer and its idempotency, migrations, concurrency, erasure,
database errors, one end-to-end case per process. Workflow logic (states, clocks, refusals) does not
depend on the engine: it runs on SQLite only, and its branches are covered fast with fakes.

Parallel runs: `scripts/test` runs pytest-xdist, a worker per core (`-n auto`; add `-n 0` for one
process, e.g. with -s or --pdb). A module whose tests share the deployed stack of tests/cli_harness.py
(module-scoped) runs whole on one worker (`pytest_xdist_make_scheduler` below); the slow tests start
first; every other test takes its own ports, files and databases.

Slow (`-m "not slow"` leaves them out; CI runs them): crash and outage tests, and every test that
runs the system, or a part of it, as processes: a dev server, a CLI, the installed worker, Chromium
(the fixtures of AS_PROCESSES are marked here)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import sqlalchemy as sa
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from models.policy import Policy

    from .time_skipping import Spares

# The project and its engines are imported where a fixture needs them, not here: the xdist controller
# loads this file too, before it starts the workers, and runs no test.

TEST_QUEUE = "telecom-service-test"


def seed(engine: sa.Engine) -> None:
    """The default adapters' outside-world state (coverage, number pool, network lines), as the demo
    seeds it."""
    from adapters.inventory import seed_inventory
    from adapters.network import seed_services
    seed_inventory(engine)
    seed_services(engine)


def binary(name: str) -> str:
    """A Temporal binary from its PyPI package (never downloaded): on PATH or beside this Python."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} not found: install the project with its test extra (pip install -e '.[test]')")
    return found


POSTGRES_URL = os.environ.get("TELECOM_TEST_POSTGRES_URL")
"""Set (by .ci/run, from scripts/postgres) to run the tests marked `postgres` on PostgreSQL as well."""
ENGINES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not POSTGRES_URL and not config.option.collectonly:
        raise pytest.UsageError("CI is set but TELECOM_TEST_POSTGRES_URL is not: the tests marked `postgres` "
                                "would run on SQLite only (.ci/run starts scripts/postgres)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`engine` is SQLite for every test, and PostgreSQL too for the tests marked `postgres`."""
    if "engine" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("postgres") is not None
        metafunc.parametrize("engine", ENGINES if both else ["sqlite"], indirect=True)


AS_PROCESSES = {"browser", "dev", "bare_dev", "dev_server"}
"""Fixtures that start a real Temporal dev server (and with `browser`, its Web UI, Chromium and the
codec server): a test that takes one runs the system as processes, so it is slow. A test that starts
processes itself says so with its own `slow` mark."""


def pytest_itemcollected(item: pytest.Item) -> None:
    """Set as the test is collected, before `-m` selects."""
    if AS_PROCESSES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.slow)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(mark.name == "postgres" for mark in item.own_markers) and "engine" not in item.fixturenames:
            raise pytest.UsageError(f"{item.nodeid} is marked postgres but takes no `engine`")
    # In parallel, the long tests start first. The controller schedules the order its xdist workers
    # collected (`workerinput` marks one; `numprocesses` is unset there).
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Tests go to the xdist workers one by one, except that a module sharing a deployed stack
    (tests/cli_harness.py's module-scoped `stack`) runs whole on one worker: its stack starts once.
    (xdist's `xdist_group` marker cannot do it under pytest 9: it rewrites a node id that pytest
    no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class OneStackPerModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if _shares_a_stack(config.rootpath / module) else nodeid

    return OneStackPerModule(config, log)


STACK_IMPORT = re.compile(r"^from \.cli_harness import [^\n]*\bstack\b", re.MULTILINE)


@functools.cache
def _shares_a_stack(path: Path) -> bool:
    return path.suffix == ".py" and path.is_file() and STACK_IMPORT.search(path.read_text(encoding="utf-8")) is not None


SECRET = re.compile(r"[A-Za-z0-9+/]{43}=")
"""A 32-byte key in base64 (the tests make random ones)."""


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Test ids never show a key: they stay the same from run to run, as xdist needs (its workers
    must collect the same tests)."""
    if isinstance(val, str) and SECRET.search(val):
        return SECRET.sub("<key>", val)
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated and seeded once; each test's database is a copy of it."""
    from activities.database import make_engine, upgrade
    path = tmp_path_factory.mktemp("template") / "records.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated and seeded once, the template of each test's database."""
    import sqlalchemy as sa

    from activities.database import make_engine, upgrade
    assert POSTGRES_URL is not None
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"template_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_database_url(name))
    upgrade(engine)
    seed(engine)
    engine.dispose()  # a template takes no connections while it is copied
    yield name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _database_url(name: str) -> str:
    import sqlalchemy as sa
    assert POSTGRES_URL is not None
    return sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    """A fresh database migrated by Alembic and seeded: a SQLite file, or a new PostgreSQL database."""
    import sqlalchemy as sa

    from activities.database import make_engine
    if request.param == "sqlite":
        path = tmp_path / "records.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    template = request.getfixturevalue("postgres_template")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine = make_engine(_database_url(name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


async def register_search_attributes(client: Client) -> None:
    """What `telecom setup-server` does."""
    from edge import search_attributes
    await search_attributes.register(client)


@pytest.fixture(scope="session")
def test_servers() -> Iterator[Spares]:
    from .time_skipping import Spares
    spares = Spares(binary("temporal-test-server"))
    yield spares
    spares.close()


@pytest.fixture
async def env(test_servers: Spares) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own, spawned while the previous test ran."""
    from edge.codec import data_converter
    async with await test_servers.environment(data_converter()) as env:
        await register_search_attributes(env.client)
        yield env


@pytest.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server of the test's own (real time), for workers run as processes."""
    from temporalio.testing import WorkflowEnvironment

    from edge.codec import data_converter
    async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary("temporal"), data_converter=data_converter()) as env:
        await register_search_attributes(env.client)
        yield env


@pytest.fixture
def policy() -> Policy:
    from models.policy import Policy
    return Policy()


@pytest.fixture
def complaints(env):
    from starter import Complaints
    return Complaints(env.client, task_queue=TEST_QUEUE)


@pytest.fixture
async def worker(env, engine, policy):
    from worker import build_worker
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
