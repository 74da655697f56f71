"""Termination's own records and activities (spec §5.1, §5.7): the claim that keeps one termination
per account, the request check, deprovisioning, number reclaim and release, and the erasure of the
customer's personal data with its deletion certificate. Billing and the inventory are reached
through their adapters (adapters.billing, adapters.deprovisioning)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, delete
from temporalio import activity

from adapters.billing import BillingSystem, DatabaseBilling
from adapters.deprovisioning import DatabaseDeprovisioning, Deprovisioning
from edge.id_hash import HashKeyRing, hashes, protect
from edge.sql import UTCDateTime
from models.common import CaseType
from models.termination import (
    AccountClaim,
    CheckRequest,
    ClaimResult,
    DeprovisionRequest,
    DeprovisionResult,
    ErasureCertificate,
    ErasureRequest,
    LineFacts,
    NumberReclaim,
    NumberRelease,
    ReclaimResult,
    RequestFacts,
)

from .billing import Billing
from .database import checkpoint_wal
from .records import ARCHIVE, CASE, CONTACT, EVENT, NOTIFICATION, SLA_EVENT


class TerminationClaim(SQLModel, table=True):
    """One termination per account at a time: the running case holds its account until it ends."""

    account_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(unique=True, max_length=100)
    claimed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DataErasure(SQLModel, table=True):
    """PIPL Art. 47 for one terminated account: written when processing stops (storage only), and
    completed when the personal data is erased — the completed row is the deletion certificate."""

    workflow_id: str = Field(primary_key=True, max_length=100)
    certificate_id: str = Field(unique=True, max_length=100)
    account_id: str = Field(index=True, max_length=64)
    customer_ref: str = Field(index=True, max_length=64)
    restricted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    erase_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    retained: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class Termination:
    """Activities that hold their dependencies: the engine for our own records, the adapters, and
    the ID hash key ring."""

    def __init__(self, engine: sa.Engine, billing: BillingSystem, lines: Deprovisioning, keys: HashKeyRing) -> None:
        self.engine = engine
        self.billing = billing
        self.lines = lines
        self.keys = keys

    @activity.defn
    def check_request(self, request: CheckRequest) -> RequestFacts:
        """Read-only: the workflow decides what is wrong. Hashing happens here, not in the
        workflow: its key is the worker's secret."""
        protected = protect(request.identity, self.keys)
        holder = hashes(request.identity, self.keys)  # under every key of the ring: a key rotation keeps the holder
        account = self.billing.account(request.account_id)
        matches = account is not None and self.billing.holder_matches(request.account_id, holder)
        active = (self.lines.active_lines(account.customer_ref, holder, request.services)
                  if account is not None and matches else {})
        return RequestFacts(account_found=account is not None, identity_matches=matches,
                            account=account if matches else None, id_masked=protected.id_masked,
                            lines=[LineFacts(line_id=line, service_type=active.get(line)) for line in request.services])

    @activity.defn
    def claim_account(self, claim: AccountClaim) -> ClaimResult:
        try:
            with Session(self.engine) as session, session.begin():
                held = session.get(TerminationClaim, claim.account_id)
                if held is None:
                    session.add(TerminationClaim(account_id=claim.account_id, workflow_id=claim.workflow_id,
                                                 claimed_at=claim.at))
                    return ClaimResult(claimed=True, held_by=None)
        except IntegrityError:  # a concurrent request claimed it first
            pass
        with Session(self.engine) as session:
            held = session.get(TerminationClaim, claim.account_id)
            mine = held is not None and held.workflow_id == claim.workflow_id
            return ClaimResult(claimed=mine, held_by=None if mine or held is None else held.workflow_id)

    @activity.defn
    def release_claim(self, claim: AccountClaim) -> None:
        with Session(self.engine) as session, session.begin():
            session.exec(delete(TerminationClaim).where(col(TerminationClaim.account_id) == claim.account_id,
                                                        col(TerminationClaim.workflow_id) == claim.workflow_id))

    @activity.defn
    def deprovision(self, request: DeprovisionRequest) -> DeprovisionResult:
        """The service ends: lines terminated, numbers quarantined or ported out, and processing
        of the customer's personal data restricted to storage (PIPL Art. 47)."""
        lines = self.lines.terminate(request)
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(DataErasure, request.workflow_id) is None:
                    session.add(DataErasure(workflow_id=request.workflow_id,
                                            certificate_id=certificate_id(request.workflow_id),
                                            account_id=request.account_id, customer_ref=request.customer_ref,
                                            restricted_at=request.at, erase_at=request.erase_at))
        except IntegrityError:
            pass  # a concurrent attempt wrote it
        return DeprovisionResult(lines=lines)

    @activity.defn
    def reclaim_number(self, request: NumberReclaim) -> ReclaimResult:
        return self.lines.reclaim(request, hashes(request.identity, self.keys))

    @activity.defn
    def release_numbers(self, request: NumberRelease) -> None:
        self.lines.release(request.numbers, request.at)

    @activity.defn
    def erase_personal_data(self, request: ErasureRequest) -> ErasureCertificate:
        certificate = self._erase(request)
        checkpoint_wal(self.engine)  # also on a retry: the committed erasure must leave SQLite's WAL too
        return certificate

    def _erase(self, request: ErasureRequest) -> ErasureCertificate:
        """Anonymise what the law lets us keep; erase the free text of this termination's case and,
        unless the customer is still ours, delete the contact and erase the free text of all their
        cases; then complete the certificate. The adapters' steps are idempotent and report the rows
        now anonymised; our own records' erasure and the certificate commit together."""
        with Session(self.engine) as session:
            done = session.get(DataErasure, request.workflow_id)
            if done is not None and done.erased_at is not None:
                return _certificate(done)
        erased = self.lines.erase_holder(request.customer_ref, request.services)
        erased["billingaccount"] = self.billing.erase_holder(request.account_id)
        retained = dict(request.retained)
        still_ours = (self.billing.holds_active_account(request.customer_ref, besides=request.account_id)
                      or self.lines.holds_active_line(request.customer_ref))
        with Session(self.engine) as session, session.begin():
            # Claimed by a write, not a read: a concurrent attempt waits for its lock (PostgreSQL's row
            # lock, SQLite's writer lock), then finds the certificate complete or fails and is retried.
            claimed = session.exec(sa.update(DataErasure).where(
                col(DataErasure.workflow_id) == request.workflow_id, col(DataErasure.erased_at).is_(None))
                .values(erased_at=request.at)).rowcount
            record = session.get_one(DataErasure, request.workflow_id)
            if not claimed:
                return _certificate(record)
            cases = session.execute(sa.select(CASE.c.workflow_id, CASE.c.case_type, CASE.c.closed_at).where(
                CASE.c.customer_ref == request.customer_ref)).all()
            if still_ours or any(c.closed_at is None and c.workflow_id != request.workflow_id for c in cases):
                retained["customercontact"] = ("kept, with the free text of the customer's other cases: the customer "
                                               "still holds another account or line, or has an open case")
                cases = [c for c in cases if c.workflow_id == request.workflow_id]
                erased["customercontact"] = 0
            else:
                erased["customercontact"] = session.exec(sa.delete(CONTACT).where(
                    CONTACT.c.customer_ref == request.customer_ref)).rowcount
            erased |= _erase_case_text(session, {c.workflow_id: c.case_type for c in cases})
            record.erased, record.retained = erased, retained
            session.add(record)
            session.flush()
            return _certificate(record)


