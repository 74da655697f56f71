"""The customer and line inventory (spec §2.4), an outside system: which services each region has,
which lines each person holds, the number pool and the risk list — its interface, the default
adapter that keeps it in our database so the demo and the tests run against real state, its
tables and its seed data. People are known only by the keyed hash of their ID, `<key id>$<hex>`
(edge.id_hash): lookups take the person's hashes under every key of the ring, so a key rotation
keeps recognising them (adapters.key_usage tells when an old key can go)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select

from edge.id_hash import hash_list
from edge.sql import UTCDateTime
from models.catalog import ServiceType
from models.common import Region
from models.identity import HASH_MAX_LENGTH


class ServiceCoverage(SQLModel, table=True):
    """Which service types can be provided in which region."""

    service_type: str = Field(primary_key=True, max_length=20)
    region: str = Field(primary_key=True, max_length=10)
    available: bool
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class NumberStatus(StrEnum):
    free = "free"
    reserved = "reserved"
    """Held for a provisioning order that is not complete yet."""
    assigned = "assigned"
    quarantined = "quarantined"
    """After termination, until `quarantine_until`; only `holder_hash` may reclaim it meanwhile."""


class PoolNumber(SQLModel, table=True):
    """The number pool: each number's life is free → reserved → assigned → quarantined → free."""

    number: str = Field(primary_key=True, max_length=20)
    service_type: str = Field(index=True, max_length=20)
    status: str = Field(index=True, max_length=20)
    order_id: str | None = Field(default=None, unique=True, max_length=80)
    holder_hash: str | None = Field(default=None, index=True, max_length=HASH_MAX_LENGTH,
                                    description="the holder, or the last holder while quarantined")
    quarantine_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LineStatus(StrEnum):
    active = "active"
    terminated = "terminated"


class CustomerLine(SQLModel, table=True):
    """A service a person holds: the count of active ones is what the line limit checks."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(unique=True, max_length=80)
    holder_hash: str = Field(index=True, max_length=HASH_MAX_LENGTH)
    customer_ref: str = Field(index=True, max_length=64)
    service_type: str = Field(max_length=20)
    line_id: str = Field(index=True, max_length=80, description="the number, or the account of a service without one")
    status: str = Field(index=True, max_length=20)
    activated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    terminated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdentityFlag(SQLModel, table=True):
    """The operator's risk list (反诈法 Art. 10–11): applications from these people go to review flagged."""

    holder_hash: str = Field(primary_key=True, max_length=HASH_MAX_LENGTH)
    reason: str
    flagged_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


NUMBERED_SERVICES = frozenset({ServiceType.mobile, ServiceType.fixed_line})
"""Services whose line is a number from the pool; the others get an account id."""

DEFAULT_COVERAGE: dict[tuple[str, str], bool] = {
    (service, region): not (service is ServiceType.fixed_line and region is Region.rural)
    for service in ServiceType for region in Region}
"""Demo and test data: everything everywhere except new (copper) fixed lines in rural regions."""

DEFAULT_NUMBERS: dict[str, list[str]] = {ServiceType.mobile: [f"1390000{n:04d}" for n in range(1, 7)],
                                          ServiceType.fixed_line: [f"010-6000{n:04d}" for n in range(1, 4)]}
"""Demo and test data: a few free numbers."""


class CustomerInventory(Protocol):
    def service_available(self, service_type: str, region: str) -> bool: ...

    def active_lines(self, holder_hashes: str | Sequence[str], service_types: Sequence[str]) -> int:
        """The person's active lines of these service types; `holder_hashes`: one hash, or the
        person's hashes under every key (any matches)."""

    def risk_flag(self, holder_hashes: str | Sequence[str]) -> str | None:
        """Why the person is on the risk list, or None."""

    def reserve_number(self, service_type: str, order_id: str, at: datetime) -> str | None:
        """A free number held for the order (the same one on a repeat), or None if none is free."""

    def activate_line(self, line: CustomerLine) -> None:
        """The person now holds the line (once per order); its pool number becomes assigned."""


class DatabaseInventory:
    """The default adapter: the inventory tables of our own database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def service_available(self, service_type: str, region: str) -> bool:
        with Session(self.engine) as session:
            coverage = session.get(ServiceCoverage, (service_type, region))
            return coverage is not None and coverage.available

    def active_lines(self, holder_hashes: str | Sequence[str], service_types: Sequence[str]) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(CustomerLine).where(
                col(CustomerLine.holder_hash).in_(hash_list(holder_hashes)), CustomerLine.status == LineStatus.active,
                col(CustomerLine.service_type).in_(list(service_types)))).one()

    def risk_flag(self, holder_hashes: str | Sequence[str]) -> str | None:
        with Session(self.engine) as session:
            return session.exec(select(IdentityFlag.reason).where(
                col(IdentityFlag.holder_hash).in_(hash_list(holder_hashes))).limit(1)).first()

    def reserve_number(self, service_type: str, order_id: str, at: datetime) -> str | None:
        try:
            with Session(self.engine) as session, session.begin():
                if (held := _held_by(session, order_id)) is not None:
                    return held
                while True:
                    number = session.exec(select(PoolNumber.number).where(
                        PoolNumber.service_type == service_type, PoolNumber.status == NumberStatus.free)
                        .order_by(PoolNumber.number).limit(1)).first()
                    if number is None:
                        return None
                    # Conditional on still being free: a concurrent order may have taken it.
                    taken = session.exec(sa.update(PoolNumber).where(
                        col(PoolNumber.number) == number, col(PoolNumber.status) == NumberStatus.free).values(
                        status=NumberStatus.reserved, order_id=order_id, updated_at=at))
                    if taken.rowcount == 1:
                        return number
        except IntegrityError:
            # A concurrent attempt for the same order reserved one first (order_id is unique).
            with Session(self.engine) as session:
                return _held_by(session, order_id)

    def activate_line(self, line: CustomerLine) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                if session.exec(select(CustomerLine.id).where(CustomerLine.order_id == line.order_id)).first():
                    return
                session.add(CustomerLine.model_validate(line))
                session.execute(sa.update(PoolNumber).where(col(PoolNumber.order_id) == line.order_id).values(
                    status=NumberStatus.assigned, holder_hash=line.holder_hash, updated_at=line.activated_at))
        except IntegrityError:
            pass  # a concurrent attempt for the same order activated it (order_id is unique)


def _held_by(session: Session, order_id: str) -> str | None:
    return session.exec(select(PoolNumber.number).where(PoolNumber.order_id == order_id)).first()


def seed_inventory(engine: sa.Engine, coverage: Mapping[tuple[str, str], bool] = DEFAULT_COVERAGE,
                   numbers: Mapping[str, Iterable[str]] = DEFAULT_NUMBERS) -> None:
    """Coverage and free numbers for the demo and the tests. Adds only what is missing, so it can
    run at every start without undoing what cases did to the pool."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for (service_type, region), available in coverage.items():
            if session.get(ServiceCoverage, (service_type, region)) is None:
                session.add(ServiceCoverage(service_type=service_type, region=region, available=available,
                                            updated_at=now))
        for service_type, pool in numbers.items():
            for number in pool:
                if session.get(PoolNumber, number) is None:
                    session.add(PoolNumber(number=number, service_type=service_type, status=NumberStatus.free,
                                           updated_at=now))
