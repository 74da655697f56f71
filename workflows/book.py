"""A case's record book: one activity per transition (the record is the truth), the state history,
search attributes, the lock that serialises human actions, and the loop that waits on clocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import CASE_ID_REUSED, CaseRecords
    from models import search
    from models.common import CaseType, Customer, StateChange
    from models.policy import DEFAULT, BoundPolicy, Policy
    from models.records import (ArchiveRecord, CaseFacts, Channel, CompensationRecord, NotificationRecord,
                                PolicyRequest, SlaEventRecord, Transition)

    from .clocks import Firing
    from .patches import local_steps, recorded_signal_refusals
    from .sla import SlaClocks

RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                           maximum_interval=timedelta(minutes=1),
                           non_retryable_error_types=[CASE_ID_REUSED])
"""Database outages are retried without limit (the case waits, nothing is lost); only a reused
case id is final."""
POLICY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
"""The policy is in the worker's memory: a failure to hand it over is transient or a bug."""


class CaseBook:
    def __init__(self, case_type: CaseType, describe: Callable[[], str]) -> None:
        self.case_type = case_type
        self.describe = describe
        """The current-details line for ops (no personal data), refreshed after every record."""
        self.state: str | None = None
        self.opened = False
        self.history: list[StateChange] = []
        self.lock = asyncio.Lock()
        self.clocks = SlaClocks("UTC")
        self.policy = DEFAULT
        self.bound: BoundPolicy | None = None
        """The policy as the case bound it (its history's record of it)."""
        self._seq = 0
        self._search: dict[str, object] = {}

    async def bind_policy(self) -> Policy:
        self.bound = await workflow.execute_local_activity_method(
            CaseRecords.load_policy, PolicyRequest(case_type=self.case_type),
            start_to_close_timeout=timedelta(seconds=10), retry_policy=POLICY_RETRY,
            summary="bind the policy in force")
        self.policy = self.bound.policy()
        self.clocks.timezone = self.policy.timezone
        return self.policy

    async def record(self, step: str, *, reason: str, actor: str = "system", to_state: str | None = None,
                     facts: CaseFacts | None = None, details: dict[str, Any] | None = None,
                     contact: Customer | None = None,
                     sla_events: Sequence[SlaEventRecord] = (),
                     notifications: Sequence[NotificationRecord] = (),
                     compensations: Sequence[CompensationRecord] = (),
                     archive: ArchiveRecord | None = None, closed: bool = False) -> None:
        """Write one transition (case row, event, SLA events, outbox, compensations, archive) in
        one transaction, then move the workflow's own state: the record is the truth. `details`
        is short for `facts=CaseFacts(details=...)`."""
        self._seq += 1
        info = workflow.info()
        facts = (facts or CaseFacts(details=details)).model_copy(
            update={"deadlines": self.clocks.deadlines(), "sla_breached": self.clocks.breached})
        transition = Transition(
            workflow_id=info.workflow_id, run_id=info.first_execution_run_id, case_type=self.case_type,
            step=f"{self._seq:03d}-{step}", at=workflow.now(), actor=actor, reason=reason,
            from_state=self.state if to_state else None, to_state=to_state, closed=closed, facts=facts,
            contact=contact, sla_events=list(sla_events), notifications=list(notifications),
            compensations=list(compensations), archive=archive)
        run = workflow.execute_local_activity_method if local_steps() else workflow.execute_activity_method
        await run(CaseRecords.record_transition, transition, start_to_close_timeout=timedelta(seconds=30),
                  retry_policy=RECORD_RETRY, summary=f"record {step}")
        if to_state and to_state != self.state:
            self.state = to_state
            self.history.append(StateChange(at=transition.at, state=to_state, reason=reason, actor=actor))
        self.opened = True
        self._upsert_search(facts)
        workflow.set_current_details(self.describe())

    async def refuse_signal(self, name: str, error: ApplicationError) -> None:
        """A signal that cannot be taken, on the case's event log: what was wrong, never the values."""
        if not recorded_signal_refusals():  # cases started before: only logged, as they were
            workflow.logger.warning("dropped signal %s: %s", name[:64], error.message)
            return
        async with self.acting():
            await self.record("signal-refused", actor=f"signal:{name}"[:64],
                              reason=f"signal {name[:64]} refused ({error.type}): {error.message}"[:2000])

    def notification(self, step: str, template: str, recipient: str, channel: Channel = Channel.sms,
                     **params: Any) -> NotificationRecord:
        return NotificationRecord(key=f"{self._seq + 1:03d}-{step}:{template}", channel=channel,
                                  template=template, recipient=recipient, params=params)

    def _upsert_search(self, facts: CaseFacts) -> None:
        wanted: dict[str, Any] = {search.CASE_TYPE.name: str(self.case_type), search.STATE.name: str(self.state),
                                     search.SLA_BREACHED.name: self.clocks.breached}
        for key, value in ((search.CUSTOMER_REF, facts.customer_ref), (search.REGION, facts.region),
                           (search.SEVERITY, facts.severity), (search.ASSIGNEE, facts.assignee)):
            if value is not None:
                wanted[key.name] = value
        wanted[search.NEXT_DUE.name] = min(facts.deadlines.values()) if facts.deadlines else None
        keys = {k.name: k for k in search.ALL}
        updates = [keys[name].value_set(value) if value is not None else keys[name].value_unset()
                   for name, value in wanted.items() if self._search.get(name) != value]
        if updates:
            workflow.upsert_search_attributes(updates)
            self._search.update(wanted)

    @asynccontextmanager
    async def acting(self) -> AsyncIterator[None]:
        """Human actions wait until the case's first record exists, then take turns, so two
        staff acting at once cannot both pass the same state check."""
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            yield

    async def wait_until(self, done: Callable[[], bool], on_mark: Callable[[Firing], Awaitable[None]]) -> None:
        """Wait, on durable timers only, until `done()`; record each SLA mark as its time comes.
        Human actions wake the wait early, and the next timer is re-armed from the new schedule."""
        while not done():
            wake = self.clocks.next_wake()
            self.clocks.changed = False
            if wake is None:
                await workflow.wait_condition(lambda: done() or self.clocks.changed)
                continue
            at, label = wake
            if at > workflow.now():
                try:
                    await workflow.wait_condition(lambda: done() or self.clocks.changed,
                                                  timeout=at - workflow.now(), timeout_summary=label)
                    continue
                except TimeoutError:
                    pass
            async with self.lock:
                for firing in self.clocks.take_due(workflow.now()):
                    await on_mark(firing)
