"""ComplaintClosure (spec §4, guide 1.5): 受理 → 调查处理 → 反馈确认 → 闭环管理."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.common import CaseType, add_months
    from models.complaint import (WORKFLOW_TYPE, AssignHandler, ComplaintCategory, ComplaintInput,
                                  ComplaintState, ComplaintStatus, Confirmation, ConfirmReply,
                                  RecordFindings, SendReply, SubmitClosure)
    from models.policy import EscalationLevel
    from models.records import ArchiveRecord, CaseFacts, Channel, SlaEventRecord
    from models.sla import SlaEventKind

    from .case import CaseBook, UnknownNames, case_input, check_event_time, invalid_input, local_date, refuse
    from .sla import Firing

REPLY, CONFIRMATION = "reply", "confirmation"
DESK = "complaint-desk"
"""Staff queue that gets warnings while no handler is assigned."""


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class ComplaintClosure(UnknownNames):
    @case_input
    def __init__(self, complaint: ComplaintInput) -> None:
        # Only plain assignments here: the input checks that need the policy are in `run`.
        self.complaint = complaint
        self.book = CaseBook(CaseType.complaint, self._details)
        self.received_at: datetime = complaint.received_at or workflow.now()
        self.assignee: str | None = None
        self.findings: str | None = None
        self.reply_sent = False
        self.confirmation: Confirmation | None = None
        self.closure: SubmitClosure | None = None
        self.reopenings = 0
        self.escalated_to: str | None = None
        self.appeal_eligible = False
        self.outside_appeal_window = False

    @workflow.run
    async def run(self, complaint: ComplaintInput) -> ComplaintStatus:
        if workflow.info().workflow_id != complaint.workflow_id:
            raise invalid_input(f"workflow id must be {complaint.workflow_id!r} for complaint "
                                f"{complaint.complaint_id!r}, not {workflow.info().workflow_id!r}")
        policy = (await self.book.bind_policy()).complaint
        received_day = local_date(self.received_at, self.book.policy.timezone)
        check_event_time("received_at", self.received_at, self.book.policy)
        if complaint.event_date > received_day:
            raise invalid_input(f"event_date: {complaint.event_date} is after the complaint was received "
                                f"({received_day})")
        months = (policy.billing_appeal_months if complaint.category is ComplaintCategory.billing
                  else policy.other_appeal_months)
        self.outside_appeal_window = complaint.event_date < add_months(received_day, -months)

        await self.book.clocks.start(REPLY, policy.reply, self.received_at)
        await self.book.record(
            "accepted", to_state=ComplaintState.acknowledged, contact=complaint.customer,
            reason=f"complaint received via {complaint.channel}",
            facts=CaseFacts(customer_ref=complaint.customer.customer_ref, policy=self.book.policy.model_dump(mode="json"),
                            details={"category": complaint.category, "channel": complaint.channel,
                                     "event_date": complaint.event_date.isoformat(),
                                     "received_at": self.received_at.isoformat(),
                                     "outside_appeal_window": self.outside_appeal_window}),
            notifications=[self._to_customer("accepted", "complaint.acknowledged",
                                             reply_due=self.book.clocks.deadlines()[REPLY].isoformat())])
        await self.book.wait_until(lambda: self.book.state == ComplaintState.closed, self._on_mark)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions ------------------------------------------------------------------

    @workflow.update(description="Assign (or reassign) the handler who investigates the complaint.")
    async def assign_handler(self, request: AssignHandler) -> ComplaintStatus:
        async with self.book.acting():
            self._check_assign(request)
            verb = "reassigned" if self.assignee else "assigned"
            self.assignee = request.handler
            await self.book.record("assigned", to_state=ComplaintState.inProgress, actor=request.actor,
                                   reason=f"handler {request.handler} {verb}",
                                   facts=CaseFacts(assignee=request.handler))
        return self.status()

    @assign_handler.validator
    def _check_assign(self, request: AssignHandler) -> None:
        if self._state not in (ComplaintState.acknowledged, ComplaintState.inProgress):
            raise refuse(f"complaint is {self._state}: handlers are assigned only before the reply")
        if request.handler == self.assignee:
            raise refuse(f"complaint is already assigned to {request.handler}")

    @workflow.update(description="The handler records the investigation's findings.")
    async def record_findings(self, request: RecordFindings) -> ComplaintStatus:
        async with self.book.acting():
            self._check_findings(request)
            self.findings = request.findings
            await self.book.record("findings", actor=request.actor, reason="findings recorded",
                                   facts=CaseFacts(details={"findings": request.findings}))
        return self.status()

    @record_findings.validator
    def _check_findings(self, request: RecordFindings) -> None:
        if self._state is not ComplaintState.inProgress:
            raise refuse(f"complaint is {self._state}: findings need an assigned handler and come before the reply")

    @workflow.update(description="Send the written reply (书面反馈); the customer's confirmation window opens.")
    async def send_reply(self, request: SendReply) -> ComplaintStatus:
        async with self.book.acting():
            self._check_reply(request)
            now = workflow.now()
            if self.book.clocks.is_running(REPLY):
                self.book.clocks.stop(REPLY)
            await self.book.clocks.start(CONFIRMATION, self.book.policy.complaint.confirmation, now, sla=False)
            self.reply_sent = True
            await self.book.record(
                "reply", to_state=ComplaintState.resolved, actor=request.actor, reason="written reply sent",
                facts=CaseFacts(details={"reply": request.reply, "replied_at": now.isoformat()}),
                notifications=[self._to_customer("reply", "complaint.reply", channel=request.channel,
                                                 confirm_by=self.book.clocks.deadlines()[CONFIRMATION].isoformat())])
        return self.status()

    @send_reply.validator
    def _check_reply(self, request: SendReply) -> None:
        if self._state is not ComplaintState.inProgress:
            raise refuse(f"complaint is {self._state}: a reply needs an assigned handler")
        if self.findings is None:
            raise refuse("record the findings before replying")

    @workflow.update(description="The customer's answer to the reply: satisfied, or dissatisfied (reopens).")
    async def confirm(self, request: ConfirmReply) -> ComplaintStatus:
        async with self.book.acting():
            self._check_confirm(request)
            self.book.clocks.stop(CONFIRMATION)
            if request.satisfied:
                self.confirmation = Confirmation.satisfied
                if self.closure is not None:
                    await self._close(request.actor, "customer satisfied")
                else:
                    await self.book.record("confirmed", actor=request.actor, reason="customer satisfied")
            else:
                await self._reopen(request)
        return self.status()

    @confirm.validator
    def _check_confirm(self, request: ConfirmReply) -> None:
        if self._state is not ComplaintState.resolved or self.confirmation is not None:
            raise refuse(f"complaint is {self._state}: there is no reply awaiting the customer's confirmation")

    @workflow.update(description="Close the loop: cause analysis and improvement measures (both required).")
    async def submit_closure(self, request: SubmitClosure) -> ComplaintStatus:
        async with self.book.acting():
            self._check_closure(request)
            self.closure = request
            if self.confirmation is not None:
                await self._close(request.actor, f"closure report; customer {self.confirmation}")
            else:
                await self.book.record("closure-report", actor=request.actor,
                                       reason="closure report submitted; awaiting the customer's confirmation",
                                       facts=CaseFacts(details=self._closure_details()))
        return self.status()

    @submit_closure.validator
    def _check_closure(self, request: SubmitClosure) -> None:
        if self._state is not ComplaintState.resolved:
            raise refuse(f"complaint is {self._state}: the closure report follows the written reply")
        if self.closure is not None:
            raise refuse("the closure report has already been submitted")

    @workflow.query(description="Where the complaint stands: state, deadlines, clocks, history.")
    def status(self) -> ComplaintStatus:
        clocks = self.book.clocks
        return ComplaintStatus(
            complaint_id=self.complaint.complaint_id, state=self._state, awaiting=self._awaiting(),
            category=self.complaint.category, assignee=self.assignee, findings_recorded=self.findings is not None,
            reply_sent=self.reply_sent, confirmation=self.confirmation, closure_submitted=self.closure is not None,
            reopenings=self.reopenings, escalated_to=self.escalated_to, appeal_eligible=self.appeal_eligible,
            outside_appeal_window=self.outside_appeal_window, received_at=self.received_at,
            deadlines=clocks.deadlines(), clocks=clocks.status(workflow.now()), history=list(self.book.history),
            policy_version=self.book.policy.version)

    # --- deadlines and transitions ------------------------------------------------------

    async def _on_mark(self, firing: Firing) -> None:
        mark = firing.mark
        if firing.clock == CONFIRMATION:
            self.book.clocks.stop(CONFIRMATION)
            self.confirmation = Confirmation.deemed
            reason = "no answer within the confirmation window: confirmed by default"
            if self.closure is not None:
                await self._close("system", reason)
            else:
                await self.book.record("confirmation-deemed", reason=reason)
            return
        if mark.kind is SlaEventKind.warning:
            await self.book.record(f"reply-{mark.label}", reason=f"reply deadline {mark.label}",
                                   sla_events=[firing.record()],
                                   notifications=[self._to_staff(f"reply-{mark.label}", self.assignee or DESK,
                                                                 "sla.warning", due_at=firing.due_at.isoformat())])
        elif mark.kind is SlaEventKind.breach:
            self.appeal_eligible = True
            await self.book.record(
                "reply-breach", reason="no written reply within the statutory period: eligible for appeal",
                sla_events=[firing.record("appeal-eligible (申诉办法 Art. 10(四))")],
                facts=CaseFacts(details={"appeal_eligible": True}),
                notifications=[self._to_customer("reply-breach", "complaint.appeal_eligible")])
        else:
            self.escalated_to = mark.escalation.to
            await self.book.record(
                f"reply-{mark.label}", reason=f"reply deadline breached: escalated to {mark.escalation.to}",
                sla_events=[firing.record()], facts=CaseFacts(details={"escalated_to": mark.escalation.to}),
                notifications=[self._to_staff(f"reply-{mark.label}", mark.escalation.to, "sla.escalation")])

    async def _reopen(self, request: ConfirmReply) -> None:
        policy = self.book.policy.complaint
        self.reopenings += 1
        self.findings, self.reply_sent, self.closure = None, False, None
        self.confirmation = None
        reason = f"customer dissatisfied: reopening {self.reopenings} of {policy.max_reopenings}"
        escalations = []
        if self.reopenings > policy.max_reopenings:
            self.escalated_to = policy.escalate_to
            reason = f"customer dissatisfied after {policy.max_reopenings} reopenings: escalated to {policy.escalate_to}"
            escalations = [SlaEventRecord(key=f"reopen-{self.reopenings}:escalation", clock="confirmation",
                                          kind=SlaEventKind.escalation, at=workflow.now(),
                                          level=EscalationLevel.hierarchic, to=policy.escalate_to, detail=reason)]
        await self.book.record(
            "reopened", to_state=ComplaintState.inProgress, actor=request.actor, reason=reason,
            sla_events=escalations,
            facts=CaseFacts(details={"reopenings": self.reopenings, "escalated_to": self.escalated_to,
                                     "last_comment": request.comment}),
            notifications=[self._to_staff("reopened", self.escalated_to or self.assignee or DESK,
                                          "complaint.reopened", reopenings=self.reopenings)])

    async def _close(self, actor: str, reason: str) -> None:
        for name in list(self.book.clocks.clocks):
            if not self.book.clocks.clocks[name].stopped:
                self.book.clocks.stop(name)
        summary = {"category": self.complaint.category, "reopenings": self.reopenings,
                   "appeal_eligible": self.appeal_eligible, "confirmation": self.confirmation,
                   **self._closure_details()}
        await self.book.record(
            "closed", to_state=ComplaintState.closed, actor=actor, reason=reason, closed=True,
            facts=CaseFacts(details={**self._closure_details(), "confirmation": self.confirmation}),
            archive=ArchiveRecord(classification="complaint", retention=self.book.policy.complaint.archive_retention,
                                  summary=summary),
            notifications=[self._to_customer("closed", "complaint.closed")])

    def _closure_details(self) -> dict[str, str]:
        assert self.closure is not None
        return {"cause_analysis": self.closure.cause_analysis,
                "improvement_measures": self.closure.improvement_measures}

    def _to_customer(self, step: str, template: str, channel: str = Channel.sms, **params: object):
        return self.book.notification(step, template, self.complaint.customer.customer_ref, channel,
                                      complaint_id=self.complaint.complaint_id, **params)

    def _to_staff(self, step: str, role: str, template: str, **params: object):
        return self.book.notification(step, template, role, Channel.staff,
                                      complaint_id=self.complaint.complaint_id, **params)

    @property
    def _state(self) -> ComplaintState:
        return ComplaintState(self.book.state or ComplaintState.acknowledged)

    def _awaiting(self) -> str | None:
        state = self._state
        if state is ComplaintState.acknowledged:
            return "handler assignment"
        if state is ComplaintState.inProgress:
            return "findings" if self.findings is None else "written reply"
        if state is ComplaintState.resolved:
            wanted = [w for w, missing in (("customer confirmation", self.confirmation is None),
                                           ("closure report", self.closure is None)) if missing]
            return " and ".join(wanted)
        return None

    def _details(self) -> str:
        due = self.book.clocks.deadlines()
        parts = [f"{self._state}", f"category {self.complaint.category}"]
        if self._awaiting():
            parts.append(f"awaiting {self._awaiting()}")
        parts += [f"{name} due {at:%Y-%m-%d %H:%M} UTC" for name, at in sorted(due.items())]
        if self.appeal_eligible:
            parts.append("appeal-eligible")
        return " · ".join(parts)
