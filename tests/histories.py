"""Recorded histories of each workflow's main paths, replayed by tests/test_replay.py so that a
non-deterministic workflow change fails CI.

Re-record only when a change is meant to be incompatible (and then version it, see the README),
or record a new scenario by name:
    .venv/bin/python -m tests.histories [NAME ...]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.calendar import CalendarOverrides, WorkingCalendar
from activities.calendar_versions import CalendarVersions
from activities.database import make_engine, upgrade
from adapters.network import seed_subscribed_lines, set_line_status
from edge.codec import data_converter
from models import archive, quality
from models.calendar import workflow_id as calendar_workflow_id
from models.change import ApproveChange, ChangeInput, RescheduleChange
from models.complaint import ConfirmReply, RecordFindings, SendReply
from models.fault import LineStatus
from starter import Complaints
from starter.calendar import _roll_out
from worker import build_worker

from .conftest import TEST_QUEUE, binary, register_search_attributes, seed
from .examples import EXAMPLES, Example
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

DIRECTORY = Path(__file__).with_name("histories")


def load(path: Path) -> WorkflowHistory:
    data = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(data.pop("workflow_id"), data)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
EXAMPLE_CHANGE = json.loads((Path(__file__).parents[1] / "examples" / "ServiceChange.input.json").read_text())
Scenario = Callable[[WorkflowEnvironment, sa.Engine], Awaitable[WorkflowHandle]]


async def complaint_happy(env: WorkflowEnvironment) -> WorkflowHandle:
    complaints = Complaints(env.client, TEST_QUEUE)
    handle = await complaints.start(complaint("HAPPY"))
    await investigate_and_reply(complaints, "HAPPY")
    await complaints.confirm("HAPPY", ConfirmReply(satisfied=True))
    await complaints.submit_closure("HAPPY", CLOSURE)
    return handle


async def complaint_breached_reopened(env: WorkflowEnvironment) -> WorkflowHandle:
    complaints = Complaints(env.client, TEST_QUEUE)
    handle = await complaints.start(complaint("LATE"))
    await env.sleep(18 * DAY)
    await investigate_and_reply(complaints, "LATE")
    for _ in range(3):
        await complaints.confirm("LATE", ConfirmReply(satisfied=False))
        await complaints.record_findings("LATE", RecordFindings(findings="复查", actor="h.li"))
        await complaints.send_reply("LATE", SendReply(reply="复函", actor="h.li"))
    await complaints.submit_closure("LATE", CLOSURE)
    await env.sleep(8 * DAY)  # silence: confirmed by default
    return handle


async def complaint_migrated(env: WorkflowEnvironment) -> WorkflowHandle:
    """Taken over from a legacy system 12 days after receipt: the day-10 warning is missed (`migrated-marks`)."""
    complaints = Complaints(env.client, TEST_QUEUE)
    received = await env.get_current_time() - 12 * DAY
    handle = await complaints.start(complaint("MIGRATED", received_at=received.isoformat(),
                                              event_date=received.date() - DAY))
    await env.sleep(2 * DAY)  # the day-13 warning, live
    await investigate_and_reply(complaints, "MIGRATED")
    await complaints.confirm("MIGRATED", ConfirmReply(satisfied=True))
    await complaints.submit_closure("MIGRATED", CLOSURE)
    return handle


async def application_calendar_changed(env: WorkflowEnvironment, engine: sa.Engine) -> WorkflowHandle:
    """A calendar version published while the review runs: the next working day becomes a day off and
    the review's due time moves (`calendar_changed`, docs/calendar.md)."""
    example = EXAMPLES["ApplicationReview"]
    handle = await env.client.start_workflow(example.workflow_type, example.input, id=example.workflow_id,
                                             task_queue=TEST_QUEUE)
    await example.opened(env, handle)
    calendar, day = WorkingCalendar("Asia/Shanghai"), (await env.get_current_time()).date() + DAY
    while not calendar.is_working_day(day):
        day += DAY
    version, first_day = CalendarVersions(engine).publish(CalendarOverrides(holidays=frozenset([day])), "history",
                                                          await env.get_current_time())
    assert first_day is not None
    await _roll_out(env.client, version, first_day, TEST_QUEUE, wait=False)
    await env.client.get_workflow_handle(calendar_workflow_id(version)).result()
    await example.drive(env, handle)
    return handle


async def change_followed_up(env: WorkflowEnvironment, engine: sa.Engine) -> WorkflowHandle:
    """A service change from assessment to follow-up: approved, rescheduled, reminded, its window
    opened and closed, the lines tested (one still down gets a ticket)."""
    seed_subscribed_lines(engine, [(f"H-{n}", "urban", "broadband", "CUST-2001") for n in range(3)])
    set_line_status(engine, "H-1", LineStatus.down)
    start = await env.get_current_time() + 80 * HOUR
    change = ChangeInput.model_validate({**EXAMPLE_CHANGE, "window_start": start.isoformat(),
                                         "window_end": (start + 4 * HOUR).isoformat()})
    handle = await env.client.start_workflow("ServiceChange", change, id=change.workflow_id, task_queue=TEST_QUEUE)
    for _ in range(200):
        if (await handle.query("status"))["state"] == "awaitingApproval":
            break
        await asyncio.sleep(0.05)
    later = start + DAY
    await handle.execute_update("reschedule", RescheduleChange(window_start=later, window_end=later + 4 * HOUR,
                                                               reason="改期", actor="noc.wu"))
    await handle.execute_update("approve", ApproveChange(actor="noc.chief"))
    await env.sleep(later + 6 * HOUR - await env.get_current_time())
    return handle


