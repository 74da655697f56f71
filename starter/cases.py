"""What every process's typed API shares (starter.api): starting a case under the contract's id,
never a reused one, and reading and acting on it by the names a client in any language uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models import search
from models.common import TASK_QUEUE


class CaseAlreadyExists(Exception):
    """A case with this id exists (running or finished): case ids are never reused."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"case {workflow_id} already exists; ask for its handle instead of starting it again")
        self.workflow_id = workflow_id


class Cases:
    """What starting a case of any process means: the contract's id, never a reused one, an ops
    summary without personal data, and the search attributes known at start. Every update and the
    workflow itself answer with the process's status."""

    case_type: str
    workflow_type: str
    status_type: type[BaseModel]

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    workflow_id: staticmethod[[str], str]

    def handle(self, case_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(self.workflow_id(case_id), result_type=self.status_type)

    async def _start(self, request: BaseModel, *, customer_ref: str | None, summary: str, existing_ok: bool,
                     case_id: str) -> WorkflowHandle[Any, Any]:
        """A second start with the same id raises `CaseAlreadyExists`, or returns the existing case's
        handle when `existing_ok`."""
        workflow_id = self.workflow_id(case_id)
        attributes = [SearchAttributePair(search.CASE_TYPE, self.case_type)]
        if customer_ref is not None:  # a change of many lines has no one customer
            attributes.append(SearchAttributePair(search.CUSTOMER_REF, customer_ref))
        try:
            return await self.client.start_workflow(
                self.workflow_type, request, id=workflow_id, task_queue=self.task_queue,
                result_type=self.status_type, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL, static_summary=summary,
                search_attributes=TypedSearchAttributes(attributes))
        except WorkflowAlreadyStartedError:
            if existing_ok:
                return self.handle(case_id)
            raise CaseAlreadyExists(workflow_id) from None

    async def _status(self, case_id: str) -> Any:
        return await self.handle(case_id).query("status", result_type=self.status_type)

    async def _update(self, case_id: str, update: str, request: BaseModel) -> Any:
        return await self.handle(case_id).execute_update(update, request, result_type=self.status_type)
