"""ServiceChange (docs/processes.md § Service change, guide 6.1, 6.3, 6.5): 影响评估 → 审批 → 通知 →
窗口 → 跟进 → 归档. The impact is assessed before approval; approval is refused when the notice period
can no longer be met; every affected line is told once per notice (announcement, reschedule, reminder,
cancellation), page by page in activities, never holding the lines in history; fault reports on
affected lines during the window are linked to the change; after it, the lines still down get a
FaultRepair ticket each."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.change import FOLLOW_UP_PAGE, ChangeActivities
    from models.change import (PAGE, WORKFLOW_TYPE, ApproveChange, CancelChange, ChangeInput,
                               ChangeState, ChangeStatus, FollowUpPage, Impact, ImpactRequest, Notice, NoticePage,
                               RejectChange, RescheduleChange, TicketsRequest, WindowClosed, WindowOpened)
    from models.common import CaseType

    from .actions import Actions, call, invalid_input, process, refuse
    from .case import Case, iso
    from .clocks import Firing
    from .inbound import case_input

action = Actions(ChangeStatus)
COUNTDOWN, WINDOW, FOLLOW_UP = "window_start", "window_end", "follow_up"
UNDECIDED = (ChangeState.assessing, ChangeState.awaitingApproval)
"""An action while assessing waits for the assessment's record, then is checked again (`Actions`)."""
BEFORE_WINDOW = (*UNDECIDED, ChangeState.scheduled)
TICKETS_SHOWN = 1000


