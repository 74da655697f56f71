"""Typed API over the public contract: start a case, send each human action, read its status.
Workflows, updates, queries and signals are named as a client in any language names them: a
client needs the models, not the workflow code."""

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

from models import application, complaint, fault, search, termination
from models.common import TASK_QUEUE


class CaseAlreadyExists(Exception):
    """A case with this id exists (running or finished): case ids are never reused."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"case {workflow_id} already exists; ask for its handle instead of starting it again")
        self.workflow_id = workflow_id


class _Cases:
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

    async def _start(self, request: BaseModel, *, customer_ref: str, summary: str, existing_ok: bool,
                     case_id: str) -> WorkflowHandle[Any, Any]:
        """A second start with the same id raises `CaseAlreadyExists`, or returns the existing case's
        handle when `existing_ok`."""
        workflow_id = self.workflow_id(case_id)
        try:
            return await self.client.start_workflow(
                self.workflow_type, request, id=workflow_id, task_queue=self.task_queue,
                result_type=self.status_type, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL, static_summary=summary,
                search_attributes=TypedSearchAttributes([SearchAttributePair(search.CASE_TYPE, self.case_type),
                                                         SearchAttributePair(search.CUSTOMER_REF, customer_ref)]))
        except WorkflowAlreadyStartedError:
            if existing_ok:
                return self.handle(case_id)
            raise CaseAlreadyExists(workflow_id) from None

    async def _status(self, case_id: str) -> Any:
        return await self.handle(case_id).query("status", result_type=self.status_type)

    async def _update(self, case_id: str, update: str, request: BaseModel) -> Any:
        return await self.handle(case_id).execute_update(update, request, result_type=self.status_type)


class Complaints(_Cases):
    """ComplaintClosure cases (spec §4)."""

    case_type, workflow_type, status_type = "complaint", complaint.WORKFLOW_TYPE, complaint.ComplaintStatus
    workflow_id = staticmethod(complaint.workflow_id)

    async def start(self, request: complaint.ComplaintInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[Any, complaint.ComplaintStatus]:
        return await self._start(
            request, customer_ref=request.customer.customer_ref,
            summary=f"Complaint {request.complaint_id} · {request.category} · via {request.channel}",
            existing_ok=existing_ok, case_id=request.complaint_id)

    async def status(self, complaint_id: str) -> complaint.ComplaintStatus:
        return await self._status(complaint_id)

    async def assign_handler(self, complaint_id: str, request: complaint.AssignHandler) -> complaint.ComplaintStatus:
        return await self._update(complaint_id, "assign_handler", request)

    async def record_findings(self, complaint_id: str, request: complaint.RecordFindings) -> complaint.ComplaintStatus:
        return await self._update(complaint_id, "record_findings", request)

    async def send_reply(self, complaint_id: str, request: complaint.SendReply) -> complaint.ComplaintStatus:
        return await self._update(complaint_id, "send_reply", request)

    async def confirm(self, complaint_id: str, request: complaint.ConfirmReply) -> complaint.ComplaintStatus:
        return await self._update(complaint_id, "confirm", request)

    async def submit_closure(self, complaint_id: str, request: complaint.SubmitClosure) -> complaint.ComplaintStatus:
        return await self._update(complaint_id, "submit_closure", request)


class Faults(_Cases):
    """FaultRepair trouble tickets (spec §3)."""

    case_type, workflow_type, status_type = "fault", fault.WORKFLOW_TYPE, fault.FaultStatus
    workflow_id = staticmethod(fault.workflow_id)

    async def start(self, ticket: fault.FaultInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[Any, fault.FaultStatus]:
        # No service id in the summary: a fixed line's service id can be the customer's phone number.
        return await self._start(
            ticket, customer_ref=ticket.customer.customer_ref,
            summary=f"Fault {ticket.ticket_id} · {ticket.severity} · {ticket.region} · via {ticket.channel}",
            existing_ok=existing_ok, case_id=ticket.ticket_id)

    async def status(self, ticket_id: str) -> fault.FaultStatus:
        return await self._status(ticket_id)

    async def assign_technician(self, ticket_id: str, request: fault.AssignTechnician) -> fault.FaultStatus:
        return await self._update(ticket_id, "assign_technician", request)

    async def hold(self, ticket_id: str, request: fault.HoldTicket) -> fault.FaultStatus:
        return await self._update(ticket_id, "hold", request)

    async def resume(self, ticket_id: str, request: fault.ResumeTicket) -> fault.FaultStatus:
        return await self._update(ticket_id, "resume", request)

    async def resolve(self, ticket_id: str, request: fault.ResolveFault) -> fault.FaultStatus:
        return await self._update(ticket_id, "resolve", request)

    async def confirm(self, ticket_id: str, request: fault.ConfirmRepair) -> fault.FaultStatus:
        return await self._update(ticket_id, "confirm", request)

    async def reopen(self, ticket_id: str, request: fault.ReopenTicket) -> fault.FaultStatus:
        return await self._update(ticket_id, "reopen", request)

    async def cancel(self, ticket_id: str, request: fault.CancelTicket) -> fault.FaultStatus:
        return await self._update(ticket_id, "cancel", request)


class Terminations(_Cases):
    """TerminationCleanup cases (spec §5)."""

    case_type, workflow_type, status_type = "termination", termination.WORKFLOW_TYPE, termination.TerminationStatus
    workflow_id = staticmethod(termination.workflow_id)

    async def start(self, request: termination.TerminationInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[Any, termination.TerminationStatus]:
        """A second request for an account whose termination runs fails the new case with InvalidInput."""
        return await self._start(
            request, customer_ref=request.customer.customer_ref,
            summary=f"Termination {request.request_id} · account {request.account_id} · "
                    f"{len(request.services)} line(s) · {request.reason}",
            existing_ok=existing_ok, case_id=request.request_id)

    async def status(self, request_id: str) -> termination.TerminationStatus:
        return await self._status(request_id)

    async def payment_received(self, request_id: str, payment: termination.PaymentReceived) -> None:
        await self.handle(request_id).signal(termination.PAYMENT_SIGNAL, payment)

    async def record_equipment_return(self, request_id: str, request: termination.RecordEquipmentReturn
                                      ) -> termination.TerminationStatus:
        return await self._update(request_id, "record_equipment_return", request)

    async def reclaim_number(self, request_id: str, request: termination.ReclaimNumber
                             ) -> termination.TerminationStatus:
        return await self._update(request_id, "reclaim_number", request)

    async def cancel(self, request_id: str, request: termination.CancelTermination) -> termination.TerminationStatus:
        return await self._update(request_id, "cancel", request)


class Applications(_Cases):
    """ApplicationReview cases (spec §2)."""

    case_type, workflow_type, status_type = "application", application.WORKFLOW_TYPE, application.ApplicationStatus
    workflow_id = staticmethod(application.workflow_id)

    async def start(self, request: application.ApplicationInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[Any, application.ApplicationStatus]:
        return await self._start(
            request, customer_ref=request.applicant.customer_ref,
            summary=f"Application {request.application_id} · {request.service_type} · {request.region}",
            existing_ok=existing_ok, case_id=request.application_id)

    async def status(self, application_id: str) -> application.ApplicationStatus:
        return await self._status(application_id)

    async def approve(self, application_id: str, request: application.Approve) -> application.ApplicationStatus:
        return await self._update(application_id, "approve", request)

    async def reject(self, application_id: str, request: application.Reject) -> application.ApplicationStatus:
        return await self._update(application_id, "reject", request)

    async def request_supplement(self, application_id: str, request: application.RequestSupplement
                                 ) -> application.ApplicationStatus:
        return await self._update(application_id, "request_supplement", request)

    async def supply_materials(self, application_id: str, request: application.SupplyMaterials
                               ) -> application.ApplicationStatus:
        return await self._update(application_id, "supply_materials", request)

    async def cancel(self, application_id: str, request: application.Cancel) -> application.ApplicationStatus:
        return await self._update(application_id, "cancel", request)

    async def report_activation(self, application_id: str, report: application.ProvisioningCompleted) -> None:
        """The OSS's fire-and-forget report that the service is active."""
        await self.handle(application_id).signal(application.COMPLETED_SIGNAL, report)
