"""The service archive (docs/archive.md): reads only by known staff with a purpose, each logged in its own
transaction; personal data masked by role; legal holds by the legal role only; and the purge at the end of
retention on the time-skipping server, which keeps held and not-yet-due entries and certifies each run once."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowFailureError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Replayer

from activities.archive import MASKED_TEXT, Archive, ArchiveAccess, ArchiveRefused, mask_name, mask_phone
from activities.archive_purge import ArchivePurger, ArchivePurgeRun
from activities.records import CaseRecords
from activities.tables import ArchiveEntry, Case, CaseEvent, CustomerContact, Notification
from edge.codec import data_converter
from models.archive import (
    ArchivePurgeInput,
    ArchiveQuery,
    ArchiveRequest,
    ArchiveRole,
    DuePage,
    PurgeBatch,
    PurgeCertificate,
)
from models.complaint import ConfirmReply
from models.policy import ComplaintPolicy, Policy
from models.records import ArchiveRecord, CaseFacts, Channel, NotificationRecord, Transition
from starter import cli
from worker import INTERCEPTORS, WORKFLOW_RUNNER
from workflows.archive_purge import ArchivePurge

from .conftest import TEST_QUEUE, rows
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NAME, PHONE, FINDINGS = "张三", "13800138000", "张三说邻居家也断网"
STAFF = {"a.wu": ArchiveRole.agent, "q.sun": ArchiveRole.auditor, "l.chen": ArchiveRole.legal}
WHY = "complaint appeal CA-2027-031"


def archived(wid: str, ref: str, at: datetime, retention: timedelta, case_type: str = "complaint") -> list[Transition]:
    """A closed case with free text in its details, summary and event reasons, and its customer's contact."""
    def step(name: str, **fields) -> Transition:
        return Transition(workflow_id=wid, run_id=f"run-{wid}", case_type=case_type, step=name, at=at,
                          actor="h.li", **fields)
    return [step("001-accepted", reason="received via hotline", to_state="acknowledged",
                 contact=dict(customer_ref=ref, name=NAME, phone=PHONE),
                 facts=CaseFacts(customer_ref=ref, details={"category": "billing", "channel": "hotline"}),
                 notifications=[NotificationRecord(key="001:ack", channel=Channel.sms, recipient=ref,
                                                   template="complaint.acknowledged", params={"complaint_id": wid})]),
            step("002-closed", reason=f"findings: {FINDINGS}", to_state="closed", closed=True,
                 facts=CaseFacts(details={"findings": FINDINGS}),
                 archive=ArchiveRecord(classification=case_type, retention=retention,
                                       summary={"category": "billing", "reopenings": 0, "cause_analysis": FINDINGS}))]


def record(engine: sa.Engine, *cases: list[Transition]) -> None:
    records = CaseRecords(engine, Policy())
    for transition in (t for case in cases for t in case):
        ActivityEnvironment().run(records.record_transition, transition)


def log(engine: sa.Engine) -> list[tuple]:
    return [(r.staff_id, r.role, r.action, r.target, r.results, r.purpose) for r in rows(engine, ArchiveAccess)]


# --- reading ---------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_every_read_writes_one_access_log_row(engine):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)),
           archived("complaint-A2", "CUST-1", T0, timedelta(days=30)))
    archive = Archive(engine, STAFF)
    found = archive.find(ArchiveQuery(staff="q.sun", purpose=WHY, customer_ref="CUST-1"))
    assert [e["workflow_id"] for e in found] == ["complaint-A1", "complaint-A2"]
    assert found[0]["retain_until"] == (T0 + timedelta(days=30)).isoformat() and found[0]["legal_hold"] is False
    assert archive.find(ArchiveQuery(staff="q.sun", purpose=WHY, workflow_id="complaint-NONE")) == []
    assert archive.show("complaint-A1", ArchiveRequest(staff="a.wu", purpose=WHY))["workflow_id"] == "complaint-A1"
    assert archive.show("complaint-NONE", ArchiveRequest(staff="a.wu", purpose=WHY)) is None
    assert log(engine) == [("q.sun", "auditor", "find", "customer:CUST-1", 2, WHY),
                           ("q.sun", "auditor", "find", "case:complaint-NONE", 0, WHY),
                           ("a.wu", "agent", "show", "complaint-A1", 1, WHY),
                           ("a.wu", "agent", "show", "complaint-NONE", 0, WHY)]


@pytest.mark.postgres
def test_a_read_whose_log_row_cannot_be_written_returns_nothing(engine):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    with engine.begin() as db:
        db.execute(sa.text("DROP TABLE archiveaccess"))
    with pytest.raises(sa.exc.SQLAlchemyError, match="archiveaccess"):
        Archive(engine, STAFF).show("complaint-A1", ArchiveRequest(staff="l.chen", purpose=WHY))


