"""The policy object: every deadline, threshold and limit, each with its source (spec §1.4).

A case binds the policy in force when it opens (the result of its first activity is in its
history), so changing the file affects new cases only.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from .catalog import MaterialKind, ServiceType
from .common import Contract, Region

OPERATOR = "operator policy"


class Basis(StrEnum):
    calendar = "calendar"
    """24 h periods from the triggering event (spec §1.2)."""
    working = "working"
    """Working days of the mainland-China calendar incl. 调休, each worth 24 h of working time."""


class WarningMark(Contract):
    """A warning mark: either a share of the budget or a fixed offset into it."""

    percent: int | None = Field(default=None, gt=0, lt=100)
    after: timedelta | None = Field(default=None, gt=timedelta(0))

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.percent is None) == (self.after is None):
            raise ValueError("a warning needs exactly one of `percent` or `after`")
        return self

    def offset(self, budget: timedelta) -> timedelta:
        if self.after is not None:
            return self.after
        assert self.percent is not None  # _one_of: exactly one of the two
        return budget * self.percent // 100

    @property
    def label(self) -> str:
        if self.after is not None:
            return f"warning-{_iso(self.after)}"
        return f"warning-{self.percent}pct"


class EscalationLevel(StrEnum):
    functional = "functional"
    """To the next support level."""
    hierarchic = "hierarchic"
    """To a manager."""


class Escalation(Contract):
    level: EscalationLevel
    to: str = Field(min_length=1, description="the role that receives the escalation")
    after_breach: timedelta = Field(ge=timedelta(0), description="calendar time after the breach")


def default_warnings() -> list[WarningMark]:
    """50 / 75 / 90 % of the budget (spec §1.2, operator policy)."""
    return [WarningMark(percent=50), WarningMark(percent=75), WarningMark(percent=90)]


class ClockPolicy(Contract):
    """One SLA clock: budget, warning marks, breach, and the escalation ladder after the breach."""

    source: str = Field(min_length=1, description="where the budget comes from")
    budget: timedelta = Field(gt=timedelta(0))
    basis: Basis = Basis.calendar
    warnings: list[WarningMark] = Field(default_factory=default_warnings)
    escalations: list[Escalation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _marks_inside_budget(self) -> Self:
        for warning in self.warnings:
            if warning.offset(self.budget) >= self.budget:
                raise ValueError(f"{warning.label} is not inside the budget {_iso(self.budget)}")
        return self


class ComplaintPolicy(Contract):
    reply: ClockPolicy = ClockPolicy(
        source="申诉办法 Art. 10(四): written reply within 15 days of the complaint; "
               "warnings day 10 and 13 (operator policy)",
        budget=timedelta(days=15),
        warnings=[WarningMark(after=timedelta(days=10)), WarningMark(after=timedelta(days=13))],
        escalations=[
            Escalation(level=EscalationLevel.functional, to="complaint-supervisor", after_breach=timedelta(0)),
            Escalation(level=EscalationLevel.hierarchic, to="complaint-manager", after_breach=timedelta(days=2)),
        ],
    )
    confirmation: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR}: customer confirmation within 7 days, else closed as confirmed",
        budget=timedelta(days=7),
        warnings=[],
    )
    max_reopenings: int = Field(default=2, ge=0, description=f"{OPERATOR}: then escalate to a manager")
    escalate_to: str = Field(default="complaint-manager",
                             description=f"{OPERATOR}: who takes over after the last reopening")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365),
                                         description=f"{OPERATOR}: complaint archive kept 3 years (guide ch. 7)")
    billing_appeal_months: int = Field(default=5, gt=0,
                                       description="申诉办法 Art. 11: fee disputes older than 5 months")
    other_appeal_months: int = Field(default=24, gt=0,
                                     description="申诉办法 Art. 11: other disputes older than 2 years")


class ApplicationPolicy(Contract):
    """ApplicationReview (spec §2)."""

    class Service(Contract):
        """What one service type needs and promises. Names are models.catalog's enum values."""

        required_materials: list[str] = Field(description=f"{OPERATOR} (guide 2.2): what a complete application has")
        installation_fee_fen: int = Field(ge=0,
                                          description=f"{OPERATOR}: published fee, base of the 条例 Art. 31 penalty")
        provisioning_source: str = Field(min_length=1)
        provisioning_basis: Basis
        provisioning: dict[str, timedelta] = Field(description="published time limit per region (urban, rural)")

    services: dict[str, Service] = {  # noqa: RUF012  (pydantic copies a default for each instance)
        "mobile": Service(
            required_materials=["application_form", "service_agreement"], installation_fee_fen=1000,
            provisioning_source=f"{OPERATOR} (spec §2.6): mobile activated within 1 day",
            provisioning_basis=Basis.calendar,
            provisioning={"urban": timedelta(days=1), "rural": timedelta(days=1)}),
        "fixed_line": Service(
            required_materials=["application_form", "service_agreement", "address_proof"], installation_fee_fen=10000,
            provisioning_source=f"{OPERATOR} (spec §2.6): fixed line installed within 5 working days urban, 10 rural",
            provisioning_basis=Basis.working, provisioning={"urban": timedelta(days=5), "rural": timedelta(days=10)}),
        "broadband": Service(
            required_materials=["application_form", "service_agreement", "address_proof"], installation_fee_fen=10000,
            provisioning_source=f"{OPERATOR} (spec §2.6): broadband installed within 5 working days urban, 10 rural",
            provisioning_basis=Basis.working, provisioning={"urban": timedelta(days=5), "rural": timedelta(days=10)}),
        "iot": Service(
            required_materials=["application_form", "service_agreement", "business_license", "usage_statement"],
            installation_fee_fen=500,
            provisioning_source=f"{OPERATOR}: IoT cards activated within 1 day, like mobile (no field work)",
            provisioning_basis=Basis.calendar, provisioning={"urban": timedelta(days=1), "rural": timedelta(days=1)}),
        "cloud": Service(
            required_materials=["application_form", "service_agreement", "business_license", "security_commitment"],
            installation_fee_fen=5000,
            provisioning_source=f"{OPERATOR}: cloud resources within 3 working days (no field work; security setup)",
            provisioning_basis=Basis.working, provisioning={"urban": timedelta(days=3), "rural": timedelta(days=3)}),
    }
    proxy_materials: list[str] = Field(default=["proxy_authorization"],
                                       description=f"{OPERATOR}: added when a proxy applies (both IDs: 令25号 Art. 6)")
    supplement: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} (spec §2.3): 5 working days to supply missing materials, a reminder after 3",
        budget=timedelta(days=5), basis=Basis.working, warnings=[WarningMark(after=timedelta(days=3))])
    review: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} (spec §2.5): manual review (审批) within 2 working days",
        budget=timedelta(days=2), basis=Basis.working,
        escalations=[
            Escalation(level=EscalationLevel.functional, to="review-supervisor", after_breach=timedelta(0)),
            Escalation(level=EscalationLevel.hierarchic, to="review-manager", after_breach=timedelta(days=1)),
        ])
    review_queue: str = Field(default="application-review", min_length=1,
                              description=f"{OPERATOR}: staff queue told of reviews and their warnings")
    provisioning_queue: str = Field(default="provisioning-desk", min_length=1,
                                    description=f"{OPERATOR}: staff queue told of provisioning warnings")
    provisioning_warnings: list[WarningMark] = Field(
        default_factory=default_warnings, description=f"{OPERATOR}: 50/75/90 % of the time limit (spec §1.2)")
    provisioning_escalations: list[Escalation] = Field(default=[
        Escalation(level=EscalationLevel.functional, to="provisioning-supervisor", after_breach=timedelta(0)),
        Escalation(level=EscalationLevel.hierarchic, to="provisioning-manager", after_breach=timedelta(days=1)),
    ], description=f"{OPERATOR}: activation later than the published limit")
    line_limit: int = Field(default=5, gt=0, description=f"{OPERATOR} under 反诈法 Art. 10: active lines per person")
    line_limited_services: list[str] = Field(default=["mobile"],
                                             description=f"{OPERATOR}: service types counted against the line limit")
    late_penalty_percent_per_day: int = Field(
        default=1, ge=0, description="条例 Art. 31: 1 % of the installation fee per day late (any started day counts)")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365),
                                         description=f"{OPERATOR}: application records archived 3 years (guide ch. 7)")

    @model_validator(mode="after")
    def _names_known(self) -> Self:
        if not self.model_fields_set:
            return self  # the built-in defaults, checked by the tests
        if set(self.services) != set(ServiceType):
            raise ValueError(f"services: needs exactly {sorted(map(str, ServiceType))}, got {sorted(self.services)}")
        named: list[tuple[str, list[str], type[StrEnum]]] = [
            (f"services.{name}.required_materials", service.required_materials, MaterialKind)
            for name, service in self.services.items()]
        named += [("proxy_materials", self.proxy_materials, MaterialKind),
                  ("line_limited_services", self.line_limited_services, ServiceType)]
        for field, names, kinds in named:
            unknown = set(names) - set(kinds)
            if unknown:
                raise ValueError(f"{field}: unknown {sorted(unknown)}; known: {sorted(map(str, kinds))}")
        for name, service in self.services.items():
            if set(service.provisioning) != set(Region):
                raise ValueError(f"services.{name}.provisioning: needs exactly the regions {sorted(map(str, Region))}")
        return self

    def provisioning_clock(self, service_type: str, region: str) -> ClockPolicy:
        service = self.services[service_type]
        return ClockPolicy(source=service.provisioning_source, budget=service.provisioning[region],
                           basis=service.provisioning_basis, warnings=self.provisioning_warnings,
                           escalations=self.provisioning_escalations)


