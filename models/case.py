"""What every process's `status` query shows besides the process's own facts (the case framework,
`workflows.case`, fills these fields)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from .common import Contract, StateChange
from .sla import ClockStatus


class CaseStatus(Contract):
    deadlines: dict[str, AwareDatetime] = Field(description="open deadlines by clock name: the breach time of each "
                                                            "clock not stopped")
    clocks: list[ClockStatus]
    history: list[StateChange] = Field(description="every state the case has been in, oldest first")
    policy_version: str = Field(description="the version of the policy the case is bound to")
