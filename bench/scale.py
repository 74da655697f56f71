"""Scale: many open cases waiting on their timers (the built-in policy: days and months), the
memory that costs the worker and the server, and how fast a sample of them moves on meanwhile."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select
from temporalio.client import Client
from temporalio.converter import DataConverter

from models.tables import Case as CaseRow
from tests.examples import EXAMPLES

from .measure import percentile
from .processes import DevServer, WorkerProcess
from .throughput import LONG, drop_database, fresh_database, process_batch


def _opened(engine: sa.Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CaseRow)).one()


def _sample_updates(workflow_type: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    example = EXAMPLES[workflow_type]
    if example.path:
        return [(u, example.updates[u]) for u in example.path]
    # A termination ends on its own months later; moving it on means the modem comes back.
    return [("record_equipment_return", {"serials": [f"ONT-{data['account_id']}"], "actor": "store.qian"})]


async def run_scale(total: int, sample: int, work: Path, keys: str, converter: DataConverter,
                    progress=print) -> dict[str, Any]:
    server = DevServer(work / "scale-server.log")
    engine, url, admin = fresh_database("sqlite", work, None)
    worker = None
    try:
        batches = [process_batch(example, total // len(EXAMPLES), "K") for example in EXAMPLES.values()]
        for batch in batches:
            for example, data in batch.seed:
                assert example.seed is not None
                example.seed(engine, data)
        cases = [case for batch in batches for case in batch.cases]
        worker = WorkerProcess(server, url, None, keys, work / "worker-scale.log")
        client = await Client.connect(server.address, data_converter=converter)
        limit = asyncio.Semaphore(100)

        async def start(case) -> None:
            async with limit:
                await client.start_workflow(case.workflow_type, case.input, id=case.workflow_id,
                                            task_queue=worker.queue)
        progress(f"scale: starting {len(cases)} cases")
        began = time.time()
        await asyncio.gather(*(start(case) for case in cases))
        started = time.time() - began
        while _opened(engine) < len(cases):  # each case's first record is in the database
            await asyncio.sleep(0.5)
        opened = time.time() - began
        progress(f"scale: {len(cases)} started in {started:.0f} s, all opened in {opened:.0f} s")
        await asyncio.sleep(10)  # settled: every case waits on its timers
        waiting_worker, waiting_server = worker.usage(), server.usage()

        per_process = max(sample // len(batches), 1)
        chosen = [case for batch in batches for case in batch.cases[:per_process]]
        times: list[float] = []

        async def move_on(case) -> None:
            handle = client.get_workflow_handle(case.workflow_id)
            began = time.time()
            for name, argument in _sample_updates(case.workflow_type, case.input):
                await handle.execute_update(name, argument, rpc_timeout=LONG)
            times.append(time.time() - began)
        began = time.time()
        await asyncio.gather(*(move_on(case) for case in chosen))
        drive_wall = time.time() - began
        after = worker.usage()
        return {"cases": len(cases), "start_s": round(started, 1), "all_opened_s": round(opened, 1),
                "started_per_s": round(len(cases) / opened, 1),
                "waiting_worker_rss_mb": round(waiting_worker.rss_mb), "waiting_server_rss_mb": round(waiting_server.rss_mb),
                "worker_peak_rss_mb": round(after.peak_rss_mb),
                "sample": len(chosen), "sample_wall_s": round(drive_wall, 1),
                "sample_case_p50_ms": round(percentile(times, 50) * 1000),
                "sample_case_p99_ms": round(percentile(times, 99) * 1000)}
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        drop_database(engine, admin)
