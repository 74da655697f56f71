"""The billing system (spec §5.2–5.5), an outside system: accounts, their ledger, final bills and
rented equipment — its interface, and the default adapter that keeps them in our database so the
demo and the tests see real balances, with its tables and seed data. People appear only as the
keyed hash of their ID (edge.id_hash). The activities over it are activities.billing.

Every money movement is a ledger entry with a natural key unique per account, written in the same
transaction as the balance it changes: a retried activity never books twice."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from edge.id_hash import hash_list
from edge.sql import UTCDateTime
from models.identity import HASH_MAX_LENGTH
from models.termination import (
    AccountSnapshot,
    Equipment,
    EquipmentCharge,
    EquipmentKind,
    EquipmentReturn,
    EquipmentState,
    FinalBill,
    PaymentRecord,
    Refund,
    RefundRequest,
    Settlement,
)

ERASED = "erased"
"""Stands in for a keyed ID hash once the person's data is erased (the column stays non-null)."""


class AccountStatus(StrEnum):
    active = "active"
    closed = "closed"
    """Billing stopped, final bill issued."""


class BillingAccount(SQLModel, table=True):
    account_id: str = Field(primary_key=True, max_length=64)
    customer_ref: str = Field(index=True, max_length=64)
    holder_hash: str = Field(max_length=HASH_MAX_LENGTH, description="keyed hash of the holder's ID, `<key id>$<hex>`")
    status: str = Field(index=True, max_length=10)
    balance_fen: int = Field(description="positive: the customer owes; negative: prepaid credit")
    contract_end: date | None = Field(default=None, description="end of a contract period (合约期), if any")
    billing_stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class BillingEntry(SQLModel, table=True):
    """The ledger: kept for the billing records' legal period, holding no personal data."""

    __table_args__ = (sa.UniqueConstraint("account_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="billingaccount.account_id", index=True, max_length=64)
    key: str = Field(max_length=120, description="natural key: payment:<reference>, early-termination-fee, …")
    kind: str = Field(max_length=30)
    amount_fen: int = Field(description="added to the balance: charges and refunds positive, payments negative")
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FinalBillRow(SQLModel, table=True):
    """One per account: its balance when billing stopped, the fee added, what is left to settle."""

    __tablename__ = "finalbill"
    account_id: str = Field(foreign_key="billingaccount.account_id", primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=100)
    issued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    opening_balance_fen: int
    early_termination_fee_fen: int
    closing_balance_fen: int


class RentedEquipment(SQLModel, table=True):
    serial: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="billingaccount.account_id", index=True, max_length=64)
    kind: str = Field(max_length=20)
    state: str = Field(max_length=10)
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    charge_fen: int | None = None


class BillingSystem(Protocol):
    def account(self, account_id: str) -> AccountSnapshot | None:
        """The account, or None if billing does not know it."""

    def holder_matches(self, account_id: str, id_hashes: str | Sequence[str]) -> bool:
        """Whether the person with this keyed ID hash (or any of their hashes, one per key of the
        ring) holds the account."""

    def record_payment(self, payment: PaymentRecord) -> int:
        """Book a payment billing reported (once per reference); the balance after it."""

    def settle(self, settlement: Settlement) -> FinalBill:
        """Stop charging, add the early-termination fee, issue the final bill (once per account)."""

    def refund(self, request: RefundRequest) -> Refund:
        """Pay the prepaid balance back (once per account); the receipt names the payout."""

    def return_equipment(self, request: EquipmentReturn) -> list[Equipment]:
        """Mark devices returned; a device already returned keeps its first return time."""

    def charge_equipment(self, request: EquipmentCharge) -> list[Equipment]:
        """Charge devices not returned (once per device)."""

    def erase_holder(self, account_id: str) -> int:
        """Forget who held the account; its rows stay, as billing records. Rows anonymised."""

    def holds_active_account(self, customer_ref: str, besides: str) -> bool:
        """Whether the customer still has another account in service."""


class DatabaseBilling:
    """The default adapter: billing's state in our database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def account(self, account_id: str) -> AccountSnapshot | None:
        with Session(self.engine) as session:
            account = session.get(BillingAccount, account_id)
            if account is None:
                return None
            return AccountSnapshot(customer_ref=account.customer_ref, active=account.status == AccountStatus.active,
                                   balance_fen=account.balance_fen, contract_end=account.contract_end,
                                   equipment=_equipment(session, account_id))

    def holder_matches(self, account_id: str, id_hashes: str | Sequence[str]) -> bool:
        with Session(self.engine) as session:
            account = session.get(BillingAccount, account_id)
            return account is not None and any(hmac.compare_digest(account.holder_hash, candidate)
                                               for candidate in hash_list(id_hashes))

    def record_payment(self, payment: PaymentRecord) -> int:
        return self._book(payment.account_id, f"payment:{payment.reference}", "payment", -payment.amount_fen,
                          payment.at)

    def settle(self, settlement: Settlement) -> FinalBill:
        try:
            with Session(self.engine) as session, session.begin():
                bill = session.get(FinalBillRow, settlement.account_id)
                if bill is None:
                    account = session.get_one(BillingAccount, settlement.account_id)
                    opening = account.balance_fen
                    if settlement.early_termination_fee_fen:
                        _add_entry(session, account, "early-termination-fee", "early_termination_fee",
                                   settlement.early_termination_fee_fen, settlement.at)
                    account.status, account.billing_stopped_at = AccountStatus.closed, settlement.at
                    bill = FinalBillRow(account_id=account.account_id, workflow_id=settlement.workflow_id,
                                        issued_at=settlement.at, opening_balance_fen=opening,
                                        early_termination_fee_fen=settlement.early_termination_fee_fen,
                                        closing_balance_fen=account.balance_fen)
                    session.add(bill)
                return _final_bill(bill)
        except IntegrityError:  # a concurrent attempt issued it
            with Session(self.engine) as session:
                return _final_bill(session.get_one(FinalBillRow, settlement.account_id))

    def refund(self, request: RefundRequest) -> Refund:
        self._book(request.account_id, "refund", "refund", request.amount_fen, request.at)
        return Refund(amount_fen=request.amount_fen, reference=f"RF-{request.account_id}")

    def return_equipment(self, request: EquipmentReturn) -> list[Equipment]:
        with Session(self.engine) as session, session.begin():
            for serial in request.serials:
                device = session.get_one(RentedEquipment, serial)
                if device.state == EquipmentState.held:
                    device.state, device.returned_at = EquipmentState.returned, request.at
            session.flush()
            return _equipment(session, request.account_id)

    def charge_equipment(self, request: EquipmentCharge) -> list[Equipment]:
        for serial, amount in request.charges_fen.items():
            try:
                with Session(self.engine) as session, session.begin():
                    device = session.get_one(RentedEquipment, serial)
                    if device.state != EquipmentState.held:
                        continue  # charged by an earlier attempt (or returned meanwhile)
                    _add_entry(session, session.get_one(BillingAccount, request.account_id), f"equipment:{serial}",
                               "equipment_charge", amount, request.at)
                    device.state, device.charge_fen = EquipmentState.charged, amount
            except IntegrityError:
                pass  # a concurrent attempt charged this device
        with Session(self.engine) as session:
            return _equipment(session, request.account_id)

    def erase_holder(self, account_id: str) -> int:
        with Session(self.engine) as session, session.begin():
            session.execute(sa.update(BillingAccount).where(col(BillingAccount.account_id) == account_id).values(
                holder_hash=ERASED))
            return 1 if session.get(BillingAccount, account_id) is not None else 0

    def holds_active_account(self, customer_ref: str, besides: str) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(BillingAccount.account_id).where(
                BillingAccount.customer_ref == customer_ref, BillingAccount.account_id != besides,
                BillingAccount.status == AccountStatus.active)).first() is not None

    def _book(self, account_id: str, key: str, kind: str, amount_fen: int, at: datetime) -> int:
        try:
            with Session(self.engine) as session, session.begin():
                account = session.get_one(BillingAccount, account_id)
                if not _booked(session, account_id, key):
                    _add_entry(session, account, key, kind, amount_fen, at)
                return account.balance_fen
        except IntegrityError:  # a concurrent attempt booked it
            with Session(self.engine) as session:
                return session.get_one(BillingAccount, account_id).balance_fen


def _booked(session: Session, account_id: str, key: str) -> bool:
    return session.exec(select(BillingEntry.id).where(BillingEntry.account_id == account_id,
                                                      BillingEntry.key == key)).first() is not None


def _add_entry(session: Session, account: BillingAccount, key: str, kind: str, amount_fen: int, at: datetime) -> None:
    session.add(BillingEntry(account_id=account.account_id, key=key, kind=kind, amount_fen=amount_fen, at=at))
    account.balance_fen += amount_fen
    account.updated_at = at
    session.add(account)


def _equipment(session: Session, account_id: str) -> list[Equipment]:
    devices = session.exec(select(RentedEquipment).where(RentedEquipment.account_id == account_id)
                           .order_by(RentedEquipment.serial)).all()
    return [Equipment(serial=d.serial, kind=EquipmentKind(d.kind), state=EquipmentState(d.state),
                      returned_at=d.returned_at, charge_fen=d.charge_fen) for d in devices]


def _final_bill(bill: FinalBillRow) -> FinalBill:
    return FinalBill(bill_id=f"FB-{bill.account_id}", issued_at=bill.issued_at,
                     opening_balance_fen=bill.opening_balance_fen,
                     early_termination_fee_fen=bill.early_termination_fee_fen,
                     closing_balance_fen=bill.closing_balance_fen, refund_due_fen=max(0, -bill.closing_balance_fen))


def seed_account(engine: sa.Engine, account_id: str, customer_ref: str, holder_hash: str, *, balance_fen: int = 0,
                 contract_end: date | None = None, equipment: Iterable[tuple[str, EquipmentKind]] = ()) -> None:
    """An account in service, for the demo and the tests; adds only what is missing."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        if session.get(BillingAccount, account_id) is None:
            session.add(BillingAccount(account_id=account_id, customer_ref=customer_ref, holder_hash=holder_hash,
                                       status=AccountStatus.active, balance_fen=balance_fen,
                                       contract_end=contract_end, updated_at=now))
            session.flush()
        for serial, kind in equipment:
            if session.get(RentedEquipment, serial) is None:
                session.add(RentedEquipment(serial=serial, account_id=account_id, kind=kind,
                                            state=EquipmentState.held))
