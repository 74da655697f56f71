"""FaultRepair (spec §3, guide 4.3): report → remote line test → dispatch → repair → confirmation,
with the operator's response and resolution clocks and the statutory 条例 Art. 32 cap side by side.

Decisions where the spec is silent:
- The automatic acknowledgement is the first response when it carries the line test's diagnostic
  (policy `diagnostic_ack_is_response`); when the test could not run, the technician assignment is.
- A line test that says the network does not know the service id rejects the ticket; a test that
  could not run (adapter failed after its retries) is recorded and the ticket goes to dispatch.
- A repair pauses the resolution and statutory clocks (pause events with reason "repaired"), and a
  reopen resumes them: consumed time is kept and marks already fired never fire again, while the
  time the service worked does not count. A clock that had already breached is stopped at the
  repair instead (its ladder must not go on for a repaired line) and stays breached.
- The fault period of the Art. 32 waiver runs from the report (or a reopen) to the repair; the
  waiver is recorded at the repair that comes after the statutory breach, for every fault period
  not yet waived, unless that repair's cause code is terminal equipment. Amount = monthly rental ×
  period / policy `rental_period`, rounded up to the fen (in the customer's favour).
- The case row is closed (closed_at, archive) when the reopen window ends, not at `closed`; the
  workflow then keeps answering for policy `late_reopen_answered_for`, refusing late reopens.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.network import UNKNOWN_SERVICE, NetworkActivities
    from models.common import CaseType
    from models.fault import (WORKFLOW_TYPE, AssignTechnician, CancelTicket, Confirmation, ConfirmRepair,
                              FaultCause, FaultInput, FaultState, FaultStatus, HoldTicket, LineTestOutcome,
                              LineTestRequest, LineTestResult, ReopenTicket, Resolution, ResolveFault,
                              ResumeTicket, ServiceLookup)
    from models.records import ArchiveRecord, CaseFacts, Channel, CompensationKind, CompensationRecord
    from models.sla import SlaEventKind

    from .case import CaseBook, UnknownNames, case_input, check_event_time, invalid_input, refuse
    from .sla import Firing

RESPONSE, RESOLUTION, STATUTORY = "response", "resolution", "statutory"
CONFIRMATION, REOPEN_WINDOW = "confirmation", "reopen_window"
OPERATOR_CLOCKS = (RESPONSE, RESOLUTION)
"""The clocks a hold pauses; the statutory clock never pauses for the customer."""
DISPATCH = "fault-dispatch"
"""Staff queue that gets warnings while no technician is assigned."""
OPEN = (FaultState.acknowledged, FaultState.pending, FaultState.inProgress, FaultState.held)

LINE_TEST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_attempts=3)
"""A diagnosis is worth a few quick tries, not a wait: after them the ticket goes to dispatch untested."""
_MICROSECOND = timedelta(microseconds=1)
"""Waiver arithmetic in integer microseconds, so the fen are exact."""
LOOKUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1),
                           non_retryable_error_types=[UNKNOWN_SERVICE])


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class FaultRepair(UnknownNames):
    @case_input
    def __init__(self, ticket: FaultInput) -> None:
        self.ticket = ticket
        self.book = CaseBook(CaseType.fault, self._details)
        self.reported_at: datetime = ticket.reported_at or workflow.now()
        self.assignee: str | None = None
        self.line_test: LineTestResult | None = None
        self.first_response_at: datetime | None = None
        self.held_from: FaultState | None = None
        self.held_clocks: list[str] = []
        self.resolution: Resolution | None = None
        self.confirmation: Confirmation | None = None
        self.reopenings = 0
        self.reopen_window_end: datetime | None = None
        self.escalated_to: str | None = None
        self.episode, self.fault_since = 1, self.reported_at
        self.unwaived: list[tuple[int, datetime, datetime]] = []
        """Repaired fault periods (episode, start, end) no rental waiver covers yet."""
        self.rental_waived_fen = 0
        self.final = False

    @workflow.run
    async def run(self, ticket: FaultInput) -> FaultStatus:
        if workflow.info().workflow_id != ticket.workflow_id:
            raise invalid_input(f"workflow id must be {ticket.workflow_id!r} for ticket {ticket.ticket_id!r}, "
                                f"not {workflow.info().workflow_id!r}")
        policy = (await self.book.bind_policy()).fault
        check_event_time("reported_at", self.reported_at, self.book.policy)
        clocks = self.book.clocks
        async with self.book.lock:  # human actions wait until the ticket is diagnosed
            await clocks.start(RESPONSE, policy.response_clock(ticket.severity), self.reported_at)
            await clocks.start(RESOLUTION, policy.resolution_clock(ticket.severity), self.reported_at)
            await clocks.start(STATUTORY, policy.statutory_clock(ticket.region), self.reported_at)
            await self.book.record(
                "reported", to_state=FaultState.acknowledged, contact=ticket.customer,
                reason=f"{ticket.severity} fault reported via {ticket.channel}",
                facts=CaseFacts(customer_ref=ticket.customer.customer_ref, region=ticket.region,
                                severity=ticket.severity, policy=self.book.policy.model_dump(mode="json"),
                                details={"service_id": ticket.service_id, "channel": ticket.channel,
                                         "terminal_equipment_reported": ticket.terminal_equipment,
                                         "reported_at": self.reported_at.isoformat()}))
            await self._diagnose()
        await self.book.wait_until(lambda: self.final, self._on_mark)
        if self._state is FaultState.closed:
            await workflow.sleep(policy.late_reopen_answered_for, summary="refuse late reopens with a reason")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _diagnose(self) -> None:
        try:
            result = await workflow.execute_activity_method(
                NetworkActivities.run_line_test, LineTestRequest(service_id=self.ticket.service_id),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=LINE_TEST_RETRY,
                summary="remote line test")
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
            facts=CaseFacts(details={"line_test": result.model_dump(mode="json"), **self._response_details()}),
            notifications=[self._to_customer(
                "diagnosed", "fault.acknowledged", diagnostic=result.message if result.diagnostic else None,
                statutory_due=self.book.clocks.deadlines()[STATUTORY].isoformat())])

    # --- human actions ------------------------------------------------------------------

    @workflow.update(description="Dispatch a technician, or reassign the ticket to another one.")
    async def assign_technician(self, request: AssignTechnician) -> FaultStatus:
        async with self.book.acting():
            self._check_assign(request)
            verb = "reassigned to" if self.assignee else "dispatched to"
            self.assignee = request.technician
            self._first_response(workflow.now())
            await self.book.record(
                "assigned", actor=request.actor, reason=f"{verb} technician {request.technician}",
                to_state=FaultState.inProgress if self._state is FaultState.pending else None,
                facts=CaseFacts(assignee=request.technician, details=self._response_details()))
        return self.status()

    @assign_technician.validator
    def _check_assign(self, request: AssignTechnician) -> None:
        if self._state not in OPEN:
            raise refuse(f"ticket is {self._state}: technicians are dispatched only while the fault is open")
        if request.technician == self.assignee:
            raise refuse(f"ticket is already assigned to {request.technician}")

    @workflow.update(description="The customer is unavailable: the operator's clocks pause, the statutory one runs on.")
    async def hold(self, request: HoldTicket) -> FaultStatus:
        async with self.book.acting():
            self._check_hold(request)
            now = workflow.now()
            self.held_from = self._state
            self.held_clocks = [name for name in OPERATOR_CLOCKS if self.book.clocks.is_running(name)]
            events = [await self.book.clocks.pause(name, now, request.reason) for name in self.held_clocks]
            await self.book.record("held", to_state=FaultState.held, actor=request.actor,
                                   reason=f"customer unavailable: {request.reason}", sla_events=events,
                                   notifications=[self._to_customer("held", "fault.held")])
        return self.status()

    @hold.validator
    def _check_hold(self, request: HoldTicket) -> None:
        if self._state is FaultState.held:
            raise refuse("ticket is already held")
        if self._state not in (FaultState.pending, FaultState.inProgress):
            raise refuse(f"ticket is {self._state}: only a ticket awaiting or under repair can be held")

    @workflow.update(description="The customer is available again: the operator's clocks resume.")
    async def resume(self, request: ResumeTicket) -> FaultStatus:
        async with self.book.acting():
            self._check_resume(request)
            now = workflow.now()
            events = [await self.book.clocks.resume(name, now) for name in self.held_clocks]
            self.held_clocks = []
            await self.book.record("resumed", to_state=self.held_from, actor=request.actor,
                                   reason=f"customer available: {request.reason}", sla_events=events)
        return self.status()

    @resume.validator
    def _check_resume(self, request: ResumeTicket) -> None:
        if self._state is not FaultState.held:
            raise refuse(f"ticket is {self._state}, not held: there is nothing to resume")

    @workflow.update(description="The technician reports the repair: cause code and fix.")
    async def resolve(self, request: ResolveFault) -> FaultStatus:
        async with self.book.acting():
            self._check_resolve(request)
            now = workflow.now()
            periods = [*self.unwaived, (self.episode, self.fault_since, now)]
            # Priced before anything changes: if the lookup fails, the update fails and the ticket is untouched.
            waivers = await self._waivers(periods, request.cause_code)
            self.unwaived = [] if waivers else periods
            events = []
            for name in (RESOLUTION, STATUTORY):
                if self.book.clocks.clocks[name].breached_at is not None:
                    self.book.clocks.stop(name)
                else:
                    events.append(await self.book.clocks.pause(name, now, "repaired"))
            await self.book.clocks.start(CONFIRMATION, self.book.policy.fault.confirmation_clock(), now)
            await self.book.clocks.start(REOPEN_WINDOW, self.book.policy.fault.reopen_clock(), now)
            self.reopen_window_end = self.book.clocks.deadlines()[REOPEN_WINDOW]
            self.resolution = Resolution(cause_code=request.cause_code, fix=request.fix, actor=request.actor, at=now)
            self.confirmation = None
            self.rental_waived_fen += sum(w.amount_fen for w in waivers)
            notes = [self._to_customer("resolved", "fault.resolved", cause_code=request.cause_code,
                                       confirm_by=self.book.clocks.deadlines()[CONFIRMATION].isoformat(),
                                       reopen_until=self.reopen_window_end.isoformat())]
            if waivers:
                notes.append(self._to_customer("resolved", "fault.rental_waiver",
                                               amount_fen=sum(w.amount_fen for w in waivers)))
            await self.book.record(
                "resolved", to_state=FaultState.resolved, actor=request.actor,
                reason=f"repaired, cause {request.cause_code}", sla_events=events, compensations=waivers,
                facts=CaseFacts(details={"cause_code": request.cause_code, "fix": request.fix,
                                         "resolved_at": now.isoformat(), "rental_waived_fen": self.rental_waived_fen}),
                notifications=notes)
        return self.status()

    @resolve.validator
    def _check_resolve(self, request: ResolveFault) -> None:
        if self._state is FaultState.pending:
            raise refuse("no technician is assigned yet: dispatch one before resolving")
        if self._state is FaultState.held:
            raise refuse("ticket is held: resume it before resolving")
        if self._state is not FaultState.inProgress:
            raise refuse(f"ticket is {self._state}: there is no repair in progress to resolve")

    @workflow.update(description="The customer confirms the repair: the ticket closes (still reopenable).")
    async def confirm(self, request: ConfirmRepair) -> FaultStatus:
        async with self.book.acting():
            self._check_confirm(request)
            self._end_window(CONFIRMATION)
            await self._close(Confirmation.confirmed, request.actor, "customer confirmed the repair")
        return self.status()

    @confirm.validator
    def _check_confirm(self, request: ConfirmRepair) -> None:
        if self._state is not FaultState.resolved:
            raise refuse(f"ticket is {self._state}: there is no repair awaiting the customer's confirmation")

    @workflow.update(description="The fault is back: the same ticket returns to inProgress, its clocks not reset.")
    async def reopen(self, request: ReopenTicket) -> FaultStatus:
        async with self.book.acting():
            self._check_reopen(request)
            now = workflow.now()
            self._end_window(CONFIRMATION)
            self._end_window(REOPEN_WINDOW)
            events = [await self.book.clocks.resume(name, now) for name in (RESOLUTION, STATUTORY)
                      if self.book.clocks.clocks[name].paused]
            self.reopenings += 1
            self.episode, self.fault_since = self.episode + 1, now
            self.confirmation, self.reopen_window_end = None, None
            await self.book.record(
                "reopened", to_state=FaultState.inProgress, actor=request.actor,
                reason=f"reopened: {request.reason}", sla_events=events,
                facts=CaseFacts(details={"reopenings": self.reopenings}),
                notifications=[self._to_staff("reopened", self.assignee or DISPATCH, "fault.reopened",
                                              reopenings=self.reopenings)])
        return self.status()

    @reopen.validator
    def _check_reopen(self, request: ReopenTicket) -> None:
        if self._state not in (FaultState.resolved, FaultState.closed):
            raise refuse(f"ticket is {self._state}: only a resolved or closed ticket can be reopened")
        assert self.reopen_window_end is not None
        if workflow.now() >= self.reopen_window_end:
            raise refuse(f"the reopen window ended at {self.reopen_window_end:%Y-%m-%d %H:%M} UTC: "
                         "report the fault again as a new ticket")

    @workflow.update(description="Cancel a ticket not yet repaired (e.g. reported in error).")
    async def cancel(self, request: CancelTicket) -> FaultStatus:
        async with self.book.acting():
            self._check_cancel(request)
            await self._finish("cancelled", f"cancelled: {request.reason}", actor=request.actor,
                               to_state=FaultState.cancelled, notify="fault.cancelled")
        return self.status()

    @cancel.validator
    def _check_cancel(self, request: CancelTicket) -> None:
        if self._state not in OPEN:
            raise refuse(f"ticket is {self._state}: only a ticket not yet repaired can be cancelled")

    @workflow.query(description="Where the ticket stands: state, deadlines (statutory too), clocks, history.")
    def status(self) -> FaultStatus:
        clocks = self.book.clocks
        return FaultStatus(
            ticket_id=self.ticket.ticket_id, service_id=self.ticket.service_id, state=self._state,
            awaiting=self._awaiting(), severity=self.ticket.severity, region=self.ticket.region,
            terminal_equipment_reported=self.ticket.terminal_equipment, assignee=self.assignee,
            line_test=self.line_test, first_response_at=self.first_response_at, resolution=self.resolution,
            confirmation=self.confirmation, reopenings=self.reopenings, reopen_window_end=self.reopen_window_end,
            escalated_to=self.escalated_to, statutory_breached=self._statutory_breached,
            rental_waived_fen=self.rental_waived_fen, reported_at=self.reported_at,
            deadlines=clocks.deadlines(), clocks=clocks.status(workflow.now()), history=list(self.book.history),
            policy_version=self.book.policy.version)

    # --- deadlines and transitions ------------------------------------------------------

    async def _on_mark(self, firing: Firing) -> None:
        mark, clock = firing.mark, firing.clock
        if clock == CONFIRMATION:
            self._end_window(CONFIRMATION)
            await self._close(Confirmation.deemed, "system", "no answer from the customer: closed by default")
            return
        if clock == REOPEN_WINDOW:
            self._end_window(REOPEN_WINDOW)
            await self._finish("final", "reopen window ended: the ticket is final")
            return
        step = f"{clock}-{mark.label}"
        if mark.kind is SlaEventKind.warning:
            await self.book.record(step, reason=f"{clock} deadline {mark.label}", sla_events=[firing.record()],
                                   notifications=[self._to_staff(step, self.assignee or DISPATCH, "sla.warning",
                                                                 clock=clock, due_at=firing.due_at.isoformat())])
        elif mark.kind is SlaEventKind.breach and clock == STATUTORY:
            waiver = not self.ticket.terminal_equipment
            await self.book.record(
                step, reason="not repaired within the statutory cap (条例 Art. 32): customer notified",
                sla_events=[firing.record("条例 Art. 32")], facts=CaseFacts(details={"statutory_breached": True}),
                notifications=[self._to_customer(step, "fault.statutory_breach", rental_waiver_expected=waiver)])
        elif mark.kind is SlaEventKind.breach:
            await self.book.record(step, reason=f"{clock} target missed", sla_events=[firing.record()],
                                   notifications=[self._to_staff(step, self.assignee or DISPATCH, "sla.breach",
                                                                 clock=clock)])
        else:
            self.escalated_to = mark.escalation.to
            await self.book.record(
                step, reason=f"{clock} target missed: escalated to {mark.escalation.to}",
                sla_events=[firing.record()], facts=CaseFacts(details={"escalated_to": mark.escalation.to}),
                notifications=[self._to_staff(step, mark.escalation.to, "sla.escalation", clock=clock)])

    async def _waivers(self, periods: list[tuple[int, datetime, datetime]], cause: FaultCause
                       ) -> list[CompensationRecord]:
        """Art. 32 rental waivers owed at this repair (none unless the statutory cap has passed)."""
        if not self._statutory_breached or cause is FaultCause.terminal_equipment:
            return []
        service = await workflow.execute_activity_method(
            NetworkActivities.look_up_service, ServiceLookup(service_id=self.ticket.service_id),
            start_to_close_timeout=timedelta(seconds=30), retry_policy=LOOKUP_RETRY, summary="monthly rental")
        month = self.book.policy.fault.rental_period
        return [CompensationRecord(
            key=f"rental-waiver-{episode}", kind=CompensationKind.rental_waiver, period_start=start, period_end=end,
            amount_fen=-(-service.monthly_rental_fen * ((end - start) // _MICROSECOND) // (month // _MICROSECOND)),
            reason=f"条例 Art. 32: not repaired within the statutory cap; rental waived for fault period {episode}")
            for episode, start, end in periods]

    async def _close(self, confirmation: Confirmation, actor: str, reason: str) -> None:
        self.confirmation = confirmation
        await self.book.record("closed", to_state=FaultState.closed, actor=actor, reason=reason,
                               facts=CaseFacts(details={"confirmation": confirmation}),
                               notifications=[self._to_customer("closed", "fault.closed",
                                                                reopen_until=self.reopen_window_end.isoformat())])

    async def _finish(self, step: str, reason: str, *, actor: str = "system", to_state: FaultState | None = None,
                      notify: str | None = None) -> None:
        """The case's last record: every clock stopped, the row closed, the archive entry written."""
        for name, clock in self.book.clocks.clocks.items():
            if not clock.stopped:
                self.book.clocks.stop(name)
        self.final = True
        summary = {"severity": self.ticket.severity, "region": self.ticket.region,
                   "outcome": to_state or self._state, "reopenings": self.reopenings,
                   "cause_code": self.resolution.cause_code if self.resolution else None,
                   "first_response_at": self.first_response_at.isoformat() if self.first_response_at else None,
                   "resolved_at": self.resolution.at.isoformat() if self.resolution else None,
                   "statutory_breached": self._statutory_breached, "rental_waived_fen": self.rental_waived_fen}
        await self.book.record(
            step, to_state=to_state, actor=actor, reason=reason, closed=True,
            archive=ArchiveRecord(classification="fault", retention=self.book.policy.fault.archive_retention,
                                  summary=summary),
            notifications=[self._to_customer(step, notify)] if notify else [])

    def _end_window(self, name: str) -> None:
        """A window is a plain deadline: once over (or answered) it leaves the book, so its end never
        counts as an SLA breach (`SlaClocks.breached` sets the case's sla_breached)."""
        if name in self.book.clocks.clocks:
            self.book.clocks.stop(name)
            del self.book.clocks.clocks[name]

    def _first_response(self, at: datetime) -> None:
        """Stops the response clock the first time only; a hold may have paused it."""
        if self.book.clocks.clocks[RESPONSE].stopped:
            return
        self.book.clocks.stop(RESPONSE)
        self.first_response_at = at
        if RESPONSE in self.held_clocks:
            self.held_clocks.remove(RESPONSE)

    def _response_details(self) -> dict[str, str | None]:
        return {"first_response_at": self.first_response_at.isoformat() if self.first_response_at else None}

    def _to_customer(self, step: str, template: str, **params: object):
        return self.book.notification(step, template, self.ticket.customer.customer_ref, Channel.sms,
                                      ticket_id=self.ticket.ticket_id, **params)

    def _to_staff(self, step: str, role: str, template: str, **params: object):
        return self.book.notification(step, template, role, Channel.staff, ticket_id=self.ticket.ticket_id, **params)

    @property
    def _statutory_breached(self) -> bool:
        clock = self.book.clocks.clocks.get(STATUTORY)
        return clock is not None and clock.breached_at is not None

    @property
    def _state(self) -> FaultState:
        return FaultState(self.book.state or FaultState.acknowledged)

    def _awaiting(self) -> str | None:
        return {FaultState.acknowledged: "remote line test", FaultState.pending: "technician dispatch",
                FaultState.inProgress: "repair", FaultState.held: "the customer's availability",
                FaultState.resolved: "customer confirmation",
                FaultState.closed: None if self.final else "end of the reopen window"}.get(self._state)

    def _details(self) -> str:
        parts = [f"{self._state}", f"{self.ticket.severity} · {self.ticket.region}"]
        if self._awaiting():
            parts.append(f"awaiting {self._awaiting()}")
        parts += [f"{name} due {at:%Y-%m-%d %H:%M} UTC" for name, at in sorted(self.book.clocks.deadlines().items())]
        if self._statutory_breached:
            parts.append("statutory cap breached")
        return " · ".join(parts)