ERASED_TEXT = "[erased]"

KEPT_KEYS = frozenset({
    # ids of our own records and the operator's (not the customer's phone or ID number)
    "account_id", "application_id", "bill_id", "certificate_id", "complaint_id", "order_id", "request_id",
    "service_id", "ticket_id",
    # codes, states, and staff accounts or roles
    "actor", "assignee", "category", "cause_code", "channel", "clock", "code", "confirmation", "decided_by",
    "equipment", "escalated_to", "flags", "id_type", "kind", "line_status", "materials", "missing", "outcome",
    "outstanding_materials", "region", "review_flags", "service_type", "services", "severity", "stage", "state",
    "still_held",
    # dates and times
    "activated_at", "at", "confirm_by", "due_at", "equipment_due", "erase_at", "erased_at", "event_date",
    "first_response_at", "issued_at", "processing_restricted_at", "quarantine_until", "received_at",
    "refund_due_at", "refunded_at", "reopen_until", "replied_at", "reply_due", "reported_at",
    "requested_start_date", "resolved_at", "statutory_due", "submitted_at"})
"""Keys of case details, notification parameters and archive summaries whose strings are never
personal. Every other string is erased: free text (findings, replies, reasons, notes, messages) and
whatever identifies the person (masked or hashed IDs, masked numbers), and so is any key added
later until it is listed here. Numbers, booleans and nulls stay (amounts, counts, flags)."""

