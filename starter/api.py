"""Typed API over the public contract: start a case, send each human action, read its status."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from models.converter import contract_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.exceptions import WorkflowAlreadyStartedError

from models import search
from models.common import TASK_QUEUE
from models.complaint import (AssignHandler, ComplaintInput, ComplaintStatus, ConfirmReply, RecordFindings,
                              SendReply, SubmitClosure, workflow_id)
from workflows.complaint_closure import ComplaintClosure


class CaseAlreadyExists(Exception):
    """A case with this id exists (running or finished): case ids are never reused."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"case {workflow_id} already exists; ask for its handle instead of starting it again")
        self.workflow_id = workflow_id


async def connect(profile: str | None = None) -> Client:
    """Connect as the worker does: envconfig (TEMPORAL_ADDRESS, profiles, TLS, API key) and pydantic JSON."""
    config = ClientConfig.load_client_connect_config(profile)
    config.setdefault("target_host", "localhost:7233")
    return await Client.connect(**config, data_converter=contract_data_converter)


class Complaints:
    """ComplaintClosure cases (spec §4)."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, complaint: ComplaintInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[ComplaintClosure, ComplaintStatus]:
        """Start the case; a second start with the same complaint id raises `CaseAlreadyExists`,
        or returns the existing case's handle when `existing_ok`."""
        try:
            return await self.client.start_workflow(
                ComplaintClosure.run, complaint, id=complaint.workflow_id, task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"Complaint {complaint.complaint_id} · {complaint.category} · via {complaint.channel}",
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(search.CASE_TYPE, "complaint"),
                    SearchAttributePair(search.CUSTOMER_REF, complaint.customer.customer_ref)]))
        except WorkflowAlreadyStartedError:
            if existing_ok:
                return self.handle(complaint.complaint_id)
            raise CaseAlreadyExists(complaint.workflow_id) from None

    def handle(self, complaint_id: str) -> WorkflowHandle[ComplaintClosure, ComplaintStatus]:
        return self.client.get_workflow_handle_for(ComplaintClosure.run, workflow_id(complaint_id))

    async def status(self, complaint_id: str) -> ComplaintStatus:
        return await self.handle(complaint_id).query(ComplaintClosure.status)

    async def assign_handler(self, complaint_id: str, request: AssignHandler) -> ComplaintStatus:
        return await self.handle(complaint_id).execute_update(ComplaintClosure.assign_handler, request)

    async def record_findings(self, complaint_id: str, request: RecordFindings) -> ComplaintStatus:
        return await self.handle(complaint_id).execute_update(ComplaintClosure.record_findings, request)

    async def send_reply(self, complaint_id: str, request: SendReply) -> ComplaintStatus:
        return await self.handle(complaint_id).execute_update(ComplaintClosure.send_reply, request)

    async def confirm(self, complaint_id: str, request: ConfirmReply) -> ComplaintStatus:
        return await self.handle(complaint_id).execute_update(ComplaintClosure.confirm, request)

    async def submit_closure(self, complaint_id: str, request: SubmitClosure) -> ComplaintStatus:
        return await self.handle(complaint_id).execute_update(ComplaintClosure.submit_closure, request)
