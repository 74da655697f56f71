"""The network (spec §3.4), an outside system: remote line tests and service facts, behind a small
interface. The default adapter keeps real state in the `networkservice` table (one row per line),
which tests and the demo seed and can set faulty. The activities over it are activities.network."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from edge.sql import UTCDateTime
from models.common import Region
from models.fault import LineStatus, LineTestOutcome, LineTestResult, ServiceInfo


class NetworkService(SQLModel, table=True):
    service_id: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=10, index=True)
    status: str = Field(max_length=10, description="up, down or degraded")
    monthly_rental_fen: int
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    service_type: str | None = Field(default=None, max_length=20, index=True)
    customer_ref: str | None = Field(default=None, max_length=64, description="the subscriber, told of changes")
    special_care: bool = Field(default=False, description="e.g. a medical alarm on the line: a change flags it")


class LineTestUnavailable(Exception):
    """The line-test head could not be reached; the activity retries per its RetryPolicy."""


class Network(Protocol):
    def line_test(self, service_id: str) -> LineTestResult:
        """Test the line remotely; raise when the test cannot be run (the activity retries)."""

    def service(self, service_id: str) -> ServiceInfo | None:
        """The service's current facts, or None if the network does not know it."""

    def active_lines(self) -> int:
        """Lines in service now: the base of complaints per 10,000 lines (docs/quality.md)."""


_DIAGNOSTICS = {
    LineStatus.up: (LineTestOutcome.passed, "line test passed: line up, no fault on the network side"),
    LineStatus.down: (LineTestOutcome.fault_found, "line test: no signal on the line, fault on the network side"),
    LineStatus.degraded: (LineTestOutcome.fault_found, "line test: line degraded, high error rate"),
}


class DatabaseNetwork:
    """The default adapter: the lines table is the network's state."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def line_test(self, service_id: str) -> LineTestResult:
        with Session(self.engine) as session:
            line = session.get(NetworkService, service_id)
            if line is None:
                return LineTestResult(outcome=LineTestOutcome.unknown_service,
                                      message=f"service {service_id} is not known to the network")
            status = LineStatus(line.status)
        outcome, message = _DIAGNOSTICS[status]
        return LineTestResult(outcome=outcome, line_status=status, message=message)

    def service(self, service_id: str) -> ServiceInfo | None:
        with Session(self.engine) as session:
            line = session.get(NetworkService, service_id)
            if line is None:
                return None
            return ServiceInfo(service_id=line.service_id, region=Region(line.region), status=LineStatus(line.status),
                               monthly_rental_fen=line.monthly_rental_fen)

    def active_lines(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(NetworkService)).scalar_one()


DEFAULT_SERVICES = (
    ServiceInfo(service_id="BB-1001", region=Region.urban, status=LineStatus.up, monthly_rental_fen=9900),
    ServiceInfo(service_id="BB-2001", region=Region.rural, status=LineStatus.down, monthly_rental_fen=5000),
    ServiceInfo(service_id="FL-3001", region=Region.urban, status=LineStatus.degraded, monthly_rental_fen=2500),
    ServiceInfo(service_id="FL-4001", region=Region.rural, status=LineStatus.up, monthly_rental_fen=1800),
)


def seed_services(engine: sa.Engine, services: Iterable[ServiceInfo] = DEFAULT_SERVICES) -> None:
    """Create or reset lines (tests, demo); running it twice leaves the same rows."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for s in services:
            session.merge(NetworkService(service_id=s.service_id, region=s.region, status=s.status,
                                         monthly_rental_fen=s.monthly_rental_fen, updated_at=now,
                                         service_type=_TYPES.get(s.service_id[:2])))


_TYPES = {"BB": "broadband", "FL": "fixed_line"}
"""The seeded services' types, by their ids' prefix."""


def seed_subscribed_lines(engine: sa.Engine, lines: Iterable[tuple[str, Region, str, str]], *,
                          special_care: Iterable[str] = ()) -> None:
    """Network lines with their subscriber, in bulk: (service id, region, service type, customer ref),
    all up (service changes: tests, demo, benchmark). Existing ids are left as they are."""
    now, care = datetime.now(UTC), set(special_care)
    rows = [{"service_id": sid, "region": region, "status": LineStatus.up, "monthly_rental_fen": 5000,
             "updated_at": now, "service_type": service_type, "customer_ref": customer, "special_care": sid in care}
            for sid, region, service_type, customer in lines]
    with Session(engine) as session, session.begin():
        for first in range(0, len(rows), 500):
            chunk = rows[first:first + 500]
            known = set(session.exec(select(NetworkService.service_id).where(
                col(NetworkService.service_id).in_([r["service_id"] for r in chunk]))).all())
            fresh = [r for r in chunk if r["service_id"] not in known]
            if fresh:
                session.execute(sa.insert(NetworkService), fresh)


def set_line_status(engine: sa.Engine, service_id: str, status: LineStatus) -> None:
    """Report a fault on (or repair) a line."""
    _change(engine, service_id, status=status)


def _change(engine: sa.Engine, service_id: str, **values: object) -> None:
    with Session(engine) as session, session.begin():
        line = session.get(NetworkService, service_id)
        if line is None:
            raise KeyError(f"no line {service_id}: seed it first")
        for name, value in values.items():
            setattr(line, name, value)
        line.updated_at = datetime.now(UTC)
        session.add(line)
