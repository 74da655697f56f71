"""ComplaintClosure (docs/processes.md § Complaint closure, guide 1.5): 受理 → 调查处理 → 反馈确认 → 闭环管理."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.common import CaseType, add_months
    from models.complaint import (DEEMED_REASON, SATISFIED_REASON, WORKFLOW_TYPE, AssignHandler, ComplaintCategory,
                                  ComplaintInput, ComplaintState, ComplaintStatus, Confirmation, ConfirmReply,
                                  RecordFindings, SendReply, SubmitClosure)
    from models.policy import EscalationLevel
    from models.records import CaseFacts, Channel, SlaEventRecord
    from models.sla import SlaEventKind

    from .actions import Actions, invalid_input, process, refuse
    from .case import Case, local_date
    from .clocks import Firing
    from .inbound import case_input

action = Actions(ComplaintStatus)
REPLY, CONFIRMATION = "reply", "confirmation"
DESK = "complaint-desk"
"""Staff queue that gets warnings while no handler is assigned."""


@process(WORKFLOW_TYPE)
class ComplaintClosure(Case):
    State, FINAL, NOUN = ComplaintState, (ComplaintState.closed,), "complaint"

    @case_input
    def __init__(self, complaint: ComplaintInput) -> None:
        # Only plain assignments here: the input checks that need the policy are in `run`.
        self.complaint = complaint
        self.open_case(CaseType.complaint, complaint.customer.customer_ref, complaint_id=complaint.complaint_id)
        self.received_at: datetime = complaint.received_at or workflow.now()
        self.assignee: str | None = None
        self.findings: str | None = None
        self.reply_sent = False
        self.confirmation: Confirmation | None = None
        self.closure: SubmitClosure | None = None
        self.reopenings = 0
        self.appeal_eligible = False
        self.outside_appeal_window = False

    @workflow.run
    async def run(self, complaint: ComplaintInput) -> ComplaintStatus:
        policy = await self.begin(complaint.workflow_id, f"complaint {complaint.complaint_id!r}",
                                  ("received_at", self.received_at))
        received_day = local_date(self.received_at, policy.timezone)
        if complaint.event_date > received_day:
            raise invalid_input("event_date", f"{complaint.event_date} is after the complaint was received "
                                              f"({received_day})")
        months = (policy.complaint.billing_appeal_months if complaint.category is ComplaintCategory.billing
                  else policy.complaint.other_appeal_months)
        self.outside_appeal_window = complaint.event_date < add_months(received_day, -months)

        await self.book.clocks.start(REPLY, policy.complaint.reply, self.received_at)
        await self.record_opening(
            "accepted", to_state=ComplaintState.acknowledged, contact=complaint.customer,
            reason=f"complaint received via {complaint.channel}",
            details={"category": complaint.category, "channel": complaint.channel,
                     "event_date": complaint.event_date.isoformat(), "received_at": self.received_at.isoformat(),
                     "outside_appeal_window": self.outside_appeal_window},
            notifications=[self.to_customer("accepted", "complaint.acknowledged",
                                            reply_due=self.book.clocks.deadlines()[REPLY].isoformat())])
        await self.wait(lambda: self.ended)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions ------------------------------------------------------------------

    def _new_handler(self, request: AssignHandler) -> None:
        if request.handler == self.assignee:
            raise refuse(f"complaint is already assigned to {request.handler}")

    @action("Assign (or reassign) the handler who investigates the complaint.", check=_new_handler,
            allowed=(ComplaintState.acknowledged, ComplaintState.inProgress),
            refusal="handlers are assigned only before the reply")
    async def assign_handler(self, request: AssignHandler) -> None:
        verb = "reassigned" if self.assignee else "assigned"
        self.assignee = request.handler
        await self.book.record("assigned", to_state=ComplaintState.inProgress, actor=request.actor,
                               reason=f"handler {request.handler} {verb}", facts=CaseFacts(assignee=request.handler))

    @action("The handler records the investigation's findings.", allowed=(ComplaintState.inProgress,),
            refusal="findings need an assigned handler and come before the reply")
    async def record_findings(self, request: RecordFindings) -> None:
        self.findings = request.findings
        await self.book.record("findings", actor=request.actor, reason="findings recorded",
                               details={"findings": request.findings})

    def _findings_recorded(self, request: SendReply) -> None:
        if self.findings is None:
            raise refuse("record the findings before replying")

    @action("Send the written reply (书面反馈); the customer's confirmation window opens.", check=_findings_recorded,
            allowed=(ComplaintState.inProgress,), refusal="a reply needs an assigned handler")
    async def send_reply(self, request: SendReply) -> None:
        now = workflow.now()
        if self.book.clocks.is_running(REPLY):
            self.book.clocks.stop(REPLY)
        await self.open_window(CONFIRMATION, self.book.policy.complaint.confirmation, now, self._deemed)
        self.reply_sent = True
        await self.book.record(
            "reply", to_state=ComplaintState.resolved, actor=request.actor, reason="written reply sent",
            details={"reply": request.reply, "replied_at": now.isoformat()},
            notifications=[self.to_customer("reply", "complaint.reply", channel=Channel(request.channel),
                                            confirm_by=self.book.clocks.deadlines()[CONFIRMATION].isoformat())])

    def _unanswered(self, request: ConfirmReply) -> None:
        if self.confirmation is not None:
            raise refuse(f"complaint is {self.state}: there is no reply awaiting the customer's confirmation")

    @action("The customer's answer to the reply: satisfied, or dissatisfied (reopens).", check=_unanswered,
            allowed=(ComplaintState.resolved,), refusal="there is no reply awaiting the customer's confirmation")
    async def confirm(self, request: ConfirmReply) -> None:
        self.close_window(CONFIRMATION)
        if not request.satisfied:
            await self._reopen(request)
            return
        self.confirmation = Confirmation.satisfied
        if self.closure is not None:
            await self._close(request.actor, SATISFIED_REASON)
        else:
            await self.book.record("confirmed", actor=request.actor, reason=SATISFIED_REASON)

    def _no_closure_yet(self, request: SubmitClosure) -> None:
        if self.closure is not None:
            raise refuse("the closure report has already been submitted")

    @action("Close the loop: cause analysis and improvement measures (both required).", check=_no_closure_yet,
            allowed=(ComplaintState.resolved,), refusal="the closure report follows the written reply")
    async def submit_closure(self, request: SubmitClosure) -> None:
        self.closure = request
        if self.confirmation is not None:
            await self._close(request.actor, f"closure report; customer {self.confirmation}")
        else:
            await self.book.record("closure-report", actor=request.actor,
                                   reason="closure report submitted; awaiting the customer's confirmation",
                                   details=self._closure_details())

    @workflow.query(description="Where the complaint stands: state, deadlines, clocks, history.")
    def status(self) -> ComplaintStatus:
        return ComplaintStatus(
            **self.status_fields(), complaint_id=self.complaint.complaint_id, category=self.complaint.category,
            assignee=self.assignee, findings_recorded=self.findings is not None, reply_sent=self.reply_sent,
            confirmation=self.confirmation, closure_submitted=self.closure is not None, reopenings=self.reopenings,
            escalated_to=self.escalated_to, appeal_eligible=self.appeal_eligible,
            outside_appeal_window=self.outside_appeal_window, received_at=self.received_at)

    # --- deadlines and transitions ------------------------------------------------------

    async def on_mark(self, firing: Firing) -> None:
        if firing.mark.kind is not SlaEventKind.breach:
            await super().on_mark(firing)
            return
        self.appeal_eligible = True
        await self.book.record(
            "reply-breach", reason="no written reply within the statutory period: eligible for appeal",
            sla_events=[firing.record("appeal-eligible (申诉办法 Art. 10(四))")], details={"appeal_eligible": True},
            notifications=self.unless_missed(firing, self.to_customer("reply-breach", "complaint.appeal_eligible")))

    async def _deemed(self, firing: Firing) -> None:
        self.confirmation = Confirmation.deemed
        reason = DEEMED_REASON
        if self.closure is not None:
            await self._close("system", reason)
        else:
            await self.book.record("confirmation-deemed", reason=reason)

    async def _reopen(self, request: ConfirmReply) -> None:
        policy = self.book.policy.complaint
        self.reopenings += 1
        self.findings, self.reply_sent, self.closure, self.confirmation = None, False, None, None
        reason = f"customer dissatisfied: reopening {self.reopenings} of {policy.max_reopenings}"
        escalations = []
        if self.reopenings > policy.max_reopenings:
            self.escalated_to = policy.escalate_to
            reason = (f"customer dissatisfied after {policy.max_reopenings} reopenings: escalated to "
                      f"{policy.escalate_to}")
            escalations = [SlaEventRecord(key=f"reopen-{self.reopenings}:escalation", clock=CONFIRMATION,
                                          kind=SlaEventKind.escalation, at=workflow.now(),
                                          level=EscalationLevel.hierarchic, to=policy.escalate_to, detail=reason)]
        await self.book.record(
            "reopened", to_state=ComplaintState.inProgress, actor=request.actor, reason=reason, sla_events=escalations,
            details={"reopenings": self.reopenings, "escalated_to": self.escalated_to, "last_comment": request.comment},
            notifications=[self.to_staff("reopened", self.escalated_to or self.assignee or DESK, "complaint.reopened",
                                         reopenings=self.reopenings)])

    async def _close(self, actor: str, reason: str) -> None:
        summary = {"category": self.complaint.category, "reopenings": self.reopenings,
                   "appeal_eligible": self.appeal_eligible, "confirmation": self.confirmation,
                   **self._closure_details()}
        await self.finish("closed", to_state=ComplaintState.closed, actor=actor, reason=reason, summary=summary,
                          details={**self._closure_details(), "confirmation": self.confirmation},
                          notifications=[self.to_customer("closed", "complaint.closed")])

    def _closure_details(self) -> dict[str, str]:
        assert self.closure is not None
        return {"cause_analysis": self.closure.cause_analysis,
                "improvement_measures": self.closure.improvement_measures}

    def queue(self, clock: str) -> str:
        return self.assignee or DESK

    def awaiting(self) -> str | None:
        if self.state is ComplaintState.acknowledged:
            return "handler assignment"
        if self.state is ComplaintState.inProgress:
            return "findings" if self.findings is None else "written reply"
        if self.state is ComplaintState.resolved:
            wanted = [w for w, missing in (("customer confirmation", self.confirmation is None),
                                           ("closure report", self.closure is None)) if missing]
            return " and ".join(wanted)
        return None

    def headline(self) -> str:
        return f"{self.state} · category {self.complaint.category}"

    def alerts(self) -> list[str]:
        return ["appeal-eligible"] * self.appeal_eligible