class FaultPolicy(Contract):
    """FaultRepair (spec §3). All its clocks run on the calendar basis, counted from the report."""

    class Targets(Contract):
        """One severity's operator targets."""

        response: timedelta = Field(gt=timedelta(0),
                                    description="first response: diagnostic acknowledgement or dispatch")
        resolution: timedelta = Field(gt=timedelta(0), description="repair")

        @model_validator(mode="after")
        def _response_first(self) -> Self:
            if self.response > self.resolution:
                raise ValueError(f"response target {_iso(self.response)} is longer than the resolution "
                                 f"target {_iso(self.resolution)}")
            return self

    targets_source: str = Field(default=f"{OPERATOR}: ITIL-style response / resolution targets (spec §3.2)",
                                min_length=1)
    critical: Targets = Targets(response=timedelta(minutes=15), resolution=timedelta(hours=4))
    major: Targets = Targets(response=timedelta(hours=1), resolution=timedelta(hours=8))
    minor: Targets = Targets(response=timedelta(hours=4), resolution=timedelta(hours=24))
    low: Targets = Targets(response=timedelta(hours=8), resolution=timedelta(hours=48))
    warnings: list[WarningMark] = Field(default_factory=default_warnings,
                                        description=f"{OPERATOR}: 50/75/90 % of every fault clock (spec §1.2)")
    response_escalations: list[Escalation] = Field(default=[
        Escalation(level=EscalationLevel.functional, to="fault-dispatch-supervisor", after_breach=timedelta(0)),
        Escalation(level=EscalationLevel.hierarchic, to="fault-operations-manager", after_breach=timedelta(hours=1)),
    ], description=f"{OPERATOR}: no first response in time")
    resolution_escalations: list[Escalation] = Field(default=[
        Escalation(level=EscalationLevel.functional, to="fault-tier2", after_breach=timedelta(0)),
        Escalation(level=EscalationLevel.hierarchic, to="fault-operations-manager", after_breach=timedelta(hours=4)),
    ], description=f"{OPERATOR}: not repaired within the operator's target")
    statutory_source: str = Field(
        default="条例 Art. 32: repaired within 48 h (towns) / 72 h (rural) of the report, else notify the user "
                "and waive the monthly rental for the fault period (terminal equipment excepted)", min_length=1)
    statutory_urban: timedelta = Field(default=timedelta(hours=48), gt=timedelta(0), description="条例 Art. 32: towns")
    statutory_rural: timedelta = Field(default=timedelta(hours=72), gt=timedelta(0), description="条例 Art. 32: rural")
    statutory_escalations: list[Escalation] = Field(default=[
        Escalation(level=EscalationLevel.hierarchic, to="fault-operations-manager", after_breach=timedelta(0)),
    ], description=f"{OPERATOR}: a breach of the statutory cap goes to a manager at once")
    diagnostic_ack_is_response: bool = Field(
        default=True, description=f"{OPERATOR} (spec §3.3): the automatic acknowledgement is the first response "
                                  "when it carries the line test's diagnostic; otherwise the technician assignment is")
    confirmation: timedelta = Field(default=timedelta(days=3), gt=timedelta(0),
                                    description=f"{OPERATOR}: no answer this long after the repair closes the ticket")
    reopen_window: timedelta = Field(default=timedelta(days=7), gt=timedelta(0),
                                     description=f"{OPERATOR}: the customer may reopen this long after the repair")
    late_reopen_answered_for: timedelta = Field(
        default=timedelta(days=7), gt=timedelta(0),
        description=f"{OPERATOR}: after the reopen window the case stays running this long, so a late reopen is "
                    "refused with a reason (report a new fault) instead of Temporal's 'workflow completed'")
    rental_period: timedelta = Field(
        default=timedelta(days=30), gt=timedelta(0),
        description=f"{OPERATOR}: waiver = monthly rental × fault duration / 30 days, rounded up to the fen")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365),
                                         description=f"{OPERATOR}: fault tickets archived 3 years (guide ch. 7)")

    @model_validator(mode="after")
    def _within_the_cap(self) -> Self:
        cap = min(self.statutory_urban, self.statutory_rural)
        for severity in ("critical", "major", "minor", "low"):
            resolution = self.targets(severity).resolution
            if resolution > cap:
                raise ValueError(f"{severity}: resolution target {_iso(resolution)} exceeds the statutory cap "
                                 f"{_iso(cap)} (条例 Art. 32)")
            self.response_clock(severity), self.resolution_clock(severity)  # warnings inside each budget
        self.statutory_clock("urban"), self.statutory_clock("rural")
        if self.confirmation > self.reopen_window:
            raise ValueError("the confirmation window must end within the reopen window")
        return self

    def rental_waiver_fen(self, monthly_rental_fen: int, period: timedelta) -> int:
        """条例 Art. 32: the rental of a fault period, pro rata of `rental_period`, rounded up to the fen
        (in the customer's favour); in integer microseconds, so the fen are exact."""
        micro = timedelta(microseconds=1)
        return -(-monthly_rental_fen * (period // micro) // (self.rental_period // micro))

    def targets(self, severity: str) -> Targets:
        return {"critical": self.critical, "major": self.major, "minor": self.minor, "low": self.low}[severity]

    def response_clock(self, severity: str) -> ClockPolicy:
        budget = self.targets(severity).response
        return ClockPolicy(source=f"{self.targets_source}: {severity} response", budget=budget,
                           warnings=self.warnings, escalations=self.response_escalations)

    def resolution_clock(self, severity: str) -> ClockPolicy:
        budget = self.targets(severity).resolution
        return ClockPolicy(source=f"{self.targets_source}: {severity} resolution", budget=budget,
                           warnings=self.warnings, escalations=self.resolution_escalations)

    def statutory_clock(self, region: str) -> ClockPolicy:
        budget = {"urban": self.statutory_urban, "rural": self.statutory_rural}[region]
        return ClockPolicy(source=self.statutory_source, budget=budget, warnings=self.warnings,
                           escalations=self.statutory_escalations)

    # Plain deadlines on the clock engine: their "breach" ends a window, it is not an SLA breach.
    def confirmation_clock(self) -> ClockPolicy:
        return ClockPolicy(source=f"{OPERATOR}: customer confirmation after the repair, else closed by default",
                           budget=self.confirmation, warnings=[])

    def reopen_clock(self) -> ClockPolicy:
        return ClockPolicy(source=f"{OPERATOR}: the customer may reopen the ticket after the repair",
                           budget=self.reopen_window, warnings=[])


class TerminationPolicy(Contract):
    """TerminationCleanup (spec §5)."""

    class RetentionMinimum(Contract):
        """A record the law makes us keep after the service ends, and for how long."""

        records: str = Field(min_length=1)
        months: int = Field(gt=0, description="calendar months after the service ends")
        source: str = Field(min_length=1)

    class EquipmentCharges(Contract):
        """What a rented device costs the customer when it is not returned in time (fen)."""

        optical_modem: int = Field(default=30000, ge=0, description=f"{OPERATOR}: 光猫 not returned, 300 元")
        set_top_box: int = Field(default=20000, ge=0, description=f"{OPERATOR}: 机顶盒 not returned, 200 元")

    payment: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} (spec §5.2): the outstanding balance is paid within 30 days, else the request is "
               "cancelled and left to the arrears process; a reminder at day 20",
        budget=timedelta(days=30), warnings=[WarningMark(after=timedelta(days=20))])
    refund: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} (spec §5.3): a prepaid balance is refunded within 7 working days (no statutory figure)",
        budget=timedelta(days=7), basis=Basis.working,
        escalations=[
            Escalation(level=EscalationLevel.functional, to="billing-supervisor", after_breach=timedelta(0)),
            Escalation(level=EscalationLevel.hierarchic, to="billing-manager", after_breach=timedelta(days=1)),
        ])
    equipment: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} (spec §5.5): rented equipment (光猫, 机顶盒) is returned within 15 days, a reminder at "
               "day 10; then it is charged",
        budget=timedelta(days=15), warnings=[WarningMark(after=timedelta(days=10))])
    quarantine: ClockPolicy = ClockPolicy(
        source=f"{OPERATOR} practice (spec §5.6): a number rests 90 days before it returns to the pool; its last "
               "holder may reclaim it meanwhile",
        budget=timedelta(days=90), warnings=[])
    retention_minimums: list[RetentionMinimum] = Field(default=[
        RetentionMinimum(records="raw billing data", months=5, source="接入规范 (互联网接入服务规范, 2013)"),
        RetentionMinimum(records="network logs", months=6, source="网安法 Art. 21"),
    ], description="personal data these records carry is kept at least this long (PIPL Art. 47: storage only)")
    personal_data_retention: timedelta = Field(
        default=timedelta(days=180), gt=timedelta(0),
        description=f"{OPERATOR} (spec §5.7): personal data is erased this long after the service ends, or at the "
                    "end of the longest legal minimum when that is later (6 calendar months can be 184 days)")
    early_termination_fee_per_month_fen: int = Field(
        default=3000, ge=0, description=f"{OPERATOR}: per whole month left of the contract period, 30 元")
    early_termination_fee_cap_fen: int = Field(default=30000, ge=0,
                                               description=f"{OPERATOR}: the early-termination fee is at most 300 元")
    equipment_charges: EquipmentCharges = EquipmentCharges()
    billing_queue: str = Field(default="billing-desk", min_length=1,
                               description=f"{OPERATOR}: staff queue told of refund deadlines")
    arrears_queue: str = Field(default="arrears-desk", min_length=1,
                               description=f"{OPERATOR}: takes over requests cancelled for an unpaid balance")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365),
                                         description=f"{OPERATOR}: termination records archived 3 years (guide ch. 7)")

    @model_validator(mode="after")
    def _reclaim_before_erasure(self) -> Self:
        # A reclaim is checked against the last holder's ID hash, which the erasure removes.
        if self.quarantine.budget > self.personal_data_retention:
            raise ValueError(f"quarantine {_iso(self.quarantine.budget)} must end before personal data is erased "
                             f"({_iso(self.personal_data_retention)})")
        return self

    def retention_clock(self, budget: timedelta) -> ClockPolicy:
        """Plain deadline: the end of storage-only retention, when personal data is erased."""
        minimums = "; ".join(f"{m.records} ≥ {m.months} months ({m.source})" for m in self.retention_minimums)
        return ClockPolicy(source=f"PIPL Art. 47: stop processing at once, erase after the legal minimums: "
                                  f"{minimums}; at least {_iso(self.personal_data_retention)} ({OPERATOR})",
                           budget=budget, warnings=[])


