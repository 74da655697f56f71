"""The typed API of ComplaintClosure cases (starter.api)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models import complaint

from .cases import Cases


class Complaints(Cases):
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
