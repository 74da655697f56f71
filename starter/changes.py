"""The typed API of ServiceChange cases (starter.api)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models import change

from .cases import Cases


class Changes(Cases):
    """ServiceChange cases: planned work on many lines (docs/processes.md § Service change)."""

    case_type, workflow_type, status_type = "change", change.WORKFLOW_TYPE, change.ChangeStatus
    workflow_id = staticmethod(change.workflow_id)

    async def start(self, request: change.ChangeInput, *, existing_ok: bool = False
                    ) -> WorkflowHandle[Any, change.ChangeStatus]:
        return await self._start(
            request, customer_ref=None,
            summary=f"Change {request.change_id} · {request.kind} · window {request.window_start.isoformat()}",
            existing_ok=existing_ok, case_id=request.change_id)

    async def status(self, change_id: str) -> change.ChangeStatus:
        return await self._status(change_id)

    async def approve(self, change_id: str, request: change.ApproveChange) -> change.ChangeStatus:
        return await self._update(change_id, "approve", request)

    async def reject(self, change_id: str, request: change.RejectChange) -> change.ChangeStatus:
        return await self._update(change_id, "reject", request)

    async def reschedule(self, change_id: str, request: change.RescheduleChange) -> change.ChangeStatus:
        return await self._update(change_id, "reschedule", request)

    async def cancel(self, change_id: str, request: change.CancelChange) -> change.ChangeStatus:
        return await self._update(change_id, "cancel", request)