@process(WORKFLOW_TYPE)
class ServiceChange(Case):
    State, NOUN = ChangeState, "change"

    @case_input
    def __init__(self, change: ChangeInput) -> None:
        self.change = change
        self.open_case(CaseType.change, None, change_id=change.change_id)
        self.window_start, self.window_end = change.window_start, change.window_end
        self.impact: Impact | None = None
        self.notices: list[Notice] = []
        self.queued: list[tuple[str, str]] = []
        """Notices (key, template) the run loop sends, page by page, in order."""
        self.closing: tuple[str, ChangeState, str, str] | None = None
        """(step, state, actor, reason) to finish with once the queued notices are out."""
        self.following_up = self.finished = False
        self.reschedules = self.checked = self.down = self.already_open = self.without_contact = 0
        self.tickets: list[str] = []
        self.decided_by: str | None = None
        self.decided_at: datetime | None = None

    @workflow.run
    async def run(self, change: ChangeInput) -> ChangeStatus:
        await self.begin(change.workflow_id, f"change {change.change_id!r}")
        if change.window_start <= workflow.now():
            raise invalid_input("window_start", "must be in the future")
        async with self.book.lock:  # the approver decides on the assessment
            self.impact = impact = await call(ChangeActivities.assess_impact, ImpactRequest(scope=change.scope),
                                              "impact assessment (guide 6.5)")
            await self.record_opening(
                "assessed", to_state=ChangeState.awaitingApproval, details=self._plan(),
                reason=f"{change.kind}: {impact.lines} line(s) affected, {impact.open_faults} with an open fault, "
                       f"{impact.open_complaints} with an open complaint, {impact.special_care} under special care",
                notifications=[self.to_staff("assessed", change.approver, "change.approval_requested",
                                             lines=impact.lines, window_start=change.window_start.isoformat())])
        while not self.finished:
            await self.wait(lambda: bool(self.queued) or self.following_up or self.closing is not None)
            if self.queued:
                await self._send(*self.queued.pop(0))
            elif self.following_up:
                await self._follow_up()
            elif self.closing is not None:
                await self._close(*self.closing)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions ------------------------------------------------------------------

    def _approvable(self, request: ApproveChange) -> None:
        if request.actor != self.change.approver:
            raise refuse(f"only the change's approver ({self.change.approver}) approves it")
        self._notice_possible(self.window_start)

    @action("The approver approves (guide 6.1): every affected line is told, the countdown to the window starts.",
            allowed=UNDECIDED, refusal="only a change awaiting approval is approved", check=_approvable)
    async def approve(self, request: ApproveChange) -> None:
        self.decided_by, self.decided_at = request.actor, workflow.now()
        await self._count_down()
        self.queued.append(("announce", "change.announced"))
        await self.book.record("approved", to_state=ChangeState.scheduled, actor=request.actor,
                               reason=f"approved; window {iso(self.window_start)} – {iso(self.window_end)}")

    def _approver(self, request: RejectChange) -> None:
        if request.actor != self.change.approver:
            raise refuse(f"only the change's approver ({self.change.approver}) rejects it")

    @action("The approver rejects the change; no customer is told.", allowed=UNDECIDED, check=_approver,
            refusal="only a change awaiting approval is rejected")
    async def reject(self, request: RejectChange) -> None:
        self.decided_by, self.decided_at = request.actor, workflow.now()
        self.closing = ("rejected", ChangeState.rejected, request.actor, f"rejected: {request.reason}")

    def _reschedulable(self, request: RescheduleChange) -> None:
        if self.closing is not None:
            raise refuse("the change is being closed")
        self._notice_possible(request.window_start)

    @action("Move the window: told again to every line already told; the notice period counts from now.",
            allowed=BEFORE_WINDOW, refusal="only a change not yet started is rescheduled", check=_reschedulable)
    async def reschedule(self, request: RescheduleChange) -> None:
        old = self.window_start
        self.window_start, self.window_end = request.window_start, request.window_end
        self.reschedules += 1
        if self.state is ChangeState.scheduled:
            self.close_window(COUNTDOWN)
            await self._count_down()
            self.queued.append((f"rescheduled-{self.reschedules}", "change.rescheduled"))
        await self.book.record("rescheduled", actor=request.actor, details=self._plan(),
                               reason=f"window moved from {iso(old)} to {iso(request.window_start)}: {request.reason}")

    def _cancellable(self, request: CancelChange) -> None:
        if self.closing is not None:
            raise refuse("the change is already being closed")

    @action("Call the change off before its window; lines already told are told it is cancelled.",
            allowed=BEFORE_WINDOW, refusal="only a change not yet started is cancelled", check=_cancellable)
    async def cancel(self, request: CancelChange) -> None:
        self.close_window(COUNTDOWN)
        if self.notices:
            self.queued.append(("cancelled", "change.cancelled"))
        self.closing = ("cancelled", ChangeState.cancelled, request.actor, f"cancelled: {request.reason}")

    @workflow.query(description="Where the change stands: impact, window, notices sent, follow-up, tickets.")
    def status(self) -> ChangeStatus:
        change = self.change
        return ChangeStatus(
            **self.status_fields(), change_id=change.change_id, kind=change.kind, scope=change.scope,
            window_start=self.window_start, window_end=self.window_end, approver=change.approver,
            impact=self.impact, notices=self.notices, reschedules=self.reschedules, lines_checked=self.checked,
            lines_down=self.down, tickets=self.tickets[:TICKETS_SHOWN], decided_by=self.decided_by,
            decided_at=self.decided_at)

    # --- notices, window, follow-up ---------------------------------------------------------

    async def _count_down(self) -> None:
        now = workflow.now()
        await self.open_window(COUNTDOWN, self.book.policy.change.countdown(self.window_start - now), now,
                               self._window_opens, self._remind)

    async def _remind(self, firing: Firing) -> None:
        self.queued.append((f"reminder-{self.reschedules}", "change.reminder"))

    async def _window_opens(self, firing: Firing) -> None:
        change, now = self.change, workflow.now()
        await call(ChangeActivities.open_window, WindowOpened(
            workflow_id=workflow.info().workflow_id, change_id=change.change_id, scope=change.scope,
            starts_at=self.window_start, ends_at=self.window_end), "faults on affected lines link to the change")
        await self.open_window(WINDOW, self.book.policy.change.window(self.window_end - now), now, self._window_ends)
        await self.book.record("window-opened", to_state=ChangeState.inProgress, reason="the change window is open")

    async def _window_ends(self, firing: Firing) -> None:
        await call(ChangeActivities.close_window, WindowClosed(workflow_id=workflow.info().workflow_id),
                   "faults count against the SLA again")
        policy = self.book.policy.change
        await self.open_window(FOLLOW_UP, policy.follow_up(), workflow.now(), self._start_follow_up)
        await self.book.record("window-closed", to_state=ChangeState.followUp,
                               reason="the change window is over; the lines are tested shortly")

    async def _start_follow_up(self, firing: Firing) -> None:
        self.following_up = True

    async def _send(self, notice: str, template: str) -> None:
        """One notice to every affected line, a page at a time: each line is told it once."""
        sent = Notice(notice=notice, lines=0, done=False)
        self.notices.append(sent)
        params = {"kind": str(self.change.kind), "reason": self.change.reason,
                  "window_start": self.window_start.isoformat(), "window_end": self.window_end.isoformat()}
        after = ""
        while True:
            page = await call(ChangeActivities.notify_lines, NoticePage(
                workflow_id=workflow.info().workflow_id, scope=self.change.scope, notice=notice, template=template,
                params=params, after=after, at=workflow.now()), f"{notice}: {sent.lines} lines so far")
            sent.lines += page.lines
            workflow.set_current_details(self.details())
            if page.last is None or page.lines < PAGE:
                break
            after = page.last
        sent.done = True
        async with self.book.lock:
            await self.book.record(f"notice-{notice}", reason=f"{notice}: {sent.lines} line(s) told",
                                   details={"notices": [n.model_dump(mode="json") for n in self.notices]})

    async def _follow_up(self) -> None:
        """Guide 6.1: each affected line tested after the window; a ticket for each still down."""
        after = ""
        while True:
            page = await call(ChangeActivities.follow_up, FollowUpPage(scope=self.change.scope, after=after),
                              f"line tests after {after or 'the first line'}")
            self.checked, self.down = self.checked + page.checked, self.down + len(page.down)
            if page.down:
                opened = await call(ChangeActivities.open_tickets, TicketsRequest(
                    change_id=self.change.change_id, lines=page.down, at=workflow.now()),
                    f"fault tickets for {len(page.down)} line(s) still down")
                self.tickets += opened.tickets
                self.already_open += opened.already_open
                self.without_contact += opened.without_contact
            workflow.set_current_details(self.details())
            if page.last is None or page.checked < FOLLOW_UP_PAGE:
                break
            after = page.last
        self.following_up = False
        self.closing = ("closed", ChangeState.closed, "system",
                        f"followed up: {self.checked} line(s) tested, {self.down} still down, "
                        f"{len(self.tickets)} ticket(s) opened")

    async def _close(self, step: str, state: ChangeState, actor: str, reason: str) -> None:
        impact = self.impact
        summary = {"kind": self.change.kind, "outcome": state, "lines": impact.lines if impact else 0,
                   "notified": next((n.lines for n in self.notices if n.notice == "announce"), 0),
                   "notices": [n.model_dump(mode="json") for n in self.notices], "lines_checked": self.checked,
                   "lines_down": self.down, "tickets_opened": len(self.tickets),
                   "lines_already_ticketed": self.already_open, "lines_without_contact": self.without_contact,
                   "complaints_linked": impact.open_complaints if impact else 0, "reschedules": self.reschedules}
        async with self.book.lock:
            await self.finish(step, to_state=state, actor=actor, reason=reason, summary=summary,
                              details={"lines_down": self.down, "tickets_opened": len(self.tickets)})
        self.finished = True

    # --- helpers ------------------------------------------------------------------------

    def _notice_possible(self, start: datetime) -> None:
        notice = self.book.policy.change.notice(self.change.kind)
        earliest = workflow.now() + notice
        if start < earliest:
            raise refuse(f"a {self.change.kind} is announced {notice.total_seconds() / 3600:g} h ahead: a window "
                         f"starting {iso(start)} cannot be announced in time; the earliest start is {iso(earliest)}")

    def _plan(self) -> dict[str, object]:
        return {"kind": self.change.kind, "scope": self.change.scope.model_dump(mode="json"),
                "window_start": iso(self.window_start), "window_end": iso(self.window_end),
                "impact": self.impact.model_dump(mode="json") if self.impact else None}

    @property
    def ended(self) -> bool:
        return self.finished

    def queue(self, clock: str) -> str:
        return self.change.approver  # a change runs windows only: no SLA mark reaches a queue

    def awaiting(self) -> str | None:
        if self.finished:
            return None
        if self.queued or (self.notices and not self.notices[-1].done):
            return "notices to the affected lines"
        if self.closing is not None:
            return "closing"
        return {ChangeState.assessing: "impact assessment",
                ChangeState.awaitingApproval: f"approval by {self.change.approver}",
                ChangeState.scheduled: "the window's start", ChangeState.inProgress: "the window's end",
                ChangeState.followUp: "line tests of the affected lines"}.get(self.state)

    def headline(self) -> str:
        lines = self.impact.lines if self.impact else "?"
        return f"{self.state} · {self.change.kind} · {lines} line(s)"