class ChangePolicy(Contract):
    """ServiceChange (guide 6.1, 6.3, 6.5): how far ahead each kind of change is announced."""

    planned_works_notice: timedelta = Field(
        default=timedelta(hours=72), gt=timedelta(0),
        description="电信条例 (2016), ch. 3 电信服务: works (工程施工, 网络建设) that affect or may affect users are "
                    "announced to them 72 hours ahead (article number not verified offline: check before citing)")
    tariff_change_notice: timedelta = Field(
        default=timedelta(days=30), gt=timedelta(0),
        description=f"{OPERATOR}: a tariff change is announced a month ahead (no figure verified)")
    withdrawal_notice: timedelta = Field(
        default=timedelta(days=30), gt=timedelta(0),
        description=f"{OPERATOR}: a service withdrawn is announced 30 days ahead (no figure verified)")
    reminder_before: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0),
                                       description=f"{OPERATOR}: affected users are reminded this long before")
    follow_up_after: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0),
                                       description=f"{OPERATOR}: affected lines are tested this long after the end")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365), description="guide ch. 7: 3 years")

    def notice(self, kind: str) -> timedelta:
        return {"planned_works": self.planned_works_notice, "tariff_change": self.tariff_change_notice,
                "withdrawal": self.withdrawal_notice}[kind]

    def countdown(self, until_start: timedelta) -> ClockPolicy:
        """Plain deadline: the window's start, with the reminder before it if there is time for one."""
        remind = [WarningMark(after=until_start - self.reminder_before)] if until_start > self.reminder_before \
            else []
        return ClockPolicy(source=f"{OPERATOR}: the change window starts; affected users reminded "
                                  f"{_iso(self.reminder_before)} before", budget=until_start, warnings=remind)

    def window(self, length: timedelta) -> ClockPolicy:
        return ClockPolicy(source="the change window, as approved", budget=length, warnings=[])

    def follow_up(self) -> ClockPolicy:
        return ClockPolicy(source=f"{OPERATOR}: lines are tested {_iso(self.follow_up_after)} after the window",
                           budget=self.follow_up_after, warnings=[])


