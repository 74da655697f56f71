"""Throughput: N cases of each process driven to their end, each batch beside a floor batch of the
same shape and a minimal floor (start, the people's updates, completion), on a fresh worker per batch
so its CPU time and peak memory belong to that batch (quick: one worker for every batch, CPU time
still per batch). Then one process on 1 and on 2 worker processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError

from activities.database import make_engine, upgrade
from adapters.inventory import seed_inventory
from adapters.network import seed_services
from tests.examples import CASE_EXAMPLES, Example

from .floor import FLOOR_TYPE, MINIMAL_FLOOR_TYPE, FloorShape
from .measure import Counts, counts, first_record_at, median_counts, percentile
from .processes import DevServer, WorkerProcess

WINDOW = "PT1S"
LONG = timedelta(minutes=10)
"""RPC timeouts: an update or result under a saturated server waits in the queue, it is not lost."""
UPDATE_ATTEMPTS = 5
"""A saturated server answers an update it cannot yet hand to a worker with a deadline error (seen with
600 complaints at once on one worker process): the update is sent again, under the same id."""
BENCH_POLICY = f"""
# Windows that would keep a finished case open for days, shortened so every case ends in seconds.
[fault]
confirmation = "{WINDOW}"
reopen_window = "{WINDOW}"
late_reopen_answered_for = "{WINDOW}"

[termination]
personal_data_retention = "{WINDOW}"
retention_minimums = []
quarantine = {{ source = "benchmark", budget = "{WINDOW}", warnings = [] }}
equipment = {{ source = "benchmark", budget = "{WINDOW}", warnings = [] }}
"""
SCALING = "ComplaintClosure"
"""The process run on 1 and 2 worker processes: the most human steps, all of them local activities."""
PATHS = {"FaultRepair": ["assign_technician", "resolve"]}
"""The repaired ticket closes by deemed confirmation: the reopen window cannot end before the
confirmation window (a policy check), and a window short enough to end the case soon is too short
for a confirmation sent under full load to be sure to arrive in it."""


@dataclass
class Case:
    workflow_type: str
    workflow_id: str
    input: Any
    updates: list[tuple[str, dict[str, Any]]]
    record_activity: str | None
    started: float = 0.0


@dataclass
class Batch:
    cases: list[Case]
    seed: list[tuple[Example, dict[str, Any]]] = field(default_factory=list)
    timed: bool = True
    """Its cases run activities: the first one's completion is timed (the minimal floor runs none)."""

    def put_in_place(self, engine: sa.Engine) -> None:
        """The outside-world state its cases need (e.g. the accounts to terminate)."""
        for example, data in self.seed:
            assert example.seed is not None
            example.seed(engine, data)


def process_batch(example: Example, n: int, tag: str) -> Batch:
    cases, seeds = [], []
    for i in range(n):
        workflow_id, data = example.numbered(i, tag)
        cases.append(Case(example.workflow_type, workflow_id, data,
                          [(u, example.updates[u]) for u in PATHS.get(example.workflow_type, example.path)],
                          "record_transition"))
        if example.seed:
            seeds.append((example, data))
    return Batch(cases, seeds)


def floor_batch(shape: FloorShape, n: int, tag: str) -> Batch:
    return Batch([Case(FLOOR_TYPE, f"floor-{tag}{i:04d}", shape.model_dump(mode="json"),
                       [("step", {"n": k}) for k in range(shape.updates)], None) for i in range(n)])


def minimal_batch(updates: int, n: int, tag: str) -> Batch:
    return Batch([Case(MINIMAL_FLOOR_TYPE, f"minimal-{tag}{i:04d}", updates,
                       [("step", {"n": k}) for k in range(updates)], None) for i in range(n)], timed=False)


def floor_shape(c: Counts) -> FloorShape:
    return FloorShape(activities=round(c.activities), local_activities=round(c.local_activities),
                      updates=round(c.updates), timers_fired=round(c.timers_fired),
                      timers_canceled=round(c.timers_canceled), timer=c.fired_timer_s or 1)


