"""Service change at scale: a planned-works change over N lines (default 100,000), from approval until
every line is told, with the worker's memory before and after (docs/processes.md § Service change)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.converter import DataConverter

from adapters.network import seed_subscribed_lines
from models.change import ApproveChange, ChangeInput, ChangeStatus

from .processes import DevServer, WorkerProcess
from .throughput import drop_database, fresh_database


async def run_change(lines: int, work: Path, keys: str, converter: DataConverter, progress=print) -> dict[str, Any]:
    server = DevServer(work / "change-server.log")
    engine, url, admin = fresh_database("sqlite", work, None)
    worker = None
    try:
        began = time.time()
        seed_subscribed_lines(engine, [(f"L{n:07d}", "rural", "fixed_line", f"CUST-{n % 50_000}")
                                       for n in range(lines)])
        progress(f"change: {lines} lines seeded in {time.time() - began:.0f} s")
        worker = WorkerProcess(server, url, None, keys, work / "worker-change.log")
        client = await Client.connect(server.address, data_converter=converter)
        before = worker.usage()
        start = time.time()
        window = datetime.now(UTC) + timedelta(days=10)
        change = ChangeInput(change_id="BENCH", kind="planned_works",
                             scope={"region": "rural", "service_type": "fixed_line"}, window_start=window,
                             window_end=window + timedelta(hours=4), reason="bench", approver="noc.chief",
                             requested_by="noc.wu")
        handle = await client.start_workflow("ServiceChange", change, id=change.workflow_id, task_queue=worker.queue,
                                             result_type=ChangeStatus)
        status = await _until(handle, lambda s: s.impact is not None)
        assessed = time.time() - start
        await handle.execute_update("approve", ApproveChange(actor="noc.chief"), result_type=ChangeStatus)
        approved = time.time()
        status = await _until(handle, lambda s: bool(s.notices) and s.notices[0].done)
        told = time.time() - approved
        after = worker.usage()
        history = await handle.fetch_history()
        progress(f"change: {status.notices[0].lines} lines told in {told:.0f} s")
        return {"lines": lines, "assessment_s": round(assessed, 1), "notice_s": round(told, 1),
                "lines_per_s": round(status.notices[0].lines / told), "told": status.notices[0].lines,
                "worker_rss_before_mb": round(before.rss_mb), "worker_peak_rss_mb": round(after.peak_rss_mb),
                "history_events": len(history.events)}
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        drop_database(engine, admin)


async def _until(handle, done, timeout: float = 3600) -> ChangeStatus:
    for _ in range(int(timeout / 0.5)):
        status = await handle.query("status", result_type=ChangeStatus)
        if done(status):
            return status
        await asyncio.sleep(0.5)
    raise TimeoutError("the change did not get there")
