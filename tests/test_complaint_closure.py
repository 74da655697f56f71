"""ComplaintClosure under the time-skipping server: states, records, notifications and times."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from activities.tables import ArchiveEntry, Case, CaseEvent, CustomerContact, Notification, SlaEvent
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

from .conftest import TEST_QUEUE, rows

DAY = timedelta(days=1)


def complaint(complaint_id: str = "C1", **overrides) -> ComplaintInput:
    data = dict(complaint_id=complaint_id, channel="hotline", category="network_quality",
                customer=dict(customer_ref="CUST-1001", name="张三", phone="13800138000"),
                description="家中宽带每晚断线", event_date=date(2026, 11, 28))
    return ComplaintInput.model_validate({**data, **overrides})


async def investigate_and_reply(complaints: Complaints, cid: str = "C1") -> None:
    await complaints.assign_handler(cid, AssignHandler(handler="h.li", actor="desk.wang"))
    await complaints.record_findings(cid, RecordFindings(findings="光衰过大，已更换分光器", actor="h.li"))
    await complaints.send_reply(cid, SendReply(reply="已修复，请确认", actor="h.li"))


CLOSURE = SubmitClosure(cause_analysis="分光器老化", improvement_measures="片区分光器巡检", actor="h.li")


@pytest.mark.postgres
async def test_happy_path_closes_with_every_record_once(env, worker, engine, complaints):
    handle = await complaints.start(complaint())
    started = await env.get_current_time()
    await investigate_and_reply(complaints)
    status = await complaints.confirm("C1", ConfirmReply(satisfied=True))
    assert status.state is ComplaintState.resolved and status.awaiting == "closure report"
    status = await complaints.submit_closure("C1", CLOSURE)
    assert status.state is ComplaintState.closed
    result = await handle.result()
    assert [h.state for h in result.history] == ["acknowledged", "inProgress", "resolved", "closed"]
    assert result.deadlines == {}

    wid = "complaint-C1"
    [case] = rows(engine, Case, wid)
    assert case.state == "closed" and case.closed_at is not None and case.customer_ref == "CUST-1001"
    assert case.details["cause_analysis"] == "分光器老化" and case.details["confirmation"] == "satisfied"
    assert case.deadlines == {} and case.next_due_at is None
    steps = [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, wid)]
    assert steps == ["accepted", "assigned", "findings", "reply", "confirmed", "closed"]
    notes = rows(engine, Notification, wid)
    assert [n.template for n in notes] == ["complaint.acknowledged", "complaint.reply", "complaint.closed"]
    assert all(n.sent_at is not None and n.recipient == "CUST-1001" for n in notes)
    assert notes[0].params["reply_due"] == (started + 15 * DAY).isoformat() or \
        abs(_parse(notes[0].params["reply_due"]) - (started + 15 * DAY)) < timedelta(seconds=5)
    assert rows(engine, SlaEvent, wid) == []
    [archive] = rows(engine, ArchiveEntry, wid)
    assert archive.classification == "complaint" and archive.summary["reopenings"] == 0
    [contact] = rows(engine, CustomerContact)
    assert contact.phone == "13800138000"


def _parse(value: str):
    from datetime import datetime
    return datetime.fromisoformat(value)


def sla_keys(engine, wid: str = "complaint-C1") -> list[str]:
    return [e.key for e in rows(engine, SlaEvent, wid)]


def templates(engine, wid: str = "complaint-C1") -> list[str]:
    return [n.template for n in rows(engine, Notification, wid)]


def near(a, b, tolerance: timedelta = timedelta(seconds=2)) -> bool:
    return abs(a - b) <= tolerance


async def test_reply_on_day_11_records_the_day_10_warning_once(env, worker, engine, complaints):
    handle = await complaints.start(complaint())
    received = (await complaints.status("C1")).received_at
    await env.sleep(11 * DAY)
    await investigate_and_reply(complaints)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    await complaints.submit_closure("C1", CLOSURE)
    await handle.result()
    [warning] = rows(engine, SlaEvent, "complaint-C1")
    assert warning.key == "reply:warning-P10D" and warning.kind == "warning"
    assert near(warning.at, received + 10 * DAY) and near(warning.due_at, received + 15 * DAY)
    assert "sla.warning" in templates(engine)


async def test_no_reply_by_day_15_breaches_and_the_case_still_closes(env, worker, engine, complaints):
    handle = await complaints.start(complaint())
    received = (await complaints.status("C1")).received_at
    await env.sleep(15 * DAY + timedelta(hours=1))
    status = await complaints.status("C1")
    assert status.appeal_eligible and status.escalated_to == "complaint-supervisor"
    assert status.deadlines["reply"] == received + 15 * DAY  # breached but still open
    assert sla_keys(engine) == ["reply:warning-P10D", "reply:warning-P13D", "reply:breach",
                                "reply:escalation-functional"]
    [breach] = [e for e in rows(engine, SlaEvent, "complaint-C1") if e.kind == "breach"]
    assert near(breach.at, received + 15 * DAY)
    assert templates(engine).count("complaint.appeal_eligible") == 1
    [case] = rows(engine, Case, "complaint-C1")
    assert case.sla_breached and case.details["appeal_eligible"] is True

    await env.sleep(2 * DAY)  # the ladder's next rung: a manager, two days after the breach
    assert (await complaints.status("C1")).escalated_to == "complaint-manager"
    await investigate_and_reply(complaints)
    await complaints.submit_closure("C1", CLOSURE)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    result = await handle.result()
    assert result.state is ComplaintState.closed and result.appeal_eligible
    assert sla_keys(engine) == ["reply:warning-P10D", "reply:warning-P13D", "reply:breach",
                                "reply:escalation-functional", "reply:escalation-hierarchic"]
    assert templates(engine).count("complaint.appeal_eligible") == 1


async def test_dissatisfied_twice_reopens_twice_then_escalates_to_a_manager(env, worker, engine, complaints):
    await complaints.start(complaint())
    await investigate_and_reply(complaints)
    for round_ in (1, 2):
        status = await complaints.confirm("C1", ConfirmReply(satisfied=False, comment="还是断线"))
        assert status.state is ComplaintState.inProgress and status.reopenings == round_
        assert status.escalated_to is None and status.awaiting == "findings"
        await complaints.record_findings("C1", RecordFindings(findings=f"第{round_ + 1}次排查", actor="h.li"))
        await complaints.send_reply("C1", SendReply(reply="再次修复", actor="h.li"))
    assert sla_keys(engine) == []
    status = await complaints.confirm("C1", ConfirmReply(satisfied=False))
    assert status.state is ComplaintState.inProgress and status.escalated_to == "complaint-manager"
    [escalation] = rows(engine, SlaEvent, "complaint-C1")
    assert escalation.kind == "escalation" and escalation.level == "hierarchic" and escalation.to == "complaint-manager"
    reopened = [e for e in rows(engine, CaseEvent, "complaint-C1") if e.step.endswith("reopened")]
    assert len(reopened) == 3 and all(e.to_state == "inProgress" for e in reopened)


async def test_no_confirmation_within_7_days_closes_by_default(env, worker, engine, complaints):
    handle = await complaints.start(complaint())
    await investigate_and_reply(complaints)
    replied = await env.get_current_time()
    status = await complaints.submit_closure("C1", CLOSURE)
    assert status.state is ComplaintState.resolved and status.awaiting == "customer confirmation"
    assert near(status.deadlines["confirmation"], replied + 7 * DAY)
    await env.sleep(7 * DAY + timedelta(minutes=1))
    result = await handle.result()
    assert result.state is ComplaintState.closed and result.confirmation == "deemed"
    assert near(result.history[-1].at, replied + 7 * DAY)
    [case] = rows(engine, Case, "complaint-C1")
    assert case.details["confirmation"] == "deemed" and case.closed_at is not None
    assert not case.sla_breached  # the customer's silence is not the operator's breach
    assert sla_keys(engine) == []  # an unanswered confirmation is not an SLA breach


@pytest.mark.parametrize("missing", ["cause_analysis", "improvement_measures"])
async def test_closing_without_cause_analysis_or_measures_is_refused(env, worker, engine, complaints, missing):
    await complaints.start(complaint())
    await investigate_and_reply(complaints)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    before = len(rows(engine, CaseEvent, "complaint-C1"))
    argument = CLOSURE.model_dump()
    for blank in ({**argument, missing: "   "}, {k: v for k, v in argument.items() if k != missing}):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complaints.handle("C1").execute_update("submit_closure", blank)
        assert missing in str(refused.value.cause)
    assert len(rows(engine, CaseEvent, "complaint-C1")) == before
    status = await complaints.status("C1")
    assert status.state is ComplaintState.resolved and not status.closure_submitted


async def test_a_second_start_with_the_same_id_is_refused(env, worker, engine, complaints):
    from starter import CaseAlreadyExists
    first = await complaints.start(complaint())
    with pytest.raises(CaseAlreadyExists, match="complaint-C1 already exists"):
        await complaints.start(complaint(description="重复提交"))
    again = await complaints.start(complaint(), existing_ok=True)
    assert again.id == first.id
    await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk"))  # runs once opened
    assert len(rows(engine, Case)) == 1 and len(rows(engine, CaseEvent)) == 2


async def test_updates_out_of_order_are_refused_with_nothing_written(env, worker, engine, complaints):
    await complaints.start(complaint())
    await complaints.status("C1")
    cases = [("send_reply", SendReply(reply="x", actor="h.li"), "a reply needs an assigned handler"),
             ("confirm", ConfirmReply(satisfied=True), "no reply awaiting"),
             ("record_findings", RecordFindings(findings="x", actor="h.li"), "findings need an assigned handler")]
    for name, argument, reason in cases:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complaints.handle("C1").execute_update(name, argument)
        assert reason in str(refused.value.cause)
    await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk"))
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk"))
    assert [e.step for e in rows(engine, CaseEvent, "complaint-C1")] == ["001-accepted", "002-assigned"]


def raw(**changes) -> dict:
    """A complaint as a non-Python service sends it: plain JSON, perhaps wrong."""
    data = complaint().model_dump(mode="json", exclude_none=True)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[leaf]
        else:
            target[leaf] = value
    return data


BAD_INPUTS = {
    "missing field": (raw(category=...), "category"),
    "unknown category": (raw(category="weather"), "category"),
    "malformed phone": (raw(customer__phone="12345"), "customer.phone"),
    "empty description": (raw(description="  "), "description"),
    "oversized text": (raw(description="断" * 4001), "description"),
    "extra field": (raw(priority="high"), "priority"),
    "event date in the future": (raw(event_date="2099-01-01"), "event_date"),
    "impossible date": (raw(event_date="2026-02-30"), "event_date"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
async def test_bad_input_fails_with_the_field_named_and_nothing_written(env, worker, engine, name):
    from temporalio.client import WorkflowFailureError
    data, field = BAD_INPUTS[name]
    handle = await env.client.start_workflow("ComplaintClosure", data, id="complaint-C1", task_queue=TEST_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert field in str(cause) and cause.type in ("ValidationError", "InvalidInput")
    assert rows(engine, Case) == [] and rows(engine, CustomerContact) == []
    if name != "event date in the future":  # the typed API catches model errors before sending
        with pytest.raises(ValueError, match=field.split(".")[-1]):
            ComplaintInput.model_validate(data)


class FlakyNotifier:
    """Fails the first delivery, after the transition has committed: the retry must not rewrite it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.failed = False

    def send(self, message, contact) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("SMS gateway unavailable")
        self.sent.append(message.key)


@pytest.mark.postgres
async def test_a_retried_activity_writes_its_rows_once(env, engine, policy, complaints):
    from worker import build_worker
    notifier = FlakyNotifier()
    async with build_worker(env.client, engine, policy=policy, notifier=notifier, task_queue=TEST_QUEUE):
        await complaints.start(complaint())
        status = await complaints.status("C1")
        await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk"))
    assert notifier.failed and status.state is ComplaintState.acknowledged
    assert [e.step for e in rows(engine, CaseEvent, "complaint-C1")] == ["001-accepted", "002-assigned"]
    [ack] = rows(engine, Notification, "complaint-C1")
    assert ack.sent_at is not None and notifier.sent == [ack.key]
    assert len(rows(engine, Case)) == 1 and len(rows(engine, CustomerContact)) == 1
