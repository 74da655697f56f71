"""Termination's own records and activities (spec §5.1, §5.7): the claim that keeps one termination
per account, the request check, deprovisioning, number reclaim and release, and the erasure of the
customer's personal data with its deletion certificate. Billing and the inventory are reached
through their adapters (activities.billing, activities.deprovisioning)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, delete, select
from temporalio import activity

from models.application import ServiceType
from models.identity import IdentityDocument
from models.tables import Case, CustomerContact, UTCDateTime
from models.termination import (AccountClaim, CheckRequest, ClaimResult, DeprovisionRequest, DeprovisionResult,
                                EquipmentKind, ErasureCertificate, ErasureRequest, LineFacts, NumberReclaim,
                                NumberRelease, ReclaimResult, RequestFacts)

from .billing import Billing, BillingSystem, DatabaseBilling, seed_account
from .deprovisioning import DatabaseDeprovisioning, Deprovisioning, seed_line


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
    """Activities that hold their dependencies: the engine for our own records, and the adapters."""

    def __init__(self, engine: sa.Engine, billing: BillingSystem, lines: Deprovisioning) -> None:
        self.engine = engine
        self.billing = billing
        self.lines = lines

    @activity.defn
    def check_request(self, request: CheckRequest) -> RequestFacts:
        """Read-only: the workflow decides what is wrong. Hashing happens here, not in the
        workflow: its key is the worker's secret."""
        protected = request.identity.protect()
        account = self.billing.account(request.account_id)
        matches = account is not None and self.billing.holder_matches(request.account_id, protected.id_hash)
        active = self.lines.active_lines(account.customer_ref, protected.id_hash, request.services) if matches else {}
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
            session.exec(delete(TerminationClaim).where(TerminationClaim.account_id == claim.account_id,
                                                        TerminationClaim.workflow_id == claim.workflow_id))

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
        return self.lines.reclaim(request, request.identity.protect().id_hash)

    @activity.defn
    def release_numbers(self, request: NumberRelease) -> None:
        self.lines.release(request.numbers, request.at)

    @activity.defn
    def erase_personal_data(self, request: ErasureRequest) -> ErasureCertificate:
        """Anonymise what the law lets us keep, delete the contact unless the customer is still
        ours, then complete the certificate. The adapters' steps are idempotent and report the
        rows now anonymised; the contact's deletion and the certificate commit together."""
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
            record = session.get(DataErasure, request.workflow_id)
            if record.erased_at is not None:
                return _certificate(record)
            open_cases = session.exec(select(Case.workflow_id).where(
                Case.customer_ref == request.customer_ref, Case.closed_at.is_(None),
                Case.workflow_id != request.workflow_id)).first()
            if still_ours or open_cases is not None:
                retained["customercontact"] = ("kept: the customer still holds another account or line, or has an "
                                               "open case")
                erased["customercontact"] = 0
            else:
                erased["customercontact"] = session.execute(sa.delete(CustomerContact).where(
                    CustomerContact.customer_ref == request.customer_ref)).rowcount
            record.erased_at, record.erased, record.retained = request.at, erased, retained
            session.add(record)
            session.flush()
            return _certificate(record)


def certificate_id(workflow_id: str) -> str:
    return f"DC-{workflow_id}"


def _certificate(record: DataErasure) -> ErasureCertificate:
    return ErasureCertificate(certificate_id=record.certificate_id, erased_at=record.erased_at,
                              erased=record.erased, retained=record.retained)


def termination_activities(engine: sa.Engine, billing: BillingSystem | None = None,
                           lines: Deprovisioning | None = None) -> list[Callable]:
    """Every activity TerminationCleanup runs, over the default adapters unless given others."""
    billing = billing or DatabaseBilling(engine)
    money, termination = Billing(billing), Termination(engine, billing, lines or DatabaseDeprovisioning(engine))
    return [money.record_payment, money.settle, money.refund, money.return_equipment, money.charge_equipment,
            termination.check_request, termination.claim_account, termination.release_claim,
            termination.deprovision, termination.reclaim_number, termination.release_numbers,
            termination.erase_personal_data]


def seed_subscriber(engine: sa.Engine, account_id: str, customer_ref: str, identity: IdentityDocument,
                    lines: Iterable[tuple[ServiceType, str]], *, balance_fen: int = 0, contract_end: date | None = None,
                    equipment: Iterable[tuple[str, EquipmentKind]] = ()) -> None:
    """An account in service with its lines (service type, line id) and rented devices, for the
    demo and the tests; adds only what is missing."""
    holder = identity.protect().id_hash
    seed_account(engine, account_id, customer_ref, holder, balance_fen=balance_fen, contract_end=contract_end,
                 equipment=equipment)
    for service_type, line_id in lines:
        seed_line(engine, customer_ref, holder, service_type, line_id)
