"""Calendar versions (docs/calendar.md): the working-day calendar as numbered, published versions,
and the rollout that tells running cases a new one exists."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from .common import Contract, Day, Inbound

WORKFLOW_TYPE = "CalendarChange"
UPDATE = "calendar_changed"
"""The update every case takes (`workflows.case.Case`): recompute working-day due times."""


def workflow_id(version: int) -> str:
    return f"calendar-v{version}"


class CalendarChangeInput(Inbound):
    version: int = Field(ge=1, description="the published version to roll out")
    first_day: Day = Field(description="the earliest day the version changed: a clock due before it cannot move")
    after: str = Field(default="", max_length=100, description="resume after this workflow id (continue-as-new)")
    told: int = Field(default=0, ge=0)
    moved: int = Field(default=0, ge=0)
    failed: list[str] = Field(default_factory=list, max_length=1000)


class CalendarChanged(Inbound):
    """The argument of a case's `calendar_changed` update."""

    version: int = Field(ge=1)


class ClockMove(Contract):
    clock: str
    old_due: AwareDatetime | None
    new_due: AwareDatetime | None


class CalendarMoves(Contract):
    """What a case did with a calendar version: the clocks whose due time moved (none if it already
    had that version or a newer one, or has ended)."""

    version: int
    moves: list[ClockMove] = Field(default_factory=list)


class CasePage(Contract):
    first_day: date
    after: str = Field(description="workflow ids after this one")
    limit: int = Field(gt=0, le=1000)


class AffectedCases(Contract):
    """A page of open cases a calendar change may reach, in workflow-id order."""

    workflow_ids: list[str]


class CasesToTell(Contract):
    version: int
    workflow_ids: list[str]


class CasesTold(Contract):
    told: int = Field(description="cases that took the version (moved or not)")
    moved: int = Field(description="cases with at least one due time moved")
    failed: list[str] = Field(description="`workflow id: reason` of cases that refused it")


class CalendarChangeStatus(Contract):
    version: int
    first_day: date
    told: int
    moved: int
    failed: list[str]
    done: bool
    after: str = Field(description="the last workflow id reached")
