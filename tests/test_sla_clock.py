"""The deadline engine under the time-skipping server: marks fire in order and once, pauses move
due times by the right (calendar or working) time, the ladder escalates, replays change nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from activities.calendar import WorkingCalendar
from activities.tables import CaseEvent, SlaEvent
from models.policy import Basis, ClockPolicy, Escalation, EscalationLevel
from worker import build_worker

from .conftest import TEST_QUEUE, rows
from .sla_probe import ClockAction, ProbeInput, SlaProbe

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LADDER = [Escalation(level=EscalationLevel.functional, to="tier-2", after_breach=timedelta(0)),
          Escalation(level=EscalationLevel.hierarchic, to="manager", after_breach=2 * HOUR)]


def clock(budget: timedelta, basis: Basis = Basis.calendar, **fields) -> ClockPolicy:
    return ClockPolicy(source="test", budget=budget, basis=basis, **fields)


@pytest.fixture
async def probe_worker(env, engine, policy):
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE,
                            extra_workflows=[SlaProbe]) as worker:
        yield worker


async def start(env, **clocks: ClockPolicy):
    handle = await env.client.start_workflow(SlaProbe.run, ProbeInput(clocks=clocks),
                                             id=f"probe-{uuid.uuid4()}", task_queue=TEST_QUEUE)
    await handle.execute_update(SlaProbe.opened)
    return handle


def opened_at(engine, handle):
    return rows(engine, CaseEvent, handle.id)[0].at


def events(engine, handle) -> list[tuple[str, timedelta]]:
    """(key, time since the case opened) of every SLA event, in the order written."""
    start = opened_at(engine, handle)
    return [(e.key, e.at - start) for e in rows(engine, SlaEvent, handle.id)]


def close_to(actual: timedelta, expected: timedelta) -> bool:
    return abs(actual - expected) < timedelta(seconds=2)


async def test_marks_fire_in_order_once_each_then_the_ladder(env, probe_worker, engine):
    handle = await start(env, resolution=clock(8 * HOUR, escalations=LADDER))
    await env.sleep(11 * HOUR)
    expected = [("resolution:warning-50pct", 4 * HOUR), ("resolution:warning-75pct", 6 * HOUR),
                ("resolution:warning-90pct", timedelta(hours=7, minutes=12)), ("resolution:breach", 8 * HOUR),
                ("resolution:escalation-functional", 8 * HOUR), ("resolution:escalation-hierarchic", 10 * HOUR)]
    got = events(engine, handle)
    assert [k for k, _ in got] == [k for k, _ in expected]
    assert all(close_to(at, want) for (_, at), (_, want) in zip(got, expected, strict=True))
    [status] = await handle.query(SlaProbe.status)
    assert status.breached and status.remaining == timedelta(0) and status.next_mark is None
    escalations = [e for e in rows(engine, SlaEvent, handle.id) if e.kind == "escalation"]
    assert [(e.level, e.to) for e in escalations] == [("functional", "tier-2"), ("hierarchic", "manager")]


async def test_pause_for_3_days_moves_a_calendar_due_time_by_3_days(env, probe_worker, engine):
    handle = await start(env, reply=clock(10 * DAY, warnings=[]))
    start_at = opened_at(engine, handle)
    await env.sleep(DAY)
    [paused] = await handle.execute_update(SlaProbe.pause, ClockAction(clock="reply"))
    assert paused.paused and paused.due_at is None and close_to(paused.consumed, DAY)
    await env.sleep(3 * DAY)
    assert [k for k, _ in events(engine, handle)] == ["reply:pause-1"]
    [resumed] = await handle.execute_update(SlaProbe.resume, ClockAction(clock="reply"))
    assert close_to(resumed.due_at - start_at, 13 * DAY)
    await env.sleep(10 * DAY)
    got = dict(events(engine, handle))
    assert list(got) == ["reply:pause-1", "reply:resume-1", "reply:breach"]
    assert close_to(got["reply:breach"], 13 * DAY)


async def test_pausing_twice_and_resuming_twice_adds_both_pauses(env, probe_worker, engine):
    handle = await start(env, reply=clock(10 * DAY))
    for _ in range(2):
        await env.sleep(DAY)
        await handle.execute_update(SlaProbe.pause, ClockAction(clock="reply"))
        await env.sleep(2 * DAY)
        [status] = await handle.execute_update(SlaProbe.resume, ClockAction(clock="reply"))
    assert [p.resumed_at is not None for p in status.pauses] == [True, True]
    assert close_to(status.due_at - opened_at(engine, handle), 14 * DAY)
    assert close_to(status.consumed, 2 * DAY) and not status.paused
    await env.sleep(9 * DAY)
    got = dict(events(engine, handle))
    assert list(got) == ["reply:pause-1", "reply:resume-1", "reply:pause-2", "reply:resume-2",
                         "reply:warning-50pct", "reply:warning-75pct", "reply:warning-90pct", "reply:breach"]
    assert close_to(got["reply:warning-50pct"], 9 * DAY) and close_to(got["reply:breach"], 14 * DAY)


async def test_a_paused_clock_fires_nothing(env, probe_worker, engine):
    handle = await start(env, response=clock(4 * HOUR, warnings=[]))
    await handle.execute_update(SlaProbe.pause, ClockAction(clock="response"))
    await env.sleep(10 * HOUR)
    assert [k for k, _ in events(engine, handle)] == ["response:pause-1"]


async def test_working_day_clock_moves_by_the_working_time_of_its_pause(env, probe_worker, engine):
    calendar = WorkingCalendar("Asia/Shanghai")
    handle = await start(env, review=clock(3 * DAY, Basis.working, warnings=[]))
    [status] = await handle.query(SlaProbe.status)
    start_at = status.started_at
    assert status.due_at == calendar.add_working_time(start_at, 3 * DAY)
    await env.sleep(5 * HOUR)
    [paused] = await handle.execute_update(SlaProbe.pause, ClockAction(clock="review"))
    paused_at = paused.pauses[0].paused_at
    await env.sleep(3 * DAY)
    [resumed] = await handle.execute_update(SlaProbe.resume, ClockAction(clock="review"))
    resumed_at = resumed.pauses[0].resumed_at
    used = calendar.working_time_between(start_at, paused_at)
    assert paused.consumed == used
    assert resumed.due_at == calendar.add_working_time(resumed_at, 3 * DAY - used)
    assert resumed.due_at > status.due_at  # the pause cost no budget


async def test_every_task_replayed_gives_the_same_sla_events_once_each(env, engine, policy):
    """Workflow cache disabled: every workflow task replays the whole history from the start."""
    from starter import Complaints

    from .test_complaint_closure import complaint
    complaints = Complaints(env.client, task_queue=TEST_QUEUE)
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE, max_cached_workflows=0):
        await complaints.start(complaint())
        await env.sleep(18 * DAY)
        status = await complaints.status("C1")
    keys = [e.key for e in rows(engine, SlaEvent, "complaint-C1")]
    assert keys == ["reply:warning-P10D", "reply:warning-P13D", "reply:breach", "reply:escalation-functional",
                    "reply:escalation-hierarchic"]
    assert status.clocks[0].fired == ["warning-P10D", "warning-P13D", "breach", "escalation-functional",
                                      "escalation-hierarchic"]
