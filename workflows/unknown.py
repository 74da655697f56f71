"""Every workflow type the worker does not know, on our task queue: a misspelt type (`complaintClosure`)
fails at once with the list of known types, instead of a workflow task that fails again and again."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.contract import CONTRACTS

UNKNOWN_WORKFLOW_TYPE = "UnknownWorkflowType"


@workflow.defn(dynamic=True)
class UnknownWorkflow:
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> None:
        known = ", ".join(c.workflow_type for c in CONTRACTS)
        raise ApplicationError(f"no workflow type {workflow.info().workflow_type!r} on this task queue; known types: "
                               f"{known}", type=UNKNOWN_WORKFLOW_TYPE, non_retryable=True)