class Policy(Contract):
    version: str = Field(default="2026.1", min_length=1, description="recorded with every case that binds it")
    timezone: str = Field(default="Asia/Shanghai", description="where working days and dates are counted")
    clock_skew: timedelta = Field(default=timedelta(minutes=2), ge=timedelta(0),
                                  description=f"{OPERATOR}: a caller's timestamp may run this far ahead of ours")
    backdating_limit: timedelta = Field(
        default=timedelta(days=366), gt=timedelta(0),
        description=f"{OPERATOR}: how long before the case starts its event time (received_at, reported_at, "
                    "requested_at) may lie; an older one is a mistake, not a case to run")
    application: ApplicationPolicy = ApplicationPolicy()
    fault: FaultPolicy = FaultPolicy()
    complaint: ComplaintPolicy = ComplaintPolicy()
    termination: TerminationPolicy = TerminationPolicy()
    change: ChangePolicy = ChangePolicy()

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        with open(path, "rb") as file:
            return cls.model_validate(tomllib.load(file))

    def bound(self, section: str) -> BoundPolicy:
        """What a case of the process named `section` binds: the common settings and its own section."""
        return BoundPolicy(version=self.version, timezone=self.timezone, clock_skew=self.clock_skew,
                           backdating_limit=self.backdating_limit, **{section: getattr(self, section)})


