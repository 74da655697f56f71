"""The typed API of TerminationCleanup cases (starter.api)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models import termination

from .cases import Cases


class Terminations(Cases):
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
