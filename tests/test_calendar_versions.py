"""Calendar versions (docs/calendar.md): a published calendar change reaches the running cases, whose
working-day due times move; calendar-day clocks, fired marks and paused time stay as they were.
Real worker, real database, time-skipping server; the dates are found in late December of the
coming year-end, where the `holidays` package only estimates the next year."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.calendar import CalendarOverrides, WorkingCalendar
from activities.calendar_versions import CalendarVersions
from activities.deadlines import DueTimeCalculator
from activities.tables import CalendarVersion, CaseEvent, SlaEvent
from models.application import Approve, RequestSupplement, SupplyMaterials
from models.calendar import CalendarChanged, CalendarChangeStatus, workflow_id
from models.catalog import MaterialKind
from models.sla import DueTimeRequest
from starter import Applications, Complaints
from starter.calendar import _roll_out
from worker import build_worker

from .conftest import TEST_QUEUE, rows
from .test_fast_application import application
from .test_fast_complaint import complaint

TZ = ZoneInfo("Asia/Shanghai")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
ESTIMATE = WorkingCalendar("Asia/Shanghai")


def late_december(now: datetime, weekday: int) -> date:
    """The first `weekday` (0: Monday) on or after 18 December of the coming year-end."""
    year = now.year if (now.month, now.day) < (12, 10) else now.year + 1
    day = date(year, 12, 18)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def local(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(), TZ).astimezone(UTC) + hour * HOUR


def publish(engine, holidays=(), working_days=()) -> tuple[int, date | None]:
    change = CalendarOverrides(holidays=frozenset(holidays), working_days=frozenset(working_days))
    return CalendarVersions(engine).publish(change, "国务院办公厅通知 (test)", datetime.now(UTC))


async def roll_out(env, version: int, first_day: date) -> CalendarChangeStatus:
    await _roll_out(env.client, version, first_day, TEST_QUEUE, wait=False)
    return await env.client.get_workflow_handle(workflow_id(version), result_type=CalendarChangeStatus).result()


def steps(engine, workflow_id: str) -> list[str]:
    return [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, workflow_id)]


def sla_keys(engine, workflow_id: str) -> list[tuple[str, str]]:
    return [(e.key, e.detail) for e in rows(engine, SlaEvent, workflow_id)]


# --- versions in the database, no Temporal ------------------------------------------------------

def test_each_publication_is_a_new_version_on_top_of_the_last_and_the_same_days_add_none(engine):
    first, second = date(2027, 1, 4), date(2027, 1, 9)
    assert publish(engine, holidays=[first]) == (1, first)
    assert publish(engine, holidays=[first]) == (1, None)  # nothing new: no version
    assert publish(engine, working_days=[second]) == (2, second)
    assert publish(engine, working_days=[first]) == (3, first)  # the later change wins
    versions = CalendarVersions(engine)
    assert versions.overrides(1) == CalendarOverrides(holidays=frozenset([first]))
    assert versions.overrides(3) == CalendarOverrides(working_days=frozenset([first, second]))
    with Session(engine) as session:
        assert [v.source for v in session.exec(select(CalendarVersion))] == ["国务院办公厅通知 (test)"] * 3


def test_due_times_use_the_newest_version_at_once_and_never_an_older_than_asked(engine):
    base = CalendarOverrides(holidays=frozenset([date(2027, 1, 11)]))  # the worker's own file stays underneath
    calculator = DueTimeCalculator(base, CalendarVersions(engine, base))
    start = local(date(2027, 1, 9), 0)  # a Saturday
    request = DueTimeRequest(timezone="Asia/Shanghai", start=start, offsets=[DAY])
    before = calculator.compute_due_times(request)
    assert before.calendar_version == 0 and before.instants == [local(date(2027, 1, 13), 0)]  # Tuesday: Mon 11 off
    publish(engine, working_days=[date(2027, 1, 9)])
    after = calculator.compute_due_times(request)  # the same worker, no restart
    assert after.calendar_version == 1 and after.instants == [local(date(2027, 1, 10), 0)]
    with pytest.raises(ApplicationError, match="no calendar version 2 is published"):
        calculator.compute_due_times(request.model_copy(update={"calendar_version": 2}))


# --- running cases follow ---------------------------------------------------------------------

async def test_a_paused_review_moves_by_the_new_days_keeps_its_pause_and_fires_nothing_twice(env, engine):
    monday = late_december(await env.get_current_time(), 0)
    thursday, friday, saturday = monday + 3 * DAY, monday + 4 * DAY, monday + 5 * DAY
    assert all(ESTIMATE.is_working_day(monday + n * DAY) for n in range(5)) and not ESTIMATE.is_working_day(saturday)
    applications, complaints = Applications(env.client, TEST_QUEUE), Complaints(env.client, TEST_QUEUE)
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
        await env.sleep(local(monday, 9) - await env.get_current_time())
        await applications.start(application(requested_start_date=monday))
        await complaints.start(complaint(event_date=monday))
        await env.sleep(12 * HOUR)  # Monday 21:00: 12 h of the 48 h review used
        await applications.request_supplement("A1", RequestSupplement(materials=[MaterialKind.address_proof],
                                                                      actor="r.zhao"))
        await env.sleep(local(monday + 2 * DAY, 10) - await env.get_current_time())  # paused until Wednesday 10:00
        await applications.supply_materials("A1", SupplyMaterials(
            materials=[{"kind": "address_proof", "document_id": "DOC-9"}], actor="customer"))
        await env.sleep(local(monday + 2 * DAY, 23) - await env.get_current_time())  # 50 % fired at 22:00
        status = await applications.status("A1")
        review = next(c for c in status.clocks if c.name == "review")
        resumed, left = review.pauses[0].resumed_at, review.budget - review.consumed
        assert abs(review.consumed - 12 * HOUR) < timedelta(seconds=1) and review.fired == ["warning-50pct"]
        estimated = status.deadlines["review"]
        assert estimated == ESTIMATE.add_working_time(resumed, left)
        complaint_due = (await complaints.status("C1")).deadlines

        # The official calendar: Thursday and Friday off, Saturday a make-up working day (调休).
        version, first_day = publish(engine, holidays=[thursday, friday], working_days=[saturday])
        result = await roll_out(env, version, first_day)
        assert (result.told, result.moved, result.failed, result.done) == (2, 1, [], True)

        status = await applications.status("A1")
        official = WorkingCalendar("Asia/Shanghai", CalendarOverrides(frozenset([thursday, friday]),
                                                                      frozenset([saturday])))
        assert status.deadlines["review"] == official.add_working_time(resumed, left) != estimated
        review = next(c for c in status.clocks if c.name == "review")
        assert review.calendar_version == 1 and review.budget - review.consumed == left  # the pause is kept
        assert review.fired == ["warning-50pct"] and len(review.pauses) == 1
        assert (await complaints.status("C1")).deadlines == complaint_due  # calendar days do not move
        assert "calendar-v1" in steps(engine, "application-A1") and "calendar-v1" not in steps(engine, "complaint-C1")
        [moved] = [e for e in rows(engine, CaseEvent, "application-A1") if e.step.endswith("calendar-v1")]
        assert moved.reason == f"calendar version 1: review due {estimated.isoformat()} → " \
                               f"{status.deadlines['review'].isoformat()}"

        # Published again, or told again: nothing moves twice.
        assert publish(engine, holidays=[thursday, friday], working_days=[saturday]) == (1, None)
        await roll_out(env, 1, first_day)
        await env.sleep(4 * DAY)
        events = sla_keys(engine, "application-A1")
        assert [k for k, _ in events].count("review:warning-50pct") == 1
        assert steps(engine, "application-A1").count("calendar-v1") == 1
        assert dict(events)["review:breach"] == ""
        status = await applications.approve("A1", Approve(actor="r.zhao"))
        assert status.decision is not None


async def test_a_mark_the_new_calendar_puts_in_the_past_fires_at_once_and_says_why(env, engine):
    friday = late_december(await env.get_current_time(), 4)
    saturday, sunday = friday + DAY, friday + 2 * DAY
    assert ESTIMATE.is_working_day(friday) and not ESTIMATE.is_working_day(saturday)
    applications = Applications(env.client, TEST_QUEUE)
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
        await env.sleep(local(friday, 9) - await env.get_current_time())
        await applications.start(application(requested_start_date=friday))
        await env.sleep(local(sunday, 12) - await env.get_current_time())
        assert [k for k, _ in sla_keys(engine, "application-A1")] == []  # 15 h used: no mark yet
        version, first_day = publish(engine, working_days=[saturday])  # Saturday worked after all
        await roll_out(env, version, first_day)
        await env.sleep(HOUR)
        events = dict(sla_keys(engine, "application-A1"))
        # 50 % (24 h) fell on Saturday 09:00 and 75 % (36 h) on Saturday 21:00: each fires once, now.
        assert events == {"review:warning-50pct": "due earlier under calendar version 1",
                          "review:warning-75pct": "due earlier under calendar version 1"}
        await env.sleep(DAY)
        events = dict(sla_keys(engine, "application-A1"))
        assert events["review:warning-90pct"] == "" and events["review:breach"] == ""  # on time, as usual


async def test_a_rollout_published_while_no_worker_runs_reaches_the_case_once_a_worker_starts(env, engine):
    monday = late_december(await env.get_current_time(), 0)
    applications = Applications(env.client, TEST_QUEUE)
    # No cache, so no sticky queue: the case's next task goes to whichever worker polls next.
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE, max_cached_workflows=0):
        await env.sleep(local(monday, 9) - await env.get_current_time())
        await applications.start(application(requested_start_date=monday))
        await env.sleep(HOUR)
        estimated = (await applications.status("A1")).deadlines["review"]
    version, first_day = publish(engine, holidays=[monday + DAY])  # the worker is down: the rollout waits
    await _roll_out(env.client, version, first_day, TEST_QUEUE, wait=False)
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
        result = await env.client.get_workflow_handle(workflow_id(version), result_type=CalendarChangeStatus).result()
        assert (result.told, result.moved) == (1, 1)
        await _roll_out(env.client, version, first_day, TEST_QUEUE, wait=False)  # run again: already done
        status = await applications.status("A1")
        assert status.deadlines["review"] == estimated + DAY
        assert next(c for c in status.clocks if c.name == "review").calendar_version == 1


async def test_a_version_never_published_is_refused_and_changes_nothing(env, engine):
    applications = Applications(env.client, TEST_QUEUE)
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
        await applications.start(application())
        for _ in range(500):  # pre-review done, review clock running
            if "pre-reviewed" in steps(engine, "application-A1"):
                break
            await asyncio.sleep(0.02)
        due = (await applications.status("A1")).deadlines["review"]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await applications.handle("A1").execute_update("calendar_changed", CalendarChanged(version=7))
        assert refused.value.cause.type == "InvalidInput"
        assert refused.value.cause.details[0] == {"problems": [
            {"field": "version", "problem": "no calendar version 7 is published"}]}
        await applications.request_supplement("A1", RequestSupplement(materials=[MaterialKind.address_proof],
                                                                      actor="r.zhao"))
        status = await applications.supply_materials("A1", SupplyMaterials(
            materials=[{"kind": "address_proof", "document_id": "DOC-9"}], actor="customer"))
        assert status.deadlines["review"] > due  # due times are still computed: the case is not wedged
        assert "calendar-v7" not in steps(engine, "application-A1")
