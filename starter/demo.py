"""Demo: drive one case of each process end to end through the typed API, printing every step and
the case's Web UI link, then report this month's quality KPIs. Needs a running server and worker
(scripts/run starts both):
`python -m starter.demo`. Connection as the worker (TEMPORAL_ADDRESS, ...); the settings
TELECOM_TASK_QUEUE, TELECOM_UI_URL (default http://localhost:8233) for the links, and
TELECOM_DEMO_RUN, the run whose subscriber `python -m starter.seed` added (edge/settings.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from adapters.seed import DEMO_ID, demo_account, demo_change_lines
from edge.client import connect
from edge.settings import Settings, load
from models import quality as quality_report
from models.application import ApplicationInput, Approve
from models.change import ApproveChange, ChangeInput, ChangeStatus
from models.complaint import (
    AssignHandler,
    ComplaintInput,
    ComplaintStatus,
    ConfirmReply,
    RecordFindings,
    SendReply,
    SubmitClosure,
)
from models.fault import AssignTechnician, ConfirmRepair, FaultCause, FaultInput, ResolveFault
from models.policy import Policy
from models.termination import PaymentReceived, RecordEquipmentReturn, TerminationInput

from .api import Applications, Changes, Complaints, Faults, Terminations

PICKUP_TIMEOUT = 30.0


class DemoFailed(Exception):
    pass


class Demo:
    """What every process demo shares: the client, the task queue, a unique run id, printing."""

    def __init__(self, client: Client, task_queue: str, ui_url: str, run_id: str | None = None) -> None:
        self.client = client
        self.task_queue = task_queue
        self.ui_url = ui_url.rstrip("/")
        self.run_id = run_id or datetime.now().astimezone().strftime("%Y%m%d%H%M%S")
        """scripts/run sets it, after seeding the run's subscriber account (starter.seed)."""

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

    async def until(self, status_of: Callable[[], Awaitable[BaseModel]], stage: str, field: str = "state"
                    ) -> BaseModel:
        """Poll the case's status while it takes its automatic steps (line test, settlement...)."""
        deadline = time.monotonic() + PICKUP_TIMEOUT
        while getattr(status := await status_of(), field) != stage:
            if time.monotonic() > deadline:
                raise DemoFailed(f"the case did not reach {field} {stage} within {PICKUP_TIMEOUT:.0f} s")
            await asyncio.sleep(0.2)
        return status

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
        "description": "家中宽带每晚断线",
        "event_date": datetime.now(ZoneInfo(Policy().timezone)).date() - timedelta(days=3)}))  # as the policy dates it
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


async def application(demo: Demo) -> None:
    """ApplicationReview: complete materials, pre-review passes, a reviewer approves, activated on time."""
    applications = Applications(demo.client, demo.task_queue)
    aid = f"DEMO-{demo.run_id}"
    print(f"Application {aid}", flush=True)
    handle = await applications.start(ApplicationInput.model_validate({
        "application_id": aid, "service_type": "broadband", "region": "urban",
        "applicant": {"customer_ref": "CUST-2001", "name": "王芳", "phone": "13800138000",
                      "identity": DEMO_ID.model_dump()},
        "materials": [{"kind": kind, "document_id": f"DOC-{n}"} for n, kind in
                      enumerate(["application_form", "service_agreement", "address_proof"], 1)]}))
    await demo.started(handle)
    demo.step("approved", await applications.approve(aid, Approve(actor="r.zhao")))  # after pre-review
    await demo.finished(handle, await handle.result())


async def fault(demo: Demo) -> None:
    """FaultRepair: line test, dispatch, repair, the customer confirms; the ticket then stays open for
    the 7-day reopen window."""
    faults = Faults(demo.client, demo.task_queue)
    tid = f"DEMO-{demo.run_id}"
    print(f"Fault ticket {tid}", flush=True)
    handle = await faults.start(FaultInput.model_validate({
        "ticket_id": tid, "service_id": "BB-1001", "region": "urban", "severity": "major",
        "description": "宽带无法上网", "channel": "hotline",
        "customer": {"customer_ref": "CUST-1001", "name": "张三", "phone": "13800138000"}}))
    await demo.started(handle)
    demo.step("diagnosed", await demo.until(lambda: faults.status(tid), "pending"))
    demo.step("dispatched", await faults.assign_technician(tid, AssignTechnician(technician="t.zhao", actor="noc.wu")))
    demo.step("repaired", await faults.resolve(tid, ResolveFault(cause_code=FaultCause.line_damage, fix="更换入户光缆",
                                                                 actor="t.zhao")))
    demo.step("confirmed", await faults.confirm(tid, ConfirmRepair(comment="好了")))
    print("  (stays open for the reopen window, then completes)\n", flush=True)


