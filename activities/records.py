"""The record layer's activities: every transition's rows in one idempotent transaction."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.policy import Policy
from models.records import PolicyRequest, Transition
from models.tables import (ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact,
                           Notification, SlaEvent)

from .metrics import count_transition
from .notify import Notifier, RecordingNotifier

CASE_ID_REUSED = "CaseIdReused"


class CaseRecords:
    """Activities that hold their dependencies, so tests can swap the engine or the notifier."""

    def __init__(self, engine: sa.Engine, policy: Policy, notifier: Notifier | None = None) -> None:
        self.engine = engine
        self.policy = policy
        self.notifier = notifier or RecordingNotifier()

    @activity.defn
    def load_policy(self, request: PolicyRequest) -> Policy:
        """The policy a new case binds; its result in history keeps the case on it for life."""
        return self.policy

    @activity.defn
    def record_transition(self, transition: Transition) -> None:
        try:
            opened = self._apply(transition)
        except IntegrityError:
            # A concurrent attempt of the same transition won the race: fine if it is applied.
            with Session(self.engine) as session:
                if not _applied(session, transition):
                    raise
            opened = None
        if opened is not None:  # counted once, by the attempt that applied it
            count_transition(activity.metric_meter(), transition, opened=opened)
        self._deliver(transition.workflow_id)

    def _apply(self, t: Transition) -> bool | None:
        """None when the transition was already applied; else whether it opened the case."""
        with Session(self.engine) as session, session.begin():
            case = session.get(Case, t.workflow_id)
            if case is not None and case.run_id != t.run_id:
                raise ApplicationError(
                    f"{t.workflow_id} already has records from an earlier case (run {case.run_id}); "
                    "case ids are never reused", type=CASE_ID_REUSED, non_retryable=True)
            if case is not None and _applied(session, t):
                return None
            opened = case is None
            if case is None:
                case = Case(workflow_id=t.workflow_id, run_id=t.run_id, case_type=t.case_type,
                            state=t.to_state or "", opened_at=t.at, updated_at=t.at)
            _update_case(case, t)
            session.add(case)
            if t.contact is not None:
                session.merge(CustomerContact(customer_ref=t.contact.customer_ref, name=t.contact.name,
                                              phone=t.contact.phone, updated_at=t.at))
            session.flush()
            wid = t.workflow_id
            session.add(CaseEvent(workflow_id=wid, step=t.step, at=t.at, actor=t.actor, reason=t.reason,
                                  from_state=t.from_state, to_state=t.to_state))
            session.add_all(SlaEvent(workflow_id=wid, **e.model_dump()) for e in t.sla_events)
            session.add_all(Notification(workflow_id=wid, created_at=t.at, **n.model_dump(mode="json"))
                            for n in t.notifications)
            session.add_all(Compensation(workflow_id=wid, created_at=t.at, **c.model_dump())
                            for c in t.compensations)
            if t.archive is not None:
                session.add(ArchiveEntry(workflow_id=wid, classification=t.archive.classification,
                                         retain_until=t.at + t.archive.retention,
                                         summary=t.archive.summary, archived_at=t.at))
        return opened

    def _deliver(self, workflow_id: str) -> None:
        """Send what the outbox holds unsent for this case; a retry resends only the rest."""
        with Session(self.engine) as session:
            pending = session.exec(select(Notification).where(
                Notification.workflow_id == workflow_id, Notification.sent_at.is_(None))).all()
            for message in pending:
                self.notifier.send(message, session.get(CustomerContact, message.recipient))
                message.sent_at = datetime.now(timezone.utc)
                session.add(message)
                session.commit()


def _applied(session: Session, t: Transition) -> bool:
    return session.exec(select(CaseEvent.id).where(
        CaseEvent.workflow_id == t.workflow_id, CaseEvent.step == t.step)).first() is not None


def _update_case(case: Case, t: Transition) -> None:
    facts = t.facts
    if t.to_state:
        case.state = t.to_state
    for column in ("customer_ref", "region", "severity", "assignee", "sla_breached"):
        value = getattr(facts, column)
        if value is not None:
            setattr(case, column, value)
    if facts.details is not None:
        case.details = {**case.details, **facts.details}
    if facts.policy is not None:
        case.policy = facts.policy
    if facts.deadlines is not None:
        case.deadlines = {name: due.isoformat() for name, due in facts.deadlines.items()}
        case.next_due_at = min(facts.deadlines.values(), default=None)
    if t.closed:
        case.closed_at = t.at
    case.updated_at = t.at