class BoundPolicy(Contract):
    """The policy in a case's history and on its record: the common settings and the case's own
    process's section, the only part it reads. The other sections would add kilobytes to every
    case's history for nothing. Cases started before carry the whole policy, which reads the same."""

    # The defaults read a history from before a field existed as the policy did then.
    version: str = Policy.model_fields["version"].default
    timezone: str = Policy.model_fields["timezone"].default
    clock_skew: timedelta = Policy.model_fields["clock_skew"].default
    backdating_limit: timedelta = Policy.model_fields["backdating_limit"].default
    application: ApplicationPolicy | None = None
    fault: FaultPolicy | None = None
    complaint: ComplaintPolicy | None = None
    termination: TerminationPolicy | None = None
    change: ChangePolicy | None = None

    def policy(self) -> Policy:
        """As a `Policy`: the sections not bound read as the defaults, and the case never reads them.
        A copy of the default with the bound values, which are validated already (a validation of the
        whole policy costs a millisecond, at every start and replay of every case)."""
        return DEFAULT.model_copy(update={name: value for name, value in self if value is not None})


DEFAULT = Policy()
"""The built-in policy, built once: never changed, only copied."""


def _iso(delta: timedelta) -> str:
    """ISO 8601 duration for labels (P10D, PT4H, P1DT12H)."""
    days, seconds = delta.days, delta.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if (days or time) else "PT0S"
