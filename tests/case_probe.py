"""A process written on the case framework and nothing else, to test the framework apart from the
four processes: one SLA clock with the default reaction to its marks, one window, two actions."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import CaseStatus
    from models.common import CaseType, Contract, Customer
    from models.policy import ClockPolicy, Escalation, EscalationLevel, WarningMark
    from workflows.actions import Actions, refuse
    from workflows.case import Case
    from workflows.clocks import Firing
    from workflows.inbound import case_input

HOUR = timedelta(hours=1)
WORK = ClockPolicy(source="test", budget=10 * HOUR, warnings=[WarningMark(after=6 * HOUR)],
                   escalations=[Escalation(level=EscalationLevel.functional, to="supervisor", after_breach=HOUR)])


class ProbeState(StrEnum):
    open = "open"
    answered = "answered"
    closed = "closed"


class ProbeInput(Contract):
    workflow_id: str
    customer: Customer
    reply_hours: int = 24
    """The customer's window, reminded 4 hours before its end."""


class Answer(Contract):
    text: str
    actor: str = "staff.a"


class ProbeStatus(CaseStatus):
    state: ProbeState
    awaiting: str | None
    answer: str | None
    reminded: int
    escalated_to: str | None


action = Actions(ProbeStatus)


@workflow.defn(name="CaseProbe")
class CaseProbe(Case):
    State, FINAL, NOUN = ProbeState, (ProbeState.closed,), "probe"

    @case_input
    def __init__(self, probe: ProbeInput) -> None:
        self.open_case(CaseType.complaint, probe.customer.customer_ref, probe_id="P1")
        self.probe, self.answer, self.reminded = probe, None, 0

    @workflow.run
    async def run(self, probe: ProbeInput) -> ProbeStatus:
        await self.begin(probe.workflow_id, "probe P1")
        now = workflow.now()
        await self.book.clocks.start("work", WORK, now)
        reply = ClockPolicy(source="test", budget=probe.reply_hours * HOUR,
                            warnings=[WarningMark(after=(probe.reply_hours - 4) * HOUR)])
        await self.open_window("reply", reply, now, self._reply_over, self._remind)
        await self.record_opening("opened", to_state=ProbeState.open, contact=probe.customer, reason="probe opened",
                                  details={"kind": "probe"})
        await self.wait(lambda: self.ended)
        return self.status()

    def _not_no(self, request: Answer) -> None:
        if request.text == "no":
            raise refuse("no is not an answer")

    @action("Answer the probe.", allowed=(ProbeState.open,), refusal="only an open probe is answered", check=_not_no)
    async def answer_probe(self, request: Answer) -> None:
        self.answer = request.text
        self.close_window("reply")
        await self.book.record("answered", to_state=ProbeState.answered, actor=request.actor, reason="answered")

    @action("Close the probe.", allowed=(ProbeState.answered,), refusal="answer it first")
    async def close(self, request: Answer) -> None:
        await self.finish("closed", to_state=ProbeState.closed, actor=request.actor, reason="closed",
                          summary={"answer": self.answer})

    @workflow.query
    def status(self) -> ProbeStatus:
        return ProbeStatus(**self.status_fields(), answer=self.answer, reminded=self.reminded,
                           escalated_to=self.escalated_to)

    async def _remind(self, firing: Firing) -> None:
        self.reminded += 1
        await self.book.record("reminder", reason="reminded",
                               notifications=[self.to_customer("reminder", "probe.reminder")])

    async def _reply_over(self, firing: Firing) -> None:
        await self.finish("expired", to_state=ProbeState.closed, reason="no answer", summary={"answer": None})

    def awaiting(self) -> str | None:
        return {ProbeState.open: "an answer", ProbeState.answered: "closing"}.get(self.state)

    def queue(self, clock: str) -> str:
        return "desk"
