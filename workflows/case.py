"""The case framework: what every process shares, so a process module holds only its own states,
updates, validators and transitions.

A process subclasses `Case` (under `@process(WORKFLOW_TYPE)`), calls `open_case` in its `@case_input`
init and `begin` first in `run`, and declares each human action with `action = Actions(Status)` and
`@action(description, allowed=..., check=...)`: the states it is allowed in and any further check are
the update's validator and run again under the case's lock, and the action writes one record. SLA marks get the
default reaction of `on_mark` (warning and breach to the clock's staff queue, the escalation ladder)
unless the process overrides it for a clock whose rules differ; windows are opened by name with the
handlers of their reminder and end; `finish` writes the case's last record and its archive entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import calendar
    from models.calendar import CalendarChanged, CalendarMoves
    from models.common import CaseType, Customer
    from models.policy import ClockPolicy, Policy
    from models.records import ArchiveRecord, CaseFacts, Channel, NotificationRecord
    from models.sla import SlaEventKind

    from .actions import invalid_input
    from .book import CaseBook
    from .clocks import MISSED, Firing
    from .inbound import UnknownNames
    from .patches import migrated_marks

Handler = Callable[[Firing], Awaitable[None]]


def local_date(moment: datetime, timezone: str) -> date:
    """The case's local calendar day. Time-zone data is fixed for the worker's lifetime, so this is
    deterministic; the sandbox only restricts ZoneInfo because it reads files."""
    with workflow.unsafe.sandbox_unrestricted():
        return moment.astimezone(ZoneInfo(timezone)).date()


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def check_event_time(field: str, moment: datetime, policy: Policy) -> None:
    """A caller's event time is refused when it lies ahead of our clock (beyond the skew allowed)
    or further back than the policy allows."""
    now = workflow.now()
    if moment > now + policy.clock_skew:
        raise invalid_input(field, "must not be in the future")
    if moment < now - policy.backdating_limit:
        raise invalid_input(field, f"lies more than {policy.backdating_limit.days} days before the case starts "
                                   "(policy backdating_limit)")


class Case(UnknownNames):
    """Base of every process workflow."""

    State: ClassVar[Any]
    """The process's state enum; its first member is the state before the first record."""
    FINAL: ClassVar[Collection[Any]] = ()
    """The states in which the case has ended (unless the process says otherwise in `ended`)."""
    NOUN: ClassVar[str]
    """How refusals name the case: "ticket is held: ..."."""
    status: Callable[[], Any]
    """The process's `status` query."""

    def open_case(self, case_type: CaseType, customer_ref: str | None, **ref: str) -> None:
        """In the process's init: `ref` names the case in every notification (e.g. ticket_id=...)."""
        self.book = CaseBook(case_type, self.details)
        self.customer_ref, self.ref = customer_ref, ref
        self.escalated_to: str | None = None
        self.taken_over_at = workflow.now()
        """When this system took the case: marks due before it were missed before migration."""
        self._windows: dict[str, tuple[Handler, Handler | None]] = {}

    async def begin(self, workflow_id: str, what: str, event_time: tuple[str, datetime] | None = None) -> Policy:
        """The id check every case makes first, then the policy in force binds the case, then the
        caller's event time (`(field, instant)`, when the input has one) is checked against it."""
        if workflow.info().workflow_id != workflow_id:
            raise invalid_input("workflow_id", f"must be {workflow_id!r} for {what}, not "
                                               f"{workflow.info().workflow_id!r}")
        policy = await self.book.bind_policy()
        if event_time is not None:
            check_event_time(*event_time, policy)
        return policy

    # --- what a process answers ------------------------------------------------------------

    @property
    def state(self) -> Any:
        return self.State(self.book.state or next(iter(self.State)))

    @property
    def ended(self) -> bool:
        return self.state in self.FINAL

    def awaiting(self) -> str | None:
        raise NotImplementedError

    def queue(self, clock: str) -> str:
        """The staff role told of an SLA clock's warnings and breach."""
        raise NotImplementedError

    def headline(self) -> str:
        return str(self.state)

    def alerts(self) -> list[str]:
        return []

    def details(self) -> str:
        """The ops details line (Web UI): no personal data."""
        parts = [self.headline()] + [f"awaiting {self.awaiting()}"] * bool(self.awaiting())
        parts += [f"{name} due {at:%Y-%m-%d %H:%M} UTC" for name, at in sorted(self.book.clocks.deadlines().items())]
        return " · ".join(parts + self.alerts())

    def status_fields(self) -> dict[str, Any]:
        """The fields every status model has (`models.case.CaseStatus`)."""
        clocks = self.book.clocks
        return {"state": self.state, "awaiting": self.awaiting(), "deadlines": clocks.deadlines(),
                "clocks": clocks.status(workflow.now()), "history": list(self.book.history),
                "policy_version": self.book.policy.version}

    async def record_opening(self, step: str, *, reason: str, details: dict[str, Any], to_state: Any,
                             contact: Customer | None = None, notifications: Sequence[NotificationRecord] = (),
                             **facts: Any) -> None:
        """The case's first record: its customer's contact, and the policy it is bound to."""
        assert self.book.bound is not None, "begin() binds the policy first"
        bound = self.book.bound.model_dump(mode="json", exclude_none=True)
        await self.book.record(step, to_state=to_state, contact=contact, reason=reason, notifications=notifications,
                               facts=CaseFacts(customer_ref=self.customer_ref, details=details, policy=bound, **facts))

    # --- notifications ---------------------------------------------------------------------

    def to_customer(self, step: str, template: str, channel: Channel = Channel.sms,
                    **params: Any) -> NotificationRecord:
        assert self.customer_ref is not None, "a case with no customer tells none"
        return self.book.notification(step, template, self.customer_ref, channel, **self.ref, **params)

    def to_staff(self, step: str, role: str, template: str, **params: Any) -> NotificationRecord:
        return self.book.notification(step, template, role, Channel.staff, **self.ref, **params)

    # --- clocks, windows and marks ---------------------------------------------------------

    async def open_window(self, name: str, policy: ClockPolicy, at: datetime, on_end: Handler,
                          on_reminder: Handler | None = None) -> None:
        """A plain deadline: its reminders and its end go to the handlers given, never as SLA events."""
        self._windows[name] = (on_end, on_reminder)
        await self.book.clocks.open_window(name, policy, at)

    def close_window(self, name: str) -> None:
        self._windows.pop(name, None)
        self.book.clocks.close(name)

    async def wait(self, done: Callable[[], bool]) -> None:
        await self.book.wait_until(done, self._mark)

    async def _mark(self, firing: Firing) -> None:
        if self.ended:
            return  # a mark due at the instant the case ended
        if firing.at < self.taken_over_at and migrated_marks():
            firing = replace(firing, missed=True)
        if firing.clock not in self._windows:
            await self.on_mark(firing)
            return
        on_end, on_reminder = self._windows[firing.clock]
        if firing.mark.kind is SlaEventKind.warning:
            if firing.missed:
                await self.book.record(f"{firing.clock}-reminder-missed", reason=f"{firing.clock} reminder due "
                                       f"{firing.at:%Y-%m-%d %H:%M} UTC, before this system took the case")
            elif on_reminder is not None:
                await on_reminder(firing)
            return
        # A window that ended before the case was taken over has its consequence now: the time is over.
        self.close_window(firing.clock)
        await on_end(firing)

    async def on_mark(self, firing: Firing) -> None:
        """The default reaction to an SLA clock's mark; a process overrides it where its rules differ.
        A mark missed before migration is recorded as a fact, and nobody is told."""
        mark, clock = firing.mark, firing.clock
        step, before = f"{clock}-{mark.label}", f"{MISSED}: " * firing.missed
        if mark.escalation is not None:
            to = self.escalated_to = mark.escalation.to
            await self.book.record(step, reason=f"{before}{clock} deadline passed: escalated to {to}",
                                   sla_events=[firing.record()], details={"escalated_to": to},
                                   notifications=self.unless_missed(firing, self.to_staff(
                                       step, to, "sla.escalation", clock=clock)))
            return
        warning = mark.kind is SlaEventKind.warning
        assert firing.due_at is not None
        await self.book.record(
            step, reason=before + (f"{clock} deadline {mark.label}" if warning else f"{clock} deadline passed"),
            sla_events=[firing.record()],
            notifications=self.unless_missed(firing, self.to_staff(
                step, self.queue(clock), "sla.warning" if warning else "sla.breach", clock=clock,
                due_at=firing.due_at.isoformat())))

    @staticmethod
    def unless_missed(firing: Firing, *notifications: NotificationRecord) -> list[NotificationRecord]:
        """A mark's notifications, or none for a mark missed before migration (its time has passed)."""
        return [] if firing.missed else list(notifications)

    @workflow.update(name=calendar.UPDATE, description="A working-day calendar version was published (telecom "
                     "calendar publish): working-day due times are computed again under it.")
    async def calendar_changed(self, change: CalendarChanged) -> CalendarMoves:
        async with self.book.acting():
            if self.ended:
                return CalendarMoves(version=change.version)
            try:
                moves = await self.book.clocks.recalculate(change.version, workflow.now())
            # The version asked for does not exist (a local activity's error arrives unwrapped): nothing changed.
            except (ActivityError, ApplicationError) as failed:
                cause = failed.cause if isinstance(failed, ActivityError) and failed.cause else failed
                raise invalid_input("version", cause.message if isinstance(cause, ApplicationError) else str(cause)
                                    ) from None
            if moves:
                step = f"calendar-v{change.version}"
                await self.book.record(step, reason=f"calendar version {change.version}: " + "; ".join(
                    f"{m.clock} due {iso(m.old_due)} → {iso(m.new_due)}" for m in moves),
                    details={"calendar_version": change.version, "moved": [m.model_dump(mode="json") for m in moves]})
            return CalendarMoves(version=change.version, moves=moves)

    # --- the end ---------------------------------------------------------------------------

    async def finish(self, step: str, *, reason: str, summary: dict[str, Any], actor: str = "system",
                     to_state: Any = None, **record: Any) -> None:
        """The case's last record: every clock stopped, the row closed, the archive entry written
        (guide ch. 7) with the process's retention."""
        self.book.clocks.stop_all()
        case_type = self.book.case_type
        retention: timedelta = getattr(self.book.policy, str(case_type)).archive_retention
        await self.book.record(step, to_state=to_state, actor=actor, reason=reason, closed=True,
                               archive=ArchiveRecord(classification=str(case_type), retention=retention,
                                                     summary=summary), **record)
