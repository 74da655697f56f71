"""TerminationCleanup's second half (see `workflows.termination_cleanup`): billing stops and the final bill,
deprovisioning, then the aftercare windows — refund, equipment return, number quarantine — and the
retention period that ends with the erasure of personal data; and how a termination ends."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import Billing
    from activities.termination import Termination
    from models.identity import mask
    from models.records import CompensationKind, CompensationRecord, NotificationRecord
    from models.termination import (AccountClaim, DeprovisionRequest, Equipment, EquipmentCharge, EquipmentState,
                                    ErasureRequest, FinalBill, LineOutcome, LineResult, NumberRelease, Payment,
                                    PersonalData, Refund, RefundRequest, Settlement, TerminationInput,
                                    TerminationStage, TerminationState, erasure_time)

    from .actions import call
    from .case import Case, iso
    from .clocks import Firing

PAYMENT, REFUND, EQUIPMENT, QUARANTINE, RETENTION = "payment", "refund", "equipment", "quarantine", "retention"
AFTERCARE = (REFUND, EQUIPMENT, QUARANTINE)


class Aftercare(Case):
    request: TerminationInput
    stage: TerminationStage
    id_masked: str | None
    contract_end: date | None
    fee_fen: int
    outstanding_fen: int
    payments: list[Payment]
    lines: list[LineResult]
    equipment: list[Equipment]
    personal: PersonalData
    cancel_reason: str | None
    final_bill: FinalBill | None = None
    refund: Refund | None = None
    refunding: asyncio.Task[None] | None = None
    """Held so the running refund task is not garbage-collected."""

    async def _settle(self, months: int) -> None:
        policy, now = self.book.policy.termination, workflow.now()
        bill = await call(Billing.settle, Settlement(
            account_id=self.request.account_id, workflow_id=workflow.info().workflow_id,
            early_termination_fee_fen=self.fee_fen, at=now), "stop billing, issue the final bill")
        self.final_bill = bill
        compensations = []
        if bill.early_termination_fee_fen:
            compensations.append(CompensationRecord(
                key="early-termination-fee", kind=CompensationKind.early_termination_fee,
                amount_fen=bill.early_termination_fee_fen, period_start=now,
                reason=f"{months} whole month(s) left of the contract period ending {self.contract_end}: "
                       f"{policy.early_termination_fee_per_month_fen} fen a month, capped at "
                       f"{policy.early_termination_fee_cap_fen} fen"))
        refund_params: dict[str, Any] = {}
        if bill.refund_due_fen:
            await self.book.clocks.start(REFUND, policy.refund, now)
            self.refund = Refund(amount_fen=bill.refund_due_fen, due_at=self.book.clocks.deadlines()[REFUND])
            refund_params = {"refund_fen": bill.refund_due_fen, "refund_due_at": iso(self.refund.due_at)}
        await self.book.record(
            "settled", to_state=TerminationState.pendingTerminate, compensations=compensations,
            reason="obligations met: billing stopped, final bill issued"
                   + (f", {bill.refund_due_fen} fen prepaid balance to refund" if bill.refund_due_fen else ""),
            details={"final_bill": bill.model_dump(mode="json"), "outstanding_fen": 0},
            notifications=[self.to_customer("settled", "termination.final_bill", bill_id=bill.bill_id,
                                            closing_balance_fen=bill.closing_balance_fen,
                                            early_termination_fee_fen=bill.early_termination_fee_fen, **refund_params)])
        if self.refund is not None:
            self.refunding = asyncio.create_task(self._pay_refund(self.refund.amount_fen))

    async def _pay_refund(self, amount_fen: int) -> None:
        """Beside the rest: billing may take days, while the case's other clocks keep firing."""
        receipt = await call(Billing.refund, RefundRequest(account_id=self.request.account_id, amount_fen=amount_fen,
                                                           at=workflow.now()), "refund the prepaid balance")
        async with self.book.lock:
            assert self.refund is not None
            self.book.clocks.stop(REFUND)
            refund = self.refund = self.refund.model_copy(update={"reference": receipt.reference,
                                                                  "refunded_at": workflow.now()})
            self._update_stage()
            await self.book.record(
                "refunded", reason=f"prepaid balance of {amount_fen} fen refunded ({receipt.reference})",
                compensations=[CompensationRecord(key="refund", kind=CompensationKind.refund, amount_fen=amount_fen,
                                                  period_end=refund.refunded_at,
                                                  reason=f"prepaid balance after the final bill, due by "
                                                         f"{refund.due_at:%Y-%m-%d}")],
                details={"refunded_at": workflow.now().isoformat()},
                notifications=[self.to_customer("refunded", "termination.refunded", amount_fen=amount_fen)])

    async def _deprovision(self) -> None:
        policy, request, clocks, now = self.book.policy.termination, self.request, self.book.clocks, workflow.now()
        erase_at = erasure_time(now, policy, self.book.policy.timezone)
        await self.open_window(QUARANTINE, policy.quarantine, now, self._release_numbers)
        await self.open_window(RETENTION, policy.retention_clock(erase_at - now), now, self._erase)
        result = await call(Termination.deprovision, DeprovisionRequest(
            workflow_id=workflow.info().workflow_id, account_id=request.account_id,
            customer_ref=request.customer.customer_ref, services=request.services, port_out=request.port_out,
            quarantine_until=clocks.deadlines()[QUARANTINE], erase_at=erase_at, at=now), "deprovision the lines")
        self.lines = result.lines
        if not self._quarantined():
            self.close_window(QUARANTINE)
        if self.equipment:
            await self.open_window(EQUIPMENT, policy.equipment, now, self._charge_equipment, self._equipment_reminder)
        self.personal = PersonalData(restricted_at=now, erase_at=erase_at)
        self._update_stage()
        deadlines = clocks.deadlines()
        params: dict[str, Any] = {"erase_at": erase_at.isoformat()}
        if EQUIPMENT in deadlines:
            params |= {"equipment": [e.kind for e in self.equipment], "equipment_due": deadlines[EQUIPMENT].isoformat()}
        if QUARANTINE in deadlines:
            params["quarantine_until"] = deadlines[QUARANTINE].isoformat()
        await self.book.record(
            "terminated", to_state=TerminationState.terminated,
            reason=f"{len(self.lines)} line(s) deprovisioned; personal data processing stopped (PIPL Art. 47)",
            details={"lines": self._line_summary(), "processing_restricted_at": now.isoformat(),
                     "erase_at": erase_at.isoformat()},
            notifications=[self.to_customer("terminated", "termination.terminated", **params)])

    # --- the aftercare windows ----------------------------------------------------------

    async def _equipment_reminder(self, firing: Firing) -> None:
        assert firing.due_at is not None
        held = [e.kind for e in self.equipment if e.state is EquipmentState.held]
        await self.book.record(
            "equipment-reminder", reason=f"reminder: {', '.join(held)} still to return",
            notifications=[self.to_customer("equipment-reminder", "termination.equipment_reminder",
                                            equipment=held, due_at=firing.due_at.isoformat())])

    async def _charge_equipment(self, firing: Firing) -> None:
        held = [e for e in self.equipment if e.state is EquipmentState.held]
        policy = self.book.policy.termination
        charges = {e.serial: getattr(policy.equipment_charges, e.kind) for e in held}
        result = await call(Billing.charge_equipment, EquipmentCharge(
            account_id=self.request.account_id, charges_fen=charges, at=workflow.now()),
            "charge equipment not returned")
        self._update_equipment(result.items)
        self._update_stage()
        total = sum(charges.values())
        listed = ", ".join(f"{e.kind} {charges[e.serial]} fen" for e in held)
        await self.book.record(
            "equipment-charged", reason=f"equipment not returned within {policy.equipment.budget.days} days: charged",
            compensations=[CompensationRecord(key="equipment-charge", kind=CompensationKind.equipment_charge,
                                              amount_fen=total, period_end=firing.at,
                                              reason=f"not returned in time: {listed}")],
            details={"equipment": self._equipment_summary()},
            notifications=[self.to_customer("equipment-charged", "termination.equipment_charged", amount_fen=total,
                                            equipment=[e.kind for e in held])])

    async def _release_numbers(self, firing: Firing) -> None:
        numbers = [line.line_id for line in self.lines if line.outcome is LineOutcome.quarantined]
        await call(Termination.release_numbers, NumberRelease(numbers=numbers, at=workflow.now()),
                   "numbers back to the free pool")
        self.lines = [line.model_copy(update={"outcome": LineOutcome.released})
                      if line.outcome is LineOutcome.quarantined else line for line in self.lines]
        self._update_stage()
        await self.book.record(
            "numbers-released", reason=f"quarantine over: {len(numbers)} number(s) back in the free pool",
            details={"lines": self._line_summary()},
            notifications=[self.to_customer("numbers-released", "termination.numbers_released",
                                            lines=[mask(n) for n in numbers])])

    async def _erase(self, firing: Firing) -> None:
        request, policy = self.request, self.book.policy.termination
        minimums = "; ".join(f"{m.records} ≥ {m.months} months ({m.source})" for m in policy.retention_minimums)
        retained = {
            "billing records": f"billingaccount, billingentry, finalbill kept without personal data ({minimums})",
            "case records": f"case, caseevent, notification, compensation, archiveentry kept without personal data "
                            f"for the archive's {policy.archive_retention.days} days (guide ch. 7)"}
        certificate = await call(Termination.erase_personal_data, ErasureRequest(
            workflow_id=workflow.info().workflow_id, account_id=request.account_id,
            customer_ref=request.customer.customer_ref, services=request.services, at=workflow.now(),
            retained=retained), "erase the customer's personal data")
        self.id_masked = None
        self.personal = self.personal.model_copy(update={"erased_at": certificate.erased_at,
                                                         "certificate_id": certificate.certificate_id})
        self._update_stage()
        await self.book.record(
            "personal-data-erased", reason=f"retention over: personal data erased, certificate "
                                           f"{certificate.certificate_id}",
            details={"id_masked": None, "certificate_id": certificate.certificate_id,
                     "erased_at": certificate.erased_at.isoformat()})

    # --- the end ------------------------------------------------------------------------

    async def _cancel(self, actor: str, why: str, template: str, *staff: NotificationRecord) -> None:
        self.stage, self.cancel_reason = TerminationStage.cancelled, why
        await self.finish("cancelled", to_state=TerminationState.cancelled, actor=actor, reason=why,
                          summary=self._summary(TerminationState.cancelled), details={"cancel_reason": why},
                          notifications=[self.to_customer("cancelled", template), *staff])
        await self._release_claim()

    async def _close(self) -> None:
        self.stage = TerminationStage.closed
        await self.finish("closed", reason="termination complete: service ended, aftercare done, personal data erased",
                          summary=self._summary(TerminationState.terminated))
        await self._release_claim()

    async def _release_claim(self) -> None:
        await call(Termination.release_claim, self._claim(), f"release account {self.request.account_id}")

    def _summary(self, outcome: TerminationState) -> dict[str, object]:
        """What the archive keeps (ch. 7): the case's facts, no personal data."""
        return {"outcome": outcome, "stage": self.stage, "reason": self.request.reason,
                "port_out": self.request.port_out, "account_id": self.request.account_id,
                "lines": self._line_summary(), "early_termination_fee_fen": self.fee_fen,
                "payments_fen": sum(p.amount_fen for p in self.payments),
                "final_bill": self.final_bill.model_dump(mode="json") if self.final_bill else None,
                "refund_fen": self.refund.amount_fen if self.refund else 0, "equipment": self._equipment_summary(),
                "certificate_id": self.personal.certificate_id, "cancel_reason": self.cancel_reason}

    # --- helpers ------------------------------------------------------------------------

    def _claim(self) -> AccountClaim:
        return AccountClaim(account_id=self.request.account_id, workflow_id=workflow.info().workflow_id,
                            at=workflow.now())

    def _aftercare_done(self) -> bool:
        return not any(self.book.clocks.is_open(name) for name in (*AFTERCARE, RETENTION))

    def _quarantined(self) -> bool:
        return any(line.outcome is LineOutcome.quarantined for line in self.lines)

    def _update_stage(self) -> None:
        """After termination: aftercare while any of it is open, then storage-only retention."""
        if any(self.book.clocks.is_open(name) for name in AFTERCARE):
            self.stage = TerminationStage.aftercare
        elif self.book.clocks.is_open(RETENTION):
            self.stage = TerminationStage.retention

    def _update_equipment(self, items: list[Equipment]) -> None:
        ours = {e.serial for e in self.equipment}
        self.equipment = [e for e in items if e.serial in ours]

    def _equipment_summary(self) -> list[dict[str, object]]:
        return [{"kind": e.kind, "state": e.state, "charge_fen": e.charge_fen} for e in self.equipment]

    def _line_summary(self) -> list[dict[str, object]]:
        return [{"service_type": line.service_type, "outcome": line.outcome} for line in self.lines]

    @property
    def ended(self) -> bool:
        return self.stage in (TerminationStage.cancelled, TerminationStage.closed)

    def queue(self, clock: str) -> str:
        return self.book.policy.termination.billing_queue

    def awaiting(self) -> str | None:
        if self.stage is TerminationStage.received:
            return "checks of the account, ID and lines"
        if self.stage is TerminationStage.awaiting_payment:
            return f"payment of {self.outstanding_fen} fen"
        if self.stage is TerminationStage.settling:
            return "final bill and deprovisioning"
        if self.stage is TerminationStage.aftercare:
            return " and ".join(what for clock, what in ((EQUIPMENT, "equipment return"), (REFUND, "refund by billing"),
                                                         (QUARANTINE, "end of the number quarantine"))
                                if self.book.clocks.is_open(clock))
        if self.stage is TerminationStage.retention:
            return "end of the retention period (erasure of personal data)"
        return None

    def headline(self) -> str:
        return f"{self.state} · {self.stage}"
