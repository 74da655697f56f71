"""FaultRepair (docs/processes.md § Fault repair, guide 4.3): report → remote line test → dispatch →
repair → confirmation, with the operator's response and resolution clocks and the statutory 条例
Art. 32 cap side by side."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.change import ChangeActivities
    from activities.network import UNKNOWN_SERVICE, NetworkActivities
    from models.change import LineLookup
    from models.common import CaseType
    from models.fault import (WORKFLOW_TYPE, AssignTechnician, CancelTicket, Confirmation, ConfirmRepair,
                              FaultCause, FaultInput, FaultState, FaultStatus, HoldTicket, LineTestOutcome,
                              LineTestRequest, LineTestResult, ReopenTicket, Resolution, ResolveFault,
                              ResumeTicket, ServiceLookup, FaultPeriod, rental_waivers)
    from models.records import CaseFacts, CompensationRecord
    from models.sla import SlaEventKind

    from .actions import Actions, call, process, refuse
    from .case import Case, iso
    from .clocks import Firing
    from .inbound import case_input
    from .patches import linked_changes

action = Actions(FaultStatus)
RESPONSE, RESOLUTION, STATUTORY = "response", "resolution", "statutory"
CONFIRMATION, REOPEN_WINDOW = "confirmation", "reopen_window"
OPERATOR_CLOCKS = (RESPONSE, RESOLUTION)  # those a hold pauses: the statutory clock never pauses for the customer
DISPATCH = "fault-dispatch"  # the staff queue warned while no technician is assigned
OPEN = (FaultState.acknowledged, FaultState.pending, FaultState.inProgress, FaultState.held)
LINE_TEST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_attempts=3)
"""A diagnosis is worth a few quick tries, not a wait: after them the ticket goes to dispatch untested."""
LOOKUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1),
                           non_retryable_error_types=[UNKNOWN_SERVICE])


@process(WORKFLOW_TYPE)
class FaultRepair(Case):
    State, NOUN = FaultState, "ticket"

    @case_input
    def __init__(self, ticket: FaultInput) -> None:
        self.ticket = ticket
        self.open_case(CaseType.fault, ticket.customer.customer_ref, ticket_id=ticket.ticket_id)
        self.reported_at: datetime = ticket.reported_at or workflow.now()
        self.assignee: str | None = None
        self.line_test: LineTestResult | None = None
        self.first_response_at: datetime | None = None
        self.held_from: FaultState | None = None
        self.held_clocks: list[str] = []
        self.resolution: Resolution | None = None
        self.confirmation: Confirmation | None = None
        self.reopen_window_end: datetime | None = None
        self.episode, self.fault_since = 1, self.reported_at
        self.unwaived: list[FaultPeriod] = []
        """Repaired fault periods (episode, start, end) no rental waiver covers yet."""
        self.reopenings = self.rental_waived_fen = 0
        self.linked_change: str | None = None
        self.final = False

    @workflow.run
    async def run(self, ticket: FaultInput) -> FaultStatus:
        policy = await self.begin(ticket.workflow_id, f"ticket {ticket.ticket_id!r}", ("reported_at", self.reported_at))
        async with self.book.lock:  # human actions wait until the ticket is diagnosed
            if linked_changes():  # in a service change's window the fault is the change's, not the operator's SLA
                self.linked_change = (await call(ChangeActivities.change_for_line, LineLookup(
                    service_id=ticket.service_id, at=self.reported_at), "a service change on the line?")).change_id
            for name, clock in ((RESPONSE, policy.fault.response_clock(ticket.severity)),
                                (RESOLUTION, policy.fault.resolution_clock(ticket.severity)),
                                (STATUTORY, policy.fault.statutory_clock(ticket.region))):
                if name == STATUTORY or self.linked_change is None:
                    await self.book.clocks.start(name, clock, self.reported_at)
            await self.record_opening(
                "reported", to_state=FaultState.acknowledged, contact=ticket.customer, region=ticket.region,
                severity=ticket.severity, reason=f"{ticket.severity} fault reported via {ticket.channel}",
                details={"service_id": ticket.service_id, "channel": ticket.channel, "change_id": ticket.change_id,
                         "reported_at": self.reported_at.isoformat(), "linked_change": self.linked_change,
                         "terminal_equipment_reported": ticket.terminal_equipment})
            await self._diagnose()
        await self.wait(lambda: self.final)
        if self.state is FaultState.closed:
            await workflow.sleep(policy.fault.late_reopen_answered_for, summary="refuse late reopens with a reason")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _diagnose(self) -> None:
        try:
            result = await call(NetworkActivities.run_line_test, LineTestRequest(service_id=self.ticket.service_id),
                                "remote line test", retry=LINE_TEST_RETRY)
        except ActivityError as failed:
            result = LineTestResult(outcome=LineTestOutcome.not_run,
                                    message=f"line test could not be run: {failed.cause or failed}")
        self.line_test = result
        if result.outcome is LineTestOutcome.unknown_service:
            await self._finish("rejected", result.message, to_state=FaultState.rejected, notify="fault.rejected")
            return
        if result.diagnostic and self.book.policy.fault.diagnostic_ack_is_response:
            self._first_response(workflow.now())
        await self.book.record(
            "diagnosed", to_state=FaultState.pending, reason=result.message,
            details={"line_test": result.model_dump(mode="json"), "first_response_at": iso(self.first_response_at)},
            notifications=[self.to_customer(
                "diagnosed", "fault.acknowledged", diagnostic=result.message if result.diagnostic else None,
                statutory_due=self.book.clocks.deadlines()[STATUTORY].isoformat())])

    # --- human actions ------------------------------------------------------------------

    def _new_technician(self, request: AssignTechnician) -> None:
        if request.technician == self.assignee:
            raise refuse(f"ticket is already assigned to {request.technician}")

    @action("Dispatch a technician, or reassign the ticket to another one.", check=_new_technician, allowed=OPEN,
            refusal="technicians are dispatched only while the fault is open")
    async def assign_technician(self, request: AssignTechnician) -> None:
        verb = "reassigned to" if self.assignee else "dispatched to"
        self.assignee = request.technician
        self._first_response(workflow.now())
        await self.book.record(
            "assigned", actor=request.actor, reason=f"{verb} technician {request.technician}",
            to_state=FaultState.inProgress if self.state is FaultState.pending else None,
            facts=CaseFacts(assignee=request.technician, details={"first_response_at": iso(self.first_response_at)}))

    @action("The customer is unavailable: the operator's clocks pause, the statutory one runs on.",
            allowed=(FaultState.pending, FaultState.inProgress),
            refusal="only a ticket awaiting or under repair can be held")
    async def hold(self, request: HoldTicket) -> None:
        now = workflow.now()
        self.held_from = self.state
        self.held_clocks = [name for name in OPERATOR_CLOCKS if self.book.clocks.is_running(name)]
        events = [await self.book.clocks.pause(name, now, request.reason) for name in self.held_clocks]
        await self.book.record("held", to_state=FaultState.held, actor=request.actor,
                               reason=f"customer unavailable: {request.reason}", sla_events=events,
                               notifications=[self.to_customer("held", "fault.held")])

    @action("The customer is available again: the operator's clocks resume.", allowed=(FaultState.held,),
            refusal="not held, there is nothing to resume")
    async def resume(self, request: ResumeTicket) -> None:
        events = [await self.book.clocks.resume(name, workflow.now()) for name in self.held_clocks]
        self.held_clocks = []
        await self.book.record("resumed", to_state=self.held_from, actor=request.actor,
                               reason=f"customer available: {request.reason}", sla_events=events)

    def _under_repair(self, request: ResolveFault) -> None:
        if self.state is FaultState.pending:
            raise refuse("no technician is assigned yet: dispatch one before resolving")
        if self.state is FaultState.held:
            raise refuse("ticket is held: resume it before resolving")
        if self.state is not FaultState.inProgress:
            raise refuse(f"ticket is {self.state}: there is no repair in progress to resolve")

    @action("The technician reports the repair: cause code and fix.", check=_under_repair)
    async def resolve(self, request: ResolveFault) -> None:
        now, clocks, policy = workflow.now(), self.book.clocks, self.book.policy.fault
        periods = [*self.unwaived, (self.episode, self.fault_since, now)]
        # Priced before anything changes: if the lookup fails, the update fails and the ticket is untouched.
        waivers = await self._waivers(periods, request.cause_code)
        self.unwaived = [] if waivers else periods
        events = []
        for name in [n for n in (RESOLUTION, STATUTORY) if clocks.is_running(n)]:  # linked: no resolution clock
            if clocks.has_breached(name):
                clocks.stop(name)
            else:
                events.append(await clocks.pause(name, now, "repaired"))
        await self.open_window(CONFIRMATION, policy.confirmation_clock(), now, lambda _: self._close(
            Confirmation.deemed, "system", "no answer from the customer: closed by default"))
        await self.open_window(REOPEN_WINDOW, policy.reopen_clock(), now,
                               lambda _: self._finish("final", "reopen window ended: the ticket is final"))
        self.reopen_window_end = clocks.deadlines()[REOPEN_WINDOW]
        self.resolution = Resolution(cause_code=request.cause_code, fix=request.fix, actor=request.actor, at=now)
        self.confirmation = None
        waived = sum(w.amount_fen for w in waivers)
        self.rental_waived_fen += waived
        notes = [self.to_customer("resolved", "fault.resolved", cause_code=request.cause_code,
                                  confirm_by=clocks.deadlines()[CONFIRMATION].isoformat(),
                                  reopen_until=self.reopen_window_end.isoformat())]
        if waivers:
            notes.append(self.to_customer("resolved", "fault.rental_waiver", amount_fen=waived))
        await self.book.record(
            "resolved", to_state=FaultState.resolved, actor=request.actor, sla_events=events, compensations=waivers,
            reason=f"repaired, cause {request.cause_code}", notifications=notes,
            details={"cause_code": request.cause_code, "fix": request.fix, "resolved_at": now.isoformat(),
                     "rental_waived_fen": self.rental_waived_fen})

    @action("The customer confirms the repair: the ticket closes (still reopenable).", allowed=(FaultState.resolved,),
            refusal="there is no repair awaiting the customer's confirmation")
    async def confirm(self, request: ConfirmRepair) -> None:
        self.close_window(CONFIRMATION)
        await self._close(Confirmation.confirmed, request.actor, "customer confirmed the repair")

    def _window_open(self, request: ReopenTicket) -> None:
        if self.reopen_window_end is not None and workflow.now() >= self.reopen_window_end:
            raise refuse(f"the reopen window ended at {self.reopen_window_end:%Y-%m-%d %H:%M} UTC: "
                         "report the fault again as a new ticket")

    @action("The fault is back: the same ticket returns to inProgress, its clocks not reset.", check=_window_open,
            allowed=(FaultState.resolved, FaultState.closed), refusal="only a resolved or closed ticket reopens")
    async def reopen(self, request: ReopenTicket) -> None:
        now = workflow.now()
        self.close_window(CONFIRMATION)
        self.close_window(REOPEN_WINDOW)
        events = [await self.book.clocks.resume(name, now) for name in (RESOLUTION, STATUTORY)
                  if self.book.clocks.is_paused(name)]
        self.reopenings += 1
        self.episode, self.fault_since = self.episode + 1, now
        self.confirmation, self.reopen_window_end = None, None
        await self.book.record(
            "reopened", to_state=FaultState.inProgress, actor=request.actor, reason=f"reopened: {request.reason}",
            sla_events=events, details={"reopenings": self.reopenings},
            notifications=[self.to_staff("reopened", self.queue(RESOLUTION), "fault.reopened",
                                         reopenings=self.reopenings)])

    @action("Cancel a ticket not yet repaired (e.g. reported in error).", allowed=OPEN,
            refusal="only a ticket not yet repaired can be cancelled")
    async def cancel(self, request: CancelTicket) -> None:
        await self._finish("cancelled", f"cancelled: {request.reason}", actor=request.actor,
                           to_state=FaultState.cancelled, notify="fault.cancelled")

    @workflow.query(description="Where the ticket stands: state, deadlines (statutory too), clocks, history.")
    def status(self) -> FaultStatus:
        ticket = self.ticket
        return FaultStatus(
            **self.status_fields(), ticket_id=ticket.ticket_id, service_id=ticket.service_id,
            severity=ticket.severity, region=ticket.region, terminal_equipment_reported=ticket.terminal_equipment,
            assignee=self.assignee, line_test=self.line_test, first_response_at=self.first_response_at,
            resolution=self.resolution, confirmation=self.confirmation, reopenings=self.reopenings,
            reopen_window_end=self.reopen_window_end, escalated_to=self.escalated_to,
            statutory_breached=self.book.clocks.has_breached(STATUTORY), rental_waived_fen=self.rental_waived_fen,
            reported_at=self.reported_at, linked_change=self.linked_change)

    async def on_mark(self, firing: Firing) -> None:
        if firing.clock != STATUTORY or firing.mark.kind is not SlaEventKind.breach:
            await super().on_mark(firing)
            return
        await self.book.record(
            "statutory-breach", reason="not repaired within the statutory cap (条例 Art. 32): customer notified",
            sla_events=[firing.record("条例 Art. 32")], details={"statutory_breached": True},
            notifications=self.unless_missed(firing, self.to_customer(
                "statutory-breach", "fault.statutory_breach",
                rental_waiver_expected=not self.ticket.terminal_equipment)))

    async def _waivers(self, periods: list[FaultPeriod], cause: FaultCause) -> list[CompensationRecord]:
        """Art. 32 rental waivers owed at this repair (none unless the statutory cap has passed)."""
        if not self.book.clocks.has_breached(STATUTORY) or cause is FaultCause.terminal_equipment:
            return []
        service = await call(NetworkActivities.look_up_service, ServiceLookup(service_id=self.ticket.service_id),
                             "monthly rental", retry=LOOKUP_RETRY)
        return rental_waivers(self.book.policy.fault, service.monthly_rental_fen, periods)

    async def _close(self, confirmation: Confirmation, actor: str, reason: str) -> None:
        assert self.reopen_window_end is not None
        self.confirmation = confirmation
        await self.book.record("closed", to_state=FaultState.closed, actor=actor, reason=reason,
                               details={"confirmation": confirmation},
                               notifications=[self.to_customer("closed", "fault.closed",
                                                               reopen_until=self.reopen_window_end.isoformat())])

    async def _finish(self, step: str, reason: str, *, actor: str = "system", to_state: FaultState | None = None,
                      notify: str | None = None) -> None:
        self.final = True
        resolution = self.resolution
        summary = {"severity": self.ticket.severity, "region": self.ticket.region, "outcome": to_state or self.state,
                   "reopenings": self.reopenings, "rental_waived_fen": self.rental_waived_fen,
                   "cause_code": resolution.cause_code if resolution else None, "linked_change": self.linked_change,
                   "first_response_at": iso(self.first_response_at),
                   "resolved_at": iso(resolution.at if resolution else None),
                   "statutory_breached": self.book.clocks.has_breached(STATUTORY)}
        await self.finish(step, to_state=to_state, actor=actor, reason=reason, summary=summary,
                          notifications=[self.to_customer(step, notify)] if notify else [])

    def _first_response(self, at: datetime) -> None:
        """Stops the response clock the first time only; a hold may have paused it."""
        if self.first_response_at is None:
            self.book.clocks.stop(RESPONSE)  # a fault linked to a service change has none
            self.first_response_at = at
            self.held_clocks = [name for name in self.held_clocks if name != RESPONSE]

    @property
    def ended(self) -> bool:
        return self.final

    def queue(self, clock: str) -> str:
        return self.assignee or DISPATCH

    def awaiting(self) -> str | None:
        return {FaultState.acknowledged: "remote line test", FaultState.pending: "technician dispatch",
                FaultState.inProgress: "repair", FaultState.held: "the customer's availability",
                FaultState.resolved: "customer confirmation",
                FaultState.closed: None if self.final else "end of the reopen window"}.get(self.state)

    def headline(self) -> str:
        return f"{self.state} · {self.ticket.severity} · {self.ticket.region}"

    def alerts(self) -> list[str]:
        return ["statutory cap breached"] * self.book.clocks.has_breached(STATUTORY)
