"""The typed API of FaultRepair cases (starter.api)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models import fault

from .cases import Cases


class Faults(Cases):
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
