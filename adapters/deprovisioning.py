"""Deprovisioning (spec §5.4, §5.6): the provisioning side of a termination — the customer's lines
end, their numbers rest in quarantine (or leave with a port-out), the last holder may reclaim a
number, and after the quarantine it returns to the free pool. The default adapter works on the
inventory's tables (adapters.inventory) and the provisioning orders (adapters.provisioning). The
activities over it are activities.termination."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from edge.id_hash import hash_list
from models.catalog import ServiceType
from models.termination import (
    PORTABLE_SERVICES,
    DeprovisionRequest,
    LineOutcome,
    LineResult,
    NumberReclaim,
    ReclaimResult,
)

from .billing import ERASED
from .inventory import NUMBERED_SERVICES, CustomerLine, LineStatus, NumberStatus, PoolNumber
from .provisioning import ProvisioningOrder

PORTED_OUT = "ported_out"
"""A number that left with its holder for another operator (携号转网). It stays out of the free pool:
it comes back to us only when that operator's subscriber gives it up. (Not yet in NumberStatus.)"""


class Deprovisioning(Protocol):
    def active_lines(self, customer_ref: str, holder_hashes: str | Sequence[str],
                     line_ids: Sequence[str]) -> dict[str, ServiceType]:
        """Those of `line_ids` that are active lines of this customer and holder (any of their
        hashes, one per key of the ring), with their type."""

    def terminate(self, request: DeprovisionRequest) -> list[LineResult]:
        """End the lines (once): numbers quarantined until the given time, or ported out."""

    def reclaim(self, request: NumberReclaim, holder_hashes: str | Sequence[str]) -> ReclaimResult:
        """Give a quarantined number back to its last holder (any of their hashes matches; the
        first, the current key's, is stored) as a new active line."""

    def release(self, numbers: Sequence[str], at: datetime) -> None:
        """Quarantined numbers back to the free pool."""

    def erase_holder(self, customer_ref: str, line_ids: Sequence[str]) -> dict[str, int]:
        """Forget who held these terminated lines (a repeat changes nothing): table → rows anonymised."""

    def holds_active_line(self, customer_ref: str) -> bool:
        """Whether the customer still has a line in service (another one, or a reclaimed number)."""