async def _drive(client: Client, queue: str, case: Case) -> None:
    case.started = time.time()
    handle = await client.start_workflow(case.workflow_type, case.input, id=case.workflow_id, task_queue=queue)
    for step, (name, argument) in enumerate(case.updates):
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                # The update's id makes a resend the same update, whether or not the first one got in.
                await handle.execute_update(name, argument, id=f"{case.workflow_id}-{step}", rpc_timeout=LONG)
                break
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                if attempt == UPDATE_ATTEMPTS - 1:
                    raise
    await handle.result(rpc_timeout=LONG)


async def run_batch(client: Client, server: DevServer, engine: sa.Engine, batch: Batch,
                    worker: WorkerProcess, driven: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """`driven` is called once the batch's measures are taken (the next batch's worker may start)."""
    batch.put_in_place(engine)
    worker_before, server_before = worker.usage(), server.usage()
    began = time.time()
    await asyncio.gather(*(_drive(client, worker.queue, case) for case in batch.cases))
    wall = time.time() - began
    worker_after, server_after = worker.usage(), server.usage()
    driven()
    limit = asyncio.Semaphore(16)

    async def history(case: Case):
        async with limit:
            return await client.get_workflow_handle(case.workflow_id).fetch_history()
    histories = await asyncio.gather(*(history(case) for case in batch.cases))
    latencies = [first_record_at(h, case.record_activity) - case.started
                 for h, case in zip(histories, batch.cases, strict=True)] if batch.timed else []
    per_case = median_counts([counts(h) for h in histories])
    n = len(batch.cases)
    # All cases start at once and move in step, so they finish in a burst: the honest rate is the
    # whole batch over the whole time, queueing included.
    return {"cases": n, "wall_s": round(wall, 2), "cases_per_s": round(n / wall, 2),
            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in per_case.as_dict().items()},
            **({"first_record_p50_ms": round(percentile(latencies, 50) * 1000),
                "first_record_p99_ms": round(percentile(latencies, 99) * 1000)} if latencies else {}),
            "worker_cpu_s": round(worker_after.cpu_s - worker_before.cpu_s, 2),
            "worker_cpu_ms_per_case": round((worker_after.cpu_s - worker_before.cpu_s) / n * 1000, 1),
            "worker_peak_rss_mb": round(worker_after.peak_rss_mb),
            "server_cpu_s": round(server_after.cpu_s - server_before.cpu_s, 2),
            "server_cpu_ms_per_case": round((server_after.cpu_s - server_before.cpu_s) / n * 1000, 1)}


def fresh_database(kind: str, work: Path, postgres_url: str | None) -> tuple[sa.Engine, str, sa.Engine | None]:
    """(engine, its URL, the admin engine to drop it with), migrated and seeded."""
    admin = None
    if kind == "sqlite":
        url = f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        assert postgres_url
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    seed_inventory(engine)
    seed_services(engine)
    return engine, url, admin


def drop_database(engine: sa.Engine, admin: sa.Engine | None) -> None:
    engine.dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{engine.url.database}" WITH (FORCE)'))
        admin.dispose()


class Workers:
    """The worker each batch runs on: a fresh one per batch, or in quick mode one for every batch of
    one worker process (its peak memory is then the run's so far). A fresh one-process worker starts
    while the batch before is being read, after its measures: the run does not wait for it."""

    def __init__(self, server: DevServer, url: str, policy_file: Path, keys: str, log: Path, quick: bool) -> None:
        self.start = lambda processes=1, spawned=False: WorkerProcess(server, url, policy_file, keys, log, processes,
                                                                      spawned=spawned)
        self.shared = self.start() if quick else None
        self.next: WorkerProcess | None = None

    async def run(self, client: Client, server: DevServer, engine: sa.Engine, batch: Batch,
                  processes: int | None = None) -> dict[str, Any]:
        """`processes`: on a fresh worker of that many processes, even in quick mode."""
        if self.shared is not None and processes is None:
            return await run_batch(client, server, engine, batch, self.shared)
        worker = self._take() if (processes or 1) == 1 else self.start(processes)
        try:
            return await run_batch(client, server, engine, batch, worker, driven=self._spawn_next)
        finally:
            worker.stop()

    def _take(self) -> WorkerProcess:
        worker, self.next = self.next, None
        if worker is None:
            return self.start()
        worker.ready()
        return worker

    def _spawn_next(self) -> None:
        if self.shared is None and self.next is None:
            self.next = self.start(spawned=True)

    def stop(self) -> None:
        for worker in (self.shared, self.next):
            if worker is not None:
                worker.stop()


