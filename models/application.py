"""Contract of `ApplicationReview` (spec §2): input, update arguments, the OSS signal, the `status`
result, and the arguments of its inventory and provisioning activities."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from .case import CaseStatus
from .catalog import MaterialKind, ServiceType
from .common import (
    Actor,
    CaseId,
    Contract,
    Customer,
    Day,
    Inbound,
    Region,
    ShortText,
    StaffId,
    Text,
    Timestamp,
)
from .identity import CITIZEN_NUMBER_TYPES, IdentityDocument, IdType, ProtectedIdentity

WORKFLOW_TYPE = "ApplicationReview"
COMPLETED_SIGNAL = "provisioning_completed"

DocumentId = ShortText
"""Where the document is kept (document store id, scan reference); never its content."""


class ApplicationState(StrEnum):
    """TMF622 product-order states."""

    acknowledged = "acknowledged"
    inProgress = "inProgress"
    pending = "pending"
    """Awaiting materials from the customer."""
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    failed = "failed"


FINAL_STATES = frozenset({ApplicationState.completed, ApplicationState.rejected, ApplicationState.cancelled,
                          ApplicationState.failed})


class Material(Inbound):
    kind: MaterialKind
    document_id: DocumentId


class Applicant(Customer):
    """The future user of the service: contact details plus the verified ID document."""

    identity: IdentityDocument


class Proxy(Inbound):
    """Someone applying on the applicant's behalf: both IDs are needed (令25号 Art. 6)."""

    name: str = Field(min_length=1, max_length=100)
    identity: IdentityDocument = Field(description="the proxy's own ID document (令25号 Art. 6)")


class ApplicationInput(Inbound):
    model_config = ConfigDict(hide_input_in_errors=True)  # errors never echo names, phones or ID numbers

    application_id: CaseId
    applicant: Applicant
    proxy: Proxy | None = None
    service_type: ServiceType
    region: Region
    requested_start_date: Day | None = Field(
        default=None, description="when the customer wants the service; not before the day the application was "
                                  "received; default: that day (as soon as possible)")
    materials: list[Material] = Field(default_factory=list, max_length=50)
    received_at: Timestamp | None = Field(
        default=None, description="when the application was received (RFC 3339), e.g. by a legacy system it is "
                                  "taken over from; defaults to the start of the case")

    @model_validator(mode="after")
    def _proxy_is_someone_else(self) -> ApplicationInput:
        if self.proxy is not None and _same_document(self.proxy.identity, self.applicant.identity):
            raise ValueError("proxy.identity: a proxy must be another person than the applicant")
        return self

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.application_id)


def start_of(day: date, timezone: str) -> datetime:
    """When a day begins in the operator's time zone (aware, UTC)."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def _same_document(a: IdentityDocument, b: IdentityDocument) -> bool:
    same_family = a.id_type == b.id_type or {a.id_type, b.id_type} <= CITIZEN_NUMBER_TYPES
    return same_family and a.id_number == b.id_number


def workflow_id(application_id: str) -> str:
    return f"application-{application_id}"


def order_id(application_id: str) -> str:
    """The provisioning order's id: one order per application, so a resubmission is the same order."""
    return f"ORD-{application_id}"


# --- human actions --------------------------------------------------------------------------

class Approve(Inbound):
    actor: StaffId
    note: Text | None = None
    override_reason: Text | None = Field(
        default=None, description="required when pre-review flagged the application (e.g. line limit)")


class Reject(Inbound):
    actor: StaffId
    reason: Text = Field(description="told to the customer")


class RequestSupplement(Inbound):
    """The reviewer asks for (more or better) materials: the review clock waits for the customer."""

    actor: StaffId
    materials: list[MaterialKind] = Field(min_length=1, max_length=len(MaterialKind))
    note: Text | None = None


class SupplyMaterials(Inbound):
    materials: list[Material] = Field(min_length=1, max_length=50)
    actor: Actor = "customer"


