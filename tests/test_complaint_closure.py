"""ComplaintClosure under the time-skipping server: states, records, notifications and times."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.complaint import (AssignHandler, ComplaintInput, ComplaintState, ConfirmReply, RecordFindings,
                              SendReply, SubmitClosure)
from models.tables import ArchiveEntry, Case, CaseEvent, CustomerContact, Notification, SlaEvent
from starter import Complaints

from .conftest import TEST_QUEUE, rows

DAY = timedelta(days=1)


def complaint(complaint_id: str = "C1", **overrides) -> ComplaintInput:
    data = dict(complaint_id=complaint_id, channel="hotline", category="network_quality",
                customer=dict(customer_ref="CUST-1001", name="张三", phone="13800138000"),
                description="家中宽带每晚断线", event_date=date(2026, 11, 28))
    return ComplaintInput.model_validate({**data, **overrides})


@pytest.fixture
def complaints(env) -> Complaints:
    return Complaints(env.client, task_queue=TEST_QUEUE)


async def investigate_and_reply(complaints: Complaints, cid: str = "C1") -> None:
    await complaints.assign_handler(cid, AssignHandler(handler="h.li", actor="desk.wang"))
    await complaints.record_findings(cid, RecordFindings(findings="光衰过大，已更换分光器", actor="h.li"))
    await complaints.send_reply(cid, SendReply(reply="已修复，请确认", actor="h.li"))


CLOSURE = SubmitClosure(cause_analysis="分光器老化", improvement_measures="片区分光器巡检", actor="h.li")


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
