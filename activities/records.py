"""The record layer's activities: every transition's rows in one idempotent transaction."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from edge.metrics import count_transition
from edge.sql import table_of
from models.policy import BoundPolicy, Policy
from models.records import PolicyRequest, Transition

from .notify import Notifier, RecordingNotifier
from .tables import ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact, Notification, SlaEvent

CASE_ID_REUSED = "CaseIdReused"
RECORD_REFUSED = "RecordRefused"


class CaseRecords:
    """Activities that hold their dependencies, so tests can swap the engine or the notifier."""

    def __init__(self, engine: sa.Engine, policy: Policy, notifier: Notifier | None = None) -> None:
        self.engine = engine
        self.policy = policy
        self.notifier = notifier or RecordingNotifier()

    @activity.defn
    def load_policy(self, request: PolicyRequest) -> BoundPolicy:
        """The policy a new case binds; its result in history keeps the case on it for life."""
        return self.policy.bound(str(request.case_type))

    @activity.defn
    def record_transition(self, transition: Transition) -> None:
        try:
            opened = self._apply(transition)
        except (DataError, OverflowError) as error:
            # A value the database cannot store fails the same way on every attempt: fail the case,
            # naming the problem (the engine hides the values), rather than retry without end.
            raise ApplicationError(f"the database refused {transition.workflow_id} step {transition.step}: "
                                   f"{type(error).__name__}: {str(error).splitlines()[0]}",
                                   type=RECORD_REFUSED, non_retryable=True) from None
        except IntegrityError:
            # A concurrent attempt of the same transition won the race: fine if it is applied.
            with self.engine.connect() as db:
                if not _applied(db, transition):
                    raise
            opened = None
        if opened is not None:  # counted once, by the attempt that applied it
            count_transition(activity.metric_meter(), transition, opened=opened)
        if transition.notifications:  # a retry of this transition delivers what an earlier attempt did not
            self._deliver(transition.workflow_id)

    def _apply(self, t: Transition) -> bool | None:
        """None when the transition was already applied; else whether it opened the case. Prepared
        statements (below) with this transition's values: this runs for every transition of every case."""
        wid = t.workflow_id
        with self.engine.begin() as db:
            case = db.execute(_CASE_AND_STEP, {"wid": wid, "step": t.step}).first()
            if case is not None and case.run_id != t.run_id:
                raise ApplicationError(
                    f"{wid} already has records from an earlier case (run {case.run_id}); "
                    "case ids are never reused", type=CASE_ID_REUSED, non_retryable=True)
            if case is not None and case.applied:
                return None
            values = _case_values(t, case.details if case is not None else {})
            if case is None:
                db.execute(CASE.insert(), {**NEW_CASE, "workflow_id": wid, "run_id": t.run_id,
                                           "case_type": t.case_type, "opened_at": t.at, **values})
            else:
                db.execute(_UPDATE_CASE, {"wid": wid, **values})
            if t.contact is not None:
                db.execute(_upsert_contact(db.dialect.name), {"customer_ref": t.contact.customer_ref,
                                                              "name": t.contact.name, "phone": t.contact.phone,
                                                              "updated_at": t.at})
            db.execute(EVENT.insert(), {"workflow_id": wid, "step": t.step, "at": t.at, "actor": t.actor,
                                        "reason": t.reason, "from_state": t.from_state, "to_state": t.to_state})
            children = [
                (SLA_EVENT, [{"workflow_id": wid, **e.model_dump()} for e in t.sla_events]),
                (NOTIFICATION, [{"workflow_id": wid, "created_at": t.at, "sent_at": None, **n.model_dump(mode="json")}
                                for n in t.notifications]),
                (COMPENSATION, [{"workflow_id": wid, "created_at": t.at, **c.model_dump()} for c in t.compensations]),
                (ARCHIVE, [{"workflow_id": wid, "classification": t.archive.classification,
                            "retain_until": t.at + t.archive.retention, "summary": t.archive.summary,
                            "archived_at": t.at}] if t.archive is not None else [])]
            for table, rows in children:
                if rows:
                    db.execute(table.insert(), rows)
        return case is None

    def _deliver(self, workflow_id: str) -> None:
        """Send what the outbox holds unsent for this case, then mark what was sent, also when a send
        fails: a retry resends only the rest."""
        with self.engine.connect() as db:
            pending = db.execute(_PENDING, {"wid": workflow_id}).all()
            contacts = {c.customer_ref: CustomerContact(**c._mapping) for c in db.execute(
                _CONTACTS, {"refs": sorted({row.recipient for row in pending})})}
            sent: list[int] = []
            try:
                for row in pending:
                    self.notifier.send(Notification(**row._mapping), contacts.get(row.recipient))
                    sent.append(row.id)
            finally:
                if sent:
                    db.execute(_MARK_SENT, {"ids": sent, "sent_at": datetime.now(UTC)})
                    db.commit()


