"""ServiceChange (docs/processes.md § Service change) on the time-skipping server with a real worker and
database: notice timing at its boundary, notices to every line exactly once (reschedule, reminder,
cancellation, a page run twice, a worker stopped mid-notice), faults in the window linked to the change,
and a ticket for each line still down after it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.change import ChangeActivities
from activities.tables import ArchiveEntry, Case, ChangeWindow, CustomerContact, Notification
from adapters.network import DatabaseNetwork, seed_subscribed_lines, set_line_status
from models.change import (
    ApproveChange,
    CancelChange,
    ChangeInput,
    ChangeScope,
    ChangeState,
    ChangeStatus,
    NoticePage,
    RescheduleChange,
)
from models.fault import LineStatus
from starter import Faults
from worker import build_worker

from .conftest import TEST_QUEUE
from .test_fast_fault import ticket

HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
LINES = 2300 + 1  # ours and the seeded BB-1001 (urban broadband): three pages of notices
DOWN = ["CHG-0007", "CHG-1500"]


@pytest.fixture
def lines(engine) -> sa.Engine:
    seed_subscribed_lines(engine, [(f"CHG-{n:04d}", "urban", "broadband", f"CUST-9{n % 5}") for n in range(2300)],
                          special_care=["CHG-0001"])
    seed_subscribed_lines(engine, [("RUR-0001", "rural", "broadband", "CUST-90")])  # out of scope
    with Session(engine) as session, session.begin():
        session.add_all([CustomerContact(customer_ref=f"CUST-9{n}", name="赵六", phone="13900139000",
                                         updated_at=datetime.now(UTC)) for n in range(5)])
    return engine


def change(start: datetime, hours: float = 4, **overrides) -> ChangeInput:
    data = dict(change_id="W1", kind="planned_works", scope={"region": "urban", "service_type": "broadband"},
                window_start=start.isoformat(), window_end=(start + hours * HOUR).isoformat(),
                reason="光缆割接，期间宽带中断", approver="noc.chief", requested_by="noc.wu")
    return ChangeInput.model_validate({**data, **overrides})


def notices(engine, prefix: str) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Notification.key).where(col(Notification.workflow_id) == "change-W1",
                                                                col(Notification.key).startswith(f"{prefix}:"))))


async def started(env, case: ChangeInput) -> WorkflowHandle:
    handle = await env.client.start_workflow("ServiceChange", case, id=case.workflow_id, task_queue=TEST_QUEUE,
                                             result_type=ChangeStatus)
    for _ in range(500):
        status = await handle.query("status", result_type=ChangeStatus)
        if status.state is ChangeState.awaitingApproval:
            return handle
        await asyncio.sleep(0.02)
    raise AssertionError("the change was not assessed")


async def update(handle: WorkflowHandle, name: str, argument) -> ChangeStatus:
    return await handle.execute_update(name, argument, result_type=ChangeStatus)


async def until(predicate, what: str) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_window_71_hours_away_is_refused_and_the_message_says_when_one_can_start(env, lines):
    async with build_worker(env.client, lines, task_queue=TEST_QUEUE):
        now = await env.get_current_time()
        handle = await started(env, change(now + 71 * HOUR))
        status = await handle.query("status", result_type=ChangeStatus)
        assert status.impact.lines == LINES and status.impact.special_care == 1
        assert status.impact.by_region_and_service == {"urban/broadband": LINES}
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await update(handle, "approve", ApproveChange(actor="noc.chief"))
        assert refused.value.cause.type == "InvalidAction"
        assert "announced 72 h ahead" in refused.value.cause.message
        assert "the earliest start is" in refused.value.cause.message
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await update(handle, "approve", ApproveChange(actor="noc.wu"))
        assert refused.value.cause.message.startswith("only the change's approver (noc.chief)")
        assert notices(lines, "announce") == []

        start = await env.get_current_time() + 73 * HOUR
        await update(handle, "reschedule", RescheduleChange(window_start=start, window_end=start + 4 * HOUR,
                                                            reason="72 h notice", actor="noc.wu"))
        status = await update(handle, "approve", ApproveChange(actor="noc.chief"))
        assert status.state is ChangeState.scheduled and status.deadlines["window_start"] == start
        await until(lambda: len(notices(lines, "announce")) == LINES, "every line announced")
        status = await handle.query("status", result_type=ChangeStatus)
        assert [(n.notice, n.lines, n.done) for n in status.notices] == [("announce", LINES, True)]
        assert "RUR-0001" not in {key.split(":", 1)[1] for key in notices(lines, "announce")}


async def test_a_reschedule_and_a_cancellation_reach_every_line_announced(env, lines):
    async with build_worker(env.client, lines, task_queue=TEST_QUEUE):
        start = await env.get_current_time() + 80 * HOUR
        handle = await started(env, change(start))
        await update(handle, "approve", ApproveChange(actor="noc.chief"))
        await until(lambda: len(notices(lines, "announce")) == LINES, "the announcement")
        later = start + DAY
        await update(handle, "reschedule", RescheduleChange(window_start=later, window_end=later + HOUR,
                                                            reason="施工队改期", actor="noc.wu"))
        await until(lambda: len(notices(lines, "rescheduled-1")) == LINES, "the new window told")
        status = await update(handle, "cancel", CancelChange(reason="割接取消", actor="noc.chief"))
        result = await handle.result()
        assert result.state is ChangeState.cancelled and result.deadlines == {}
        assert len(notices(lines, "cancelled")) == LINES
        with Session(lines) as session:
            archive = session.get(ArchiveEntry, "change-W1")
        assert archive.summary["notified"] == LINES and archive.summary["reschedules"] == 1
        assert status.awaiting == "notices to the affected lines"


async def test_a_page_run_twice_tells_no_line_twice(lines):
    activities = ChangeActivities(lines, DatabaseNetwork(lines), client=None)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with Session(lines) as session, session.begin():  # the case's row, as its first record writes it
        session.add(Case(workflow_id="change-W1", run_id="r", case_type="change", state="scheduled", opened_at=now,
                         updated_at=now))
    page = NoticePage(workflow_id="change-W1", scope=ChangeScope(region="urban"), notice="announce",
                      template="change.announced", params={}, after="", at=datetime.now(UTC))
    first, again = activities.notify_lines(page), activities.notify_lines(page)
    assert first == again and first.lines == 1000
    assert len(notices(lines, "announce")) == 1000


async def test_a_worker_stopped_mid_notice_leaves_no_line_untold_or_told_twice(env, lines):
    start = await env.get_current_time() + 80 * HOUR
    async with build_worker(env.client, lines, task_queue=TEST_QUEUE, max_cached_workflows=0):
        handle = await started(env, change(start))
        await update(handle, "approve", ApproveChange(actor="noc.chief"))
        await until(lambda: notices(lines, "announce"), "the first page")
    async with build_worker(env.client, lines, task_queue=TEST_QUEUE):
        await until(lambda: len(notices(lines, "announce")) == LINES, "every line announced")
        keys = notices(lines, "announce")
        assert len(keys) == len(set(keys)) == LINES


async def test_the_window_links_faults_and_the_follow_up_opens_a_ticket_per_line_still_down(env, lines):
    async with build_worker(env.client, lines, task_queue=TEST_QUEUE):
        start = await env.get_current_time() + 73 * HOUR
        handle = await started(env, change(start))
        await update(handle, "approve", ApproveChange(actor="noc.chief"))
        await env.sleep(start - 24 * HOUR - await env.get_current_time() + MINUTE)  # the reminder, 24 h before
        await until(lambda: len(notices(lines, "reminder-0")) == LINES, "the reminder")
        await env.sleep(start - await env.get_current_time() + MINUTE)
        status = await handle.query("status", result_type=ChangeStatus)
        assert status.state is ChangeState.inProgress
        with Session(lines) as session:
            assert session.get(ChangeWindow, "change-W1").change_id == "W1"

        faults = Faults(env.client, TEST_QUEUE)
        for line in DOWN:
            set_line_status(lines, line, LineStatus.down)
        await faults.start(ticket("IN-WINDOW", service_id=DOWN[0], severity="critical"))
        await faults.start(ticket("ELSEWHERE", service_id="FL-3001", severity="critical"))
        for _ in range(500):
            linked, normal = await faults.status("IN-WINDOW"), await faults.status("ELSEWHERE")
            if linked.history and normal.history:
                break
            await asyncio.sleep(0.02)
        assert linked.linked_change == "W1" and set(linked.deadlines) == {"statutory"}
        assert normal.linked_change is None
        assert {c.name for c in normal.clocks} == {"response", "resolution", "statutory"}
        await env.sleep(5 * HOUR)  # past a critical fault's 4-hour resolution target: only the other one breaches
        assert [c.name for c in (await faults.status("IN-WINDOW")).clocks] == ["statutory"]
        assert {c.name for c in (await faults.status("ELSEWHERE")).clocks if c.breached} == {"resolution"}

        await env.sleep(2 * HOUR)  # the window has ended; the follow-up an hour later
        result = await handle.result()
        assert result.state is ChangeState.closed and result.lines_checked == LINES and result.lines_down == 2
        [opened] = result.tickets  # the other line down has its ticket from the window
        status = await faults.status(opened)
        assert status.service_id == DOWN[1] and status.linked_change is None
        with Session(lines) as session:
            assert session.get(ChangeWindow, "change-W1") is None
            summary = session.get(ArchiveEntry, "change-W1").summary
        assert summary["tickets_opened"] == 1 and summary["lines_already_ticketed"] == 1
        assert summary["notified"] == LINES


@pytest.mark.parametrize("scope", [{}, {"lines": []}])
def test_a_change_must_name_its_lines(scope):
    with pytest.raises(ValueError):
        change(datetime.now(UTC) + 80 * HOUR, scope=scope)


def test_a_window_must_end_after_it_starts():
    now = datetime.now(UTC) + 80 * HOUR
    with pytest.raises(ValueError, match="window_end"):
        change(now, window_end=now.isoformat())

