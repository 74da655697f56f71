"""TerminationCleanup (spec §5, guide 6.2, 6.4): 受理 → 结清 → 停止计费与结算 → 拆机 → 设备回收 →
号码冷冻 → 个人信息删除 → 归档. The longest-lived case: it waits months on durable timers (the case's
clocks), so worker restarts and deployments in between lose nothing.

Where the spec is silent:
- One termination per account: after a read-only check, the first write claims the account (a row
  keyed by account id); a second request finds it held and fails before writing anything of its
  own. The claim is released when the case ends, cancelled or closed.
- Obligations first: the balance owed plus the early-termination fee must be paid (a prepaid credit
  counts) before anything stops. "Stop charging at once" is the moment they are met: billing stops
  in the same step as the final bill, before deprovisioning, so a cancelled request leaves the
  account as it was.
- The early-termination fee is per whole month left of the contract period, capped (policy): a
  charge on the final bill and a Compensation(early_termination_fee).
- Payments are booked until billing stops (one that was not due becomes credit, refunded with the
  final bill); one arriving later is billing's business.
- The customer may cancel while the request awaits payment; once billing stops it is too late.
- Equipment returns are accepted once the service is terminated, until the window ends; then the
  devices still held are charged once, and a later return is the billing desk's business.
- The payment, equipment and quarantine windows and the retention period are plain deadlines (no
  SLA events); the refund's 7 working days is the operator's SLA (warnings, escalation to billing).
- A reclaimed number becomes a new active line of the customer; billing it is a new account.
- Ported-out mobile numbers leave the pool (status `ported_out`) instead of resting in quarantine.
- Personal data: processing stops when the service ends (storage only). It is erased at the later
  of the policy's 180 days and the longest legal minimum counted in calendar months (six months can
  be 184 days: 180 would cut 网安法's six months short). The customer_ref links stay: it is the
  operator's internal id, also in our search attributes, and keeps the retained billing and case
  records attributable to the account; with the contact and ID hashes gone it names nobody here.
  The contact row itself stays while the customer still holds another account or line, or has
  another open case (it is still needed); the certificate says so.
- Nobody is notified after the erasure (we no longer hold a contact): the notice of termination
  gives its date.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.billing import Billing
    from activities.termination import Termination
    from models.common import CaseType, add_months
    from models.identity import mask
    from models.records import (ArchiveRecord, CaseFacts, Channel, CompensationKind, CompensationRecord,
                                NotificationRecord)
    from models.sla import SlaEventKind
    from models.termination import (PAYMENT_SIGNAL, PORTABLE_SERVICES, WORKFLOW_TYPE, AccountClaim, CancelTermination, CheckRequest,
                                    DeprovisionRequest, Equipment, EquipmentCharge, EquipmentReturn, EquipmentState,
                                    ErasureRequest, FinalBill, LineOutcome, LineResult, LineView, NumberReclaim,
                                    NumberRelease, Payment, PaymentReceived, PaymentRecord, PersonalData,
                                    ReclaimNumber, RecordEquipmentReturn, Refund, RefundRequest, RequestFacts,
                                    Settlement, TerminationInput, TerminationStage, TerminationState,
                                    TerminationStatus, erasure_time)

    from .case import CaseBook, UnknownNames, case_input, case_signal, invalid_input, local_date, refuse
    from .sla import Firing

PAYMENT, REFUND, EQUIPMENT, QUARANTINE, RETENTION = "payment", "refund", "equipment", "quarantine", "retention"
AFTERCARE = (REFUND, EQUIPMENT, QUARANTINE)
TIMEOUT = timedelta(seconds=30)
ADAPTER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                            maximum_interval=timedelta(minutes=1))
"""Outside systems being down is retried without limit (the case waits); their answers are final."""


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class TerminationCleanup(UnknownNames):
    @case_input
    def __init__(self, request: TerminationInput) -> None:
        self.request = request
        self.book = CaseBook(CaseType.termination, self._details)
        self.stage = TerminationStage.received
        self.id_masked: str | None = None
        self.contract_end: date | None = None
        self.fee_fen = 0
        self.outstanding_fen = 0
        self.payments: list[Payment] = []
        self.unbooked: list[PaymentReceived] = []
        self.references: set[str] = set()
        self.final_bill: FinalBill | None = None
        self.refund: Refund | None = None
        self.refunding: asyncio.Task | None = None
        """Held so the running refund task is not garbage-collected."""
        self.lines: list[LineResult] = []
        self.equipment: list[Equipment] = []
        self.personal = PersonalData()
        self.cancel_reason: str | None = None

    @workflow.run
    async def run(self, request: TerminationInput) -> TerminationStatus:
        if workflow.info().workflow_id != request.workflow_id:
            raise invalid_input(f"workflow id must be {request.workflow_id!r} for request {request.request_id!r}, "
                                f"not {workflow.info().workflow_id!r}")
        policy = (await self.book.bind_policy()).termination
        facts = await workflow.execute_activity_method(
            Termination.check_request,
            CheckRequest(account_id=request.account_id, services=request.services, identity=request.identity),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="check the account, ID and lines")
        self._refuse_invalid(facts)
        claim = await workflow.execute_activity_method(
            Termination.claim_account, self._claim(), start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY,
            summary=f"claim account {request.account_id}")
        if not claim.claimed:
            raise invalid_input(f"account_id: a termination of account {request.account_id} is already running "
                                f"({claim.held_by}); one termination per account at a time")
        account = facts.account
        assert account is not None
        self.id_masked, self.contract_end = facts.id_masked, account.contract_end
        self.lines = [LineResult(line_id=f.line_id, service_type=f.service_type, outcome=LineOutcome.active)
                      for f in facts.lines]
        self.equipment = [e for e in account.equipment if e.state is EquipmentState.held]
        months = _whole_months(local_date(workflow.now(), self.book.policy.timezone), account.contract_end)
        self.fee_fen = min(policy.early_termination_fee_cap_fen, months * policy.early_termination_fee_per_month_fen)
        self.outstanding_fen = max(0, account.balance_fen + self.fee_fen)

        async with self.book.lock:
            try:
                await self._receive(account.balance_fen, months)
            # e.g. a reused case id: the records refuse it, the claim must not stay. A local
            # activity's failure arrives as its ApplicationError, not wrapped in an ActivityError.
            except (ActivityError, ApplicationError):
                await self._release_claim()
                raise
        await self._obligations()
        if not self._ended:
            async with self.book.lock:
                await self._settle(months)
                await self._deprovision()
            await self.book.wait_until(self._aftercare_done, self._on_mark)
            async with self.book.lock:  # after a refund being recorded
                await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions and the billing signal -------------------------------------------

    @workflow.update(description="Store staff record rented equipment (光猫, 机顶盒) handed back.")
    async def record_equipment_return(self, request: RecordEquipmentReturn) -> TerminationStatus:
        async with self.book.acting():
            self._check_return(request)
            result = await workflow.execute_activity_method(
                Billing.return_equipment, EquipmentReturn(account_id=self.request.account_id, serials=request.serials,
                                                          at=workflow.now()),
                start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="record the equipment return")
            self._update_equipment(result.items)
            held = [e for e in self.equipment if e.state is EquipmentState.held]
            if not held:
                self.book.clocks.stop(EQUIPMENT)
            self._update_stage()
            returned = ", ".join(e.kind for e in self.equipment if e.serial in request.serials)
            await self.book.record(
                "equipment-returned", actor=request.actor,
                reason=f"returned: {returned}" + ("; all equipment is back" if not held else ""),
                facts=CaseFacts(details={"equipment": self._equipment_summary()}),
                notifications=[self._to_customer("equipment-returned", "termination.equipment_returned",
                                                 still_held=[e.kind for e in held])])
        return self.status()

    @record_equipment_return.validator
    def _check_return(self, request: RecordEquipmentReturn) -> None:
        if self._state is not TerminationState.terminated:
            raise refuse(f"the request is {self._state}: equipment is returned once the service is terminated")
        if not self._open(EQUIPMENT):
            raise refuse("no equipment return is open: none was rented, all is back, or the return window has "
                         "ended and the devices were charged (the billing desk handles later returns)")
        held = {e.serial for e in self.equipment if e.state is EquipmentState.held}
        unknown = [serial for serial in request.serials if serial not in held]
        if unknown:
            raise refuse(f"not a device of this account still to be returned: {', '.join(unknown)}")

    @workflow.update(description="The last holder reclaims a quarantined number (ID checked against the holder).")
    async def reclaim_number(self, request: ReclaimNumber) -> TerminationStatus:
        async with self.book.acting():
            self._check_reclaim(request)
            position = next(i for i, line in enumerate(self.lines) if line.line_id == request.number)
            result = await workflow.execute_activity_method(
                Termination.reclaim_number,
                NumberReclaim(order_id=f"RCL-{self.request.request_id}-{position + 1}", number=request.number,
                              identity=request.identity, customer_ref=self.request.customer.customer_ref,
                              at=workflow.now()),
                start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="reclaim a quarantined number")
            if not result.reclaimed:
                raise refuse(f"the number cannot be reclaimed: {result.reason}")
            self.lines[position] = self.lines[position].model_copy(update={"outcome": LineOutcome.reclaimed})
            if not self._quarantined():
                self.book.clocks.stop(QUARANTINE)
            self._update_stage()
            await self.book.record(
                "number-reclaimed", actor=request.actor,
                reason=f"line {position + 1} reclaimed by its last holder during the quarantine",
                facts=CaseFacts(details={"lines": self._line_summary()}),
                notifications=[self._to_customer("number-reclaimed", "termination.number_reclaimed",
                                                 line=mask(request.number))])
        return self.status()

    @reclaim_number.validator
    def _check_reclaim(self, request: ReclaimNumber) -> None:
        line = next((line for line in self.lines if line.line_id == request.number), None)
        if line is None:
            raise refuse("this number is not one of the lines of this termination")
        if line.outcome is not LineOutcome.quarantined or not self._open(QUARANTINE):
            raise refuse(f"the number is {line.outcome}: only a number in quarantine can be reclaimed")

    @workflow.update(description="The customer withdraws the request while it awaits payment.")
    async def cancel(self, request: CancelTermination) -> TerminationStatus:
        async with self.book.acting():
            self._check_cancel(request)
            await self._cancel(request.actor, f"cancelled by {request.actor}: {request.reason}",
                               "termination.cancelled")
        return self.status()

    @cancel.validator
    def _check_cancel(self, request: CancelTermination) -> None:
        if self._ended:
            raise refuse(f"the request is {self._state}: there is nothing to cancel")
        if self.stage not in (TerminationStage.received, TerminationStage.awaiting_payment):
            raise refuse("billing has stopped and the service is being terminated: the request can no longer be "
                         "cancelled")
        # While received, the checks may still be running: the handler checks again once they have.

    @case_signal(PAYMENT_SIGNAL, "Billing reports a payment (fire-and-forget, once per reference).")
    def payment_received(self, payment: PaymentReceived) -> None:
        if payment.reference in self.references:
            return
        if self.stage not in (TerminationStage.received, TerminationStage.awaiting_payment):
            workflow.logger.warning("ignored payment %s: the request is %s, no payment is awaited",
                                    payment.reference, self.stage)
            return
        self.references.add(payment.reference)
        self.unbooked.append(payment)

    @workflow.query(description="Where the termination stands: state, stage, money, lines, equipment, deadlines.")
    def status(self) -> TerminationStatus:
        request, clocks = self.request, self.book.clocks
        until = clocks.deadlines().get(QUARANTINE)
        return TerminationStatus(
            request_id=request.request_id, account_id=request.account_id, state=self._state, stage=self.stage,
            awaiting=self._awaiting(), reason=request.reason, port_out=request.port_out,
            id_type=request.identity.id_type, id_masked=self.id_masked, outstanding_fen=self.outstanding_fen,
            early_termination_fee_fen=self.fee_fen, payments=self.payments, final_bill=self.final_bill,
            refund=self.refund,
            lines=[LineView(line_masked=mask(line.line_id), service_type=line.service_type, outcome=line.outcome,
                            quarantine_until=until if line.outcome is LineOutcome.quarantined else None)
                   for line in self.lines],
            equipment=self.equipment, personal_data=self.personal, cancel_reason=self.cancel_reason,
            deadlines=clocks.deadlines(), clocks=clocks.status(workflow.now()), history=list(self.book.history),
            policy_version=self.book.policy.version)

    # --- the request and its obligations ------------------------------------------------

    def _refuse_invalid(self, facts: RequestFacts) -> None:
        request = self.request
        if not facts.account_found:
            raise invalid_input(f"account_id: no account {request.account_id}")
        if not facts.identity_matches:
            raise invalid_input(f"identity: the ID document is not that of the holder of account {request.account_id}")
        account = facts.account
        assert account is not None
        if account.customer_ref != request.customer.customer_ref:
            raise invalid_input(f"customer.customer_ref: account {request.account_id} belongs to another customer")
        if not account.active:
            raise invalid_input(f"account_id: account {request.account_id} is already terminated")
        unknown = [str(i + 1) for i, line in enumerate(facts.lines) if line.service_type is None]
        if unknown:
            raise invalid_input(f"services: line(s) {', '.join(unknown)} are not active lines of account "
                                f"{request.account_id}")
        if request.port_out and not any(line.service_type in PORTABLE_SERVICES for line in facts.lines):
            raise invalid_input("port_out: none of these lines is a mobile number (携号转网 ports mobile numbers)")

    async def _receive(self, balance_fen: int, months: int) -> None:
        policy, request, now = self.book.policy.termination, self.request, workflow.now()
        notes = [self._to_customer("received", "termination.received", lines=len(request.services))]
        reason = f"termination of {len(request.services)} line(s) requested ({request.reason})"
        if self.outstanding_fen:
            self.stage = TerminationStage.awaiting_payment
            await self.book.clocks.start(PAYMENT, policy.payment, now)
            due = self.book.clocks.deadlines()[PAYMENT]
            notes.append(self._to_customer("received", "termination.payment_due", amount_fen=self.outstanding_fen,
                                           early_termination_fee_fen=self.fee_fen, due_at=due.isoformat()))
            reason += f": {self.outstanding_fen} fen to pay first, by {due:%Y-%m-%d}"
        else:
            self.stage = TerminationStage.settling
        await self.book.record(
            "received", to_state=TerminationState.active, contact=request.customer, reason=reason,
            facts=CaseFacts(customer_ref=request.customer.customer_ref, policy=self.book.policy.model_dump(mode="json"),
                            details={"account_id": request.account_id, "reason": request.reason,
                                     "port_out": request.port_out, "services": [str(l.service_type) for l in self.lines],
                                     "id_type": request.identity.id_type, "id_masked": self.id_masked,
                                     "balance_fen": balance_fen, "early_termination_fee_fen": self.fee_fen,
                                     "contract_months_left": months, "outstanding_fen": self.outstanding_fen,
                                     "equipment": self._equipment_summary()}),
            notifications=notes)

    async def _obligations(self) -> None:
        """Book payments as billing reports them, until nothing is due or the request is cancelled."""
        while not self._ended:
            async with self.book.lock:
                while self.unbooked and not self._ended:
                    await self._book_payment(self.unbooked.pop(0))
            if not self.outstanding_fen or self._ended:
                return
            await self.book.wait_until(lambda: self._ended or bool(self.unbooked), self._on_mark)

    async def _book_payment(self, payment: PaymentReceived) -> None:
        balance = await workflow.execute_activity_method(
            Billing.record_payment, PaymentRecord(account_id=self.request.account_id, reference=payment.reference,
                                                  amount_fen=payment.amount_fen, at=workflow.now()),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary=f"book payment {payment.reference}")
        self.payments.append(Payment(reference=payment.reference, amount_fen=payment.amount_fen, at=workflow.now()))
        self.outstanding_fen = max(0, balance.balance_fen + self.fee_fen)
        if not self.outstanding_fen and self._open(PAYMENT):
            self.book.clocks.stop(PAYMENT)
            self.stage = TerminationStage.settling
        await self.book.record(
            "payment", reason=f"payment {payment.reference} of {payment.amount_fen} fen received"
                              + (f"; {self.outstanding_fen} fen still due" if self.outstanding_fen else
                                 "; obligations met"),
            facts=CaseFacts(details={"outstanding_fen": self.outstanding_fen, "payments": len(self.payments)}),
            notifications=[self._to_customer("payment", "termination.payment_received",
                                             amount_fen=payment.amount_fen, outstanding_fen=self.outstanding_fen)])

    # --- stop billing, settle, deprovision ----------------------------------------------

    async def _settle(self, months: int) -> None:
        policy, now = self.book.policy.termination, workflow.now()
        bill = await workflow.execute_activity_method(
            Billing.settle, Settlement(account_id=self.request.account_id, workflow_id=workflow.info().workflow_id,
                                       early_termination_fee_fen=self.fee_fen, at=now),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="stop billing, issue the final bill")
        self.final_bill = bill
        compensations = []
        if bill.early_termination_fee_fen:
            compensations.append(CompensationRecord(
                key="early-termination-fee", kind=CompensationKind.early_termination_fee,
                amount_fen=bill.early_termination_fee_fen, period_start=now,
                reason=f"{months} whole month(s) left of the contract period ending {self.contract_end}: "
                       f"{policy.early_termination_fee_per_month_fen} fen a month, capped at "
                       f"{policy.early_termination_fee_cap_fen} fen"))
        refund_params = {}
        if bill.refund_due_fen:
            await self.book.clocks.start(REFUND, policy.refund, now)
            self.refund = Refund(amount_fen=bill.refund_due_fen, due_at=self.book.clocks.deadlines()[REFUND])
            refund_params = {"refund_fen": bill.refund_due_fen, "refund_due_at": self.refund.due_at.isoformat()}
        await self.book.record(
            "settled", to_state=TerminationState.pendingTerminate, compensations=compensations,
            reason="obligations met: billing stopped, final bill issued"
                   + (f", {bill.refund_due_fen} fen prepaid balance to refund" if bill.refund_due_fen else ""),
            facts=CaseFacts(details={"final_bill": bill.model_dump(mode="json"), "outstanding_fen": 0}),
            notifications=[self._to_customer("settled", "termination.final_bill", bill_id=bill.bill_id,
                                             closing_balance_fen=bill.closing_balance_fen,
                                             early_termination_fee_fen=bill.early_termination_fee_fen, **refund_params)])
        if self.refund is not None:
            self.refunding = asyncio.create_task(self._pay_refund(self.refund.amount_fen))

    async def _pay_refund(self, amount_fen: int) -> None:
        """Beside the rest: billing may take days, while the case's other clocks keep firing."""
        receipt = await workflow.execute_activity_method(
            Billing.refund, RefundRequest(account_id=self.request.account_id, amount_fen=amount_fen, at=workflow.now()),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="refund the prepaid balance")
        async with self.book.lock:
            assert self.refund is not None
            self.book.clocks.stop(REFUND)
            self.refund = self.refund.model_copy(update={"reference": receipt.reference,
                                                         "refunded_at": workflow.now()})
            self._update_stage()
            await self.book.record(
                "refunded", reason=f"prepaid balance of {amount_fen} fen refunded ({receipt.reference})",
                compensations=[CompensationRecord(key="refund", kind=CompensationKind.refund, amount_fen=amount_fen,
                                                  period_end=self.refund.refunded_at,
                                                  reason=f"prepaid balance after the final bill, due by "
                                                         f"{self.refund.due_at:%Y-%m-%d}")],
                facts=CaseFacts(details={"refunded_at": self.refund.refunded_at.isoformat()}),
                notifications=[self._to_customer("refunded", "termination.refunded", amount_fen=amount_fen)])

    async def _deprovision(self) -> None:
        policy, request, clocks, now = self.book.policy.termination, self.request, self.book.clocks, workflow.now()
        erase_at = erasure_time(now, policy, self.book.policy.timezone)
        await clocks.start(QUARANTINE, policy.quarantine, now)
        await clocks.start(RETENTION, policy.retention_clock(erase_at - now), now)
        result = await workflow.execute_activity_method(
            Termination.deprovision,
            DeprovisionRequest(workflow_id=workflow.info().workflow_id, account_id=request.account_id,
                               customer_ref=request.customer.customer_ref, services=request.services,
                               port_out=request.port_out, quarantine_until=clocks.deadlines()[QUARANTINE],
                               erase_at=erase_at, at=now),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="deprovision the lines")
        self.lines = result.lines
        if not self._quarantined():
            del clocks.clocks[QUARANTINE]
        if self.equipment:
            await clocks.start(EQUIPMENT, policy.equipment, now)
        self.personal = PersonalData(restricted_at=now, erase_at=erase_at)
        self._update_stage()
        deadlines = clocks.deadlines()
        params = {"erase_at": erase_at.isoformat()}
        if EQUIPMENT in deadlines:
            params |= {"equipment": [e.kind for e in self.equipment], "equipment_due": deadlines[EQUIPMENT].isoformat()}
        if QUARANTINE in deadlines:
            params["quarantine_until"] = deadlines[QUARANTINE].isoformat()
        await self.book.record(
            "terminated", to_state=TerminationState.terminated,
            reason=f"{len(self.lines)} line(s) deprovisioned; personal data processing stopped (PIPL Art. 47)",
            facts=CaseFacts(details={"lines": self._line_summary(), "processing_restricted_at": now.isoformat(),
                                     "erase_at": erase_at.isoformat()}),
            notifications=[self._to_customer("terminated", "termination.terminated", **params)])

    # --- deadlines ----------------------------------------------------------------------

    async def _on_mark(self, firing: Firing) -> None:
        if self._ended:
            return  # a mark due at the instant the case ended
        handler = {PAYMENT: self._on_payment_mark, REFUND: self._on_refund_mark, EQUIPMENT: self._on_equipment_mark,
                   QUARANTINE: self._release_numbers, RETENTION: self._erase}[firing.clock]
        await handler(firing)

    async def _on_payment_mark(self, firing: Firing) -> None:
        """The customer's window to pay: a reminder, then the request is cancelled. No SLA events."""
        if firing.mark.kind is SlaEventKind.warning:
            await self.book.record(
                "payment-reminder", reason=f"reminder: {self.outstanding_fen} fen still due",
                notifications=[self._to_customer("payment-reminder", "termination.payment_reminder",
                                                 amount_fen=self.outstanding_fen, due_at=firing.due_at.isoformat())])
            return
        del self.book.clocks.clocks[PAYMENT]
        policy = self.book.policy.termination
        days = policy.payment.budget.days
        await self._cancel("system", f"{self.outstanding_fen} fen not paid within {days} days: left to the arrears "
                                     "process", "termination.cancelled_unpaid",
                           self._to_staff("cancelled", policy.arrears_queue, "termination.unpaid_balance",
                                          account_id=self.request.account_id, amount_fen=self.outstanding_fen))

    async def _on_refund_mark(self, firing: Firing) -> None:
        """The operator's refund SLA: warnings and the escalation ladder go to billing's staff."""
        mark, queue = firing.mark, self.book.policy.termination.billing_queue
        step = f"refund-{mark.label}"
        if mark.kind is SlaEventKind.escalation:
            await self.book.record(step, reason=f"refund overdue: escalated to {mark.escalation.to}",
                                   sla_events=[firing.record()],
                                   notifications=[self._to_staff(step, mark.escalation.to, "sla.escalation",
                                                                 clock=REFUND)])
            return
        await self.book.record(step, reason=f"refund deadline {mark.label}", sla_events=[firing.record()],
                               notifications=[self._to_staff(step, queue, "sla.warning" if mark.kind is
                                                             SlaEventKind.warning else "sla.breach", clock=REFUND,
                                                             due_at=firing.due_at.isoformat())])

    async def _on_equipment_mark(self, firing: Firing) -> None:
        held = [e for e in self.equipment if e.state is EquipmentState.held]
        if firing.mark.kind is SlaEventKind.warning:
            await self.book.record(
                "equipment-reminder", reason=f"reminder: {', '.join(e.kind for e in held)} still to return",
                notifications=[self._to_customer("equipment-reminder", "termination.equipment_reminder",
                                                 equipment=[e.kind for e in held], due_at=firing.due_at.isoformat())])
            return
        del self.book.clocks.clocks[EQUIPMENT]
        policy = self.book.policy.termination
        charges = {e.serial: getattr(policy.equipment_charges, e.kind) for e in held}
        result = await workflow.execute_activity_method(
            Billing.charge_equipment, EquipmentCharge(account_id=self.request.account_id, charges_fen=charges,
                                                      at=workflow.now()),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="charge equipment not returned")
        self._update_equipment(result.items)
        self._update_stage()
        total = sum(charges.values())
        listed = ", ".join(f"{e.kind} {charges[e.serial]} fen" for e in held)
        await self.book.record(
            "equipment-charged", reason=f"equipment not returned within {policy.equipment.budget.days} days: charged",
            compensations=[CompensationRecord(key="equipment-charge", kind=CompensationKind.equipment_charge,
                                              amount_fen=total, period_end=firing.at,
                                              reason=f"not returned in time: {listed}")],
            facts=CaseFacts(details={"equipment": self._equipment_summary()}),
            notifications=[self._to_customer("equipment-charged", "termination.equipment_charged", amount_fen=total,
                                             equipment=[e.kind for e in held])])

    async def _release_numbers(self, firing: Firing) -> None:
        del self.book.clocks.clocks[QUARANTINE]
        numbers = [line.line_id for line in self.lines if line.outcome is LineOutcome.quarantined]
        await workflow.execute_activity_method(
            Termination.release_numbers, NumberRelease(numbers=numbers, at=workflow.now()),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="numbers back to the free pool")
        self.lines = [line.model_copy(update={"outcome": LineOutcome.released})
                      if line.outcome is LineOutcome.quarantined else line for line in self.lines]
        self._update_stage()
        await self.book.record(
            "numbers-released", reason=f"quarantine over: {len(numbers)} number(s) back in the free pool",
            facts=CaseFacts(details={"lines": self._line_summary()}),
            notifications=[self._to_customer("numbers-released", "termination.numbers_released",
                                             lines=[mask(n) for n in numbers])])

    async def _erase(self, firing: Firing) -> None:
        del self.book.clocks.clocks[RETENTION]
        request, policy = self.request, self.book.policy.termination
        minimums = "; ".join(f"{m.records} ≥ {m.months} months ({m.source})" for m in policy.retention_minimums)
        retained = {
            "billing records": f"billingaccount, billingentry, finalbill kept without personal data ({minimums})",
            "case records": f"case, caseevent, notification, compensation, archiveentry kept without personal data "
                            f"for the archive's {policy.archive_retention.days} days (guide ch. 7)"}
        certificate = await workflow.execute_activity_method(
            Termination.erase_personal_data,
            ErasureRequest(workflow_id=workflow.info().workflow_id, account_id=request.account_id,
                           customer_ref=request.customer.customer_ref, services=request.services,
                           at=workflow.now(), retained=retained),
            start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY, summary="erase the customer's personal data")
        self.id_masked = None
        self.personal = self.personal.model_copy(update={"erased_at": certificate.erased_at,
                                                         "certificate_id": certificate.certificate_id})
        self._update_stage()
        await self.book.record(
            "personal-data-erased", reason=f"retention over: personal data erased, certificate "
                                           f"{certificate.certificate_id}",
            facts=CaseFacts(details={"id_masked": None, "certificate_id": certificate.certificate_id,
                                     "erased_at": certificate.erased_at.isoformat()}))

    # --- the end ------------------------------------------------------------------------

    async def _cancel(self, actor: str, why: str, template: str, *staff: NotificationRecord) -> None:
        for name, clock in self.book.clocks.clocks.items():
            if not clock.stopped:
                self.book.clocks.stop(name)
        self.stage, self.cancel_reason = TerminationStage.cancelled, why
        await self.book.record(
            "cancelled", to_state=TerminationState.cancelled, actor=actor, reason=why, closed=True,
            facts=CaseFacts(details={"cancel_reason": why}), archive=self._archive(TerminationState.cancelled),
            notifications=[self._to_customer("cancelled", template), *staff])
        await self._release_claim()

    async def _close(self) -> None:
        self.stage = TerminationStage.closed
        await self.book.record("closed", reason="termination complete: service ended, aftercare done, personal "
                                                "data erased", closed=True,
                               archive=self._archive(TerminationState.terminated))
        await self._release_claim()

    async def _release_claim(self) -> None:
        await workflow.execute_activity_method(
            Termination.release_claim, self._claim(), start_to_close_timeout=TIMEOUT, retry_policy=ADAPTER_RETRY,
            summary=f"release account {self.request.account_id}")

    def _archive(self, outcome: TerminationState) -> ArchiveRecord:
        """What the archive keeps (ch. 7): the case's facts, no personal data."""
        policy = self.book.policy.termination
        summary = {"outcome": outcome, "stage": self.stage, "reason": self.request.reason,
                   "port_out": self.request.port_out, "account_id": self.request.account_id,
                   "lines": [{"service_type": line.service_type, "outcome": line.outcome} for line in self.lines],
                   "early_termination_fee_fen": self.fee_fen, "payments_fen": sum(p.amount_fen for p in self.payments),
                   "final_bill": self.final_bill.model_dump(mode="json") if self.final_bill else None,
                   "refund_fen": self.refund.amount_fen if self.refund else 0,
                   "equipment": self._equipment_summary(), "certificate_id": self.personal.certificate_id,
                   "cancel_reason": self.cancel_reason}
        return ArchiveRecord(classification="termination", retention=policy.archive_retention, summary=summary)

    # --- helpers ------------------------------------------------------------------------

    def _claim(self) -> AccountClaim:
        return AccountClaim(account_id=self.request.account_id, workflow_id=workflow.info().workflow_id,
                            at=workflow.now())

    def _aftercare_done(self) -> bool:
        return not any(self._open(name) for name in (*AFTERCARE, RETENTION))

    def _open(self, clock: str) -> bool:
        return clock in self.book.clocks.clocks and not self.book.clocks.clocks[clock].stopped

    def _quarantined(self) -> bool:
        return any(line.outcome is LineOutcome.quarantined for line in self.lines)

    def _update_stage(self) -> None:
        """After termination: aftercare while any of it is open, then storage-only retention."""
        if any(self._open(name) for name in AFTERCARE):
            self.stage = TerminationStage.aftercare
        elif self._open(RETENTION):
            self.stage = TerminationStage.retention

    def _update_equipment(self, items: list[Equipment]) -> None:
        ours = {e.serial for e in self.equipment}
        self.equipment = [e for e in items if e.serial in ours]

    def _equipment_summary(self) -> list[dict[str, object]]:
        return [{"kind": e.kind, "state": e.state, "charge_fen": e.charge_fen} for e in self.equipment]

    def _line_summary(self) -> list[dict[str, object]]:
        return [{"service_type": line.service_type, "outcome": line.outcome} for line in self.lines]

    def _to_customer(self, step: str, template: str, **params: object) -> NotificationRecord:
        return self.book.notification(step, template, self.request.customer.customer_ref, Channel.sms,
                                      request_id=self.request.request_id, **params)

    def _to_staff(self, step: str, role: str, template: str, **params: object) -> NotificationRecord:
        return self.book.notification(step, template, role, Channel.staff, request_id=self.request.request_id,
                                      **params)

    @property
    def _state(self) -> TerminationState:
        return TerminationState(self.book.state or TerminationState.active)

    @property
    def _ended(self) -> bool:
        return self.stage in (TerminationStage.cancelled, TerminationStage.closed)

    def _awaiting(self) -> str | None:
        stage = self.stage
        if stage is TerminationStage.received:
            return "checks of the account, ID and lines"
        if stage is TerminationStage.awaiting_payment:
            return f"payment of {self.outstanding_fen} fen"
        if stage is TerminationStage.settling:
            return "final bill and deprovisioning"
        if stage is TerminationStage.aftercare:
            open_ = [what for clock, what in ((EQUIPMENT, "equipment return"), (REFUND, "refund by billing"),
                                              (QUARANTINE, "end of the number quarantine")) if self._open(clock)]
            return " and ".join(open_)
        if stage is TerminationStage.retention:
            return "end of the retention period (erasure of personal data)"
        return None

    def _details(self) -> str:
        parts = [f"{self._state} · {self.stage}"]
        if self._awaiting():
            parts.append(f"awaiting {self._awaiting()}")
        parts += [f"{name} due {at:%Y-%m-%d %H:%M} UTC" for name, at in sorted(self.book.clocks.deadlines().items())]
        return " · ".join(parts)


def _whole_months(today: date, contract_end: date | None) -> int:
    """Whole months left of a contract period (a started month does not count: the customer's favour)."""
    if contract_end is None or contract_end <= today:
        return 0
    months = (contract_end.year - today.year) * 12 + contract_end.month - today.month
    return months if add_months(today, months) <= contract_end else months - 1