async def termination(demo: Demo) -> None:
    """TerminationCleanup: the balance is paid, service ends, the modem comes back; the number's
    90-day quarantine and the 180-day erasure then run on their own timers."""
    account, mobile, modem = demo_account(demo.run_id)
    terminations = Terminations(demo.client, demo.task_queue)
    rid = f"DEMO-{demo.run_id}"
    print(f"Termination {rid} (account {account})", flush=True)
    handle = await terminations.start(TerminationInput.model_validate({
        "request_id": rid, "account_id": account, "services": [mobile], "reason": "relocation",
        "identity": DEMO_ID.model_dump(),
        "customer": {"customer_ref": "CUST-3001", "name": "李四", "phone": "13700137000"}}))
    await demo.started(handle)
    demo.step("awaiting payment", await demo.until(lambda: terminations.status(rid), "awaiting_payment", "stage"))
    await terminations.payment_received(rid, PaymentReceived(reference=f"PAY-{demo.run_id}", amount_fen=3000))
    demo.step("terminated", await demo.until(lambda: terminations.status(rid), "terminated"))
    demo.step("modem returned", await terminations.record_equipment_return(
        rid, RecordEquipmentReturn(serials=[modem], actor="store.qian")))
    print("  (runs on: number back in the pool after 90 days, personal data erased after 180)\n", flush=True)


async def change(demo: Demo) -> None:
    """ServiceChange: planned works on the run's three lines, assessed, approved and announced to each;
    the window opens four days later on its own timer (the 72 h notice is met)."""
    changes = Changes(demo.client, demo.task_queue)
    cid = f"DEMO-{demo.run_id}"
    print(f"Service change {cid}", flush=True)
    start = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    handle = await changes.start(ChangeInput.model_validate({
        "change_id": cid, "kind": "planned_works", "scope": {"lines": demo_change_lines(demo.run_id)},
        "window_start": start, "window_end": start + timedelta(hours=4), "reason": "光缆割接，期间宽带中断",
        "approver": "noc.chief", "requested_by": "noc.wu"}))
    await demo.started(handle)
    status = await demo.until(lambda: changes.status(cid), "awaitingApproval")
    assert isinstance(status, ChangeStatus) and status.impact is not None
    demo.step("assessed", status)
    print(f"  impact           {status.impact.lines} lines, {status.impact.special_care} under special care",
          flush=True)
    demo.step("approved", await changes.approve(cid, ApproveChange(actor="noc.chief")))
    while not ((status := await changes.status(cid)).notices and status.notices[0].done):
        await asyncio.sleep(0.2)
    print(f"  announced        to {status.notices[0].lines} lines; the window opens {start:%Y-%m-%d %H:%M} UTC "
          "(reschedule or cancel it until then)\n", flush=True)


async def quality(demo: Demo) -> None:
    """QualityReport for this month so far (the Schedule reports each month once it has closed)."""
    print("Quality report", flush=True)
    month = datetime.now(ZoneInfo(Policy().timezone)).strftime("%Y-%m")
    handle = await demo.client.start_workflow(
        quality_report.WORKFLOW_TYPE, quality_report.ReportInput(period=month), id=quality_report.workflow_id(month),
        task_queue=demo.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=quality_report.ReportResult)
    await demo.started(handle)
    [report] = (await handle.result()).reports
    print(f"  written          {report.figures} figures for {report.period}; see them with "
          f"`telecom report {report.period}` (add --chart quality.png)\n", flush=True)


DEMOS: list[Callable[[Demo], Awaitable[None]]] = [application, fault, complaint, termination, change, quality]
"""One function per process, run in order."""


async def run(settings: Settings) -> None:
    try:
        client = await connect(settings)
    except RuntimeError as error:  # the SDK's "Failed client connect"
        raise DemoFailed(f"cannot connect to Temporal: {error}") from None
    demo = Demo(client, settings.task_queue, settings.ui_url, settings.demo_run)
    for process in DEMOS:
        await process(demo)


def main() -> None:
    # os._exit skips interpreter teardown, where the SDK's native threads can abort (exit -6) or
    # hang a process whose work is done, above all after an abandoned RPC (temporalio/sdk-python#300).
    code = 0
    settings = load("demo")
    try:
        asyncio.run(run(settings))
    except DemoFailed as error:
        print(f"demo failed: {error}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
