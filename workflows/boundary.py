"""What the SDK would otherwise do wrong with input our workflows cannot read, for every case:
- a case whose input `workflows.inbound.case_input` refused fails before `run`;
- an update sent with no argument or with several is refused as a `ValidationError` (the SDK would
  call the handler with the wrong arguments: a `TypeError`, labelled retryable);
- the `status` query of a failed case answers with why it failed (a query error naming the error
  type), not with the state it had reached, which would read as if it were still open.
Kept out of the workflow modules, which the sandbox imports anew for every case."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import (ExecuteWorkflowInput, HandleQueryInput, HandleUpdateInput, Interceptor,
                               WorkflowInboundInterceptor, WorkflowInterceptorClassInput)

with workflow.unsafe.imports_passed_through():  # as the workflow modules import it: one copy of each
    from models.contract import CONTRACTS
    from models.errors import Undecodable, refusal

    from .inbound import REFUSED_INPUT

FAILURE = "_case_failure"
ONE_ARGUMENT = {c.workflow_type: frozenset(c.updates) for c in CONTRACTS}
"""The contract's updates, each of which takes exactly one JSON object."""


class BoundaryInterceptor(Interceptor):
    """Every worker and replayer of our workflows takes it (`worker.INTERCEPTORS`)."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Boundary


class _Boundary(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        case = workflow.instance()
        refused = getattr(case, REFUSED_INPUT, None)
        if refused is not None:
            setattr(case, FAILURE, refused)
            raise refused
        try:
            return await self.next.execute_workflow(input)
        except FailureError as error:
            setattr(case, FAILURE, error)
            raise

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        _one_argument(input)
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _one_argument(input)  # an update without a validator is not checked above
        return await self.next.handle_update_handler(input)

    def handle_query(self, input: HandleQueryInput) -> Any:
        failure = getattr(workflow.instance(), FAILURE, None)
        if failure is not None and not input.query.startswith("__"):  # the SDK's own (stack trace, metadata)
            raise ApplicationError(f"the case failed: {_describe(failure)}", type=_type(failure), non_retryable=True)
        return self.next.handle_query(input)


def _one_argument(input: HandleUpdateInput) -> None:
    # With the right count the converter has read the argument, or refused it; with another it
    # passes the values untyped.
    if input.update not in ONE_ARGUMENT.get(workflow.info().workflow_type, ()):
        return
    if len(input.args) != 1 or isinstance(input.args[0], Undecodable):
        raise refusal(f"{len(input.args)} values for the update {input.update}: send exactly one JSON object")


def _type(error: BaseException) -> str:
    if isinstance(error, ApplicationError):
        return error.type or "ApplicationError"
    return type(error).__name__


def _describe(error: BaseException) -> str:
    text = f"{_type(error)}: {error.message if isinstance(error, FailureError) else error}"
    return f"{text}; caused by {_describe(error.__cause__)}" if error.__cause__ is not None else text