def example_path(example: Example, before: Callable[[WorkflowEnvironment], Awaitable[None]] | None = None
                 ) -> Callable[[WorkflowEnvironment, sa.Engine], Awaitable[WorkflowHandle]]:
    """An example case driven along its path; `before` runs once it waits for people."""
    async def scenario(env: WorkflowEnvironment, engine: sa.Engine) -> WorkflowHandle:
        if example.seed:
            example.seed(engine, example.input)
        handle = await env.client.start_workflow(example.workflow_type, example.input, id=example.workflow_id,
                                                 task_queue=TEST_QUEUE)
        await example.opened(env, handle)
        if before:
            await before(env)
        await example.drive(env, handle)
        return handle
    return scenario


async def _refused_signals(env: WorkflowEnvironment) -> None:
    """A malformed payment and a misspelt signal name: written to the event log (`signal-refusals`)."""
    handle = env.client.get_workflow_handle(EXAMPLES["TerminationCleanup"].workflow_id)
    await handle.signal("payment_received", {"reference": "PAY-1", "amount_fen": "3000"})
    await handle.signal("paymentReceived", {"reference": "PAY-1", "amount_fen": 3000})


async def _silent_80_hours(env: WorkflowEnvironment) -> None:
    await env.sleep(80 * timedelta(hours=1))  # every fault clock warns, breaches and escalates


async def quality_scheduled(env: WorkflowEnvironment) -> WorkflowHandle:
    """A month's report as the Schedule starts it, over a month that has a closed complaint."""
    await (await complaint_happy(env)).result()
    return await env.client.start_workflow(quality.WORKFLOW_TYPE, quality.ReportInput(),
                                           id=f"{quality.SCHEDULE_ID}-2027-01-01T02:00:00Z", task_queue=TEST_QUEUE)


async def archive_purged(env: WorkflowEnvironment) -> WorkflowHandle:
    """A daily purge after a complaint's three years of retention."""
    await (await complaint_happy(env)).result()
    await env.sleep(3 * 366 * DAY)
    return await env.client.start_workflow(archive.WORKFLOW_TYPE, archive.ArchivePurgeInput(), task_queue=TEST_QUEUE,
                                           id=f"{archive.PURGE_SCHEDULE_ID}-2030-01-01T00:00:00Z")


SCENARIOS: dict[str, Scenario] = {
    "ComplaintClosure-happy": lambda env, engine: complaint_happy(env),
    "ComplaintClosure-breached-reopened": lambda env, engine: complaint_breached_reopened(env),
    "ComplaintClosure-migrated": lambda env, engine: complaint_migrated(env),
    "ApplicationReview-happy": example_path(EXAMPLES["ApplicationReview"]),
    "ApplicationReview-calendar-changed": application_calendar_changed,
    "FaultRepair-happy": example_path(EXAMPLES["FaultRepair"]),
    "FaultRepair-breached": example_path(EXAMPLES["FaultRepair"], _silent_80_hours),
    "TerminationCleanup-clean": example_path(EXAMPLES["TerminationCleanup"]),
    "ServiceChange-followed-up": change_followed_up,
    "TerminationCleanup-refused-signals": example_path(EXAMPLES["TerminationCleanup"], _refused_signals),
    "QualityReport-scheduled": lambda env, engine: quality_scheduled(env),
    "ArchivePurge-purged": lambda env, engine: archive_purged(env),
}


async def record(name: str, scenario: Scenario, env: WorkflowEnvironment, engine: sa.Engine) -> Path:
    handle = await scenario(env, engine)
    await handle.result()
    history = await handle.fetch_history()
    path = DIRECTORY / f"{name}.json"
    # The workflow id is part of what the workflow checks, so it is kept beside the events.
    path.write_text(json.dumps({"workflow_id": handle.id, **history.to_json_dict()}, indent=1), encoding="utf-8")
    return path


async def main(names: list[str]) -> None:
    DIRECTORY.mkdir(exist_ok=True)
    for name, scenario in SCENARIOS.items():
        if names and name not in names:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            engine = make_engine(f"sqlite:///{scratch}/records.db")
            upgrade(engine)
            seed(engine)
            async with await WorkflowEnvironment.start_time_skipping(
                    data_converter=data_converter(),
                    test_server_existing_path=binary("temporal-test-server")) as env:
                await register_search_attributes(env.client)
                async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
                    print(await record(name, scenario, env, engine))
            engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
