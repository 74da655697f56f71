"""Crashes and outages: the worker runs as a separate process against the dev server and is
killed with SIGKILL mid-flight, or the database is locked for longer than the engine waits for a
lock; every case still finishes with each of its records exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.database import make_engine, upgrade
from activities.tables import Case, CaseEvent, Notification, SlaEvent

from .conftest import rows, seed
from .examples import CASE_EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
SHORT_WINDOWS = """
[fault]  # a repaired ticket would otherwise stay open 14 days for a late reopen
confirmation = "PT2S"  # nobody confirms (EXAMPLES): closed by default
reopen_window = "PT3S"
late_reopen_answered_for = "PT1S"

[termination]  # months of quarantine and retention, in seconds
personal_data_retention = "PT4S"
retention_minimums = []
quarantine = { source = "test", budget = "PT2S", warnings = [] }
equipment = { source = "test", budget = "PT3S", warnings = [] }
"""

EXAMPLES = {**CASE_EXAMPLES,
            "FaultRepair": replace(CASE_EXAMPLES["FaultRepair"], path=["assign_technician", "resolve"])}
"""The fault ticket is left unconfirmed and closes by default when its window ends: a confirmation
would race that window wherever a kill or the lock held it back, and a window long enough for it
(25 s) set the pace of every test here."""


class WorkerProcess:
    """`telecom-worker` in its own process, as in production."""

    def __init__(self, env: WorkflowEnvironment, database_url: str, log: Path) -> None:
        self.queue = f"resilience-{uuid.uuid4().hex[:8]}"
        policy = log.with_name("policy.toml")
        policy.write_text(SHORT_WINDOWS, encoding="utf-8")
        self.environ = {**os.environ, "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                        "TELECOM_DATABASE_URL": database_url, "TELECOM_TASK_QUEUE": self.queue,
                        "TELECOM_POLICY_FILE": str(policy)}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT,
                                            env=self.environ, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:  # it must die by our hand, not by itself
            raise AssertionError(f"the worker exited on its own:\n{self.log.read_text()[-3000:]}")
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


async def drive_all(env, worker, cases) -> None:
    async def drive(example, workflow_id, data):
        handle = await env.client.start_workflow(example.workflow_type, data, id=workflow_id,
                                                 task_queue=worker.queue)
        await example.drive(env, handle)
    await asyncio.gather(*(drive(*case) for case in cases))


def cases(total: int, tag: str):
    examples = list(EXAMPLES.values())
    for n in range(total):
        example = examples[n % len(examples)]
        yield (example, *example.numbered(n, tag))


def seed_cases(engine, expected) -> None:
    for example, _, data in expected:
        if example.seed:
            example.seed(engine, data)


def check_records(engine, expected: list) -> None:
    """Every case closed with the same records as every other case of its type (the same path was
    driven), no orphans, every notification sent. Duplicates would also break unique keys."""
    by_case = {c.workflow_id: c for c in rows(engine, Case)}
    assert sorted(by_case) == sorted(workflow_id for _, workflow_id, _ in expected)
    steps: dict[str, list[str]] = {}
    for event in rows(engine, CaseEvent):
        steps.setdefault(event.workflow_id, []).append(event.step)
    notes = Counter(n.workflow_id for n in rows(engine, Notification))
    reference: dict[str, tuple] = {}
    for example, workflow_id, _ in expected:
        assert by_case[workflow_id].closed_at is not None, workflow_id
        shape = (sorted(steps[workflow_id]), notes[workflow_id], by_case[workflow_id].state)
        assert reference.setdefault(example.workflow_type, shape) == shape, workflow_id
    for table in (CaseEvent, Notification, SlaEvent):
        assert {r.workflow_id for r in rows(engine, table)} <= set(by_case)  # no orphans
    assert all(n.sent_at is not None for n in rows(engine, Notification))


async def recorded(engine, at_least: int, driving: asyncio.Task, timeout: float = 120) -> None:
    """Until the records hold `at_least` events: a kill then lands mid-flight, however fast the machine."""
    deadline = time.monotonic() + timeout
    while len(rows(engine, CaseEvent)) < at_least:
        if driving.done() or time.monotonic() > deadline:
            raise AssertionError(f"only {len(rows(engine, CaseEvent))} events recorded, waited for {at_least}")
        await asyncio.sleep(0.2)


async def test_worker_killed_twice_loses_and_duplicates_nothing(dev_server, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    seed(engine)
    worker = WorkerProcess(dev_server, database_url, tmp_path / "worker.log")
    expected = list(cases(48, "K"))
    seed_cases(engine, expected)
    worker.start()
    try:
        driving = asyncio.create_task(drive_all(dev_server, worker, expected))
        for events in (len(expected), 3 * len(expected)):  # first records in; then well into the paths
            await recorded(engine, events, driving)
            worker.kill()
            await asyncio.sleep(1)
            worker.start()
        await asyncio.wait_for(driving, timeout=300)
    finally:
        worker.stop()
    check_records(engine, expected)
    engine.dispose()


LOCKED_FOR = 15
"""Seconds: longer than the 10 s the engine waits for SQLite's lock (activities.database), so
attempts fail with "database is locked" and are retried until it is free."""


async def test_database_locked_longer_than_the_lock_wait_then_every_case_completes_once(dev_server, tmp_path):
    path = tmp_path / "records.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine)
    worker = WorkerProcess(dev_server, f"sqlite:///{path}", tmp_path / "worker.log")
    expected = list(cases(20, "L"))
    seed_cases(engine, expected)
    worker.start()
    try:
        driving = asyncio.create_task(drive_all(dev_server, worker, expected))
        await recorded(engine, len(expected), driving)  # every case open, the next records on their way
        lock = sqlite3.connect(path, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        await asyncio.sleep(LOCKED_FOR)
        lock.rollback()
        lock.close()
        outage = time.monotonic() - locked_at
        await asyncio.wait_for(driving, timeout=180)
    finally:
        worker.stop()
    assert outage >= LOCKED_FOR
    check_records(engine, expected)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "database is locked" in log  # retries were visible, with the reason
    engine.dispose()
