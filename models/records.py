"""Activity arguments of the record layer: one transition = one transaction (spec §1.3)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from .common import CaseType, Contract, Customer
from .sla import SlaEventKind


class SlaEventRecord(Contract):
    key: str = Field(description="unique per case, e.g. 'reply:warning-P10D': the mark fires once")
    clock: str
    kind: SlaEventKind
    at: AwareDatetime
    due_at: AwareDatetime | None = None
    level: str | None = None
    to: str | None = None
    detail: str = ""


class Channel(StrEnum):
    sms = "sms"
    email = "email"
    letter = "letter"
    app = "app"
    staff = "staff"
    """Internal message to a staff queue (warnings, escalations)."""


class NotificationRecord(Contract):
    key: str = Field(description="unique per case")
    channel: Channel
    template: str
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="no personal data: the adapter resolves the contact")
    recipient: str = Field(description="customer ref or staff role")


class CompensationKind(StrEnum):
    penalty = "penalty"
    rental_waiver = "rental_waiver"
    refund = "refund"
    equipment_charge = "equipment_charge"
    early_termination_fee = "early_termination_fee"


class CompensationRecord(Contract):
    key: str
    kind: CompensationKind
    amount_fen: int = Field(ge=0)
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    reason: str


class ArchiveRecord(Contract):
    classification: str
    retention: timedelta
    summary: dict[str, Any]


class CaseFacts(Contract):
    """Columns of the case row that a transition sets (None = unchanged)."""

    customer_ref: str | None = None
    region: str | None = None
    severity: str | None = None
    assignee: str | None = None
    details: dict[str, Any] | None = Field(default=None, description="process facts without personal data, merged")
    deadlines: dict[str, AwareDatetime] | None = Field(default=None, description="open deadlines, replaced whole")
    sla_breached: bool | None = None
    policy: dict[str, Any] | None = None


class Transition(Contract):
    """Everything one state transition writes, applied once in one transaction."""

    workflow_id: str
    run_id: str = Field(description="the case's first run: a reused workflow id is refused")
    case_type: CaseType
    step: str = Field(description="unique per case and deterministic: the idempotency key")
    at: AwareDatetime
    actor: str
    reason: str
    from_state: str | None = None
    to_state: str | None = None
    closed: bool = False
    facts: CaseFacts = CaseFacts()
    contact: Customer | None = None
    sla_events: list[SlaEventRecord] = Field(default_factory=list)
    notifications: list[NotificationRecord] = Field(default_factory=list)
    compensations: list[CompensationRecord] = Field(default_factory=list)
    archive: ArchiveRecord | None = None


class PolicyRequest(Contract):
    case_type: CaseType