def test_unknown_staff_is_refused_before_anything_is_read(engine):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    with pytest.raises(ArchiveRefused) as refused:
        Archive(engine, STAFF).show("complaint-A1", ArchiveRequest(staff="x.nobody", purpose=WHY))
    assert refused.value.kind == "UnknownStaff" and log(engine) == []
    with pytest.raises(ArchiveRefused):
        Archive(engine, {}).find(ArchiveQuery(staff="a.wu", purpose=WHY, workflow_id="complaint-A1"))
    assert log(engine) == []


@pytest.mark.parametrize("data, field", [
    ({"staff": "a.wu"}, "purpose"), ({"staff": "a.wu", "purpose": "   "}, "purpose"),
    ({"staff": "a.wu", "purpose": "look"}, "purpose"), ({"purpose": WHY}, "staff"),
    ({"staff": "", "purpose": WHY}, "staff"),
])
def test_a_request_without_staff_or_purpose_is_invalid(data, field):
    with pytest.raises(ValueError) as invalid:
        ArchiveRequest.model_validate(data)
    assert [e["loc"] for e in invalid.value.errors()] == [(field,)]


def test_find_takes_a_case_or_a_customer_not_both():
    with pytest.raises(ValueError, match="either a case"):
        ArchiveQuery(staff="a.wu", purpose=WHY)
    with pytest.raises(ValueError, match="either a case"):
        ArchiveQuery(staff="a.wu", purpose=WHY, workflow_id="complaint-A1", customer_ref="CUST-1")


def test_personal_data_is_masked_unless_the_role_may_see_it(engine):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    archive = Archive(engine, STAFF)
    masked = archive.show("complaint-A1", ArchiveRequest(staff="a.wu", purpose=WHY))
    assert masked["masked"] is True and masked["customer"] == {"name": "张*", "phone": "138****8000"}
    assert masked["summary"] == {"category": "billing", "reopenings": 0, "cause_analysis": MASKED_TEXT}
    assert masked["case"]["details"] == {"category": "billing", "channel": "hotline", "findings": MASKED_TEXT}
    assert [e["reason"] for e in masked["events"]] == [MASKED_TEXT, MASKED_TEXT]
    assert [e["step"] for e in masked["events"]] == ["001-accepted", "002-closed"]
    assert masked["case"]["customer_ref"] == "CUST-1" and masked["case"]["state"] == "closed"
    assert NAME not in json.dumps(masked, ensure_ascii=False) and PHONE not in json.dumps(masked)

    record(engine, archived("termination-T1", "CUST-1", T0, timedelta(days=30), case_type="termination"))
    termination = archive.show("termination-T1", ArchiveRequest(staff="q.sun", purpose=WHY))
    assert [e["reason"] for e in termination["events"]] == [MASKED_TEXT, MASKED_TEXT]

    clear = archive.show("complaint-A1", ArchiveRequest(staff="l.chen", purpose=WHY))
    assert clear["masked"] is False and clear["customer"] == {"name": NAME, "phone": PHONE}
    assert clear["summary"]["cause_analysis"] == FINDINGS and clear["case"]["details"]["findings"] == FINDINGS
    assert [e["reason"] for e in clear["events"]] == ["received via hotline", f"findings: {FINDINGS}"]


def test_masks():
    assert (mask_name("张三"), mask_name("欧阳娜娜"), mask_phone("13800138000"), mask_phone("01012345678")) == (
        "张*", "欧***", "138****8000", "010****5678")


# --- legal hold ----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_only_the_legal_role_holds_and_releases_and_each_is_logged(engine):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    archive, reason = Archive(engine, STAFF), "litigation (2027)京0105民初123号"
    for staff in ("a.wu", "q.sun"):
        with pytest.raises(ArchiveRefused) as refused:
            archive.hold("complaint-A1", ArchiveRequest(staff=staff, purpose=reason))
        assert refused.value.kind == "NotAllowed"
    assert log(engine) == [] and rows(engine, ArchiveEntry)[0].held_at is None

    held = archive.hold("complaint-A1", ArchiveRequest(staff="l.chen", purpose=reason))
    assert held["legal_hold"] is True
    [entry] = rows(engine, ArchiveEntry)
    assert (entry.held_by, entry.hold_reason) == ("l.chen", reason) and entry.held_at is not None
    with pytest.raises(ArchiveRefused) as twice:
        archive.hold("complaint-A1", ArchiveRequest(staff="l.chen", purpose=reason))
    assert twice.value.kind == "InvalidAction"
    with pytest.raises(ArchiveRefused) as missing:
        archive.hold("complaint-NONE", ArchiveRequest(staff="l.chen", purpose=reason))
    assert missing.value.kind == "NotFound"
    shown = archive.show("complaint-A1", ArchiveRequest(staff="a.wu", purpose=WHY))
    assert shown["legal_hold"]["by"] == "l.chen" and shown["legal_hold"]["reason"] == reason

    archive.release("complaint-A1", ArchiveRequest(staff="l.chen", purpose="judgment final, appeal period over"))
    assert rows(engine, ArchiveEntry)[0].held_at is None
    with pytest.raises(ArchiveRefused) as again:
        archive.release("complaint-A1", ArchiveRequest(staff="l.chen", purpose="judgment final, appeal period over"))
    assert again.value.kind == "InvalidAction"
    assert [(staff, action, target) for staff, _, action, target, _, _ in log(engine)] == [
        ("l.chen", "hold", "complaint-A1"), ("a.wu", "show", "complaint-A1"), ("l.chen", "release", "complaint-A1")]


