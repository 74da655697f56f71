"""What an SLA clock reports and what the due-time activity computes (spec §1.2)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from .common import Contract
from .policy import Basis


class SlaEventKind(StrEnum):
    warning = "warning"
    breach = "breach"
    escalation = "escalation"
    pause = "pause"
    resume = "resume"


class Pause(Contract):
    paused_at: AwareDatetime
    reason: str
    resumed_at: AwareDatetime | None = None


class ClockStatus(Contract):
    """One clock as the `status` query shows it."""

    name: str
    source: str
    basis: Basis
    budget: timedelta
    started_at: AwareDatetime
    consumed: timedelta = Field(description="budget time used so far, pauses excluded")
    consumed_as_of: AwareDatetime | None = Field(
        description="when `consumed` was measured: now for calendar clocks, the last start, pause or "
                    "resume for working-day clocks (a query cannot consult the calendar)")
    remaining: timedelta
    running: bool
    paused: bool
    due_at: AwareDatetime | None = Field(description="breach time if the clock keeps running; none while paused")
    breached: bool
    fired: list[str] = Field(description="marks already recorded: warnings, breach, escalations")
    next_mark: str | None
    next_at: AwareDatetime | None
    pauses: list[Pause]
    calendar_version: int = Field(default=0, description="working-day clocks: the calendar version of its due "
                                                        "times (0: the worker's calendar, none published)")


class DueTimeRequest(Contract):
    """Working-time arithmetic for a clock on the working-day basis, done in an activity because
    calendar data changes between releases (the result in history keeps replay deterministic)."""

    timezone: str
    since: AwareDatetime | None = Field(default=None, description="measure working time from here to `start`")
    start: AwareDatetime
    offsets: list[timedelta] = Field(default_factory=list, description="working time to add to `start`")
    calendar_version: int = Field(default=0, ge=0, description="the oldest calendar version to use: the newest "
                                                              "published one is used, unless older than this")


class DueTimes(Contract):
    elapsed: timedelta = Field(description="working time between `since` and `start`")
    instants: list[AwareDatetime] = Field(description="`start` + each offset, aware UTC")
    calendar_version: int = Field(default=0, description="the calendar version used (0: none published)")
