"""The record activity on its own (no Temporal server): a transition retried after its commit — the
worker died before reporting, or the notifier failed — writes its rows once, delivers its messages
once, and a reused case id is refused for good. Fast on SQLite; on PostgreSQL too in CI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.records import CASE_ID_REUSED, CaseRecords
from activities.tables import ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact, Notification, SlaEvent
from models.policy import Policy
from models.records import (
    ArchiveRecord,
    CaseFacts,
    Channel,
    CompensationKind,
    CompensationRecord,
    NotificationRecord,
    SlaEventRecord,
    Transition,
)
from models.sla import SlaEventKind

from .conftest import rows

pytestmark = pytest.mark.postgres  # the record layer: SQLite and PostgreSQL

WID = "fault-R1"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHILDREN = (CaseEvent, SlaEvent, Notification, Compensation, ArchiveEntry)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message, contact) -> None:
        self.sent.append(message.key)


def reported() -> Transition:
    return Transition(
        workflow_id=WID, run_id="run-1", case_type="fault", step="001-reported", at=AT, actor="system",
        reason="critical fault reported", to_state="acknowledged",
        contact=dict(customer_ref="CUST-2001", name="李四", phone="13900139000"),
        facts=CaseFacts(customer_ref="CUST-2001", region="urban", severity="critical",
                        details={"service_id": "BB-1001"}, deadlines={"statutory": AT + timedelta(hours=48)}),
        notifications=[NotificationRecord(key="001-reported:fault.acknowledged", channel=Channel.sms,
                                          template="fault.acknowledged", recipient="CUST-2001")])


def repaired() -> Transition:
    """Every kind of child row in one transition."""
    at = AT + timedelta(hours=50)
    return Transition(
        workflow_id=WID, run_id="run-1", case_type="fault", step="002-final", at=at, actor="tech.zhao",
        reason="repaired", from_state="acknowledged", to_state="closed", closed=True,
        facts=CaseFacts(details={"rental_waived_fen": 348}, deadlines={}, sla_breached=True),
        sla_events=[SlaEventRecord(key="statutory:breach", clock="statutory", kind=SlaEventKind.breach,
                                   at=AT + timedelta(hours=48))],
        notifications=[NotificationRecord(key="002-final:fault.closed", channel=Channel.sms,
                                          template="fault.closed", recipient="CUST-2001")],
        compensations=[CompensationRecord(key="rental-waiver-1", kind=CompensationKind.rental_waiver,
                                          amount_fen=348, period_start=AT, period_end=at, reason="条例 Art. 32")],
        archive=ArchiveRecord(classification="fault", retention=timedelta(days=1095), summary={"outcome": "closed"}))


def counts(engine) -> dict[str, int]:
    return {table.__name__: len(rows(engine, table, WID)) for table in CHILDREN}


def test_a_transition_recorded_twice_writes_one_set_of_rows_and_sends_once(engine):
    notifier = Recorder()
    records, activity = CaseRecords(engine, Policy(), notifier), ActivityEnvironment()
    for transition in (reported(), reported(), repaired(), repaired()):  # each one retried after its commit
        activity.run(records.record_transition, transition)
    assert counts(engine) == {"CaseEvent": 2, "SlaEvent": 1, "Notification": 2, "Compensation": 1, "ArchiveEntry": 1}
    assert [e.step for e in rows(engine, CaseEvent, WID)] == ["001-reported", "002-final"]
    assert len(rows(engine, CustomerContact)) == 1
    [case] = rows(engine, Case, WID)
    assert case.state == "closed" and case.closed_at == AT + timedelta(hours=50) and case.sla_breached
    assert case.details == {"service_id": "BB-1001", "rental_waived_fen": 348} and case.next_due_at is None
    assert notifier.sent == ["001-reported:fault.acknowledged", "002-final:fault.closed"]
    assert all(n.sent_at is not None for n in rows(engine, Notification, WID))


def test_an_earlier_transition_retried_late_changes_nothing(engine):
    records, activity = CaseRecords(engine, Policy(), Recorder()), ActivityEnvironment()
    activity.run(records.record_transition, reported())
    activity.run(records.record_transition, repaired())
    before = (counts(engine), rows(engine, Case, WID)[0].state)
    activity.run(records.record_transition, reported())  # e.g. a stale attempt that finally ran
    assert (counts(engine), rows(engine, Case, WID)[0].state) == before == (
        {"CaseEvent": 2, "SlaEvent": 1, "Notification": 2, "Compensation": 1, "ArchiveEntry": 1}, "closed")


def test_a_case_id_reused_by_another_run_is_refused_for_good(engine):
    records, activity = CaseRecords(engine, Policy(), Recorder()), ActivityEnvironment()
    activity.run(records.record_transition, reported())
    with pytest.raises(ApplicationError) as refused:
        activity.run(records.record_transition, reported().model_copy(update={"run_id": "run-2"}))
    assert refused.value.type == CASE_ID_REUSED and refused.value.non_retryable
    assert counts(engine)["CaseEvent"] == 1 and rows(engine, Case, WID)[0].run_id == "run-1"


class FailsOnce(Recorder):
    """A gateway that refuses one message the first time it is offered."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.refuse: str | None = key

    def send(self, message, contact) -> None:
        if message.key == self.refuse:
            self.refuse = None
            raise ConnectionError("gateway down")
        super().send(message, contact)


def test_a_send_that_fails_marks_what_went_out_and_the_retry_sends_only_the_rest(engine):
    second = NotificationRecord(key="001-reported:staff", channel=Channel.email, template="fault.dispatch",
                                recipient="dispatch")
    transition = reported().model_copy(update={"notifications": [*reported().notifications, second]})
    notifier = FailsOnce(second.key)
    records, activity = CaseRecords(engine, Policy(), notifier), ActivityEnvironment()
    with pytest.raises(ConnectionError):
        activity.run(records.record_transition, transition)
    assert notifier.sent == ["001-reported:fault.acknowledged"]
    assert {n.key: n.sent_at is not None for n in rows(engine, Notification, WID)} == {
        "001-reported:fault.acknowledged": True, second.key: False}
    activity.run(records.record_transition, transition)  # the activity's retry
    assert notifier.sent == ["001-reported:fault.acknowledged", "001-reported:staff"]
    assert all(n.sent_at is not None for n in rows(engine, Notification, WID))
    assert counts(engine)["CaseEvent"] == 1
