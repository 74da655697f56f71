"""Tables of the default inventory and provisioning adapters: what an operator's resource
inventory and OSS hold, so the demo and the tests run against real state (spec §2.4, §2.6, §5.6).
People appear only as the keyed hash of their ID, `<key id>$<hex>` (models.identity)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from .identity import HASH_MAX_LENGTH
from .tables import UTCDateTime


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


class ProvisioningOrder(SQLModel, table=True):
    """An order as the default OSS adapter keeps it."""

    order_id: str = Field(primary_key=True, max_length=80)
    workflow_id: str = Field(index=True, max_length=100)
    service_type: str = Field(max_length=20)
    region: str = Field(max_length=10)
    requested_start_date: date
    holder_hash: str = Field(max_length=HASH_MAX_LENGTH)
    customer_ref: str = Field(max_length=64)
    line_id: str = Field(max_length=80)
    status: str = Field(index=True, max_length=20)
    submitted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