class DatabaseDeprovisioning:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def active_lines(self, customer_ref: str, holder_hashes: str | Sequence[str],
                     line_ids: Sequence[str]) -> dict[str, ServiceType]:
        with Session(self.engine) as session:
            lines = session.exec(select(CustomerLine).where(
                CustomerLine.customer_ref == customer_ref, col(CustomerLine.holder_hash).in_(hash_list(holder_hashes)),
                CustomerLine.status == LineStatus.active, col(CustomerLine.line_id).in_(list(line_ids)))).all()
            return {line.line_id: ServiceType(line.service_type) for line in lines}

    def terminate(self, request: DeprovisionRequest) -> list[LineResult]:
        """One transaction for all the lines; a retry finds them ended and reports the same outcomes."""
        with Session(self.engine) as session, session.begin():
            results = []
            for line_id in request.services:
                line = _terminated_or_active(session, request.customer_ref, line_id)
                if line.status == LineStatus.active:
                    line.status, line.terminated_at = LineStatus.terminated, request.at
                    session.add(line)
                number = session.get(PoolNumber, line_id)
                if (number is not None and number.status == NumberStatus.assigned
                        and number.holder_hash == line.holder_hash):
                    if request.port_out and line.service_type in PORTABLE_SERVICES:
                        number.status, number.holder_hash = PORTED_OUT, None
                    else:  # the holder stays recorded: only they may reclaim it
                        number.status, number.quarantine_until = NumberStatus.quarantined, request.quarantine_until
                    number.order_id, number.updated_at = None, request.at
                    session.add(number)
                results.append(LineResult(line_id=line_id, service_type=ServiceType(line.service_type),
                                          outcome=_outcome(number)))
            return results

    def reclaim(self, request: NumberReclaim, holder_hashes: str | Sequence[str]) -> ReclaimResult:
        hashes = hash_list(holder_hashes)
        try:
            with Session(self.engine) as session, session.begin():
                number = session.get(PoolNumber, request.number)
                if number is not None and number.order_id == request.order_id:
                    return ReclaimResult(reclaimed=True)  # an earlier attempt did it
                if number is None or number.status != NumberStatus.quarantined:
                    return ReclaimResult(reclaimed=False, reason="the number is no longer in quarantine")
                if number.holder_hash not in hashes:
                    return ReclaimResult(reclaimed=False, reason="the ID document is not the last holder's")
                # Number and line under the current key alike: terminate() compares the two.
                number.status, number.order_id, number.holder_hash = NumberStatus.assigned, request.order_id, hashes[0]
                number.quarantine_until, number.updated_at = None, request.at
                session.add(number)
                session.add(CustomerLine(order_id=request.order_id, holder_hash=hashes[0],
                                         customer_ref=request.customer_ref, service_type=number.service_type,
                                         line_id=number.number, status=LineStatus.active, activated_at=request.at))
                return ReclaimResult(reclaimed=True)
        except IntegrityError:  # a concurrent attempt of the same reclaim (order_id is unique)
            return ReclaimResult(reclaimed=True)

    def release(self, numbers: Sequence[str], at: datetime) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(sa.update(PoolNumber).where(
                col(PoolNumber.number).in_(list(numbers)), col(PoolNumber.status) == NumberStatus.quarantined).values(
                status=NumberStatus.free, holder_hash=None, quarantine_until=None, order_id=None, updated_at=at))

    def erase_holder(self, customer_ref: str, line_ids: Sequence[str]) -> dict[str, int]:
        with Session(self.engine) as session, session.begin():
            lines = session.exec(select(CustomerLine).where(
                CustomerLine.customer_ref == customer_ref, col(CustomerLine.line_id).in_(list(line_ids)),
                CustomerLine.status == LineStatus.terminated)).all()
            orders = session.exec(select(ProvisioningOrder).where(
                col(ProvisioningOrder.order_id).in_([line.order_id for line in lines]))).all()
            for row in [*lines, *orders]:
                row.holder_hash = ERASED
                session.add(row)
            return {"customerline": len(lines), "provisioningorder": len(orders)}

    def holds_active_line(self, customer_ref: str) -> bool:
        with Session(self.engine) as session:
            active = select(CustomerLine.id).where(CustomerLine.customer_ref == customer_ref,
                                                   CustomerLine.status == LineStatus.active)
            return session.exec(active).first() is not None


def _terminated_or_active(session: Session, customer_ref: str, line_id: str) -> CustomerLine:
    """The line this termination ends: the active one, or the one a previous attempt ended."""
    lines = session.exec(select(CustomerLine).where(CustomerLine.customer_ref == customer_ref,
                                                    CustomerLine.line_id == line_id)
                         .order_by(col(CustomerLine.id).desc())).all()
    return next((line for line in lines if line.status == LineStatus.active), lines[0])


def _outcome(number: PoolNumber | None) -> LineOutcome:
    if number is not None and number.status == NumberStatus.quarantined:
        return LineOutcome.quarantined
    if number is not None and number.status == PORTED_OUT:
        return LineOutcome.ported_out
    return LineOutcome.terminated


def seed_line(engine: sa.Engine, customer_ref: str, holder_hash: str, service_type: ServiceType,
              line_id: str) -> None:
    """An active line, for the demo and the tests (a numbered service holds its pool number);
    adds only what is missing."""
    now = datetime.now(UTC)
    order_id = f"SEED-{line_id}"
    with Session(engine) as session, session.begin():
        if session.exec(select(CustomerLine.id).where(CustomerLine.order_id == order_id)).first() is not None:
            return
        session.add(CustomerLine(order_id=order_id, holder_hash=holder_hash, customer_ref=customer_ref,
                                 service_type=service_type, line_id=line_id, status=LineStatus.active,
                                 activated_at=now))
        if service_type in NUMBERED_SERVICES:
            number = session.get(PoolNumber, line_id) or PoolNumber(number=line_id, service_type=service_type,
                                                                     status=NumberStatus.free, updated_at=now)
            number.status, number.holder_hash, number.order_id, number.updated_at = (
                NumberStatus.assigned, holder_hash, order_id, now)
            session.add(number)
