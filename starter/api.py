"""Typed API over the public contract: start a case, send each human action, read its status."""

from __future__ import annotations

from collections.abc import Callable
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

from models import application, fault, search, termination
from models.common import TASK_QUEUE
from models.complaint import (
    AssignHandler,
    ComplaintInput,
    ComplaintStatus,
    ConfirmReply,
    RecordFindings,
    SendReply,
    SubmitClosure,
    workflow_id,
)
from workflows.application_review import ApplicationReview
from workflows.complaint_closure import ComplaintClosure
from workflows.fault_repair import FaultRepair
from workflows.termination_cleanup import TerminationCleanup


class CaseAlreadyExists(Exception):
    """A case with this id exists (running or finished): case ids are never reused."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"case {workflow_id} already exists; ask for its handle instead of starting it again")
        self.workflow_id = workflow_id


class _Cases:
    """What starting a case of any process means: the contract's id, never a reused one, an ops
    summary without personal data, and the search attributes known at start."""

    case_type: str

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def _start(self, run: Callable, request: BaseModel, *, customer_ref: str, summary: str,
                     existing_ok: bool, existing: Callable[[], WorkflowHandle]) -> WorkflowHandle[Any, Any]:
        """A second start with the same id raises `CaseAlreadyExists`, or returns the existing case's
        handle when `existing_ok`."""
        workflow_id = request.workflow_id  # type: ignore[attr-defined]
        try:
            return await self.client.start_workflow(
                run, request, id=workflow_id, task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL, static_summary=summary,
                search_attributes=TypedSearchAttributes([SearchAttributePair(search.CASE_TYPE, self.case_type),
                                                         SearchAttributePair(search.CUSTOMER_REF, customer_ref)]))
        except WorkflowAlreadyStartedError:
            if existing_ok:
                return existing()
            raise CaseAlreadyExists(workflow_id) from None


class Complaints(_Cases):
    """ComplaintClosure cases (spec §4)."""

    case_type = "complaint"

    async def start(self, complaint: ComplaintInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[ComplaintClosure, ComplaintStatus]:
        return await self._start(
            ComplaintClosure.run, complaint, customer_ref=complaint.customer.customer_ref,
            summary=f"Complaint {complaint.complaint_id} · {complaint.category} · via {complaint.channel}",
            existing_ok=existing_ok, existing=lambda: self.handle(complaint.complaint_id))

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


class Faults(_Cases):
    """FaultRepair trouble tickets (spec §3)."""

    case_type = "fault"

    async def start(self, ticket: fault.FaultInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[FaultRepair, fault.FaultStatus]:
        # No service id in the summary: a fixed line's service id can be the customer's phone number.
        return await self._start(
            FaultRepair.run, ticket, customer_ref=ticket.customer.customer_ref,
            summary=f"Fault {ticket.ticket_id} · {ticket.severity} · {ticket.region} · via {ticket.channel}",
            existing_ok=existing_ok, existing=lambda: self.handle(ticket.ticket_id))

    def handle(self, ticket_id: str) -> WorkflowHandle[FaultRepair, fault.FaultStatus]:
        return self.client.get_workflow_handle_for(FaultRepair.run, fault.workflow_id(ticket_id))

    async def status(self, ticket_id: str) -> fault.FaultStatus:
        return await self.handle(ticket_id).query(FaultRepair.status)

    async def assign_technician(self, ticket_id: str, request: fault.AssignTechnician) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.assign_technician, request)

    async def hold(self, ticket_id: str, request: fault.HoldTicket) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.hold, request)

    async def resume(self, ticket_id: str, request: fault.ResumeTicket) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.resume, request)

    async def resolve(self, ticket_id: str, request: fault.ResolveFault) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.resolve, request)

    async def confirm(self, ticket_id: str, request: fault.ConfirmRepair) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.confirm, request)

    async def reopen(self, ticket_id: str, request: fault.ReopenTicket) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.reopen, request)

    async def cancel(self, ticket_id: str, request: fault.CancelTicket) -> fault.FaultStatus:
        return await self.handle(ticket_id).execute_update(FaultRepair.cancel, request)


class Terminations(_Cases):
    """TerminationCleanup cases (spec §5)."""

    case_type = "termination"

    async def start(self, request: termination.TerminationInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[TerminationCleanup, termination.TerminationStatus]:
        """A second request for an account whose termination runs fails the new case with InvalidInput."""
        return await self._start(
            TerminationCleanup.run, request, customer_ref=request.customer.customer_ref,
            summary=f"Termination {request.request_id} · account {request.account_id} · "
                    f"{len(request.services)} line(s) · {request.reason}",
            existing_ok=existing_ok, existing=lambda: self.handle(request.request_id))

    def handle(self, request_id: str) -> WorkflowHandle[TerminationCleanup, termination.TerminationStatus]:
        return self.client.get_workflow_handle_for(TerminationCleanup.run, termination.workflow_id(request_id))

    async def status(self, request_id: str) -> termination.TerminationStatus:
        return await self.handle(request_id).query(TerminationCleanup.status)

    async def payment_received(self, request_id: str, payment: termination.PaymentReceived) -> None:
        await self.handle(request_id).signal(TerminationCleanup.payment_received, payment)

    async def record_equipment_return(self, request_id: str, request: termination.RecordEquipmentReturn
                                      ) -> termination.TerminationStatus:
        return await self.handle(request_id).execute_update(TerminationCleanup.record_equipment_return, request)

    async def reclaim_number(self, request_id: str, request: termination.ReclaimNumber
                             ) -> termination.TerminationStatus:
        return await self.handle(request_id).execute_update(TerminationCleanup.reclaim_number, request)

    async def cancel(self, request_id: str, request: termination.CancelTermination) -> termination.TerminationStatus:
        return await self.handle(request_id).execute_update(TerminationCleanup.cancel, request)


class Applications(_Cases):
    """ApplicationReview cases (spec §2)."""

    case_type = "application"

    async def start(self, request: application.ApplicationInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[ApplicationReview, application.ApplicationStatus]:
        return await self._start(
            ApplicationReview.run, request, customer_ref=request.applicant.customer_ref,
            summary=f"Application {request.application_id} · {request.service_type} · {request.region}",
            existing_ok=existing_ok, existing=lambda: self.handle(request.application_id))

    def handle(self, application_id: str) -> WorkflowHandle[ApplicationReview, application.ApplicationStatus]:
        return self.client.get_workflow_handle_for(ApplicationReview.run, application.workflow_id(application_id))

    async def status(self, application_id: str) -> application.ApplicationStatus:
        return await self.handle(application_id).query(ApplicationReview.status)

    async def approve(self, application_id: str, request: application.Approve) -> application.ApplicationStatus:
        return await self.handle(application_id).execute_update(ApplicationReview.approve, request)

    async def reject(self, application_id: str, request: application.Reject) -> application.ApplicationStatus:
        return await self.handle(application_id).execute_update(ApplicationReview.reject, request)

    async def request_supplement(self, application_id: str, request: application.RequestSupplement
                                 ) -> application.ApplicationStatus:
        return await self.handle(application_id).execute_update(ApplicationReview.request_supplement, request)

    async def supply_materials(self, application_id: str, request: application.SupplyMaterials
                               ) -> application.ApplicationStatus:
        return await self.handle(application_id).execute_update(ApplicationReview.supply_materials, request)

    async def cancel(self, application_id: str, request: application.Cancel) -> application.ApplicationStatus:
        return await self.handle(application_id).execute_update(ApplicationReview.cancel, request)

    async def report_activation(self, application_id: str, report: application.ProvisioningCompleted) -> None:
        """The OSS's fire-and-forget report that the service is active."""
        await self.handle(application_id).signal(ApplicationReview.provisioning_completed, report)
