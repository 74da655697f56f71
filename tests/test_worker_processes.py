"""`telecom-worker --processes N`: N worker processes on one task queue under a supervisor. One of two
killed with SIGKILL mid-run is started again, and every case still ends with its records exactly
once: the same rows as a case of its type that ran with no kill. About 30 s on two busy cores: the
killed process's calls are given to the other after their 10 s heartbeat timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import worker
from activities.database import make_engine, upgrade
from activities.tables import Case, CaseEvent, Compensation, Notification, SlaEvent
from adapters.billing import BillingEntry, FinalBillRow
from adapters.provisioning import ProvisioningOrder
from edge import metrics
from edge.settings import SettingsError

from .conftest import binary, rows, seed
from .test_resilience import EXAMPLES, SHORT_WINDOWS, recorded, seed_cases

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"worker process (\d+) of (\d+) ready \(pid (\d+)\)")
TYPES = ("ApplicationReview", "ComplaintClosure", "FaultRepair", "TerminationCleanup")
"""Regular and local activities, updates, timers, compensations, bills."""


class Supervisor:
    """`telecom-worker --processes N` as in production; its children's pids from its log."""

    def __init__(self, address: str, database_url: str, log: Path, processes: int) -> None:
        self.queue = f"processes-{uuid.uuid4().hex[:8]}"
        self.log = log
        policy = log.with_name("policy.toml")
        policy.write_text(SHORT_WINDOWS, encoding="utf-8")
        environ = {**os.environ, "TEMPORAL_ADDRESS": address, "TELECOM_DATABASE_URL": database_url,
                   "TELECOM_TASK_QUEUE": self.queue, "TELECOM_POLICY_FILE": str(policy)}
        with open(log, "ab") as out:
            self.process = subprocess.Popen([binary("telecom-worker"), "--processes", str(processes)], cwd=ROOT,
                                            env=environ, stdout=out, stderr=subprocess.STDOUT)

    def ready(self) -> dict[int, list[int]]:
        """Worker process index → the pids it has been ready as, in order."""
        found: dict[int, list[int]] = {}
        for index, _, pid in READY.findall(self.log.read_text(errors="replace")):
            found.setdefault(int(index), []).append(int(pid))
        return found

    async def until(self, condition, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen\n{self.log.read_text(errors='replace')[-3000:]}")
            await asyncio.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def footprint(engine: sa.Engine, workflow_id: str) -> tuple:
    """Every row a case left, by its natural key: a row written twice, or lost, changes it."""
    bills = [b.account_id for b in rows(engine, FinalBillRow) if b.workflow_id == workflow_id]
    case = rows(engine, Case, workflow_id)
    return (
        [(c.state, c.closed_at is not None) for c in case],
        sorted(e.step for e in rows(engine, CaseEvent, workflow_id)),
        sorted(e.key for e in rows(engine, SlaEvent, workflow_id)),
        sorted((n.key, n.sent_at is not None) for n in rows(engine, Notification, workflow_id)),
        sorted((c.key, c.amount_fen) for c in rows(engine, Compensation, workflow_id)),
        sorted(o.status for o in rows(engine, ProvisioningOrder, workflow_id)),
        len(bills), sorted((e.key.replace(e.account_id, "…"), e.amount_fen)  # keys name the case's own account
                           for e in rows(engine, BillingEntry) if e.account_id in bills))


def batch(per_type: int, tag: str) -> list:
    return [(EXAMPLES[name], *EXAMPLES[name].numbered(n, tag)) for n in range(per_type) for name in TYPES]


async def drive(env, queue: str, cases: list) -> None:
    async def one(example, workflow_id, data):
        await example.drive(env, await env.client.start_workflow(example.workflow_type, data, id=workflow_id,
                                                                 task_queue=queue))
    await asyncio.gather(*(one(*case) for case in cases))


@pytest.mark.slow
async def test_one_of_two_worker_processes_killed_mid_run_every_case_ends_once(dev_server, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    seed(engine)
    killed, reference = batch(8, "K"), batch(1, "R")
    seed_cases(engine, killed + reference)
    workers = Supervisor(dev_server.client.service_client.config.target_host, database_url,
                         tmp_path / "worker.log", processes=2)
    try:
        await workers.until(lambda: len(workers.ready()) == 2, "both worker processes ready")
        driving = asyncio.create_task(drive(dev_server, workers.queue, killed))
        await recorded(engine, 2 * len(killed), driving)  # every case open, well into their paths
        os.kill(workers.ready()[1][0], signal.SIGKILL)
        # The reference cases run from here on with no kill: on the other process, then on both.
        await drive(dev_server, workers.queue, reference)
        await asyncio.wait_for(driving, timeout=180)
        await workers.until(lambda: len(workers.ready()[1]) == 2, "worker process 1 started again")
    finally:
        status = workers.stop()
    log = workers.log.read_text(errors="replace")
    assert status == 0
    assert re.search(r"worker process 1 \(pid \d+\) exited unexpectedly \(exit status -9\) .* restarting it in", log)
    expected = {example.workflow_type: footprint(engine, workflow_id) for example, workflow_id, _ in reference}
    assert all(shape[0] == [(shape[0][0][0], True)] for shape in expected.values())  # each reference case closed
    for example, workflow_id, _ in killed:
        assert footprint(engine, workflow_id) == expected[example.workflow_type], workflow_id
    engine.dispose()


@pytest.mark.slow
def test_a_worker_process_that_fails_at_start_stops_them_all(tmp_path):
    """No server at the address: the children cannot connect, and the supervisor does not restart
    them for ever but exits 1, as one process would."""
    with unanswered_address() as address:
        done = subprocess.run([binary("telecom-worker"), "--processes", "2"], capture_output=True, text=True,
                              timeout=120, cwd=ROOT, env={**os.environ, "TEMPORAL_ADDRESS": address,
                                                         "TELECOM_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    assert done.returncode == 1
    assert re.search(r"worker process \d \(pid \d+\) failed at start \(exit status 1\): stopping", done.stderr)


@contextlib.contextmanager
def unanswered_address() -> Iterator[str]:
    """A local address bound but not listening, for as long as it is held: connections are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{held.getsockname()[1]}"


@pytest.mark.parametrize("count", ["0", "65", "two"])
def test_the_process_count_is_bounded(count, capsys):
    with pytest.raises(SystemExit) as stopped:
        worker.main(argv=["--processes", count])
    assert stopped.value.code == 2
    assert "--processes: must be a whole number from 1 to 64" in capsys.readouterr().err


def test_each_worker_process_serves_metrics_on_its_own_port():
    assert [metrics.process_address("0.0.0.0:9464", i) for i in (1, 2, 3)] == \
        ["0.0.0.0:9464", "0.0.0.0:9465", "0.0.0.0:9466"]
    assert metrics.process_address(None, 2) is None
    with pytest.raises(SettingsError, match="TELECOM_METRICS_ADDRESS: port 65535 leaves no port for worker process 2"):
        metrics.process_address("127.0.0.1:65535", 2)
