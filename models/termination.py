"""Contract of `TerminationCleanup` (spec §5): input, update arguments, the billing signal, the
`status` result, and the arguments of its billing, deprovisioning and erasure activities.

Line numbers are the customer's data like their phone: the status shows them masked, records and
notifications never carry them; only the input, update arguments and inventory activities do."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, field_validator

from .case import CaseStatus
from .catalog import ServiceType
from .common import Actor, CaseId, Contract, Customer, Fen, Inbound, LineId, StaffId, Text, Timestamp, add_months
from .identity import IdentityDocument, IdType
from .policy import TerminationPolicy

WORKFLOW_TYPE = "TerminationCleanup"
ALL_EQUIPMENT_BACK = "all equipment is back"
"""How the record of the last equipment return says so; the quality KPIs count it (docs/quality.md)."""
PAYMENT_SIGNAL = "payment_received"

AccountId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Serial = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")]


PORTABLE_SERVICES = frozenset({ServiceType.mobile})
"""携号转网 covers mobile numbers; other numbers of a ported-out request are quarantined."""


class TerminationReason(StrEnum):
    relocation = "relocation"
    switching_operator = "switching_operator"
    no_longer_needed = "no_longer_needed"
    cost = "cost"
    service_quality = "service_quality"
    other = "other"


class TerminationInput(Inbound):
    model_config = ConfigDict(hide_input_in_errors=True)  # errors never echo names, phones or ID numbers

    request_id: CaseId
    account_id: AccountId
    services: list[LineId] = Field(min_length=1, max_length=20, description="the account's lines to terminate")
    reason: TerminationReason
    identity: IdentityDocument = Field(description="the account holder's ID, read by card reader or verified online")
    port_out: bool = Field(default=False, description="the mobile numbers leave for another operator (携号转网): "
                                                      "they are not quarantined")
    customer: Customer
    requested_at: Timestamp | None = Field(
        default=None, description="when the customer asked to terminate (RFC 3339), e.g. in a legacy system the "
                                  "case is taken over from; defaults to the start of the case")

    @field_validator("services")
    @classmethod
    def _each_once(cls, services: list[str]) -> list[str]:
        for position, line in enumerate(services):
            if line in services[:position]:
                raise ValueError(f"line {position + 1} is listed twice")
        return services

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.request_id)


def workflow_id(request_id: str) -> str:
    return f"termination-{request_id}"


def erasure_time(ended: datetime, policy: TerminationPolicy, timezone: str) -> datetime:
    """When personal data is erased: the later of the policy's period and the longest legal minimum,
    counted in calendar months of the local calendar (deterministic: zone data is fixed for the
    worker's life; here, outside the workflow sandbox, which proxies ZoneInfo)."""
    months = max((m.months for m in policy.retention_minimums), default=0)
    local = ended.astimezone(ZoneInfo(timezone))
    legal = datetime.combine(add_months(local.date(), months), local.timetz()).astimezone(ended.tzinfo)
    return max(ended + policy.personal_data_retention, legal)


class TerminationState(StrEnum):
    """TMF637 product status."""

    active = "active"
    """The request is in, the service still runs: obligations first."""
    pendingTerminate = "pendingTerminate"
    terminated = "terminated"
    cancelled = "cancelled"


class TerminationStage(StrEnum):
    """Where the case is within its state: a terminated case runs on for months."""

    received = "received"
    awaiting_payment = "awaiting_payment"
    """The outstanding balance, early-termination fee included, is due before the service ends."""
    settling = "settling"
    """Billing stopped, final bill issued; the lines are being deprovisioned."""
    aftercare = "aftercare"
    """Terminated; equipment return, refund or number quarantine still open."""
    retention = "retention"
    """Only storage of what the law requires is left, until the personal data is erased (PIPL Art. 47)."""
    closed = "closed"
    cancelled = "cancelled"


# --- human actions and the billing signal ---------------------------------------------------

class RecordEquipmentReturn(Inbound):
    serials: list[Serial] = Field(min_length=1, max_length=10, description="the devices handed back")
    actor: StaffId = Field(description="who received them (store or engineer)")


class ReclaimNumber(Inbound):
    """The last holder takes a quarantined number back: the ID must be theirs."""

    model_config = ConfigDict(hide_input_in_errors=True)

    number: LineId
    identity: IdentityDocument
    actor: Actor = "customer"


class CancelTermination(Inbound):
    reason: Text
    actor: Actor = "customer"


class PaymentReceived(Inbound):
    """Fire-and-forget from billing; a repeated reference is the same payment."""

    reference: Reference
    amount_fen: Fen


# --- status -----------------------------------------------------------------------------------

class Payment(Contract):
    reference: str
    amount_fen: int
    at: AwareDatetime


class FinalBill(Contract):
    bill_id: str
    issued_at: AwareDatetime
    opening_balance_fen: int = Field(description="owed (positive) or prepaid (negative) when billing stopped")
    early_termination_fee_fen: int
    closing_balance_fen: int
    refund_due_fen: int = Field(ge=0, description="prepaid balance to pay back")


class Refund(Contract):
    amount_fen: int
    due_at: AwareDatetime | None = None
    reference: str | None = None
    refunded_at: AwareDatetime | None = None


class LineOutcome(StrEnum):
    active = "active"
    terminated = "terminated"
    """A line without a number (broadband, IoT, cloud): nothing to quarantine."""
    quarantined = "quarantined"
    reclaimed = "reclaimed"
    released = "released"
    """Back in the free pool."""
    ported_out = "ported_out"


class LineView(Contract):
    line_masked: str
    service_type: ServiceType
    outcome: LineOutcome
    quarantine_until: AwareDatetime | None = None


class EquipmentKind(StrEnum):
    optical_modem = "optical_modem"
    """光猫"""
    set_top_box = "set_top_box"
    """机顶盒"""


class EquipmentState(StrEnum):
    held = "held"
    returned = "returned"
    charged = "charged"


class Equipment(Contract):
    serial: str
    kind: EquipmentKind
    state: EquipmentState
    returned_at: AwareDatetime | None = None
    charge_fen: int | None = None


class PersonalData(Contract):
    restricted_at: AwareDatetime | None = Field(default=None, description="processing stopped: storage only")
    erase_at: AwareDatetime | None = None
    erased_at: AwareDatetime | None = None
    certificate_id: str | None = None


class TerminationStatus(CaseStatus):
    request_id: str
    account_id: str
    state: TerminationState
    stage: TerminationStage
    awaiting: str | None = Field(description="what the case waits for next; none once it has ended")
    reason: TerminationReason
    requested_at: AwareDatetime = Field(description="when the customer asked (the input's, else the case's start)")
    port_out: bool
    id_type: IdType
    id_masked: str | None = Field(description="none once personal data is erased")
    outstanding_fen: int = Field(description="still to pay before the service ends, early-termination fee included")
    early_termination_fee_fen: int
    payments: list[Payment]
    final_bill: FinalBill | None
    refund: Refund | None
    lines: list[LineView]
    equipment: list[Equipment]
    personal_data: PersonalData
    cancel_reason: str | None


# --- activity arguments: billing, deprovisioning, claim, erasure --------------------------------

class CheckRequest(Contract):
    model_config = ConfigDict(hide_input_in_errors=True)

    account_id: str
    services: list[str]
    identity: IdentityDocument


class AccountSnapshot(Contract):
    customer_ref: str
    active: bool
    balance_fen: int = Field(description="positive: the customer owes; negative: prepaid credit")
    contract_end: date | None
    equipment: list[Equipment]


class LineFacts(Contract):
    line_id: str
    service_type: ServiceType | None = Field(description="none: not an active line of the account holder")


class RequestFacts(Contract):
    account_found: bool
    identity_matches: bool = Field(description="the ID is the account holder's")
    account: AccountSnapshot | None = Field(description="only when the ID is the holder's")
    id_masked: str
    lines: list[LineFacts]


class AccountClaim(Contract):
    account_id: str
    workflow_id: str
    at: AwareDatetime


class ClaimResult(Contract):
    claimed: bool
    held_by: str | None = Field(description="the termination already running for the account")


class PaymentRecord(Contract):
    account_id: str
    reference: str
    amount_fen: int
    at: AwareDatetime


class Balance(Contract):
    balance_fen: int


class Settlement(Contract):
    account_id: str
    workflow_id: str
    early_termination_fee_fen: int = Field(ge=0)
    at: AwareDatetime


class RefundRequest(Contract):
    account_id: str
    amount_fen: int = Field(gt=0)
    at: AwareDatetime


class EquipmentReturn(Contract):
    account_id: str
    serials: list[str]
    at: AwareDatetime


class EquipmentCharge(Contract):
    account_id: str
    charges_fen: dict[str, int] = Field(description="serial → amount")
    at: AwareDatetime


class EquipmentList(Contract):
    items: list[Equipment]


class DeprovisionRequest(Contract):
    workflow_id: str
    account_id: str
    customer_ref: str
    services: list[str]
    port_out: bool
    quarantine_until: AwareDatetime
    erase_at: AwareDatetime
    at: AwareDatetime


class LineResult(Contract):
    line_id: str
    service_type: ServiceType
    outcome: LineOutcome


class DeprovisionResult(Contract):
    lines: list[LineResult]


class NumberReclaim(Contract):
    model_config = ConfigDict(hide_input_in_errors=True)

    order_id: str = Field(description="the reclaim's line order: one per case and number")
    number: str
    identity: IdentityDocument
    customer_ref: str
    at: AwareDatetime


class ReclaimResult(Contract):
    reclaimed: bool
    reason: str | None = Field(default=None, description="why not, for the person at the counter")


class NumberRelease(Contract):
    numbers: list[str]
    at: AwareDatetime


class ErasureRequest(Contract):
    workflow_id: str
    account_id: str
    customer_ref: str
    services: list[str]
    at: AwareDatetime
    retained: dict[str, str] = Field(description="records kept without personal data → why")


class ErasureCertificate(Contract):
    certificate_id: str
    erased_at: AwareDatetime
    erased: dict[str, int] = Field(description="what was deleted or anonymised → rows")
    retained: dict[str, str]
