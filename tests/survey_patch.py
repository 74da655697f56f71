"""v2 of ComplaintClosure for tests/test_patching.py: after closing, invite the customer to a
satisfaction survey (a new activity), with or without the `workflow.patched` guard that the README
prescribes. A module of its own that imports no test machinery: the sandbox imports a workflow's
module afresh for every case, and the test module with pytest and its fixtures took 1.7 s each time."""

from __future__ import annotations

from temporalio import workflow

from models.complaint import ComplaintInput, ComplaintStatus
from workflows.complaint_closure import ComplaintClosure


class SurveyAfterClosing:
    guarded: bool

    async def _close(self, actor: str, reason: str) -> None:
        await super()._close(actor, reason)
        if not self.guarded or workflow.patched("closure-survey"):
            await self.book.record("survey", reason="satisfaction survey sent",
                                   notifications=[self.to_customer("survey", "complaint.survey")])


@workflow.defn(name="ComplaintClosure")
class Patched(SurveyAfterClosing, ComplaintClosure):
    guarded = True

    @workflow.init
    def __init__(self, complaint: ComplaintInput) -> None:
        super().__init__(complaint)

    @workflow.run
    async def run(self, complaint: ComplaintInput) -> ComplaintStatus:
        return await super().run(complaint)


@workflow.defn(name="ComplaintClosure")
class Unguarded(SurveyAfterClosing, ComplaintClosure):
    guarded = False

    @workflow.init
    def __init__(self, complaint: ComplaintInput) -> None:
        super().__init__(complaint)

    @workflow.run
    async def run(self, complaint: ComplaintInput) -> ComplaintStatus:
        return await super().run(complaint)