async def run_database(kind: str, client: Client, server: DevServer, n: int, work: Path, keys: str,
                       postgres_url: str | None, shapes: dict[str, FloorShape] | None, *, quick: bool = False,
                       scaling_cases: int = 0, progress=print) -> tuple[dict[str, Any], dict[str, FloorShape]]:
    """Every process beside its floor and minimal floor on one database, then (`scaling_cases`) one
    process on 1 and on 2 worker processes. Shapes come from a warm-up batch of each process unless
    given (so every database's floor has the same shape)."""
    policy_file = work / "policy.toml"
    policy_file.write_text(BENCH_POLICY, encoding="utf-8")
    engine, url, admin = fresh_database(kind, work, postgres_url)
    tag = kind[0].upper()
    results: dict[str, Any] = {}
    workers = Workers(server, url, policy_file, keys, work / f"worker-{kind}.log", quick)
    try:
        if shapes is None:
            shapes = {}
            for name, example in CASE_EXAMPLES.items():
                warm = await workers.run(client, server, engine, process_batch(example, 4 if quick else 8, f"{tag}W"))
                shapes[name] = floor_shape(Counts(**{k: warm[k] for k in Counts.__dataclass_fields__}))
        for name, example in CASE_EXAMPLES.items():
            progress(f"{kind}: {name}, its floor and its minimal floor ({n} cases each)")
            floor = await workers.run(client, server, engine, floor_batch(shapes[name], n, f"{tag}{name[:2]}"))
            minimal = await workers.run(client, server, engine,
                                        minimal_batch(shapes[name].updates, n, f"{tag}{name[:2]}"))
            process = await workers.run(client, server, engine, process_batch(example, n, f"{tag}B"))
            results[name] = {"process": process, "floor": floor, "minimal_floor": minimal,
                             "ratio_to_floor": round(process["cases_per_s"] / floor["cases_per_s"], 2),
                             "ratio_to_minimal_floor": round(process["cases_per_s"] / minimal["cases_per_s"], 2)}
            progress(f"  {process['cases_per_s']} cases/s vs floor {floor['cases_per_s']} "
                     f"(minimal {minimal['cases_per_s']}): {results[name]['ratio_to_floor']}×; events "
                     f"{process['events']} vs {floor['events']} ({minimal['events']}); history bytes "
                     f"{process['history_bytes']} vs {floor['history_bytes']} ({minimal['history_bytes']})")
        if scaling_cases:
            results["worker_processes"] = await _scaling(client, server, engine, workers, scaling_cases, tag, progress)
    finally:
        workers.stop()
        drop_database(engine, admin)
    return results, shapes


async def _scaling(client: Client, server: DevServer, engine: sa.Engine, workers: Workers, n: int, tag: str,
                   progress) -> dict[str, Any]:
    """SCALING's cases on 1, then on 2 worker processes, each a fresh `telecom-worker --processes`."""
    runs: dict[str, Any] = {"process": SCALING, "cases": n}
    for processes in (1, 2):
        progress(f"  {SCALING} on {processes} worker process(es) ({n} cases)")
        runs[str(processes)] = await workers.run(client, server, engine,
                                                 process_batch(CASE_EXAMPLES[SCALING], n, f"{tag}P{processes}"),
                                                 processes)
    runs["speedup"] = round(runs["2"]["cases_per_s"] / runs["1"]["cases_per_s"], 2)
    progress(f"  {runs['1']['cases_per_s']} cases/s on 1 process, {runs['2']['cases_per_s']} on 2: "
             f"{runs['speedup']}×")
    return runs
