"""The customer and line inventory (spec §2.4): which services each region has, which lines each
person holds, the number pool and the risk list — an adapter behind a small interface, its default
kept in the database, and the pre-review activity that asks it. People are known only by the
keyed hash of their ID (models.identity): lookups take the person's hashes under every key of the
ring, so a key rotation keeps recognising them, and `hash_key_usage` tells when an old key can go."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select
from temporalio import activity

from models.application import PreReviewRequest, PreReviewResult, ServiceType
from models.common import Region
from models.identity import hash_keys, hash_list
from models.inventory_tables import (CustomerLine, IdentityFlag, LineStatus, NumberStatus, PoolNumber,
                                     ProvisioningOrder, ServiceCoverage)

from .billing import BillingAccount

NUMBERED_SERVICES = frozenset({ServiceType.mobile, ServiceType.fixed_line})
"""Services whose line is a number from the pool; the others get an account id."""

DEFAULT_COVERAGE = {(service, region): not (service is ServiceType.fixed_line and region is Region.rural)
                    for service in ServiceType for region in Region}
"""Demo and test data: everything everywhere except new (copper) fixed lines in rural regions."""

DEFAULT_NUMBERS = {ServiceType.mobile: [f"1390000{n:04d}" for n in range(1, 7)],
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
                CustomerLine.holder_hash.in_(hash_list(holder_hashes)), CustomerLine.status == LineStatus.active,
                CustomerLine.service_type.in_(list(service_types)))).one()

    def risk_flag(self, holder_hashes: str | Sequence[str]) -> str | None:
        with Session(self.engine) as session:
            return session.exec(select(IdentityFlag.reason).where(
                IdentityFlag.holder_hash.in_(hash_list(holder_hashes))).limit(1)).first()

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
                    taken = session.execute(sa.update(PoolNumber).where(
                        PoolNumber.number == number, PoolNumber.status == NumberStatus.free).values(
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
                session.execute(sa.update(PoolNumber).where(PoolNumber.order_id == line.order_id).values(
                    status=NumberStatus.assigned, holder_hash=line.holder_hash, updated_at=line.activated_at))
        except IntegrityError:
            pass  # a concurrent attempt for the same order activated it (order_id is unique)


def _held_by(session: Session, order_id: str) -> str | None:
    return session.exec(select(PoolNumber.number).where(PoolNumber.order_id == order_id)).first()


def seed_inventory(engine: sa.Engine, coverage: Mapping[tuple[str, str], bool] = DEFAULT_COVERAGE,
                   numbers: Mapping[str, Iterable[str]] = DEFAULT_NUMBERS) -> None:
    """Coverage and free numbers for the demo and the tests. Adds only what is missing, so it can
    run at every start without undoing what cases did to the pool."""
    now = datetime.now(timezone.utc)
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


class InventoryChecks:
    """Activities over the inventory adapter (swap it in tests or for the operator's real one)."""

    def __init__(self, inventory: CustomerInventory) -> None:
        self.inventory = inventory

    @activity.defn
    def pre_review(self, request: PreReviewRequest) -> PreReviewResult:
        """Automated pre-review (guide 2.3 初步审核): coverage, the person's active lines, the risk list.
        Hashing happens here, not in the workflow: its key is the worker's secret. The person is
        looked up under every key of the ring; the result carries the current key's hash."""
        keys = hash_keys()
        applicant = request.applicant.hashes(keys)
        risk = self.inventory.risk_flag(applicant)
        if risk is None and request.proxy is not None and (
                proxy_risk := self.inventory.risk_flag(request.proxy.hashes(keys))):
            risk = f"proxy: {proxy_risk}"
        return PreReviewResult(
            applicant=request.applicant.protect(keys),
            proxy=request.proxy.protect(keys) if request.proxy is not None else None,
            service_available=self.inventory.service_available(request.service_type, request.region),
            active_lines=self.inventory.active_lines(applicant, request.counted_services),
            risk_flag=risk)


def hash_key_usage(engine: sa.Engine) -> dict[str, dict[str, int]]:
    """Key id → table → rows whose holder hash was made under that key: an old key can leave the
    ring (TELECOM_ID_HASH_KEY) once it has no rows. Erased and released rows hold no hash."""
    usage: dict[str, dict[str, int]] = {}
    with Session(engine) as session:
        for table in (CustomerLine, PoolNumber, IdentityFlag, ProvisioningOrder, BillingAccount):
            column = table.holder_hash
            # `<kid>$<64 hex>`: the key id is all but the last 65 characters (substr and length: portable SQL).
            kid = sa.func.substr(column, 1, sa.func.length(column) - 65)
            for key_id, rows in session.execute(select(kid, func.count()).where(
                    sa.func.length(column) > 65).group_by(kid)):
                usage.setdefault(key_id, {})[table.__tablename__] = rows
    return usage
