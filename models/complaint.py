"""Contract of `ComplaintClosure` (spec §4): input, update arguments and the `status` result."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from .case import CaseStatus
from .common import Actor, CaseId, Customer, Day, Inbound, StaffId, Text, Timestamp

WORKFLOW_TYPE = "ComplaintClosure"
SATISFIED_REASON = "customer satisfied"
DEEMED_REASON = "no answer within the confirmation window: confirmed by default"
"""How the records say the customer's answer to a reply; the quality KPIs count them (docs/quality.md)."""


class ComplaintChannel(StrEnum):
    hotline = "hotline"
    sms = "sms"
    web = "web"
    app = "app"
    store = "store"
    letter = "letter"
    email = "email"
    regulator = "regulator"
    """Forwarded by the regulator's appeal office."""


class ComplaintCategory(StrEnum):
    billing = "billing"
    network_quality = "network_quality"
    service_attitude = "service_attitude"
    installation = "installation"
    other = "other"


class ComplaintState(StrEnum):
    """TMF621 trouble-ticket names, so OSS/BSS systems read complaints like tickets."""

    acknowledged = "acknowledged"
    inProgress = "inProgress"
    resolved = "resolved"
    """Written reply sent; awaiting the customer's confirmation and the closure report."""
    closed = "closed"


class ComplaintInput(Inbound):
    complaint_id: CaseId
    channel: ComplaintChannel
    customer: Customer
    category: ComplaintCategory
    description: Text
    event_date: Day = Field(description="when the disputed event happened; not after receipt")
    received_at: Timestamp | None = Field(
        default=None, description="when the complaint was received (RFC 3339); defaults to the start of the case")

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.complaint_id)


def workflow_id(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


class AssignHandler(Inbound):
    handler: StaffId
    actor: StaffId


class RecordFindings(Inbound):
    findings: Text
    actor: StaffId


class SendReply(Inbound):
    """The written reply (书面反馈) to the customer."""

    reply: Text
    channel: Literal["sms", "email", "letter", "app"] = "sms"
    actor: StaffId


class ConfirmReply(Inbound):
    satisfied: bool
    comment: str | None = Field(default=None, max_length=2000)
    actor: Actor = "customer"


class SubmitClosure(Inbound):
    """Closing the loop (闭环管理) needs both; they feed the quality assessment."""

    cause_analysis: Text
    improvement_measures: Text
    actor: StaffId


class Confirmation(StrEnum):
    satisfied = "satisfied"
    deemed = "deemed"
    """No answer within the confirmation window: confirmed by default."""


class ComplaintStatus(CaseStatus):
    complaint_id: str
    state: ComplaintState
    awaiting: str | None = Field(description="what the case waits for next; none once closed")
    category: ComplaintCategory
    assignee: str | None
    findings_recorded: bool
    reply_sent: bool
    confirmation: Confirmation | None
    closure_submitted: bool
    reopenings: int
    escalated_to: str | None
    appeal_eligible: bool = Field(description="no reply within the statutory 15 days (申诉办法 Art. 10(四))")
    outside_appeal_window: bool = Field(description="event older than 申诉办法 Art. 11 allows an appeal for")
    received_at: AwareDatetime