CASE, EVENT, SLA_EVENT, NOTIFICATION, COMPENSATION, ARCHIVE, CONTACT = (
    table_of(t) for t in (Case, CaseEvent, SlaEvent, Notification, Compensation, ArchiveEntry, CustomerContact))
NEW_CASE: dict[str, object] = {
    "state": "", "customer_ref": None, "region": None, "severity": None, "assignee": None, "details": {},
    "deadlines": {}, "next_due_at": None, "sla_breached": False, "policy": {}, "closed_at": None}
"""A new case row's columns before its first transition's values."""
# Built once: SQLAlchemy then reuses their compiled form instead of building a statement per call.
_CASE_AND_STEP = sa.select(
    CASE.c.run_id, CASE.c.details,
    sa.exists().where(EVENT.c.workflow_id == CASE.c.workflow_id, EVENT.c.step == sa.bindparam("step")).label("applied"),
).where(CASE.c.workflow_id == sa.bindparam("wid"))
_APPLIED = sa.select(EVENT.c.id).where(EVENT.c.workflow_id == sa.bindparam("wid"), EVENT.c.step == sa.bindparam("step"))
_UPDATE_CASE = CASE.update().where(CASE.c.workflow_id == sa.bindparam("wid"))
_PENDING = (sa.select(NOTIFICATION)
            .where(NOTIFICATION.c.workflow_id == sa.bindparam("wid"), NOTIFICATION.c.sent_at.is_(None))
            .order_by(NOTIFICATION.c.id))
_CONTACTS = sa.select(CONTACT).where(CONTACT.c.customer_ref.in_(sa.bindparam("refs", expanding=True)))
_MARK_SENT = NOTIFICATION.update().where(NOTIFICATION.c.id.in_(sa.bindparam("ids", expanding=True)))


@functools.cache
def _upsert_contact(dialect: str) -> sa.Insert:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CONTACT)
    return insert.on_conflict_do_update(index_elements=[CONTACT.c.customer_ref],
                                        set_={c: insert.excluded[c] for c in ("name", "phone", "updated_at")})


def _applied(db: sa.Connection, t: Transition) -> bool:
    return db.execute(_APPLIED, {"wid": t.workflow_id, "step": t.step}).first() is not None


def _case_values(t: Transition, details: dict) -> dict:
    """The case row's columns this transition sets."""
    facts = t.facts
    values: dict = {"updated_at": t.at}
    if t.to_state:
        values["state"] = t.to_state
    for column in ("customer_ref", "region", "severity", "assignee", "sla_breached"):
        value = getattr(facts, column)
        if value is not None:
            values[column] = value
    if facts.details is not None:
        values["details"] = {**details, **facts.details}
    if facts.policy is not None:
        values["policy"] = facts.policy
    if facts.deadlines is not None:
        values["deadlines"] = {name: due.isoformat() for name, due in facts.deadlines.items()}
        values["next_due_at"] = min(facts.deadlines.values(), default=None)
    if t.closed:
        values["closed_at"] = t.at
    return values
