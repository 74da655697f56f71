"""Demo: drive one case of each process end to end through the typed API, printing every step and
the case's Web UI link. Needs a running server and worker (scripts/run starts both):
`python -m starter.demo`. Connection as the worker (TEMPORAL_ADDRESS, ...); TELECOM_TASK_QUEUE;
TELECOM_UI_URL (default http://localhost:8233) for the links.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle

from models.common import TASK_QUEUE
from models.complaint import (AssignHandler, ComplaintInput, ComplaintStatus, ConfirmReply, RecordFindings,
                              SendReply, SubmitClosure)

from .api import Complaints, connect

PICKUP_TIMEOUT = 30.0


class DemoFailed(Exception):
    pass


class Demo:
    """What every process demo shares: the client, the task queue, a unique run id, printing."""

    def __init__(self, client: Client, task_queue: str, ui_url: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.ui_url = ui_url.rstrip("/")
        self.run_id = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]

    def url(self, workflow_id: str) -> str:
        return f"{self.ui_url}/namespaces/{self.client.namespace}/workflows/{workflow_id}"

    @staticmethod
    def step(label: str, status: BaseModel) -> None:
        state, awaiting = getattr(status, "state", "?"), getattr(status, "awaiting", None)
        print(f"  {label:<16} state={state}" + (f", awaiting {awaiting}" if awaiting else ""), flush=True)

    async def started(self, handle: WorkflowHandle) -> None:
        """Print the case, then wait until a worker has taken its first task: without a worker the first
        update would wait forever. Polls describe(), which answers at once (a query would block)."""
        print(f"  started          {handle.id}\n  web UI           {self.url(handle.id)}", flush=True)
        deadline = time.monotonic() + PICKUP_TIMEOUT
        while (await handle.describe()).history_length < 3:  # event 3 is WorkflowTaskStarted
            if time.monotonic() > deadline:
                raise DemoFailed(f"no worker picked up {handle.id} within {PICKUP_TIMEOUT:.0f} s: is "
                                 f"telecom-worker running on task queue {self.task_queue!r}? (the case stays "
                                 "open and continues when a worker starts)")
            await asyncio.sleep(0.2)

    async def finished(self, handle: WorkflowHandle, result: BaseModel) -> None:
        events = (await handle.describe()).history_length
        self.step("final", result)
        print(f"  history          {events} events\n", flush=True)


async def complaint(demo: Demo) -> None:
    """ComplaintClosure, happy path: assign, findings, reply, customer satisfied, closure report."""
    complaints = Complaints(demo.client, demo.task_queue)
    cid = f"DEMO-{demo.run_id}"
    print(f"Complaint {cid}", flush=True)
    handle = await complaints.start(ComplaintInput.model_validate({
        "complaint_id": cid, "channel": "hotline", "category": "network_quality",
        "customer": {"customer_ref": "CUST-1001", "name": "张三", "phone": "13800138000"},
        "description": "家中宽带每晚断线", "event_date": date.today() - timedelta(days=3)}))
    await demo.started(handle)
    demo.step("assigned", await complaints.assign_handler(cid, AssignHandler(handler="h.li", actor="desk.wang")))
    demo.step("findings", await complaints.record_findings(
        cid, RecordFindings(findings="光衰过大，已更换分光器", actor="h.li")))
    demo.step("reply", await complaints.send_reply(cid, SendReply(reply="已修复，请确认", actor="h.li")))
    demo.step("confirmation", await complaints.confirm(cid, ConfirmReply(satisfied=True, comment="好了")))
    status: ComplaintStatus = await complaints.submit_closure(cid, SubmitClosure(
        cause_analysis="分光器老化", improvement_measures="片区分光器巡检", actor="h.li"))
    demo.step("closure report", status)
    await demo.finished(handle, await handle.result())


DEMOS: list[Callable[[Demo], Awaitable[None]]] = [complaint]
"""One function per process, run in order; application, fault and termination go here as they land."""


async def run() -> None:
    try:
        client = await connect()
    except RuntimeError as error:  # the SDK's "Failed client connect"
        raise DemoFailed(f"cannot connect to Temporal: {error}") from None
    demo = Demo(client, os.environ.get("TELECOM_TASK_QUEUE", TASK_QUEUE),
                os.environ.get("TELECOM_UI_URL", "http://localhost:8233"))
    for process in DEMOS:
        await process(demo)


def main() -> None:
    try:
        asyncio.run(run())
    except DemoFailed as error:
        print(f"demo failed: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        # An RPC abandoned mid-flight can hang or abort interpreter teardown (temporalio/sdk-python#300).
        sys.stdout.flush()
        os._exit(130)


if __name__ == "__main__":
    main()