class Cancel(Inbound):
    reason: Text
    actor: Actor = "customer"


# --- fact from the provisioning system (OSS) ------------------------------------------------

class ProvisioningCompleted(Inbound):
    order_id: str = Field(min_length=1, max_length=80)
    activated_at: Timestamp
    customer_caused_delay: bool = Field(
        default=False, description="the OSS attributes a delay to the customer (no access, postponed visit): "
                                   "no penalty, 条例 Art. 31 covers delays through the operator's fault")


# --- status ---------------------------------------------------------------------------------

class ReviewFlagCode(StrEnum):
    line_limit = "line_limit"
    """The person already holds the most lines the policy allows (反诈法 Art. 10)."""
    risk_flag = "risk_flag"
    """The person's ID is on the operator's risk list (反诈法 Art. 10–11)."""


class ReviewFlag(Contract):
    code: ReviewFlagCode
    detail: str


class PreReview(Contract):
    service_available: bool
    active_lines: int = Field(description="the person's active lines that count against the limit")
    line_limit: int
    line_limit_applies: bool = Field(description="whether this service type counts against the limit")


class Outcome(StrEnum):
    approved = "approved"
    rejected = "rejected"


class Decision(Contract):
    outcome: Outcome
    actor: str
    at: AwareDatetime
    reason: str | None = None


class OrderState(StrEnum):
    accepted = "accepted"
    """The OSS took the order; it reports completion later."""
    completed = "completed"


class OrderStatus(Contract):
    order_id: str
    state: OrderState
    submitted_at: AwareDatetime
    due_at: AwareDatetime | None = Field(description="the published provisioning time limit")
    activated_at: AwareDatetime | None = None
    days_late: int | None = Field(default=None, description="whole days, any started day counts")
    penalty_fen: int | None = Field(default=None, description="条例 Art. 31: 1 % of the installation fee per day")


class ApplicationStatus(CaseStatus):
    application_id: str
    state: ApplicationState
    awaiting: str | None = Field(description="what the case waits for next; none once it has ended")
    service_type: ServiceType
    region: Region
    requested_start_date: date | None = Field(description="the input's, else the day received (none only before "
                                                          "the case has read its input)")
    received_at: AwareDatetime = Field(description="when the application was received (the input's, else the "
                                                   "case's start)")
    id_type: IdType
    id_masked: str
    proxy: bool
    materials: list[MaterialKind] = Field(description="kinds supplied so far")
    outstanding_materials: list[MaterialKind]
    supplement_rounds: int
    pre_review: PreReview | None
    review_flags: list[ReviewFlag] = Field(description="why approval needs an override_reason")
    decision: Decision | None
    escalated_to: str | None
    order: OrderStatus | None


# --- activity arguments: inventory and provisioning adapters --------------------------------

class PreReviewRequest(Contract):
    model_config = ConfigDict(hide_input_in_errors=True)

    applicant: IdentityDocument
    proxy: IdentityDocument | None
    service_type: ServiceType
    region: Region
    counted_services: list[ServiceType] = Field(description="service types that count against the line limit")


class PreReviewResult(Contract):
    applicant: ProtectedIdentity
    proxy: ProtectedIdentity | None
    service_available: bool
    active_lines: int
    risk_flag: str | None = Field(description="the risk list's reason, if the person is on it")


class OrderRequest(Contract):
    order_id: str
    workflow_id: str
    service_type: ServiceType
    region: Region
    requested_start_date: date
    holder_hash: str = Field(description="keyed hash of the holder's ID: the inventory counts lines by it")
    customer_ref: str
    submitted_at: AwareDatetime


class OrderReceipt(Contract):
    """No line number in here: it is personal data and stays in the inventory."""

    order_id: str
    state: OrderState
    activated_at: AwareDatetime | None = None


class Activation(Contract):
    order_id: str
    activated_at: AwareDatetime