KEPT_BY_CASE_TYPE = {CaseType.termination.value: KEPT_KEYS | {"reason"}}
"""A termination's `reason` is its TerminationReason code; elsewhere `reason` is free text."""


def redact(value: Any, kept: frozenset[str], key: str | None = None, placeholder: str = ERASED_TEXT) -> Any:
    """`value` with every string replaced by `placeholder` unless the key that holds it (for a list,
    the list's key) is in `kept`; text already erased stays so (the archive masks with another word)."""
    if isinstance(value, dict):
        return {name: redact(item, kept, name, placeholder) for name, item in value.items()}
    if isinstance(value, list):
        return [redact(item, kept, key, placeholder) for item in value]
    return placeholder if isinstance(value, str) and key not in kept and value != ERASED_TEXT else value


def _erase_case_text(session: Session, case_types: dict[str, str]) -> dict[str, int]:
    """Erase the free text of these cases' records; the structure stays (states, steps, times,
    codes, amounts). Rows changed per table: a second pass changes none."""
    wids = list(case_types)
    erased = {}
    for table, column in ((CASE, "details"), (NOTIFICATION, "params"), (ARCHIVE, "summary")):
        key = table.primary_key.columns[0]
        changed = 0
        for wid, row_key, value in session.execute(sa.select(table.c.workflow_id, key.label("key"), table.c[column])
                                                   .where(table.c.workflow_id.in_(wids))).all():
            redacted = redact(value, KEPT_BY_CASE_TYPE.get(case_types[wid], KEPT_KEYS))
            if redacted != value:
                session.execute(table.update().where(key == row_key).values({column: redacted}))
                changed += 1
        erased[table.name] = changed
    for table, text in ((EVENT, EVENT.c.reason), (SLA_EVENT, SLA_EVENT.c.detail)):
        erased[table.name] = session.exec(table.update().where(
            table.c.workflow_id.in_(wids), text != ERASED_TEXT, text != "").values({text: ERASED_TEXT})).rowcount
    return erased


def certificate_id(workflow_id: str) -> str:
    return f"DC-{workflow_id}"


def _certificate(record: DataErasure) -> ErasureCertificate:
    if record.erased_at is None:
        raise RuntimeError(f"the erasure of {record.workflow_id} has not run: no certificate yet")
    return ErasureCertificate(certificate_id=record.certificate_id, erased_at=record.erased_at,
                              erased=record.erased, retained=record.retained)


def termination_activities(engine: sa.Engine, keys: HashKeyRing, billing: BillingSystem | None = None,
                           lines: Deprovisioning | None = None) -> list[Callable]:
    """Every activity TerminationCleanup runs, over the default adapters unless given others."""
    billing = billing or DatabaseBilling(engine)
    money = Billing(billing)
    termination = Termination(engine, billing, lines or DatabaseDeprovisioning(engine), keys)
    return [money.record_payment, money.settle, money.refund, money.return_equipment, money.charge_equipment,
            termination.check_request, termination.claim_account, termination.release_claim,
            termination.deprovision, termination.reclaim_number, termination.release_numbers,
            termination.erase_personal_data]
