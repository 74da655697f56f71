"""The case framework on its own (workflows/case.py, book.py): a probe process with fake record
activities (no database) on the time-skipping server. What every process relies on: actions refused
before history in the wrong state, checked again and answered with the status; default SLA marks;
windows with reminders and ends that are no breach; finish and its archive entry; the id check."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.worker import Worker

from models.common import Customer
from models.policy import BoundPolicy, Policy
from models.records import PolicyRequest, Transition
from worker import INTERCEPTORS, WORKFLOW_RUNNER

from .case_probe import HOUR, Answer, CaseProbe, ProbeInput, ProbeState

QUEUE = "case-framework"
CUSTOMER = Customer(customer_ref="CUST-1", name="王芳", phone="13800138000")


class FakeRecords:
    """The record layer's activities under their own names, writing to a list."""

    def __init__(self) -> None:
        self.transitions: list[Transition] = []

    @activity.defn(name="load_policy")
    async def load_policy(self, request: PolicyRequest) -> BoundPolicy:
        return Policy().bound(str(request.case_type))

    @activity.defn(name="record_transition")
    async def record_transition(self, transition: Transition) -> None:
        if all(t.step != transition.step for t in self.transitions):  # idempotent, as the real one
            self.transitions.append(transition)

    def steps(self) -> list[str]:
        return [t.step.split("-", 1)[1] for t in self.transitions]


def probe_worker(env, records: FakeRecords) -> Worker:
    return Worker(env.client, task_queue=QUEUE, workflows=[CaseProbe],
                  activities=[records.load_policy, records.record_transition],
                  workflow_runner=WORKFLOW_RUNNER, interceptors=INTERCEPTORS)


@pytest.fixture
async def probe(env, request):
    records = FakeRecords()
    async with probe_worker(env, records):
        workflow_id = f"probe-{uuid.uuid4().hex[:8]}"
        handle = await env.client.start_workflow(
            CaseProbe.run, ProbeInput(workflow_id=workflow_id, customer=CUSTOMER, **getattr(request, "param", {})),
            id=workflow_id, task_queue=QUEUE)
        yield handle, records


async def accepted_updates(handle) -> int:
    history = await handle.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events)


async def test_an_action_in_the_wrong_state_is_refused_before_history(probe):
    handle, records = probe
    await handle.query(CaseProbe.status)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(CaseProbe.close, Answer(text="x"))
    assert refused.value.cause.type == "InvalidAction"
    assert refused.value.cause.message == "probe is open: answer it first"
    assert refused.value.cause.details == ({"action": "close", "state": "open"},)  # for programs
    with pytest.raises(WorkflowUpdateFailedError) as checked:
        await handle.execute_update(CaseProbe.answer_probe, Answer(text="no"))
    assert checked.value.cause.message == "no is not an answer"
    assert checked.value.cause.details == ({"action": "answer_probe", "state": "open"},)
    assert await accepted_updates(handle) == 0 and records.steps() == ["opened"]


async def test_an_action_writes_one_record_and_answers_with_the_status(probe):
    handle, records = probe
    status = await handle.execute_update(CaseProbe.answer_probe, Answer(text="yes"))
    assert status.state is ProbeState.answered and status.answer == "yes" and status.awaiting == "closing"
    assert [c.name for c in status.clocks] == ["work"]  # the answered window left the set
    assert records.steps() == ["opened", "answered"]
    answered = records.transitions[-1]
    assert (answered.actor, answered.from_state, answered.to_state) == ("staff.a", "open", "answered")
    opened = records.transitions[0]
    assert opened.contact.customer_ref == "CUST-1" and opened.facts.policy["version"] == Policy().version
    # Its own section only: the other processes' would fill every case's history and record.
    assert set(opened.facts.policy) == {"version", "timezone", "clock_skew", "backdating_limit", "complaint"}
    assert opened.facts.customer_ref == "CUST-1" and opened.facts.details == {"kind": "probe"}


async def test_sla_marks_get_the_default_reaction_and_a_window_reminds_then_ends(env, probe):
    handle, records = probe
    await env.sleep(12 * HOUR)  # warning at 6 h, breach at 10 h, escalation at 11 h
    status = await handle.query(CaseProbe.status)
    assert records.steps() == ["opened", "work-warning-PT6H", "work-breach", "work-escalation-functional"]
    warning, breach, escalation = records.transitions[1:]
    assert [(n.recipient, n.template, n.params["clock"]) for n in warning.notifications + breach.notifications] == [
        ("desk", "sla.warning", "work"), ("desk", "sla.breach", "work")]
    assert [e.key for e in warning.sla_events + breach.sla_events] == ["work:warning-PT6H", "work:breach"]
    assert breach.facts.sla_breached and escalation.facts.details == {"escalated_to": "supervisor"}
    assert escalation.notifications[0].recipient == "supervisor" and status.escalated_to == "supervisor"
    await env.sleep(9 * HOUR)  # the window's reminder at 20 h
    assert records.steps()[-1] == "reminder" and records.transitions[-1].sla_events == []
    assert records.transitions[-1].notifications[0].recipient == "CUST-1"
    await env.sleep(5 * HOUR)  # its end at 24 h closes the case
    result = await handle.result()
    assert result.state is ProbeState.closed and result.reminded == 1 and result.deadlines == {}
    expired = records.transitions[-1]
    assert expired.closed and expired.archive.classification == "complaint"
    assert expired.archive.retention == Policy().complaint.archive_retention
    assert all(e.clock != "reply" for t in records.transitions for e in t.sla_events)  # a window is no SLA clock


async def test_a_finished_case_stops_every_clock_and_fires_nothing_more(env, probe):
    handle, records = probe
    await handle.execute_update(CaseProbe.answer_probe, Answer(text="yes"))
    await handle.execute_update(CaseProbe.close, Answer(text="done"))
    result = await handle.result()
    assert result.state is ProbeState.closed and all(c.running is False for c in result.clocks)
    closed = records.transitions[-1]
    assert closed.closed and closed.archive.summary == {"answer": "yes"} and not closed.facts.sla_breached
    await env.sleep(30 * HOUR)
    assert records.steps()[-1] == "closed"  # stopped clocks fire nothing after the end


@pytest.mark.parametrize("probe", [{"reply_hours": 8}], indirect=True)
async def test_the_end_of_a_window_is_no_breach(env, probe):
    handle, records = probe
    await env.sleep(9 * HOUR)  # reminder at 4 h, the SLA clock's warning at 6 h, the window's end at 8 h
    result = await handle.result()
    assert records.steps() == ["opened", "reminder", "work-warning-PT6H", "expired"]
    expired = records.transitions[-1]
    assert result.state is ProbeState.closed and expired.closed and expired.facts.sla_breached is False
    assert not any(c.breached for c in result.clocks) and [c.name for c in result.clocks] == ["work"]


async def test_a_workflow_id_that_is_not_the_inputs_fails_the_case(env):
    records = FakeRecords()
    async with probe_worker(env, records):
        with pytest.raises(WorkflowFailureError) as failed:
            await env.client.execute_workflow(
                CaseProbe.run, ProbeInput(workflow_id="probe-A", customer=CUSTOMER),
                id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=QUEUE, execution_timeout=timedelta(minutes=1))
    cause = failed.value.cause
    assert cause.type == "InvalidInput" and "workflow_id: must be 'probe-A'" in cause.message
    assert cause.details[0]["problems"][0]["field"] == "workflow_id"
    assert records.transitions == []
