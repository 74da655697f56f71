"""Erasure of a customer's personal data at the end of a termination's retention: the contact, and the
free text of every case of theirs (details, notification parameters, archive summaries, event
reasons, SLA event details), in one idempotent transaction; and SQLite keeps none of it in its files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.database import make_engine, upgrade
from activities.records import CaseRecords
from activities.tables import ArchiveEntry, Case, CaseEvent, CustomerContact, Notification, SlaEvent
from activities.termination import ERASED_TEXT, KEPT_KEYS, DataErasure, Termination, redact
from adapters.billing import DatabaseBilling
from adapters.deprovisioning import DatabaseDeprovisioning
from edge.id_hash import development_keys
from models.complaint import AssignHandler, ComplaintInput, ConfirmReply, RecordFindings, SendReply, SubmitClosure
from models.policy import Policy
from models.records import ArchiveRecord, CaseFacts, Channel, NotificationRecord, SlaEventRecord, Transition
from models.sla import SlaEventKind
from models.termination import ErasureRequest

from .conftest import rows
from .test_termination_cleanup import clear_text_hits, request, seed, start

pytestmark = pytest.mark.postgres  # the database is the point: SQLite and PostgreSQL

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REF, OTHER_REF = "CUST-9001", "CUST-9002"
NAME, PHONE = "ERASEME张三", "13912345678"
FINDINGS, REPLY, HELD = "ERASEME张三说邻居家也断网", "ERASEME您好张三先生，已修复", "ERASEME张三出差到月底"
FREE_TEXT = (NAME, PHONE, FINDINGS, REPLY, HELD)
TERMINATION = "termination-T9"


def transition(wid: str, case_type: str, step: str, days: int, **fields) -> Transition:
    return Transition(workflow_id=wid, run_id=f"run-{wid}", case_type=case_type, step=step,
                      at=T0 + timedelta(days=days), actor=fields.pop("actor", "system"), **fields)


def customer_cases(ref: str = REF, *, complaint_closed: bool = True) -> list[Transition]:
    """A complaint, a fault and a termination of one customer, with free text wherever it can go."""
    contact = dict(customer_ref=ref, name=NAME, phone=PHONE)
    complaint, fault = f"complaint-{ref}", f"fault-{ref}"
    return [
        transition(complaint, "complaint", "001-accepted", 0, reason="complaint received via hotline",
                   to_state="acknowledged", contact=contact,
                   facts=CaseFacts(customer_ref=ref, details={"category": "billing", "channel": "hotline",
                                                              "event_date": "2026-02-27"}),
                   notifications=[NotificationRecord(key="001:ack", channel=Channel.sms, recipient=ref,
                                                     template="complaint.acknowledged",
                                                     params={"complaint_id": ref, "reply_due": "2026-03-17"})]),
        transition(complaint, "complaint", "002-findings", 1, actor="h.li", reason=f"findings: {FINDINGS}",
                   facts=CaseFacts(details={"findings": FINDINGS})),
        transition(complaint, "complaint", "003-closed", 2, actor="h.li", reason="closed", to_state="closed",
                   closed=complaint_closed,
                   facts=CaseFacts(details={"reply": REPLY, "replied_at": "2026-03-04T08:00:00+00:00"}),
                   archive=ArchiveRecord(classification="complaint", retention=timedelta(days=730),
                                         summary={"category": "billing", "reopenings": 0,
                                                  "cause_analysis": FINDINGS}),
                   notifications=[NotificationRecord(key="003:reply", channel=Channel.sms, recipient=ref,
                                                     template="complaint.reply",
                                                     params={"complaint_id": ref, "excerpt": REPLY})]),
        transition(fault, "fault", "001-reported", 0, reason="P2 fault reported via app", to_state="acknowledged",
                   contact=contact, facts=CaseFacts(customer_ref=ref, region="urban", severity="P2",
                                                    details={"service_id": "BB-9001", "channel": "app",
                                                             "line_test": {"outcome": "fault_found",
                                                                           "message": f"call {PHONE}"}})),
        transition(fault, "fault", "002-held", 1, actor="t.zhao", reason=f"customer unavailable: {HELD}",
                   to_state="held", sla_events=[SlaEventRecord(key="resolution:pause-1", clock="resolution",
                                                               kind=SlaEventKind.pause, at=T0, detail=HELD)]),
        transition(fault, "fault", "003-closed", 3, reason="closed", to_state="closed", closed=True,
                   archive=ArchiveRecord(classification="fault", retention=timedelta(days=730),
                                         summary={"severity": "P2", "cause_code": "fibre_cut"})),
        transition(TERMINATION, "termination", "001-received", 0, reason="termination requested",
                   to_state="active", contact=contact,
                   facts=CaseFacts(customer_ref=ref, details={"account_id": "ACCT-9", "reason": "relocation",
                                                              "id_masked": "1101**********002X"})),
    ]


def hits(engine: sa.Engine, *texts: str) -> dict[str, list[str]]:
    """Tables holding any of the texts, also as JSON columns store them (non-ASCII escaped)."""
    return clear_text_hits(engine, *{form for text in texts for form in (text, json.dumps(text)[1:-1])})


def record(engine: sa.Engine, transitions: list[Transition]) -> None:
    records = CaseRecords(engine, Policy())
    for t in transitions:
        ActivityEnvironment().run(records.record_transition, t)


def restrict(engine: sa.Engine, ref: str = REF) -> None:
    """What deprovisioning writes: processing stopped, the erasure due."""
    with Session(engine) as session, session.begin():
        session.add(DataErasure(workflow_id=TERMINATION, certificate_id=f"DC-{TERMINATION}", account_id="ACCT-9",
                                customer_ref=ref, restricted_at=T0, erase_at=T0 + timedelta(days=180)))


def erase(engine: sa.Engine, ref: str = REF):
    termination = Termination(engine, DatabaseBilling(engine), DatabaseDeprovisioning(engine), development_keys())
    return ActivityEnvironment().run(termination.erase_personal_data, ErasureRequest(
        workflow_id=TERMINATION, account_id="ACCT-9", customer_ref=ref, services=[],
        at=T0 + timedelta(days=180), retained={"case records": "kept without personal data"}))


def snapshot(engine: sa.Engine) -> dict[str, list]:
    return {table.__tablename__: [r.model_dump() for r in rows(engine, table)]
            for table in (Case, CaseEvent, SlaEvent, Notification, ArchiveEntry, CustomerContact)}


def test_redact_keeps_listed_keys_and_erases_every_other_string():
    details = {"category": "billing", "findings": "张三说…", "reopenings": 2, "appeal_eligible": True,
               "decision": {"outcome": "rejected", "actor": "r.chen", "reason": "张三的身份证过期"},
               "review_flags": [{"code": "risk_flag", "detail": "on the risk list"}], "materials": ["id_card"],
               "lines": ["139*****678"], "id_hash": "k1$ab12", "new_key_nobody_listed": "x", "none": None}
    assert redact(details, KEPT_KEYS) == {
        "category": "billing", "findings": ERASED_TEXT, "reopenings": 2, "appeal_eligible": True,
        "decision": {"outcome": "rejected", "actor": "r.chen", "reason": ERASED_TEXT},
        "review_flags": [{"code": "risk_flag", "detail": ERASED_TEXT}], "materials": ["id_card"],
        "lines": [ERASED_TEXT], "id_hash": ERASED_TEXT, "new_key_nobody_listed": ERASED_TEXT, "none": None}
    assert redact(redact(details, KEPT_KEYS), KEPT_KEYS) == redact(details, KEPT_KEYS)


def test_erasure_removes_the_free_text_of_every_case_of_the_customer_once(engine):
    record(engine, customer_cases() + customer_cases(OTHER_REF)[:3])  # another customer's complaint
    restrict(engine)
    assert set(hits(engine, *FREE_TEXT)) == {"customercontact", "case", "caseevent", "slaevent", "notification",
                                             "archiveentry"}

    certificate = erase(engine)
    assert certificate.erased == {"customerline": 0, "provisioningorder": 0, "billingaccount": 0,
                                  "customercontact": 1, "case": 3, "notification": 1, "archiveentry": 1,
                                  "caseevent": 7, "slaevent": 1}
    for table in (Case, CaseEvent, SlaEvent, Notification, ArchiveEntry):
        mine = [r for r in rows(engine, table) if r.workflow_id in (f"complaint-{REF}", f"fault-{REF}", TERMINATION)]
        assert not [text for r in mine for text in FREE_TEXT
                    if text in json.dumps(r.model_dump(mode="json"), ensure_ascii=False)], table.__tablename__
    assert [c.customer_ref for c in rows(engine, CustomerContact)] == [OTHER_REF]  # another customer's: untouched
    assert rows(engine, Case, f"complaint-{OTHER_REF}")[0].details["findings"] == FINDINGS

    [complaint] = rows(engine, Case, f"complaint-{REF}")  # the structure stays
    assert (complaint.state, complaint.details) == ("closed", {
        "category": "billing", "channel": "hotline", "event_date": "2026-02-27", "findings": ERASED_TEXT,
        "reply": ERASED_TEXT, "replied_at": "2026-03-04T08:00:00+00:00"})
    assert rows(engine, Case, TERMINATION)[0].details == {"account_id": "ACCT-9", "reason": "relocation",
                                                          "id_masked": ERASED_TEXT}
    assert rows(engine, Case, f"fault-{REF}")[0].details["line_test"] == {"outcome": "fault_found",
                                                                          "message": ERASED_TEXT}
    events = rows(engine, CaseEvent, f"fault-{REF}")
    assert [(e.step, e.actor, e.to_state, e.reason) for e in events][1] == ("002-held", "t.zhao", "held", ERASED_TEXT)
    assert rows(engine, ArchiveEntry, f"complaint-{REF}")[0].summary == {"category": "billing", "reopenings": 0,
                                                                         "cause_analysis": ERASED_TEXT}
    assert [n.params for n in rows(engine, Notification, f"complaint-{REF}")] == [
        {"complaint_id": REF, "reply_due": "2026-03-17"}, {"complaint_id": REF, "excerpt": ERASED_TEXT}]

    before = snapshot(engine)
    assert erase(engine) == certificate  # a retry changes nothing and certifies the same
    assert snapshot(engine) == before


def test_an_open_case_keeps_the_contact_and_the_other_cases_but_not_the_terminations_text(engine):
    record(engine, customer_cases(complaint_closed=False))
    restrict(engine)
    certificate = erase(engine)
    assert certificate.erased["customercontact"] == 0 and "customercontact" in certificate.retained
    assert (certificate.erased["case"], certificate.erased["caseevent"]) == (1, 1)
    assert rows(engine, Case, TERMINATION)[0].details["id_masked"] == ERASED_TEXT
    assert rows(engine, Case, f"complaint-{REF}")[0].details["findings"] == FINDINGS
    assert rows(engine, CustomerContact)[0].name == NAME


def test_concurrent_attempts_certify_the_same_erasure(engine):
    record(engine, customer_cases())
    restrict(engine)

    def attempt(_) -> object:
        try:
            return erase(engine)
        except (OperationalError, RuntimeError):  # SQLite: the other attempt writes or checkpoints; retried
            return None

    with ThreadPoolExecutor(2) as pool:
        certificates = [c for c in pool.map(attempt, range(2)) if c is not None] + [erase(engine)]
    assert all(c == certificates[0] for c in certificates) and certificates[0].erased["case"] == 3


@pytest.fixture
def sqlite_file(tmp_path) -> Iterator[tuple[sa.Engine, Path]]:
    path = tmp_path / "erasure.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine, path
    engine.dispose()


def on_disk(path: Path) -> bytes:
    """The database's bytes as the files hold them: main file, write-ahead log, shared memory."""
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_sqlite_files_keep_no_erased_value(sqlite_file):
    engine, path = sqlite_file
    record(engine, customer_cases())
    restrict(engine)
    # JSON columns store non-ASCII escaped ("\u5f20"): look for both forms, and the ASCII marker.
    needles = [form for text in FREE_TEXT for form in (text.encode(), json.dumps(text)[1:-1].encode())]
    assert b"ERASEME" in on_disk(path) and NAME.encode() in on_disk(path)

    erase(engine)
    data = on_disk(path)
    assert b"ERASEME" not in data and not [n for n in needles if n in data]
    assert Path(f"{path}-wal").stat().st_size == 0  # truncated by the checkpoint
    assert rows(engine, Case, f"complaint-{REF}")[0].state == "closed"  # the records stay readable


