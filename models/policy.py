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

from .common import Contract

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
        source="申诉办法 Art. 10(四): written reply within 15 days of the complaint; warnings day 10 and 13 (operator policy)",
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
    escalate_to: str = Field(default="complaint-manager", description=f"{OPERATOR}: who takes over after the last reopening")
    archive_retention: timedelta = Field(default=timedelta(days=3 * 365),
                                         description=f"{OPERATOR}: complaint archive kept 3 years (guide ch. 7)")
    billing_appeal_months: int = Field(default=5, gt=0, description="申诉办法 Art. 11: fee disputes older than 5 months")
    other_appeal_months: int = Field(default=24, gt=0, description="申诉办法 Art. 11: other disputes older than 2 years")


class ApplicationPolicy(Contract):
    """ApplicationReview (spec §2)."""


class FaultPolicy(Contract):
    """FaultRepair (spec §3)."""


class TerminationPolicy(Contract):
    """TerminationCleanup (spec §5)."""


class Policy(Contract):
    version: str = Field(default="2026.1", min_length=1, description="recorded with every case that binds it")
    timezone: str = Field(default="Asia/Shanghai", description="where working days and dates are counted")
    clock_skew: timedelta = Field(default=timedelta(minutes=2), ge=timedelta(0),
                                  description=f"{OPERATOR}: a caller's timestamp may run this far ahead of ours")
    application: ApplicationPolicy = ApplicationPolicy()
    fault: FaultPolicy = FaultPolicy()
    complaint: ComplaintPolicy = ComplaintPolicy()
    termination: TerminationPolicy = TerminationPolicy()

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        with open(path, "rb") as file:
            return cls.model_validate(tomllib.load(file))


def _iso(delta: timedelta) -> str:
    """ISO 8601 duration for labels (P10D, PT4H, P1DT12H)."""
    days, seconds = delta.days, delta.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if (days or time) else "PT0S"
