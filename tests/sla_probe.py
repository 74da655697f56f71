"""A workflow that only runs SLA clocks, to test the deadline engine apart from any process."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.common import CaseType, Contract
    from models.policy import ClockPolicy
    from models.sla import ClockStatus
    from workflows.book import CaseBook
    from workflows.clocks import Firing


class ProbeInput(Contract):
    clocks: dict[str, ClockPolicy]
    timezone: str = "Asia/Shanghai"


class ClockAction(Contract):
    clock: str
    reason: str = "customer unavailable"


@workflow.defn(name="SlaProbe")
class SlaProbe:
    @workflow.init
    def __init__(self, probe: ProbeInput) -> None:
        self.book = CaseBook(CaseType.fault, lambda: "probe")
        self.book.clocks.timezone = probe.timezone
        self.done = False

    @workflow.run
    async def run(self, probe: ProbeInput) -> list[ClockStatus]:
        for name, policy in probe.clocks.items():
            await self.book.clocks.start(name, policy, workflow.now())
        await self.book.record("opened", to_state="inProgress", reason="probe")
        await self.book.wait_until(lambda: self.done, self._on_mark)
        return self.status()

    async def _on_mark(self, firing: Firing) -> None:
        await self.book.record(firing.key, reason=firing.mark.label, sla_events=[firing.record()])

    @workflow.update
    async def pause(self, action: ClockAction) -> list[ClockStatus]:
        async with self.book.acting():
            event = await self.book.clocks.pause(action.clock, workflow.now(), action.reason)
            await self.book.record(f"{action.clock}-pause", reason=action.reason, sla_events=[event])
        return self.status()

    @workflow.update
    async def resume(self, action: ClockAction) -> list[ClockStatus]:
        async with self.book.acting():
            event = await self.book.clocks.resume(action.clock, workflow.now())
            await self.book.record(f"{action.clock}-resume", reason="resumed", sla_events=[event])
        return self.status()

    @workflow.update
    async def opened(self) -> None:
        """Returns once the case's first record is written."""
        async with self.book.acting():
            pass

    @workflow.update
    async def finish(self) -> None:
        self.done = True

    @workflow.query
    def status(self) -> list[ClockStatus]:
        return self.book.clocks.status(workflow.now())