async def test_a_terminated_customers_complaint_loses_its_free_text_with_the_termination(env, worker, engine,
                                                                                        complaints):
    """The acceptance run: a complaint handled, then the customer's termination runs to its end."""
    texts = ("ERASEME宽带每晚断线李四", "ERASEME李四家光衰过大", "ERASEME李四先生您好", "ERASEME李四楼分光器老化",
             "ERASEME巡检李四片区")
    handle = await complaints.start(_complaint(texts[0]))
    await complaints.assign_handler("C9", AssignHandler(handler="h.li", actor="desk.wang"))
    await complaints.record_findings("C9", RecordFindings(findings=texts[1], actor="h.li"))
    await complaints.send_reply("C9", SendReply(reply=texts[2], actor="h.li"))
    await complaints.confirm("C9", ConfirmReply(satisfied=True))
    await complaints.submit_closure("C9", SubmitClosure(cause_analysis=texts[3], improvement_measures=texts[4],
                                                        actor="h.li"))
    await handle.result()
    assert "case" in hits(engine, *texts)

    seed(engine)
    result = await (await start(env, request("T9"))).result()
    assert result.personal_data.erased_at is not None
    assert hits(engine, *texts, "13700137000", "李四") == {}
    [case] = rows(engine, Case, "complaint-C9")
    assert case.state == "closed" and case.details["category"] == "network_quality"
    [certificate] = rows(engine, DataErasure)
    assert certificate.erased["case"] == 2 and certificate.erased["archiveentry"] == 1


def _complaint(description: str) -> ComplaintInput:
    return ComplaintInput.model_validate(dict(
        complaint_id="C9", channel="hotline", category="network_quality", description=description,
        customer=dict(customer_ref="CUST-3001", name="李四", phone="13700137000"), event_date=date(2026, 11, 28)))
