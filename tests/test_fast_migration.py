"""Cases taken over from a legacy system (docs/migration.md): each process started with an event time
in the past, mid-way through its deadlines. Its clocks count the time already used; a mark due before
the case started here is recorded once, as missed before migration, and tells nobody; the marks still
ahead fire as usual. Fake activities (tests/fakes.py); the real working-day calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError

from models.application import ApplicationState, Approve
from models.complaint import ComplaintState
from models.fault import FaultState
from models.termination import TerminationState
from starter import Applications, Complaints, Faults, Terminations

from .fakes import FAST_QUEUE, Fakes, local_day, near
from .test_fast_application import application, working_days
from .test_fast_complaint import complaint
from .test_fast_fault import NOT_RUN, ticket
from .test_fast_termination import BROADBAND, MOBILE, account, request

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
MISSED = "missed before migration"


@pytest.fixture
def fakes() -> Fakes:
    fakes = Fakes()
    fakes.line_types = {MOBILE: "mobile", BROADBAND: "broadband"}
    return fakes


def missed(fakes: Fakes, workflow_id: str) -> dict[str, datetime]:
    """SLA event key → due instant, for the marks recorded as missed before migration."""
    return {e.key: e.at for t in fakes.transitions[workflow_id] for e in t.sla_events if MISSED in e.detail}


def told(fakes: Fakes, workflow_id: str) -> list[str]:
    return [template for template, _ in fakes.notifications(workflow_id)]


async def test_a_complaint_received_12_days_ago_has_missed_day_10_and_is_warned_on_day_13(env, fakes):
    async with fakes.worker(env):
        complaints = Complaints(env.client, task_queue=FAST_QUEUE)
        now = await env.get_current_time()
        received = now - 12 * DAY
        case = complaint(received_at=received.isoformat(), event_date=local_day(received) - DAY)
        await complaints.start(case)
        await fakes.until(lambda: "reply-warning-P10D" in fakes.steps(case.workflow_id), "the missed day-10 mark")
        status = await complaints.status("C1")
        assert status.deadlines == {"reply": received + 15 * DAY}  # the 15 days count from receipt
        assert missed(fakes, case.workflow_id) == {"reply:warning-P10D": received + 10 * DAY}
        assert told(fakes, case.workflow_id) == ["complaint.acknowledged"]  # nobody warned of a past mark

        await env.sleep(DAY + MINUTE)
        await fakes.until(lambda: "reply-warning-P13D" in fakes.steps(case.workflow_id), "the day-13 warning")
        assert fakes.sla_events(case.workflow_id) == {"reply:warning-P10D": received + 10 * DAY,
                                                      "reply:warning-P13D": received + 13 * DAY}
        assert missed(fakes, case.workflow_id).keys() == {"reply:warning-P10D"}  # recorded once, not again
        assert told(fakes, case.workflow_id) == ["complaint.acknowledged", "sla.warning"]
        assert (await complaints.status("C1")).state is ComplaintState.acknowledged


async def test_a_complaint_whose_reply_period_passed_before_migration_is_appeal_eligible_untold(env, fakes):
    async with fakes.worker(env):
        complaints = Complaints(env.client, task_queue=FAST_QUEUE)
        received = await env.get_current_time() - 20 * DAY
        case = complaint(received_at=received.isoformat(), event_date=local_day(received))
        await complaints.start(case)
        await fakes.until(lambda: "reply-escalation-hierarchic" in fakes.steps(case.workflow_id), "the missed ladder")
        status = await complaints.status("C1")
        assert status.appeal_eligible and status.escalated_to == "complaint-manager"  # the ladder's top, day 17
        assert missed(fakes, case.workflow_id).keys() == {"reply:warning-P10D", "reply:warning-P13D", "reply:breach",
                                                          "reply:escalation-functional", "reply:escalation-hierarchic"}
        assert told(fakes, case.workflow_id) == ["complaint.acknowledged"]


async def test_a_fault_reported_150_minutes_ago_has_its_response_ladder_behind_it(env, fakes):
    fakes.line_test = NOT_RUN  # no diagnostic: only a dispatch answers the response clock
    async with fakes.worker(env):
        faults = Faults(env.client, task_queue=FAST_QUEUE)
        reported = await env.get_current_time() - 150 * MINUTE
        case = ticket(severity="major", reported_at=reported.isoformat())
        await faults.start(case)
        wid = case.workflow_id
        await fakes.until(lambda: "response-escalation-hierarchic" in fakes.steps(wid), "the missed ladder")
        assert missed(fakes, wid) == {  # major: response 1 h, ladder at the breach and 1 h later
            "response:warning-50pct": reported + 30 * MINUTE, "response:warning-75pct": reported + 45 * MINUTE,
            "response:warning-90pct": reported + 54 * MINUTE, "response:breach": reported + HOUR,
            "response:escalation-functional": reported + HOUR, "response:escalation-hierarchic": reported + 2 * HOUR}
        status = await faults.status("T1")
        assert status.escalated_to == "fault-operations-manager" and status.state is FaultState.pending
        assert status.deadlines == {"response": reported + HOUR,  # breached, open until a dispatch
                                    "resolution": reported + 8 * HOUR, "statutory": reported + 48 * HOUR}
        assert not [t for t in told(fakes, wid) if t.startswith("sla.")]

        await env.sleep(90 * MINUTE + MINUTE)  # the resolution clock's 50 % mark, 4 h after the report
        await fakes.until(lambda: "resolution-warning-50pct" in fakes.steps(wid), "the live warning")
        assert fakes.sla_events(wid)["resolution:warning-50pct"] == reported + 4 * HOUR
        assert "resolution:warning-50pct" not in missed(fakes, wid)
        assert told(fakes, wid)[-1] == "sla.warning"


async def test_an_application_received_20_days_ago_is_overdue_for_review_and_can_still_be_approved(env, fakes):
    async with fakes.worker(env):
        applications = Applications(env.client, task_queue=FAST_QUEUE)
        received = await env.get_current_time() - 20 * DAY
        case = application(received_at=received.isoformat(), requested_start_date=local_day(received) + DAY)
        await applications.start(case)
        wid = case.workflow_id
        await fakes.until(lambda: "review-escalation-hierarchic" in fakes.steps(wid), "the missed ladder")
        status = await applications.status("A1")
        review = next(c for c in status.clocks if c.name == "review")
        assert review.started_at == received and review.due_at == working_days(received, 2)
        assert status.received_at == received and status.escalated_to == "review-manager"
        assert missed(fakes, wid).keys() == {"review:warning-50pct", "review:warning-75pct", "review:warning-90pct",
                                             "review:breach", "review:escalation-functional",
                                             "review:escalation-hierarchic"}
        assert told(fakes, wid) == ["application.received", "application.review_requested"]
        status = await applications.approve("A1", Approve(actor="r.zhao"))
        assert status.state is ApplicationState.inProgress and status.decision is not None


async def test_an_application_without_a_requested_start_asks_for_the_day_it_was_received(env, fakes):
    async with fakes.worker(env):
        applications = Applications(env.client, FAST_QUEUE)
        received = await env.get_current_time() - 3 * DAY
        await applications.start(application(received_at=received.isoformat(), requested_start_date=None))
        await fakes.until(lambda: "pre-reviewed" in fakes.steps("application-A1"), "the review")
        assert (await applications.status("A1")).requested_start_date == local_day(received)
        assert fakes.step("application-A1", "received").facts.details["requested_start_date"] == \
            local_day(received).isoformat()


async def test_an_application_may_not_ask_for_a_start_before_it_was_received(env, fakes):
    async with fakes.worker(env):
        applications = Applications(env.client, task_queue=FAST_QUEUE)
        received = await env.get_current_time() - 3 * DAY
        handle = await applications.start(application(received_at=received.isoformat(),
                                                      requested_start_date=local_day(received) - DAY))
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert failed.value.cause.type == "InvalidInput"
        assert failed.value.cause.details[0] == {"problems": [{
            "field": "requested_start_date",
            "problem": f"{local_day(received) - DAY} is before the application was received ({local_day(received)})"}]}
        assert fakes.transitions["application-A1"] == []


async def test_a_termination_requested_25_days_ago_missed_its_reminder_and_is_cancelled_unpaid_on_day_30(env, fakes):
    fakes.account = account(balance_fen=3000)
    async with fakes.worker(env):
        terminations = Terminations(env.client, task_queue=FAST_QUEUE)
        asked = await env.get_current_time() - 25 * DAY
        case = request(requested_at=asked.isoformat())
        handle = await terminations.start(case)
        wid = case.workflow_id
        await fakes.until(lambda: "payment-reminder-missed" in fakes.steps(wid), "the missed reminder")
        status = await terminations.status("T1")
        assert status.requested_at == asked and status.deadlines == {"payment": asked + 30 * DAY}
        assert told(fakes, wid) == ["termination.received", "termination.payment_due"]

        await env.sleep(5 * DAY + MINUTE)
        result = await handle.result()
        assert result.state is TerminationState.cancelled
        assert fakes.steps(wid).count("payment-reminder-missed") == 1 and "payment-reminder" not in fakes.steps(wid)
        assert near(fakes.step(wid, "cancelled").at, asked + 30 * DAY)
        assert told(fakes, wid)[-2:] == ["termination.cancelled_unpaid", "termination.unpaid_balance"]


async def test_a_termination_whose_payment_window_ended_before_migration_is_cancelled_at_once(env, fakes):
    fakes.account = account(balance_fen=3000)
    async with fakes.worker(env):
        terminations = Terminations(env.client, task_queue=FAST_QUEUE)
        asked = await env.get_current_time() - 31 * DAY
        handle = await terminations.start(request(requested_at=asked.isoformat()))
        result = await handle.result()
        assert result.state is TerminationState.cancelled and not result.payments
        assert fakes.steps("termination-T1") == ["received", "payment-reminder-missed", "cancelled"]
