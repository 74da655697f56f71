"""Contract of `FaultRepair` (spec §3): input, update arguments, `status`, and the network adapter's
activity arguments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from .case import CaseStatus
from .common import Actor, CaseId, Contract, Customer, Inbound, Region, ShortText, StaffId, Text, Timestamp
from .policy import FaultPolicy
from .records import CompensationKind, CompensationRecord

WORKFLOW_TYPE = "FaultRepair"

ServiceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
"""The operator's id of a line or service (not the customer's phone number)."""


class Severity(StrEnum):
    """Names match the per-severity targets of `FaultPolicy`."""

    critical = "critical"
    major = "major"
    minor = "minor"
    low = "low"


class FaultState(StrEnum):
    """TMF621 trouble-ticket states."""

    acknowledged = "acknowledged"
    """Reported; the remote line test is running."""
    pending = "pending"
    """Diagnosed; waiting for a technician to be dispatched."""
    inProgress = "inProgress"
    held = "held"
    """The customer is unavailable: the operator's clocks are paused, the statutory one is not."""
    resolved = "resolved"
    """Repaired; waiting for the customer's confirmation."""
    closed = "closed"
    """Confirmed (or no answer); still reopenable until the reopen window ends."""
    cancelled = "cancelled"
    rejected = "rejected"
    """The network does not know the service id."""


class FaultChannel(StrEnum):
    hotline = "hotline"
    app = "app"
    web = "web"
    sms = "sms"
    store = "store"
    service_change = "service_change"
    """Opened by a service change's follow-up for a line still down after its window."""


class FaultInput(Inbound):
    ticket_id: CaseId
    service_id: ServiceId
    region: Region = Field(description="urban or rural: decides the statutory cap (条例 Art. 32)")
    severity: Severity
    description: Text
    terminal_equipment: bool = Field(
        default=False, description="the customer reports the fault as in their own terminal equipment (modem, "
                                   "router, handset); the technician's cause code decides at the repair")
    channel: FaultChannel
    reported_at: Timestamp | None = Field(
        default=None, description="when the fault was reported (RFC 3339); defaults to the start of the case")
    customer: Customer
    change_id: CaseId | None = Field(default=None, description="the service change whose follow-up found the line "
                                                                "still down (set by ServiceChange)")

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.ticket_id)


def workflow_id(ticket_id: str) -> str:
    return f"fault-{ticket_id}"


class AssignTechnician(Inbound):
    """Dispatch, or reassign to another technician."""

    technician: StaffId
    actor: StaffId


class HoldTicket(Inbound):
    reason: ShortText = Field(description="why the customer is unavailable, e.g. no access to the premises")
    actor: StaffId


class ResumeTicket(Inbound):
    reason: ShortText
    actor: StaffId


class FaultCause(StrEnum):
    line_damage = "line_damage"
    network_equipment = "network_equipment"
    configuration = "configuration"
    power = "power"
    third_party = "third_party"
    """e.g. road works cut the cable."""
    terminal_equipment = "terminal_equipment"
    """The customer's own equipment: no rental waiver (条例 Art. 32)."""
    no_fault_found = "no_fault_found"
    other = "other"


class ResolveFault(Inbound):
    cause_code: FaultCause
    fix: Text
    actor: StaffId


class ConfirmRepair(Inbound):
    comment: str | None = Field(default=None, max_length=2000)
    actor: Actor = "customer"


class ReopenTicket(Inbound):
    reason: Text = Field(description="what is still wrong")
    actor: Actor = "customer"


class CancelTicket(Inbound):
    reason: Text = Field(description="e.g. reported in error")
    actor: Actor = "customer"


class LineStatus(StrEnum):
    up = "up"
    down = "down"
    degraded = "degraded"


class LineTestOutcome(StrEnum):
    passed = "passed"
    """The line tests clean: no fault on the network side."""
    fault_found = "fault_found"
    unknown_service = "unknown_service"
    not_run = "not_run"
    """The test could not be run (the adapter failed after its retries): no diagnostic."""


class LineTestRequest(Contract):
    service_id: ServiceId


class LineTestResult(Contract):
    outcome: LineTestOutcome
    line_status: LineStatus | None = None
    message: str = Field(description="the diagnostic message for the acknowledgement; no personal data")

    @property
    def diagnostic(self) -> bool:
        return self.outcome in (LineTestOutcome.passed, LineTestOutcome.fault_found)


class ServiceLookup(Contract):
    service_id: ServiceId


class ServiceInfo(Contract):
    service_id: str
    region: Region
    status: LineStatus
    monthly_rental_fen: int = Field(ge=0)


class Resolution(Contract):
    cause_code: FaultCause
    fix: str
    actor: str
    at: AwareDatetime


class Confirmation(StrEnum):
    confirmed = "confirmed"
    deemed = "deemed"
    """No answer within the confirmation window: closed by default."""


class FaultStatus(CaseStatus):
    ticket_id: str
    service_id: str
    state: FaultState
    awaiting: str | None = Field(description="what the ticket waits for next; none once final")
    severity: Severity
    region: Region
    terminal_equipment_reported: bool
    assignee: str | None
    line_test: LineTestResult | None
    first_response_at: AwareDatetime | None
    resolution: Resolution | None = Field(description="the latest repair")
    confirmation: Confirmation | None
    reopenings: int
    reopen_window_end: AwareDatetime | None = Field(
        description="reopen allowed until then; set while resolved or closed")
    escalated_to: str | None
    statutory_breached: bool = Field(description="not repaired within the 条例 Art. 32 cap")
    rental_waived_fen: int = Field(description="rental waivers recorded so far, integer fen")
    reported_at: AwareDatetime
    linked_change: str | None = Field(default=None, description="the service change whose window covered the "
                                                                "line when reported: no operator SLA clocks")


FaultPeriod = tuple[int, datetime, datetime]
"""A repaired fault period: (episode, start, end)."""


def rental_waivers(policy: FaultPolicy, monthly_rental_fen: int, periods: Sequence[FaultPeriod]
                   ) -> list[CompensationRecord]:
    """条例 Art. 32: the rental of each fault period (episode, start, end) not repaired within the cap, waived."""
    return [CompensationRecord(
        key=f"rental-waiver-{episode}", kind=CompensationKind.rental_waiver, period_start=start, period_end=end,
        amount_fen=policy.rental_waiver_fen(monthly_rental_fen, end - start),
        reason=f"条例 Art. 32: not repaired within the statutory cap; rental waived for fault period {episode}")
        for episode, start, end in periods]
