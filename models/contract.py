"""The public contract in one table: per workflow type, its input, updates, queries and signals.
The JSON Schemas under schemas/ are generated from it (`python -m edge.schemas`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from . import application, change, complaint, fault, termination


@dataclass(frozen=True)
class WorkflowContract:
    workflow_type: str
    id_prefix: str
    input: type[BaseModel]
    updates: dict[str, type[BaseModel]]
    queries: dict[str, type[BaseModel]]
    signals: dict[str, type[BaseModel]] = field(default_factory=dict)


CONTRACTS = [
    WorkflowContract(
        application.WORKFLOW_TYPE, "application-", application.ApplicationInput,
        updates={"approve": application.Approve, "reject": application.Reject,
                 "request_supplement": application.RequestSupplement,
                 "supply_materials": application.SupplyMaterials, "cancel": application.Cancel},
        queries={"status": application.ApplicationStatus},
        signals={application.COMPLETED_SIGNAL: application.ProvisioningCompleted}),
    WorkflowContract(
        complaint.WORKFLOW_TYPE, "complaint-", complaint.ComplaintInput,
        updates={"assign_handler": complaint.AssignHandler, "record_findings": complaint.RecordFindings,
                 "send_reply": complaint.SendReply, "confirm": complaint.ConfirmReply,
                 "submit_closure": complaint.SubmitClosure},
        queries={"status": complaint.ComplaintStatus}),
    WorkflowContract(
        fault.WORKFLOW_TYPE, "fault-", fault.FaultInput,
        updates={"assign_technician": fault.AssignTechnician, "hold": fault.HoldTicket,
                 "resume": fault.ResumeTicket, "resolve": fault.ResolveFault, "confirm": fault.ConfirmRepair,
                 "reopen": fault.ReopenTicket, "cancel": fault.CancelTicket},
        queries={"status": fault.FaultStatus}),
    WorkflowContract(
        termination.WORKFLOW_TYPE, "termination-", termination.TerminationInput,
        updates={"record_equipment_return": termination.RecordEquipmentReturn,
                 "reclaim_number": termination.ReclaimNumber, "cancel": termination.CancelTermination},
        queries={"status": termination.TerminationStatus},
        signals={termination.PAYMENT_SIGNAL: termination.PaymentReceived}),
    WorkflowContract(
        change.WORKFLOW_TYPE, "change-", change.ChangeInput,
        updates={"approve": change.ApproveChange, "reject": change.RejectChange,
                 "reschedule": change.RescheduleChange, "cancel": change.CancelChange},
        queries={"status": change.ChangeStatus}),
]
