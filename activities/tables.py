"""The record layer's tables (spec §1.3): cases, their events, SLA events, notifications,
compensations, archive entries and customer contacts, written by `activities.records`. Child rows
carry (workflow_id, key) unique, so a retried or replayed transition can never write a row twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from edge.sql import UTCDateTime


def _at(nullable: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class Case(SQLModel, table=True):
    workflow_id: str = Field(primary_key=True, max_length=100)
    run_id: str = Field(max_length=64)
    case_type: str = Field(index=True, max_length=20)
    state: str = Field(index=True, max_length=40)
    customer_ref: str | None = Field(default=None, index=True, max_length=64)
    region: str | None = Field(default=None, max_length=10)
    severity: str | None = Field(default=None, max_length=10)
    assignee: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = _json()
    deadlines: dict[str, Any] = _json()
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sla_breached: bool = False
    policy: dict[str, Any] = _json()
    opened_at: datetime = _at()
    updated_at: datetime = _at()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    """Append-only log: one row per applied transition."""

    __table_args__ = (sa.UniqueConstraint("workflow_id", "step"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(foreign_key="case.workflow_id", max_length=100, index=True)
    step: str = Field(max_length=120)
    at: datetime = _at()
    actor: str = Field(max_length=64)
    reason: str
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str | None = Field(default=None, max_length=40)


class SlaEvent(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workflow_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(foreign_key="case.workflow_id", max_length=100, index=True)
    key: str = Field(max_length=120)
    clock: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    at: datetime = _at()
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    level: str | None = Field(default=None, max_length=20)
    to: str | None = Field(default=None, max_length=64)
    detail: str = ""


class Notification(SQLModel, table=True):
    """The customer (and staff) notification outbox; `sent_at` is set by the delivery adapter."""

    __table_args__ = (sa.UniqueConstraint("workflow_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(foreign_key="case.workflow_id", max_length=100, index=True)
    key: str = Field(max_length=120)
    channel: str = Field(max_length=20)
    template: str = Field(max_length=80)
    recipient: str = Field(max_length=64)
    params: dict[str, Any] = _json()
    created_at: datetime = _at()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Compensation(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workflow_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(foreign_key="case.workflow_id", max_length=100, index=True)
    key: str = Field(max_length=120)
    kind: str = Field(max_length=30)
    amount_fen: int
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str
    created_at: datetime = _at()


class ArchiveEntry(SQLModel, table=True):
    """A closed case in the archive (docs/archive.md): purged after `retain_until` unless held."""

    workflow_id: str = Field(foreign_key="case.workflow_id", primary_key=True, max_length=100)
    classification: str = Field(max_length=40)
    retain_until: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    summary: dict[str, Any] = _json()
    archived_at: datetime = _at()
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="legal hold since; None: none")
    held_by: str | None = Field(default=None, max_length=64)
    hold_reason: str | None = Field(default=None, max_length=500)


class CustomerContact(SQLModel, table=True):
    """Personal data, in one place, so it can be minimised and erased (spec §1.3, PIPL)."""

    customer_ref: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    updated_at: datetime = _at()


class CalendarVersion(SQLModel, table=True):
    """A published working-day calendar (docs/calendar.md): the operator's full set of days that
    differ from the `holidays` package, never edited once written; the newest version is in force."""

    version: int = Field(primary_key=True)
    published_at: datetime = _at()
    source: str = Field(description="where the days come from, e.g. the State Council's notice")
    holidays: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    working_days: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    first_day: str = Field(max_length=10, description="the earliest day changed from the version before")


class ChangeWindow(SQLModel, table=True):
    """A service change's window while it is open (docs/processes.md § Service change): FaultRepair reads
    it to link a fault on an affected line to the change instead of the operator's repair clocks."""

    workflow_id: str = Field(primary_key=True, max_length=100)
    change_id: str = Field(max_length=64)
    scope: dict[str, Any] = _json()
    starts_at: datetime = _at()
    ends_at: datetime = _at()


class QualityFigure(SQLModel, table=True):
    """One KPI of one period (docs/quality.md), for a process and optionally one dimension: a report
    for a period replaces all of that period's rows at once, so a rerun never adds a second set."""

    __tablename__ = "qualityfigure"
    period: str = Field(primary_key=True, max_length=40, description="2026-11, 2026-Q4 or 2026-11-03..2026-11-20")
    process: str = Field(primary_key=True, max_length=20)
    kpi: str = Field(primary_key=True, max_length=60)
    dimension: str = Field(primary_key=True, max_length=40, description="'' for all, else e.g. region=rural")
    value: float | None = Field(default=None, description="None: no case to measure in the period")
    numerator: float | None = None
    denominator: float | None = None
    unit: str = Field(max_length=10)
    period_start: datetime = _at()
    period_end: datetime = _at()
    computed_at: datetime = _at()
