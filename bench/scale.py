"""Scale: many open cases waiting on their timers (the built-in policy: days and months), the
memory that costs the worker and the server, and how fast a sample of them moves on meanwhile."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.converter import DataConverter

from activities.calendar import CalendarOverrides, WorkingCalendar
from activities.calendar_versions import CalendarVersions
from activities.tables import Case as CaseRow
from models.calendar import WORKFLOW_TYPE, CalendarChangeInput, CalendarChangeStatus, workflow_id
from tests.examples import CASE_EXAMPLES

from .measure import percentile
from .processes import DevServer, WorkerProcess
from .throughput import LONG, drop_database, fresh_database, process_batch

OPENING = 200
"""Cases starting at once: new cases arrive as a steady stream, not as one burst of 10,000."""


def _opened(engine: sa.Engine, workflow_ids: set[str]) -> set[str]:
    """Which of these cases have their first record in the database."""
    with Session(engine) as session:
        return set(session.exec(select(CaseRow.workflow_id).where(CaseRow.workflow_id.in_(workflow_ids))).all())


async def _calendar_rollout(client: Client, engine: sa.Engine, queue: str, progress) -> dict[str, Any]:
    """Publish a calendar version that makes the next working day a day off (docs/calendar.md) and time
    its rollout to every open case: the applications' review clocks move, the other cases are told."""
    calendar = WorkingCalendar("Asia/Shanghai")
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    began = time.time()
    version, first_day = CalendarVersions(engine).publish(CalendarOverrides(holidays=frozenset([day])),
                                                          "benchmark", datetime.now(UTC))
    assert first_day is not None
    handle = await client.start_workflow(WORKFLOW_TYPE, CalendarChangeInput(version=version, first_day=first_day),
                                         id=workflow_id(version), task_queue=queue, result_type=CalendarChangeStatus)
    result = await handle.result()
    wall = time.time() - began
    progress(f"scale: calendar v{version} told {result.told} cases ({result.moved} moved) in {wall:.0f} s")
    return {"calendar_told": result.told, "calendar_moved": result.moved, "calendar_failed": len(result.failed),
            "calendar_rollout_s": round(wall, 1), "calendar_told_per_s": round(result.told / wall, 1)}


def _sample_updates(workflow_type: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    example = CASE_EXAMPLES[workflow_type]
    if example.path:
        return [(u, example.updates[u]) for u in example.path]
    # A termination ends on its own months later; moving it on means the modem comes back (this
    # copy's modem: the example's seeding names it after the account).
    returned = {**example.updates["record_equipment_return"], "serials": [f"ONT-{data['account_id']}"]}
    return [("record_equipment_return", returned)]


async def run_scale(total: int, sample: int, work: Path, keys: str, converter: DataConverter,
                    progress=print) -> dict[str, Any]:
    server = DevServer(work / "scale-server.log")
    engine, url, admin = fresh_database("sqlite", work, None)
    worker = None
    try:
        batches = [process_batch(example, total // len(CASE_EXAMPLES), "K")
                   for example in CASE_EXAMPLES.values()]
        for batch in batches:
            batch.put_in_place(engine)
        cases = [case for batch in batches for case in batch.cases]
        worker = WorkerProcess(server, url, None, keys, work / "worker-scale.log")
        client = await Client.connect(server.address, data_converter=converter)
        progress(f"scale: starting {len(cases)} cases, {OPENING} at a time")
        began = time.time()
        waiting, opening = list(reversed(cases)), set()
        while waiting or opening:
            batch = [waiting.pop() for _ in range(min(OPENING - len(opening), len(waiting)))]
            await asyncio.gather(*(client.start_workflow(c.workflow_type, c.input, id=c.workflow_id,
                                                         task_queue=worker.queue) for c in batch))
            opening |= {c.workflow_id for c in batch}
            await asyncio.sleep(0.25)
            opening -= _opened(engine, opening)
        opened = time.time() - began
        progress(f"scale: {len(cases)} open in {opened:.0f} s")
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
        rollout = await _calendar_rollout(client, engine, worker.queue, progress)
        return {**rollout, "cases": len(cases), "opening_at_once": OPENING, "all_open_s": round(opened, 1),
                "opened_per_s": round(len(cases) / opened, 1),
                "waiting_worker_rss_mb": round(waiting_worker.rss_mb),
                "waiting_server_rss_mb": round(waiting_server.rss_mb),
                "worker_peak_rss_mb": round(after.peak_rss_mb),
                "sample": len(chosen), "sample_wall_s": round(drive_wall, 1),
                "sample_case_p50_ms": round(percentile(times, 50) * 1000),
                "sample_case_p99_ms": round(percentile(times, 99) * 1000)}
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        drop_database(engine, admin)
