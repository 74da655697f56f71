"""The public contract in one table: per workflow type, its input, updates, queries and signals.
The JSON Schemas under schemas/ are generated from it (`python -m models.contract`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from . import application, complaint, fault, termination

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


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
]


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for every input, update argument, signal and query result."""
    result = {}
    for c in CONTRACTS:
        result[f"{c.workflow_type}.input.json"] = c.input.model_json_schema()
        kinds: tuple[tuple[str, dict[str, type[BaseModel]], Literal["validation", "serialization"]], ...] = (
            ("update", c.updates, "validation"), ("signal", c.signals, "validation"),
            ("query", c.queries, "serialization"))
        for kind, models, mode in kinds:
            for name, model in models.items():
                result[f"{c.workflow_type}.{kind}.{name}.json"] = model.model_json_schema(mode=mode)
    return result


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("*.json"):
        stale.unlink()
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
