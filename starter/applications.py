"""The typed API of ApplicationReview cases (starter.api)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models import application

from .cases import Cases


class Applications(Cases):
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
