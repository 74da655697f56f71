"""ComplaintClosure with fake activities (tests/fakes.py): its branches and every complaint rule of
the policy at its boundary, without a database. The database-backed tests are in
test_complaint_closure.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from models.common import add_months
from models.complaint import (
    AssignHandler,
    ComplaintInput,
    ComplaintState,
    ConfirmReply,
    RecordFindings,
    SendReply,
    SubmitClosure,
)
from starter import Complaints

from .fakes import FAST_QUEUE, Fakes, local_day, near

DAY, MINUTE, SECOND = timedelta(days=1), timedelta(minutes=1), timedelta(seconds=1)
WID = "complaint-C1"
CLOSURE = SubmitClosure(cause_analysis="分光器老化", improvement_measures="片区分光器巡检", actor="h.li")


def complaint(complaint_id: str = "C1", **overrides) -> ComplaintInput:
    data = dict(complaint_id=complaint_id, channel="hotline", category="network_quality",
                customer=dict(customer_ref="CUST-1001", name="张三", phone="13800138000"),
                description="家中宽带每晚断线", event_date=local_day(datetime.now().astimezone()) - DAY)
    return ComplaintInput.model_validate({**data, **overrides})


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
async def complaints(env, fakes):
    async with fakes.worker(env):
        yield Complaints(env.client, task_queue=FAST_QUEUE)


async def opened(complaints: Complaints, fakes: Fakes, case: ComplaintInput | None = None) -> datetime:
    """Start the case; once its first record is in, return when it was received."""
    case = case or complaint()
    await complaints.start(case)
    await fakes.until(lambda: fakes.steps(case.workflow_id)[:1] == ["accepted"], f"{case.complaint_id} accepted")
    return (await complaints.status(case.complaint_id)).received_at


async def reply(complaints: Complaints, cid: str = "C1") -> datetime:
    await complaints.assign_handler(cid, AssignHandler(handler="h.li", actor="desk.wang"))
    await complaints.record_findings(cid, RecordFindings(findings="光衰过大，已更换分光器", actor="h.li"))
    status = await complaints.send_reply(cid, SendReply(reply="已修复，请确认", actor="h.li"))
    return status.history[-1].at


async def test_happy_path_records_each_step_once_and_archives_for_3_years(env, complaints, fakes):
    handle = await complaints.start(complaint())
    await reply(complaints)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    status = await complaints.submit_closure("C1", CLOSURE)
    result = await handle.result()
    assert status.state is ComplaintState.closed and result.deadlines == {} and not result.appeal_eligible
    assert fakes.steps(WID) == ["accepted", "assigned", "findings", "reply", "confirmed", "closed"]
    assert [t.to_state for t in fakes.transitions[WID]] == [
        "acknowledged", "inProgress", None, "resolved", None, "closed"]
    assert fakes.notifications(WID) == [("complaint.acknowledged", "CUST-1001"), ("complaint.reply", "CUST-1001"),
                                        ("complaint.closed", "CUST-1001")]
    closed = fakes.step(WID, "closed")
    assert closed.closed and closed.archive.classification == "complaint"
    assert closed.archive.retention == timedelta(days=3 * 365)  # guide ch. 7: kept 3 years
    assert fakes.sla_events(WID) == {}


async def test_the_reply_is_due_in_15_days_warned_on_days_10_and_13_then_escalated(env, complaints, fakes):
    received = await opened(complaints, fakes)
    assert (await complaints.status("C1")).deadlines == {"reply": received + 15 * DAY}
    await env.sleep(15 * DAY - MINUTE)
    status = await complaints.status("C1")
    assert not status.appeal_eligible and status.escalated_to is None
    assert fakes.sla_events(WID) == {"reply:warning-P10D": received + 10 * DAY,
                                     "reply:warning-P13D": received + 13 * DAY}
    assert [r for t, r in fakes.notifications(WID) if t == "sla.warning"] == ["complaint-desk"] * 2

    await env.sleep(2 * MINUTE)
    await fakes.until(lambda: "reply:escalation-functional" in fakes.sla_events(WID), "the escalation")
    status = await complaints.status("C1")
    assert status.appeal_eligible and status.escalated_to == "complaint-supervisor"
    assert fakes.sla_events(WID)["reply:breach"] == received + 15 * DAY
    assert fakes.sla_events(WID)["reply:escalation-functional"] == received + 15 * DAY
    assert ("complaint.appeal_eligible", "CUST-1001") in fakes.notifications(WID)

    await env.sleep(2 * DAY - 2 * MINUTE)  # the manager, two days after the breach
    assert (await complaints.status("C1")).escalated_to == "complaint-supervisor"
    await env.sleep(2 * MINUTE)
    await fakes.until(lambda: "reply:escalation-hierarchic" in fakes.sla_events(WID), "the second escalation")
    assert fakes.sla_events(WID)["reply:escalation-hierarchic"] == received + 17 * DAY
    assert (await complaints.status("C1")).escalated_to == "complaint-manager"
    assert fakes.step(WID, "reply-breach").facts.sla_breached


async def test_a_reply_in_time_stops_the_clock_and_the_customer_has_7_days_to_answer(env, complaints, fakes):
    handle = await complaints.start(complaint())
    replied = await reply(complaints)
    status = await complaints.submit_closure("C1", CLOSURE)
    assert status.deadlines == {"confirmation": replied + 7 * DAY}
    assert status.awaiting == "customer confirmation"
    await env.sleep(7 * DAY - MINUTE)
    status = await complaints.status("C1")
    assert status.state is ComplaintState.resolved and status.confirmation is None
    result = await handle.result()  # the window ends
    assert result.state is ComplaintState.closed and result.confirmation == "deemed"
    assert near(fakes.step(WID, "closed").at, replied + 7 * DAY)
    assert fakes.sla_events(WID) == {} and not fakes.step(WID, "closed").facts.sla_breached


async def test_no_answer_before_the_closure_report_is_recorded_and_the_report_then_closes(env, complaints, fakes):
    handle = await complaints.start(complaint())
    replied = await reply(complaints)
    await env.sleep(7 * DAY + MINUTE)
    await fakes.until(lambda: "confirmation-deemed" in fakes.steps(WID), "the deemed confirmation")
    assert near(fakes.step(WID, "confirmation-deemed").at, replied + 7 * DAY)
    status = await complaints.status("C1")
    assert status.state is ComplaintState.resolved and status.awaiting == "closure report"
    await complaints.submit_closure("C1", CLOSURE)
    assert (await handle.result()).confirmation == "deemed"


async def test_two_reopenings_then_the_third_goes_to_the_complaint_manager(env, complaints, fakes):
    await opened(complaints, fakes)
    await reply(complaints)
    for round_ in (1, 2):
        status = await complaints.confirm("C1", ConfirmReply(satisfied=False, comment="还是断线"))
        assert status.state is ComplaintState.inProgress and status.reopenings == round_
        assert status.escalated_to is None
        await complaints.record_findings("C1", RecordFindings(findings=f"第{round_ + 1}次排查", actor="h.li"))
        await complaints.send_reply("C1", SendReply(reply="再次修复", actor="h.li"))
    assert fakes.sla_events(WID) == {}
    status = await complaints.confirm("C1", ConfirmReply(satisfied=False))
    assert status.reopenings == 3 and status.escalated_to == "complaint-manager"
    [escalation] = fakes.transitions[WID][-1].sla_events
    assert (escalation.kind, escalation.level, escalation.to) == ("escalation", "hierarchic", "complaint-manager")
    assert fakes.notifications(WID)[-1] == ("complaint.reopened", "complaint-manager")


async def test_closure_after_the_customers_answer_and_refusals_out_of_order(env, complaints, fakes):
    await opened(complaints, fakes)
    for update, argument, says in [
            ("send_reply", SendReply(reply="x", actor="h.li"), "a reply needs an assigned handler"),
            ("confirm", ConfirmReply(satisfied=True), "no reply awaiting"),
            ("submit_closure", CLOSURE, "the closure report follows the written reply"),
            ("record_findings", RecordFindings(findings="x", actor="h.li"), "findings need an assigned handler")]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complaints.handle("C1").execute_update(update, argument)
        assert says in str(refused.value.cause)
    await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await complaints.send_reply("C1", SendReply(reply="x", actor="h.li"))
    assert "record the findings before replying" in str(refused.value.cause)
    status = await complaints.assign_handler("C1", AssignHandler(handler="h.wu", actor="desk"))
    assert status.assignee == "h.wu" and fakes.steps(WID) == ["accepted", "assigned", "assigned"]
    assert [t.reason for t in fakes.transitions[WID][1:]] == ["handler h.li assigned", "handler h.wu reassigned"]


# --- appeal windows (申诉办法 Art. 11) and event times -------------------------------------------


async def test_a_dispute_older_than_its_appeal_window_is_flagged_the_window_itself_is_not(env, complaints, fakes):
    now = await env.get_current_time()
    received_day = local_day(now)
    cases = {  # complaint id → (category, event date, outside the window?)
        "B-IN": ("billing", add_months(received_day, -5), False),
        "B-OUT": ("billing", add_months(received_day, -5) - DAY, True),
        "N-IN": ("network_quality", add_months(received_day, -24), False),
        "N-OUT": ("network_quality", add_months(received_day, -24) - DAY, True),
    }
    for cid, (category, event_date, _) in cases.items():
        await opened(complaints, fakes, complaint(cid, category=category, event_date=event_date,
                                                  received_at=now.isoformat()))
    for cid, (category, event_date, outside) in cases.items():
        status = await complaints.status(cid)
        assert status.outside_appeal_window is outside, (cid, category, event_date)
        accepted = fakes.step(f"complaint-{cid}", "accepted")
        assert accepted.facts.details["outside_appeal_window"] is outside
    assert fakes.step("complaint-B-OUT", "accepted").to_state == "acknowledged"  # handled all the same


@pytest.mark.parametrize("offset, refused", [
    (timedelta(minutes=2), None),
    (timedelta(minutes=2, seconds=30), "received_at: must not be in the future"),
    (-timedelta(days=366) + MINUTE, None),
    (-timedelta(days=366) - MINUTE, "received_at: lies more than 366 days before the case starts"),
])
async def test_event_times_may_run_2_minutes_ahead_and_366_days_back(env, complaints, fakes, offset, refused):
    now = await env.get_current_time()
    case = complaint(received_at=(now + offset).isoformat(), event_date=local_day(now + offset) - DAY)
    handle = await complaints.start(case)
    if refused is None:
        await fakes.until(lambda: fakes.steps(WID)[:1] == ["accepted"], "the complaint to be accepted")
        assert (await complaints.status("C1")).received_at == now + offset
        return
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert refused in str(failed.value.cause) and fakes.transitions[WID] == []