# --- the CLI -------------------------------------------------------------------------------------------------


@pytest.fixture
def telecom(engine, monkeypatch, capsys):
    """`telecom -o json archive …` in this process, on the test's database: (exit code, the JSON printed)."""
    for name in [k for k in os.environ if k.startswith(("TEMPORAL_", "TELECOM_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TELECOM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TELECOM_ARCHIVE_STAFF", ",".join(f"{s}:{r}" for s, r in STAFF.items()))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    def run(*argv: str) -> tuple[int, dict]:
        try:
            cli.main(["-o", "json", "archive", *argv])
            code = 0
        except SystemExit as exit:
            code = int(exit.code or 0)
        return code, json.loads(capsys.readouterr().out)
    return run


def test_the_cli_refuses_without_staff_or_purpose_and_reads_nothing(engine, telecom):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    for argv, kind in [(["show", "complaint-A1", "--staff", "a.wu"], "PurposeRequired"),
                       (["show", "complaint-A1", "--staff", "a.wu", "--purpose", " x "], "PurposeRequired"),
                       (["find", "--customer", "CUST-1", "--purpose", WHY], "StaffRequired"),
                       (["hold", "complaint-A1", "--staff", "l.chen"], "ReasonRequired")]:
        code, error = telecom(*argv)
        assert (code, error["type"]) == (2, kind) and "nothing was read" in error["message"]
    code, error = telecom("show", "complaint-A1", "--staff", "x.nobody", "--purpose", WHY)
    assert (code, error["type"]) == (1, "UnknownStaff")
    assert log(engine) == []


def test_the_cli_finds_shows_masked_and_holds(engine, telecom):
    record(engine, archived("complaint-A1", "CUST-1", T0, timedelta(days=30)))
    code, found = telecom("find", "--customer", "CUST-1", "--staff", "q.sun", "--purpose", WHY)
    assert code == 0 and [e["workflow_id"] for e in found["entries"]] == ["complaint-A1"]
    code, shown = telecom("show", "complaint-A1", "--staff", "a.wu", "--purpose", WHY)
    assert code == 0 and shown["customer"] == {"name": "张*", "phone": "138****8000"}
    code, error = telecom("hold", "complaint-A1", "--staff", "a.wu", "--reason", WHY)
    assert (code, error["type"]) == (1, "NotAllowed")
    code, held = telecom("hold", "complaint-A1", "--staff", "l.chen", "--reason", WHY)
    assert code == 0 and held["legal_hold"] is True
    code, error = telecom("show", "complaint-NONE", "--staff", "a.wu", "--purpose", WHY)
    assert (code, error["type"]) == (1, "NotFound")
    assert [action for _, _, action, _, _, _ in log(engine)] == ["find", "show", "hold", "show"]


# --- the purge -----------------------------------------------------------------------------------------------


RETENTION = timedelta(days=30)


@pytest.fixture
def policy() -> Policy:
    """Complaints archived for 30 days: the purge is due a month after a case closes."""
    return Policy(complaint=ComplaintPolicy(archive_retention=RETENTION))


async def purge(env, purge_id: str, **given) -> PurgeCertificate:
    """A purge run now: time moves only by `env.sleep` (the purge waits on no timer, and the idle server
    would otherwise skip years ahead to a timeout once the run completes)."""
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(ArchivePurge.run, ArchivePurgeInput(**given), id=purge_id,
                                                 task_queue=TEST_QUEUE)


@pytest.mark.postgres
async def test_the_purge_deletes_what_retention_ended_and_keeps_held_and_later_entries(env, worker, engine,
                                                                                       complaints):
    for cid in ("C1", "C2"):  # closed by the workflow: their entries' retention is the policy's 30 days
        await complaints.start(complaint(cid))
        await investigate_and_reply(complaints, cid)
        await complaints.confirm(cid, ConfirmReply(satisfied=True))
        await complaints.submit_closure(cid, CLOSURE)
    now = await env.get_current_time()
    record(engine, archived("complaint-X1", "CUST-3", now, RETENTION),  # due with C1; its customer has no other case
           archived("fault-F1", "CUST-3", now, timedelta(days=400), case_type="fault"))  # due in 400 days
    Archive(engine, STAFF).hold("complaint-C2", ArchiveRequest(staff="l.chen", purpose="litigation pending, 2027"))

    assert (await purge(env, "archive-purge-early")).cases == 0  # nothing is due yet
    await env.sleep(RETENTION + timedelta(days=1))
    certificate = await purge(env, "archive-purge-1")

    events_x1 = 2
    events_c1 = 6
    assert certificate.cases == 2 and certificate.completed_at is not None
    assert certificate.deleted == {"caseevent": events_c1 + events_x1, "slaevent": 0, "notification": 3 + 1,
                                   "compensation": 0, "archiveentry": 2, "case": 2, "customercontact": 0}
    assert {c.workflow_id for c in rows(engine, Case)} == {"complaint-C2", "fault-F1"}
    assert {e.workflow_id for e in rows(engine, ArchiveEntry)} == {"complaint-C2", "fault-F1"}
    assert rows(engine, CaseEvent, "complaint-C1") == [] and rows(engine, Notification, "complaint-X1") == []
    # CUST-1001 keeps its contact for C2, CUST-3 for its fault
    assert {c.customer_ref for c in rows(engine, CustomerContact)} == {"CUST-1001", "CUST-3"}
    [run] = [r for r in rows(engine, ArchivePurgeRun) if r.purge_id == "archive-purge-1"]
    assert sorted(run.workflow_ids) == ["complaint-C1", "complaint-X1"] and run.deleted == certificate.deleted

    # A retried page (the activity committed, then its worker died) deletes nothing more, counts nothing twice.
    ActivityEnvironment().run(ArchivePurger(engine).purge_cases, PurgeBatch(
        purge_id="archive-purge-1", cutoff=run.cutoff, at=run.cutoff, workflow_ids=run.workflow_ids))
    [again] = [r for r in rows(engine, ArchivePurgeRun) if r.purge_id == "archive-purge-1"]
    assert (again.cases, again.deleted, again.workflow_ids) == (run.cases, run.deleted, run.workflow_ids)

    # Its history replays, and a new run finds nothing more to delete: the held entry stays until released.
    history = await env.client.get_workflow_handle("archive-purge-1").fetch_history()
    replayer = Replayer(workflows=[ArchivePurge], data_converter=data_converter(), workflow_runner=WORKFLOW_RUNNER,
                        interceptors=INTERCEPTORS)
    assert (await replayer.replay_workflow(history, raise_on_replay_failure=True)).replay_failure is None

    assert (await purge(env, "archive-purge-2")).cases == 0
    Archive(engine, STAFF).release("complaint-C2", ArchiveRequest(staff="l.chen", purpose="litigation settled, 2027"))
    after = await purge(env, "archive-purge-3")
    assert after.cases == 1 and after.deleted["customercontact"] == 1  # C2 was CUST-1001's last case
    assert len(rows(engine, ArchivePurgeRun)) == 4


async def test_a_cutoff_in_the_future_is_refused_and_nothing_is_deleted(env, worker, engine):
    record(engine, archived("complaint-X1", "CUST-3", T0, RETENTION))
    future = await env.get_current_time() + timedelta(days=3650)
    with pytest.raises(WorkflowFailureError) as failed:
        await purge(env, "archive-purge-future", cutoff=future)
    assert failed.value.cause.type == "InvalidInput" and failed.value.cause.non_retryable
    assert len(rows(engine, ArchiveEntry)) == 1 and rows(engine, ArchivePurgeRun) == []


def test_due_entries_come_in_pages_after_the_last_one_reached(engine):
    record(engine, *(archived(f"complaint-P{n}", f"CUST-{n}", T0, RETENTION) for n in range(3)))
    due = ArchivePurger(engine).due_for_purge
    cutoff = T0 + RETENTION
    assert due(DuePage(cutoff=cutoff - timedelta(seconds=1), after="", limit=10)).workflow_ids == []
    assert due(DuePage(cutoff=cutoff, after="", limit=2)).workflow_ids == ["complaint-P0", "complaint-P1"]
    assert due(DuePage(cutoff=cutoff, after="complaint-P1", limit=2)).workflow_ids == ["complaint-P2"]
