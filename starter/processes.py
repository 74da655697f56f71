"""The processes as the ops CLI names them, by workflow type and model name only: the CLI
imports the models of the one process and action it runs, not the whole contract
(tests/test_cli_contract.py keeps this table and models.contract.CONTRACTS in step)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .cases import Cases


@dataclass(frozen=True)
class Process:
    """One process: its workflow type and id prefix, its typed API (`module.Class` in starter), the
    module of its models, the model name of its input and of each update's and signal's argument."""

    workflow_type: str
    id_prefix: str
    api: str
    module: str
    input: str
    updates: dict[str, str]
    signals: dict[str, str] = field(default_factory=dict)

    def workflow_id(self, case_id: str) -> str:
        return f"{self.id_prefix}{case_id}"

    def cases(self) -> type[Cases]:
        """Its typed API (e.g. starter.complaints.Complaints), imported now."""
        module, name = self.api.rsplit(".", 1)
        cases: type[Cases] = getattr(importlib.import_module(f"starter.{module}"), name)
        return cases

    def model(self, name: str) -> type[BaseModel]:
        """A model of this process by name, imported now."""
        model: type[BaseModel] = getattr(importlib.import_module(self.module), name)
        return model


PROCESSES = {
    "application": Process(
        "ApplicationReview", "application-", "applications.Applications", "models.application", "ApplicationInput",
        updates={"approve": "Approve", "reject": "Reject", "request_supplement": "RequestSupplement",
                 "supply_materials": "SupplyMaterials", "cancel": "Cancel"},
        signals={"provisioning_completed": "ProvisioningCompleted"}),
    "complaint": Process(
        "ComplaintClosure", "complaint-", "complaints.Complaints", "models.complaint", "ComplaintInput",
        updates={"assign_handler": "AssignHandler", "record_findings": "RecordFindings", "send_reply": "SendReply",
                 "confirm": "ConfirmReply", "submit_closure": "SubmitClosure"}),
    "fault": Process(
        "FaultRepair", "fault-", "faults.Faults", "models.fault", "FaultInput",
        updates={"assign_technician": "AssignTechnician", "hold": "HoldTicket", "resume": "ResumeTicket",
                 "resolve": "ResolveFault", "confirm": "ConfirmRepair", "reopen": "ReopenTicket",
                 "cancel": "CancelTicket"}),
    "termination": Process(
        "TerminationCleanup", "termination-", "terminations.Terminations", "models.termination", "TerminationInput",
        updates={"record_equipment_return": "RecordEquipmentReturn", "reclaim_number": "ReclaimNumber",
                 "cancel": "CancelTermination"},
        signals={"payment_received": "PaymentReceived"}),
    "change": Process(
        "ServiceChange", "change-", "changes.Changes", "models.change", "ChangeInput",
        updates={"approve": "ApproveChange", "reject": "RejectChange", "reschedule": "RescheduleChange",
                 "cancel": "CancelChange"}),
}
"""CLI name → process."""
