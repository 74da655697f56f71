"""FaultRepair under the time-skipping server: states, clocks, SLA events, waivers, notifications, times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from activities.tables import ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact, Notification, SlaEvent
from adapters.network import DatabaseNetwork, LineTestUnavailable
from edge.codec import data_converter
from models.fault import (
    AssignTechnician,
    CancelTicket,
    ConfirmRepair,
    FaultInput,
    FaultState,
    FaultStatus,
    HoldTicket,
    LineTestOutcome,
    ReopenTicket,
    ResolveFault,
    ResumeTicket,
    Severity,
)
from models.policy import FaultPolicy, Policy
from worker import WORKFLOW_RUNNER, build_worker
from workflows.fault_repair import FaultRepair

from .conftest import TEST_QUEUE, rows

SECOND, MINUTE, HOUR, DAY = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.fixture
async def fault_worker(worker):
    return worker


def ticket(ticket_id: str = "T1", **overrides) -> FaultInput:
    data = dict(ticket_id=ticket_id, service_id="BB-1001", region="urban", severity="critical",
                description="宽带无法上网", channel="hotline",
                customer=dict(customer_ref="CUST-2001", name="李四", phone="13900139000"))
    return FaultInput.model_validate({**data, **overrides})


class Tickets:
    """The calls a dispatcher, technician or customer makes, as another service would make them."""

    def __init__(self, env) -> None:
        self.env, self.client = env, env.client

    async def start(self, fault: FaultInput, skip: timedelta = timedelta(0)
                    ) -> WorkflowHandle[FaultRepair, FaultStatus]:
        """Start the ticket and return once its line test is recorded (`skip`: time for its retries)."""
        handle = await self.client.start_workflow(FaultRepair.run, fault, id=fault.workflow_id, task_queue=TEST_QUEUE)
        if skip:
            await self.env.sleep(skip)
        for _ in range(100):
            if (await self.status(fault.ticket_id)).state is not FaultState.acknowledged:
                return handle
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{handle.id} was not diagnosed")

    def handle(self, ticket_id: str) -> WorkflowHandle[FaultRepair, FaultStatus]:
        return self.client.get_workflow_handle_for(FaultRepair.run, f"fault-{ticket_id}")

    async def status(self, ticket_id: str = "T1") -> FaultStatus:
        return await self.handle(ticket_id).query(FaultRepair.status)

    async def act(self, update, argument, ticket_id: str = "T1") -> FaultStatus:
        return await self.handle(ticket_id).execute_update(update, argument)


@pytest.fixture
def tickets(env) -> Tickets:
    return Tickets(env)


ASSIGN = AssignTechnician(technician="tech.zhao", actor="dispatch.wu")
REPAIR = ResolveFault(cause_code="line_damage", fix="更换入户光缆", actor="tech.zhao")


def near(a: datetime, b: datetime, tolerance: timedelta = timedelta(seconds=2)) -> bool:
    return abs(a - b) <= tolerance


def sla_events(engine, wid: str = "fault-T1") -> list[tuple[str, timedelta]]:
    """(key, time since the report) of every SLA event, in the order written."""
    reported = datetime.fromisoformat(rows(engine, Case, wid)[0].details["reported_at"])
    return [(e.key, e.at - reported) for e in rows(engine, SlaEvent, wid)]


def templates(engine, wid: str = "fault-T1") -> list[str]:
    return [n.template for n in rows(engine, Notification, wid)]


def steps(engine, wid: str = "fault-T1") -> list[str]:
    return [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, wid)]


async def test_critical_ticket_repaired_in_an_hour_closes_without_warnings(env, fault_worker, engine, tickets):
    handle = await tickets.start(ticket())
    status = await tickets.status()
    reported = status.reported_at
    assert status.state is FaultState.pending and status.awaiting == "technician dispatch"
    assert status.line_test.outcome is LineTestOutcome.passed
    assert near(status.first_response_at, reported)  # the diagnostic acknowledgement is the first response
    assert status.deadlines == {"resolution": reported + 4 * HOUR, "statutory": reported + 48 * HOUR}

    await env.sleep(30 * MINUTE)
    assert (await tickets.act(FaultRepair.assign_technician, ASSIGN)).state is FaultState.inProgress
    await env.sleep(30 * MINUTE)
    status = await tickets.act(FaultRepair.resolve, REPAIR)
    repaired = status.resolution.at
    assert status.state is FaultState.resolved and near(repaired, reported + HOUR)
    assert status.deadlines == {"confirmation": repaired + 3 * DAY, "reopen_window": repaired + 7 * DAY}
    assert status.reopen_window_end == repaired + 7 * DAY
    status = await tickets.act(FaultRepair.confirm, ConfirmRepair())
    assert status.state is FaultState.closed and status.awaiting == "end of the reopen window"

    result = await handle.result()  # the reopen window ends, then the late-reopen answering period
    assert result.state is FaultState.closed and result.confirmation == "confirmed" and result.deadlines == {}
    assert [h.state for h in result.history] == ["acknowledged", "pending", "inProgress", "resolved", "closed"]
    assert near(result.history[-1].at, repaired)

    [case] = rows(engine, Case, "fault-T1")
    assert case.state == "closed" and near(case.closed_at, repaired + 7 * DAY) and not case.sla_breached
    assert case.severity == "critical" and case.assignee == "tech.zhao" and case.deadlines == {}
    assert case.details["cause_code"] == "line_damage"
    assert case.details["first_response_at"] == status.first_response_at.isoformat()
    assert steps(engine) == ["reported", "diagnosed", "assigned", "resolved", "closed", "final"]
    # The repair parks the clocks (kept for a reopen); nothing else was ever due.
    assert [(e.key, e.kind, e.detail) for e in rows(engine, SlaEvent, "fault-T1")] == [
        ("resolution:pause-1", "pause", "repaired"), ("statutory:pause-1", "pause", "repaired")]
    notes = rows(engine, Notification, "fault-T1")
    assert [n.template for n in notes] == ["fault.acknowledged", "fault.resolved", "fault.closed"]
    assert notes[0].params["diagnostic"].startswith("line test passed")
    assert all(n.recipient == "CUST-2001" and n.sent_at is not None and "李四" not in str(n.params) for n in notes)
    assert rows(engine, Compensation, "fault-T1") == []
    [archive] = rows(engine, ArchiveEntry, "fault-T1")
    assert archive.classification == "fault" and archive.summary["outcome"] == "closed"
    [contact] = rows(engine, CustomerContact)
    assert contact.phone == "13900139000"
    events = [e async for e in handle.fetch_history_events()]
    assert len(events) < 100, f"{len(events)} history events for one happy-path ticket"  # round trips guard
    completed = events[-1].event_time.ToDatetime(tzinfo=UTC)
    assert near(completed, repaired + 7 * DAY + 7 * DAY)  # reopen window, then late reopens refused for 7 days


RURAL_MINOR = dict(service_id="BB-2001", region="rural", severity="minor")  # line down, 5000 fen a month


async def repair(env, tickets, after: timedelta, cause: str = "line_damage") -> FaultStatus:
    """The silent technician finally turns up and repairs the line."""
    await env.sleep(after)
    if (await tickets.status()).assignee is None:
        await tickets.act(FaultRepair.assign_technician, ASSIGN)
    return await tickets.act(FaultRepair.resolve, REPAIR.model_copy(update={"cause_code": cause}))


@pytest.mark.postgres
async def test_silent_technician_warns_breaches_and_escalates_once_then_rental_is_waived(
        env, fault_worker, engine, tickets):
    await tickets.start(ticket(**RURAL_MINOR))
    reported = (await tickets.status()).reported_at
    await env.sleep(79 * HOUR)
    expected = [("resolution:warning-50pct", 12 * HOUR), ("resolution:warning-75pct", 18 * HOUR),
                ("resolution:warning-90pct", timedelta(hours=21, minutes=36)), ("resolution:breach", 24 * HOUR),
                ("resolution:escalation-functional", 24 * HOUR), ("resolution:escalation-hierarchic", 28 * HOUR),
                ("statutory:warning-50pct", 36 * HOUR), ("statutory:warning-75pct", 54 * HOUR),
                ("statutory:warning-90pct", timedelta(hours=64, minutes=48)), ("statutory:breach", 72 * HOUR),
                ("statutory:escalation-hierarchic", 72 * HOUR)]
    got = sla_events(engine)
    assert [k for k, _ in got] == [k for k, _ in expected]
    assert all(abs(at - want) < timedelta(seconds=2) for (_, at), (_, want) in zip(got, expected, strict=True))
    status = await tickets.status()
    assert status.state is FaultState.pending and status.statutory_breached
    assert status.escalated_to == "fault-operations-manager"
    assert status.deadlines == {"resolution": reported + 24 * HOUR, "statutory": reported + 72 * HOUR}  # overdue, open
    escalations = [(e.level, e.to) for e in rows(engine, SlaEvent, "fault-T1") if e.kind == "escalation"]
    assert escalations == [("functional", "fault-tier2"), ("hierarchic", "fault-operations-manager"),
                           ("hierarchic", "fault-operations-manager")]
    notes = rows(engine, Notification, "fault-T1")
    [breach_note] = [n for n in notes if n.template == "fault.statutory_breach"]
    assert breach_note.recipient == "CUST-2001" and breach_note.params["rental_waiver_expected"] is True
    assert [n.recipient for n in notes if n.template == "sla.warning"] == ["fault-dispatch"] * 6

    status = await repair(env, tickets, after=HOUR)  # hour 80
    repaired = status.resolution.at
    assert near(repaired, reported + 80 * HOUR)
    [waiver] = rows(engine, Compensation, "fault-T1")
    assert waiver.kind == "rental_waiver" and waiver.key == "rental-waiver-1"
    assert waiver.period_start == reported and waiver.period_end == repaired
    assert waiver.amount_fen == 556  # 5000 fen × 80 h / 720 h = 555.6, rounded up in the customer's favour
    assert status.rental_waived_fen == 556 and status.deadlines.keys() == {"confirmation", "reopen_window"}
    assert templates(engine)[-2:] == ["fault.resolved", "fault.rental_waiver"]
    assert rows(engine, Notification, "fault-T1")[-1].params["amount_fen"] == 556
    [case] = rows(engine, Case, "fault-T1")
    assert case.sla_breached and case.details["rental_waived_fen"] == 556
    assert [k for k, _ in sla_events(engine)] == [k for k, _ in expected]  # breached clocks stop, no pause events


async def test_terminal_equipment_fault_breaches_without_a_waiver(env, fault_worker, engine, tickets):
    await tickets.start(ticket(**RURAL_MINOR, terminal_equipment=True))
    status = await repair(env, tickets, after=80 * HOUR, cause="terminal_equipment")
    assert status.statutory_breached and status.rental_waived_fen == 0
    assert "statutory:breach" in [k for k, _ in sla_events(engine)]
    [breach_note] = [n for n in rows(engine, Notification, "fault-T1") if n.template == "fault.statutory_breach"]
    assert breach_note.params["rental_waiver_expected"] is False
    assert rows(engine, Compensation, "fault-T1") == [] and "fault.rental_waiver" not in templates(engine)


async def test_a_10_hour_hold_moves_the_operator_due_time_not_the_statutory_one(env, fault_worker, engine, tickets):
    await tickets.start(ticket(severity="major"))
    reported = (await tickets.status()).reported_at
    await tickets.act(FaultRepair.assign_technician, ASSIGN)
    await env.sleep(HOUR)
    status = await tickets.act(FaultRepair.hold, HoldTicket(reason="无法进入机房", actor="tech.zhao"))
    held_at = status.history[-1].at
    assert status.state is FaultState.held and status.deadlines == {"statutory": reported + 48 * HOUR}
    await env.sleep(10 * HOUR)
    assert [k for k, _ in sla_events(engine)] == ["resolution:pause-1"]  # the 4 h warning did not fire
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await tickets.act(FaultRepair.resolve, REPAIR)
    assert "resume it before resolving" in str(refused.value.cause)
    status = await tickets.act(FaultRepair.resume, ResumeTicket(reason="客户已到场", actor="tech.zhao"))
    resumed_at = status.history[-1].at
    assert status.state is FaultState.inProgress and near(resumed_at - held_at, 10 * HOUR)
    assert status.deadlines == {"resolution": reported + 8 * HOUR + (resumed_at - held_at),
                                "statutory": reported + 48 * HOUR}
    await env.sleep(4 * HOUR)
    got = dict(sla_events(engine))
    assert list(got) == ["resolution:pause-1", "resolution:resume-1", "resolution:warning-50pct"]
    assert abs(got["resolution:warning-50pct"] - 14 * HOUR) < timedelta(seconds=2)
    assert templates(engine) == ["fault.acknowledged", "fault.held", "sla.warning"]


async def test_reopen_on_day_5_keeps_the_clocks_and_on_day_8_is_refused(env, fault_worker, engine, tickets):
    handle = await tickets.start(ticket())
    reported = (await tickets.status()).reported_at
    await tickets.act(FaultRepair.assign_technician, ASSIGN)
    await env.sleep(HOUR)
    first_repair = (await tickets.act(FaultRepair.resolve, REPAIR)).resolution.at
    await env.sleep(5 * DAY)
    status = await tickets.status()
    assert status.state is FaultState.closed and status.confirmation == "deemed"  # 3 days' silence
    status = await tickets.act(FaultRepair.reopen, ReopenTicket(reason="又断网了"))
    reopened = status.history[-1].at
    assert status.state is FaultState.inProgress and status.assignee == "tech.zhao" and status.reopenings == 1
    used = first_repair - reported  # one hour of each budget was spent before the repair
    clocks = {c.name: c for c in status.clocks}
    assert near(clocks["resolution"].consumed, used) and clocks["resolution"].fired == []
    assert status.deadlines == {"resolution": reopened + 4 * HOUR - used, "statutory": reopened + 48 * HOUR - used}
    assert [h.state for h in status.history] == ["acknowledged", "pending", "inProgress", "resolved", "closed",
                                                  "inProgress"]
    assert rows(engine, Case, "fault-T1")[0].state == "inProgress"

    second_repair = (await tickets.act(FaultRepair.resolve, REPAIR)).resolution.at
    await env.sleep(8 * DAY)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await tickets.act(FaultRepair.reopen, ReopenTicket(reason="还是不行"))
    reason = str(refused.value.cause)
    assert "reopen window ended" in reason and "new ticket" in reason
    status = await tickets.status()
    assert status.state is FaultState.closed and status.reopen_window_end == second_repair + 7 * DAY
    assert [k for k, _ in sla_events(engine)] == ["resolution:pause-1", "statutory:pause-1", "resolution:resume-1",
                                                  "statutory:resume-1", "resolution:pause-2", "statutory:pause-2"]
    result = await handle.result()
    assert result.reopenings == 1 and rows(engine, Compensation, "fault-T1") == []
    assert near(rows(engine, Case, "fault-T1")[0].closed_at, second_repair + 7 * DAY)
    # Replaying the whole history gives the same decisions (no non-determinism).
    await Replayer(workflows=[FaultRepair], data_converter=data_converter(),
                   workflow_runner=WORKFLOW_RUNNER).replay_workflow(
        await handle.fetch_history())


async def test_a_reopened_fault_that_passes_the_cap_waives_both_fault_periods(env, fault_worker, engine, tickets):
    await tickets.start(ticket(**RURAL_MINOR))
    reported = (await tickets.status()).reported_at
    first_repair = (await repair(env, tickets, after=40 * HOUR)).resolution.at  # inside the 72 h cap
    assert rows(engine, Compensation, "fault-T1") == []
    await env.sleep(DAY)
    status = await tickets.act(FaultRepair.reopen, ReopenTicket(reason="又断了"))
    reopened = status.history[-1].at
    # The statutory clock goes on from its 40 h; the resolution target had breached and stays so.
    assert status.deadlines == {"statutory": reopened + 72 * HOUR - (first_repair - reported)}
    second_repair = (await repair(env, tickets, after=40 * HOUR)).resolution.at
    keys = [k for k, _ in sla_events(engine)]
    assert keys.count("statutory:breach") == 1 and keys.count("statutory:warning-50pct") == 1
    waivers = rows(engine, Compensation, "fault-T1")
    assert [(w.key, w.period_start, w.period_end) for w in waivers] == [
        ("rental-waiver-1", reported, first_repair), ("rental-waiver-2", reopened, second_repair)]
    assert [w.amount_fen for w in waivers] == [278, 278]  # 5000 fen × 40 h / 720 h = 277.8 each, rounded up
    assert (await tickets.status()).rental_waived_fen == 556


async def test_actions_out_of_order_are_refused_with_nothing_written(env, fault_worker, engine, tickets):
    await tickets.start(ticket())
    refusals = [(FaultRepair.resolve, REPAIR, "no technician is assigned yet"),
                (FaultRepair.confirm, ConfirmRepair(), "no repair awaiting the customer's confirmation"),
                (FaultRepair.resume, ResumeTicket(reason="x", actor="tech.zhao"), "not held"),
                (FaultRepair.reopen, ReopenTicket(reason="x"), "only a resolved or closed ticket")]
    for update, argument, reason in refusals:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await tickets.act(update, argument)
        assert reason in str(refused.value.cause)
    await tickets.act(FaultRepair.assign_technician, ASSIGN)
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await tickets.act(FaultRepair.assign_technician, ASSIGN)
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # argument decoded by the model: field named
        await tickets.handle("T1").execute_update("resolve", {"cause_code": "gremlins", "fix": "x", "actor": "t"})
    assert "cause_code" in str(refused.value.cause)
    assert steps(engine) == ["reported", "diagnosed", "assigned"]
    assert (await tickets.status()).state is FaultState.inProgress


async def test_cancel_ends_an_open_ticket_and_stops_its_clocks(env, fault_worker, engine, tickets):
    handle = await tickets.start(ticket())
    status = await tickets.act(FaultRepair.cancel, CancelTicket(reason="误报，路由器未开机"))
    assert status.state is FaultState.cancelled and status.deadlines == {}
    result = await handle.result()
    assert result.state is FaultState.cancelled
    [case] = rows(engine, Case, "fault-T1")
    assert case.closed_at is not None and case.deadlines == {} and templates(engine)[-1] == "fault.cancelled"
    assert len(rows(engine, ArchiveEntry, "fault-T1")) == 1


def raw(**changes) -> dict:
    """A ticket as a non-Python service sends it: plain JSON, perhaps wrong."""
    data = ticket().model_dump(mode="json", exclude_none=True)
    for name, value in changes.items():
        if value is ...:
            del data[name]
        else:
            data[name] = value
    return data


BAD_INPUTS = {
    "unknown severity": (raw(severity="urgent"), "severity"),
    "unknown region": (raw(region="suburban"), "region"),
    "missing service id": (raw(service_id=...), "service_id"),
    "naive report time": (raw(reported_at="2026-12-01T08:00:00"), "reported_at"),
    "report time in the future": (raw(reported_at="2099-01-01T08:00:00+08:00"), "reported_at"),
    "extra field": (raw(priority="P1"), "priority"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
async def test_bad_input_fails_with_the_field_named_and_nothing_written(env, fault_worker, engine, name):
    data, field = BAD_INPUTS[name]
    handle = await env.client.start_workflow("FaultRepair", data, id="fault-T1", task_queue=TEST_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert field in str(cause) and cause.type in ("ValidationError", "InvalidInput")
    assert rows(engine, Case) == [] and rows(engine, CustomerContact) == []


class FlakyNetwork(DatabaseNetwork):
    """The default network whose next `failures` line tests cannot be run (the test head is unreachable)."""

    def __init__(self, engine, failures: int) -> None:
        super().__init__(engine)
        self.failures = failures

    def line_test(self, service_id: str):
        if self.failures > 0:
            self.failures -= 1
            raise LineTestUnavailable(f"line-test head unreachable for service {service_id}")
        return super().line_test(service_id)


@pytest.mark.parametrize("failures, outcome", [(3, LineTestOutcome.not_run), (1, LineTestOutcome.passed)])
async def test_a_line_test_that_fails_is_retried_then_recorded_and_the_ticket_dispatched(
        env, engine, tickets, failures, outcome):
    network = FlakyNetwork(engine, failures)
    async with build_worker(env.client, engine, network=network, task_queue=TEST_QUEUE):
        await tickets.start(ticket(), skip=10 * SECOND)  # backoff 1 s, then 2 s
        status = await tickets.status()
        assert status.state is FaultState.pending and status.line_test.outcome is outcome
        assert network.failures == 0  # every attempt reached the adapter: three tries at most
        [case] = rows(engine, Case, "fault-T1")
        assert case.details["line_test"]["outcome"] == outcome
        ack = rows(engine, Notification, "fault-T1")[0]
        if outcome is LineTestOutcome.passed:
            assert status.first_response_at is not None and ack.params["diagnostic"].startswith("line test passed")
            return
        # No diagnostic: the bare acknowledgement is not a first response (its clock warns); the dispatch is.
        assert "unreachable" in status.line_test.message and ack.params["diagnostic"] is None
        assert status.first_response_at is None and "response" in status.deadlines
        await env.sleep(10 * MINUTE)
        status = await tickets.act(FaultRepair.assign_technician, ASSIGN)
        assert status.first_response_at == status.history[-1].at and "response" not in status.deadlines
        await env.sleep(HOUR)
        [(key, at)] = sla_events(engine)
        assert key == "response:warning-50pct" and abs(at - timedelta(minutes=7, seconds=30)) < timedelta(seconds=2)


async def test_a_service_unknown_to_the_network_rejects_the_ticket(env, fault_worker, engine, tickets):
    handle = await env.client.start_workflow(FaultRepair.run, ticket(service_id="BB-9999"), id="fault-T1",
                                             task_queue=TEST_QUEUE)
    result = await handle.result()
    assert result.state is FaultState.rejected and result.line_test.outcome is LineTestOutcome.unknown_service
    assert result.deadlines == {}
    [case] = rows(engine, Case, "fault-T1")
    assert case.state == "rejected" and case.closed_at is not None
    assert steps(engine) == ["reported", "rejected"] and templates(engine) == ["fault.rejected"]


def test_policy_keeps_every_target_inside_the_statutory_cap():
    assert set(Severity) == {"critical", "major", "minor", "low"}
    assert all(Policy().fault.targets(s).resolution <= timedelta(hours=48) for s in Severity)
    with pytest.raises(ValidationError, match="low: resolution target P2DT12H exceeds the statutory cap P2D"):
        Policy.model_validate({"fault": {"low": {"response": "PT8H", "resolution": "PT60H"}}})
    with pytest.raises(ValidationError, match="response target"):
        FaultPolicy.Targets(response=5 * HOUR, resolution=4 * HOUR)
