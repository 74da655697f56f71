"""ServiceChange (docs/processes.md § Service change, guide 6.1, 6.3, 6.5): a planned change to a
service announced in advance to every affected line, carried out in its window and followed up."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from .case import CaseStatus
from .catalog import ServiceType
from .common import CaseId, Contract, Inbound, LineId, Region, StaffId, Text, Timestamp

WORKFLOW_TYPE = "ServiceChange"
PAGE = 1000
"""Lines per page: a change reaches up to 100,000 of them, never held in the workflow's history."""


class ChangeKind(StrEnum):
    planned_works = "planned_works"
    """Network works (工程施工, 网络建设) that interrupt or may interrupt the service."""
    tariff_change = "tariff_change"
    withdrawal = "withdrawal"
    """The service is withdrawn."""


class ChangeState(StrEnum):
    assessing = "assessing"
    """The impact assessment is running (guide 6.5); an action sent meanwhile waits for it."""
    awaitingApproval = "awaitingApproval"
    """Assessed; the approver decides, reschedules or cancels."""
    scheduled = "scheduled"
    """Approved and announced to every affected line; waiting for the window."""
    inProgress = "inProgress"
    """The change window is open."""
    followUp = "followUp"
    """The window has ended: the affected lines are tested."""
    closed = "closed"
    rejected = "rejected"
    cancelled = "cancelled"


class ChangeScope(Inbound):
    """The lines affected: an explicit list, or those of a region and/or service type in the line inventory."""

    region: Region | None = Field(default=None, description="every line of this region (and service type, if given)")
    service_type: ServiceType | None = Field(default=None, description="every line of this service type")
    lines: list[LineId] | None = Field(default=None, min_length=1, max_length=1000,
                                       description="these lines (network service ids), within region and service "
                                                   "type if given")

    @model_validator(mode="after")
    def _something(self) -> ChangeScope:
        if self.region is None and self.service_type is None and self.lines is None:
            raise ValueError("name the affected lines, a region or a service type")
        return self


class ChangeInput(Inbound):
    change_id: CaseId = Field(description="the change's id, chosen by the caller; the workflow id is made of it")
    kind: ChangeKind = Field(description="decides the notice period")
    scope: ChangeScope = Field(description="the affected lines")
    window_start: Timestamp = Field(description="when the change window opens (RFC 3339)")
    window_end: Timestamp = Field(description="when it closes; after `window_start`")
    reason: Text = Field(description="what the customers are told, in their words")
    approver: StaffId = Field(description="the staff account that approves or rejects the change (guide 6.1)")
    requested_by: StaffId = Field(description="the staff account that plans the change")

    @model_validator(mode="after")
    def _window(self) -> ChangeInput:
        if self.window_end <= self.window_start:
            raise ValueError("window_end: must be after window_start")
        return self

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.change_id)


def workflow_id(change_id: str) -> str:
    return f"change-{change_id}"


class ApproveChange(Inbound):
    actor: StaffId = Field(description="the change's approver")


class RejectChange(Inbound):
    reason: Text = Field(description="why; recorded in the history")
    actor: StaffId = Field(description="the change's approver")


class RescheduleChange(Inbound):
    window_start: Timestamp = Field(description="the new window's start (RFC 3339)")
    window_end: Timestamp = Field(description="the new window's end; after `window_start`")
    reason: Text = Field(description="why; told to no customer, recorded in the history")
    actor: StaffId = Field(description="who moves the window")

    @model_validator(mode="after")
    def _window(self) -> RescheduleChange:
        if self.window_end <= self.window_start:
            raise ValueError("window_end: must be after window_start")
        return self


class CancelChange(Inbound):
    reason: Text = Field(description="why; recorded in the history")
    actor: StaffId = Field(description="who calls the change off")


# --- what activities answer, and status ---------------------------------------------------------

class Impact(Contract):
    """The impact assessment (guide 6.5): counts only, never the lines themselves."""

    lines: int
    by_region_and_service: dict[str, int] = Field(description="`<region>/<service type>` → lines")
    open_faults: int = Field(description="lines with a fault ticket still open")
    open_complaints: int = Field(description="lines whose customer has a complaint still open")
    special_care: int = Field(description="lines marked for special care (e.g. medical alarms)")


class ImpactRequest(Contract):
    scope: ChangeScope


class NoticePage(Contract):
    """One page of a notice: a notification per line after `after`, keyed `<notice>:<line>`."""

    workflow_id: str
    scope: ChangeScope
    notice: str = Field(description="e.g. `announce-1`, `reminder-1`, `cancelled`: a line gets each once")
    template: str
    params: dict[str, str]
    after: str
    at: AwareDatetime


class NoticeProgress(Contract):
    lines: int = Field(description="lines on this page (each notified once, even if the page ran twice)")
    last: str | None = Field(description="the last line of the page; none when there were no more")


class Notice(Contract):
    notice: str
    lines: int
    done: bool


class FollowUpPage(Contract):
    scope: ChangeScope
    after: str


class FollowUpResult(Contract):
    checked: int
    down: list[str] = Field(description="lines of this page still down after the window")
    last: str | None


class TicketsRequest(Contract):
    change_id: str
    lines: list[str]
    at: AwareDatetime


class TicketsOpened(Contract):
    tickets: list[str] = Field(description="FaultRepair ticket ids, one per line still down")
    already_open: int = Field(description="lines still down that have an open ticket already")
    without_contact: int = Field(description="lines whose customer has no contact on record: staff follow up")


class WindowOpened(Contract):
    """A change's window, as FaultRepair reads it (table `changewindow`) while it is open."""

    workflow_id: str
    change_id: str
    scope: ChangeScope
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class WindowClosed(Contract):
    workflow_id: str


class ChangeLink(Contract):
    change_id: str | None = Field(description="the change whose window covers the line now, if any")


class LineLookup(Contract):
    service_id: str
    at: AwareDatetime


class ChangeStatus(CaseStatus):
    change_id: str = Field(description="as in the input")
    state: ChangeState
    awaiting: str | None = Field(description="what the case waits for next; none once it has ended")
    kind: ChangeKind = Field(description="as in the input")
    scope: ChangeScope = Field(description="as in the input")
    window_start: AwareDatetime = Field(description="the window's start, as last approved or rescheduled")
    window_end: AwareDatetime = Field(description="the window's end, as last approved or rescheduled")
    approver: str = Field(description="as in the input")
    impact: Impact | None = Field(description="the assessment, shown before approval")
    notices: list[Notice] = Field(description="each notice sent so far, with the lines it reached")
    reschedules: int = Field(description="how many times the window moved")
    lines_checked: int = Field(description="lines tested after the window")
    lines_down: int = Field(description="lines still down after the window")
    tickets: list[str] = Field(description="FaultRepair tickets opened for lines still down (the first 1,000)")
    decided_by: str | None = Field(default=None, description="who approved or rejected")
    decided_at: datetime | None = Field(default=None, description="when")
