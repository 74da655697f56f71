"""FaultRepair with fake activities (tests/fakes.py): its branches and every fault rule of the policy
at its boundary, without a database. The database-backed tests are in test_fault_repair.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.fault import (
    AssignTechnician,
    CancelTicket,
    ConfirmRepair,
    FaultInput,
    FaultState,
    HoldTicket,
    LineTestOutcome,
    LineTestResult,
    ReopenTicket,
    ResolveFault,
    ResumeTicket,
)
from starter import Faults

from .fakes import FAST_QUEUE, Fakes, near

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
ASSIGN = AssignTechnician(technician="tech.zhao", actor="dispatch.wu")
REPAIR = ResolveFault(cause_code="line_damage", fix="更换入户光缆", actor="tech.zhao")
NOT_RUN = LineTestResult(outcome=LineTestOutcome.not_run, message="line test could not be run")


def ticket(ticket_id: str = "T1", **overrides) -> FaultInput:
    data = dict(ticket_id=ticket_id, service_id="BB-1001", region="urban", severity="critical",
                description="宽带无法上网", channel="hotline",
                customer=dict(customer_ref="CUST-2001", name="李四", phone="13900139000"))
    return FaultInput.model_validate({**data, **overrides})


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
async def faults(env, fakes):
    async with fakes.worker(env):
        yield Faults(env.client, task_queue=FAST_QUEUE)


async def reported(faults: Faults, fakes: Fakes, case: FaultInput | None = None) -> datetime:
    """Start the ticket; once it is diagnosed, return when it was reported."""
    case = case or ticket()
    await faults.start(case)
    await fakes.until(lambda: fakes.steps(case.workflow_id)[1:2] in (["diagnosed"], ["rejected"]),
                      f"{case.ticket_id} diagnosed")
    return (await faults.status(case.ticket_id)).reported_at


async def test_operator_targets_per_severity_and_the_statutory_cap_per_region(env, faults, fakes):
    fakes.line_test = NOT_RUN  # no diagnostic: the response clock runs until a technician is dispatched
    targets = {  # severity → (first response, resolution): operator policy, spec §3.2
        "critical": (15 * MINUTE, 4 * HOUR), "major": (HOUR, 8 * HOUR),
        "minor": (4 * HOUR, 24 * HOUR), "low": (8 * HOUR, 48 * HOUR)}
    for severity in targets:
        for region in ("urban", "rural"):
            await reported(faults, fakes, ticket(f"{severity}-{region}", severity=severity, region=region))
    for severity, (response, resolution) in targets.items():
        for region, cap in (("urban", 48 * HOUR), ("rural", 72 * HOUR)):  # 条例 Art. 32
            status = await faults.status(f"{severity}-{region}")
            assert status.deadlines == {"response": status.reported_at + response,
                                        "resolution": status.reported_at + resolution,
                                        "statutory": status.reported_at + cap}, (severity, region)


async def test_a_silent_ticket_warns_at_50_75_90_percent_breaches_and_climbs_each_ladder(env, faults, fakes):
    fakes.line_test = NOT_RUN
    at = await reported(faults, fakes, ticket(severity="minor", region="rural"))
    await env.sleep(73 * HOUR)
    await fakes.until(lambda: "statutory:escalation-hierarchic" in fakes.sla_events("fault-T1"), "the last rung")
    assert fakes.sla_events("fault-T1") == {
        "response:warning-50pct": at + 2 * HOUR, "response:warning-75pct": at + 3 * HOUR,
        "response:warning-90pct": at + 3 * HOUR + 36 * MINUTE, "response:breach": at + 4 * HOUR,
        "response:escalation-functional": at + 4 * HOUR, "response:escalation-hierarchic": at + 5 * HOUR,
        "resolution:warning-50pct": at + 12 * HOUR, "resolution:warning-75pct": at + 18 * HOUR,
        "resolution:warning-90pct": at + 21 * HOUR + 36 * MINUTE, "resolution:breach": at + 24 * HOUR,
        "resolution:escalation-functional": at + 24 * HOUR, "resolution:escalation-hierarchic": at + 28 * HOUR,
        "statutory:warning-50pct": at + 36 * HOUR, "statutory:warning-75pct": at + 54 * HOUR,
        "statutory:warning-90pct": at + 64 * HOUR + 48 * MINUTE, "statutory:breach": at + 72 * HOUR,
        "statutory:escalation-hierarchic": at + 72 * HOUR}
    escalations = [(e.clock, e.level, e.to) for t in fakes.transitions["fault-T1"] for e in t.sla_events
                   if e.kind == "escalation"]
    assert escalations == [("response", "functional", "fault-dispatch-supervisor"),
                           ("response", "hierarchic", "fault-operations-manager"),
                           ("resolution", "functional", "fault-tier2"),
                           ("resolution", "hierarchic", "fault-operations-manager"),
                           ("statutory", "hierarchic", "fault-operations-manager")]
    status = await faults.status("T1")
    assert status.statutory_breached and status.state is FaultState.pending
    assert ("fault.statutory_breach", "CUST-2001") in fakes.notifications("fault-T1")


async def test_a_diagnostic_acknowledgement_is_the_first_response(env, faults, fakes):
    at = await reported(faults, fakes)
    status = await faults.status("T1")
    assert near(status.first_response_at, at) and set(status.deadlines) == {"resolution", "statutory"}
    assert fakes.step("fault-T1", "diagnosed").notifications[0].params["diagnostic"] == fakes.line_test.message


async def test_without_a_diagnostic_the_dispatch_is_the_first_response(env, faults, fakes):
    fakes.line_test = NOT_RUN
    await reported(faults, fakes)
    assert (await faults.status("T1")).first_response_at is None
    await env.sleep(10 * MINUTE)
    status = await faults.assign_technician("T1", ASSIGN)
    assert status.first_response_at == status.history[-1].at and "response" not in status.deadlines
    assert status.state is FaultState.inProgress


async def test_repaired_then_confirmed_closes_and_the_case_ends_7_days_later_refusing_reopens_after(
        env, faults, fakes):
    handle = await faults.start(ticket())
    await faults.assign_technician("T1", ASSIGN)
    await env.sleep(HOUR)
    status = await faults.resolve("T1", REPAIR)
    repaired = status.resolution.at
    assert status.deadlines == {"confirmation": repaired + 3 * DAY, "reopen_window": repaired + 7 * DAY}
    assert status.reopen_window_end == repaired + 7 * DAY and status.rental_waived_fen == 0
    status = await faults.confirm("T1", ConfirmRepair())
    assert status.state is FaultState.closed and status.confirmation == "confirmed"
    assert status.deadlines == {"reopen_window": repaired + 7 * DAY}
    await env.sleep(7 * DAY - MINUTE)
    assert not fakes.step("fault-T1", "closed").closed  # the row closes when the reopen window ends
    await env.sleep(2 * MINUTE)
    await fakes.until(lambda: "final" in fakes.steps("fault-T1"), "the end of the reopen window")
    final = fakes.step("fault-T1", "final")
    assert final.closed and near(final.at, repaired + 7 * DAY)
    assert final.archive.retention == timedelta(days=3 * 365)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await faults.reopen("T1", ReopenTicket(reason="又断网了"))
    assert "reopen window ended" in str(refused.value.cause)
    assert (await handle.result()).state is FaultState.closed  # late reopens answered with a reason for 7 days
    ended = (await handle.fetch_history()).events[-1].event_time.ToDatetime(tzinfo=final.at.tzinfo)
    assert near(ended, final.at + 7 * DAY)


async def test_silence_after_the_repair_confirms_it_after_3_days(env, faults, fakes):
    await reported(faults, fakes)
    await faults.assign_technician("T1", ASSIGN)
    repaired = (await faults.resolve("T1", REPAIR)).resolution.at
    await env.sleep(3 * DAY - MINUTE)
    assert (await faults.status("T1")).state is FaultState.resolved
    await env.sleep(2 * MINUTE)
    await fakes.until(lambda: "closed" in fakes.steps("fault-T1"), "the deemed confirmation")
    status = await faults.status("T1")
    assert status.state is FaultState.closed and status.confirmation == "deemed"
    assert near(fakes.step("fault-T1", "closed").at, repaired + 3 * DAY)
    assert fakes.sla_events("fault-T1") == {
        "resolution:pause-1": repaired, "statutory:pause-1": repaired}  # a window's end is no SLA event


async def test_a_reopen_on_the_last_minute_of_the_window_keeps_the_clocks(env, faults, fakes):
    at = await reported(faults, fakes)
    await faults.assign_technician("T1", ASSIGN)
    await env.sleep(HOUR)
    repaired = (await faults.resolve("T1", REPAIR)).resolution.at
    await env.sleep(7 * DAY - MINUTE)
    status = await faults.reopen("T1", ReopenTicket(reason="又断网了"))
    reopened = status.history[-1].at
    used = repaired - at
    assert status.state is FaultState.inProgress and status.reopenings == 1
    assert status.deadlines == {"resolution": reopened + 4 * HOUR - used, "statutory": reopened + 48 * HOUR - used}
    assert fakes.notifications("fault-T1")[-1] == ("fault.reopened", "tech.zhao")


async def test_a_hold_pauses_the_operator_clocks_not_the_statutory_one(env, faults, fakes):
    at = await reported(faults, fakes, ticket(severity="major"))
    await faults.assign_technician("T1", ASSIGN)
    status = await faults.hold("T1", HoldTicket(reason="无法进入机房", actor="tech.zhao"))
    held = status.history[-1].at
    assert status.state is FaultState.held and status.deadlines == {"statutory": at + 48 * HOUR}
    await env.sleep(10 * HOUR)
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await faults.resolve("T1", REPAIR)
    status = await faults.resume("T1", ResumeTicket(reason="客户已到场", actor="tech.zhao"))
    paused = status.history[-1].at - held
    assert status.state is FaultState.inProgress
    assert status.deadlines == {"resolution": at + 8 * HOUR + paused, "statutory": at + 48 * HOUR}


@pytest.mark.parametrize("cause, waived", [("line_damage", True), ("terminal_equipment", False)])
async def test_past_the_statutory_cap_the_rental_is_waived_for_the_fault_period(env, faults, fakes, cause, waived):
    at = await reported(faults, fakes, ticket(severity="minor"))  # urban: 48 h
    await faults.assign_technician("T1", ASSIGN)
    await env.sleep(47 * HOUR)
    assert not (await faults.status("T1")).statutory_breached
    await env.sleep(3 * HOUR)  # hour 50
    status = await faults.resolve("T1", REPAIR.model_copy(update={"cause_code": cause}))
    assert status.statutory_breached and fakes.sla_events("fault-T1")["statutory:breach"] == at + 48 * HOUR
    compensations = fakes.step("fault-T1", "resolved").compensations
    if not waived:
        assert compensations == [] and status.rental_waived_fen == 0 and not fakes.called("look_up_service")
        return
    [waiver] = compensations
    assert (waiver.period_start, waiver.period_end) == (at, status.resolution.at)
    # monthly rental × fault period / 30 days, rounded up: 5000 fen × 50 h / 720 h = 347.2
    assert waiver.amount_fen == status.rental_waived_fen == 348


async def test_cancel_and_refusals_out_of_order(env, faults, fakes):
    await reported(faults, fakes)
    handle = faults.handle("T1")
    for update, argument, says in [
            ("resolve", REPAIR, "no technician is assigned yet"),
            ("confirm", ConfirmRepair(), "no repair awaiting"),
            ("resume", ResumeTicket(reason="x", actor="tech.zhao"), "not held"),
            ("reopen", ReopenTicket(reason="x"), "only a resolved or closed ticket")]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(update, argument)
        assert says in str(refused.value.cause)
    status = await faults.cancel("T1", CancelTicket(reason="误报"))
    assert status.state is FaultState.cancelled and status.deadlines == {}
    assert (await handle.result()).state is FaultState.cancelled
    assert fakes.steps("fault-T1") == ["reported", "diagnosed", "cancelled"]
    assert fakes.step("fault-T1", "cancelled").closed


async def test_a_service_the_network_does_not_know_rejects_the_ticket(env, faults, fakes):
    fakes.line_test = LineTestResult(outcome=LineTestOutcome.unknown_service, message="no service BB-1001")
    result = await (await faults.start(ticket())).result()
    assert result.state is FaultState.rejected and result.deadlines == {}
    assert fakes.steps("fault-T1") == ["reported", "rejected"]
