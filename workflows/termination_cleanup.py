"""TerminationCleanup (docs/processes.md § Termination cleanup, guide 6.2, 6.4): 受理 → 结清 → 停止计费与结算
→ 拆机 → 设备回收 → 号码冷冻 → 个人信息删除 → 归档. The longest-lived case: it waits months on durable
timers, so worker restarts and deployments in between lose nothing. The request and its obligations
are here; settlement and aftercare are in `workflows.termination_aftercare`."""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.billing import Billing
    from activities.termination import Termination
    from models.common import CaseType, add_months
    from models.identity import mask
    from models.termination import (ALL_EQUIPMENT_BACK, PAYMENT_SIGNAL, PORTABLE_SERVICES, WORKFLOW_TYPE,
                                    CancelTermination, CheckRequest, Equipment, EquipmentReturn, EquipmentState,
                                    LineOutcome, LineResult, LineView, NumberReclaim, Payment, PaymentReceived,
                                    PaymentRecord, PersonalData, ReclaimNumber, RecordEquipmentReturn, RequestFacts,
                                    TerminationInput, TerminationStage, TerminationState, TerminationStatus)

    from .actions import Actions, call, invalid_input, process, refuse
    from .case import local_date
    from .clocks import Firing
    from .inbound import case_input, case_signal
    from .termination_aftercare import EQUIPMENT, PAYMENT, QUARANTINE, Aftercare

action = Actions(TerminationStatus)
AWAITING_PAYMENT = (TerminationStage.received, TerminationStage.awaiting_payment)


@process(WORKFLOW_TYPE)
class TerminationCleanup(Aftercare):
    State, NOUN = TerminationState, "the request"

    @case_input
    def __init__(self, request: TerminationInput) -> None:
        self.request = request
        self.requested_at: datetime = request.requested_at or workflow.now()
        self.open_case(CaseType.termination, request.customer.customer_ref, request_id=request.request_id)
        self.stage = TerminationStage.received
        self.id_masked: str | None = None
        self.contract_end: date | None = None
        self.fee_fen = self.outstanding_fen = 0
        self.payments: list[Payment] = []
        self.unbooked: list[PaymentReceived] = []
        self.references: set[str] = set()
        self.lines: list[LineResult] = []
        self.equipment: list[Equipment] = []
        self.personal = PersonalData()
        self.cancel_reason: str | None = None

    @workflow.run
    async def run(self, request: TerminationInput) -> TerminationStatus:
        policy = (await self.begin(request.workflow_id, f"request {request.request_id!r}",
                                   ("requested_at", self.requested_at))).termination
        facts = await call(Termination.check_request, CheckRequest(
            account_id=request.account_id, services=request.services, identity=request.identity),
            "check the account, ID and lines")
        self._refuse_invalid(facts)
        claim = await call(Termination.claim_account, self._claim(), f"claim account {request.account_id}")
        if not claim.claimed:
            raise invalid_input("account_id", f"a termination of account {request.account_id} is already running "
                                              f"({claim.held_by}); one termination per account at a time")
        account = facts.account
        assert account is not None
        self.id_masked, self.contract_end = facts.id_masked, account.contract_end
        self.lines = [LineResult(line_id=f.line_id, service_type=f.service_type, outcome=LineOutcome.active)
                      for f in facts.lines if f.service_type is not None]  # all are: unknown lines were refused
        self.equipment = [e for e in account.equipment if e.state is EquipmentState.held]
        asked = request.requested_at or workflow.now()  # the contract's months left when the customer asked
        months = _whole_months(local_date(asked, self.book.policy.timezone), account.contract_end)
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
        if not self.ended:
            async with self.book.lock:
                await self._settle(months)
                await self._deprovision()
            await self.wait(self._aftercare_done)
            async with self.book.lock:  # after a refund being recorded
                await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions and the billing signal -------------------------------------------

    def _returnable(self, request: RecordEquipmentReturn) -> None:
        if not self.book.clocks.is_open(EQUIPMENT):
            raise refuse("no equipment return is open: none was rented, all is back, or the return window has "
                         "ended and the devices were charged (the billing desk handles later returns)")
        held = {e.serial for e in self.equipment if e.state is EquipmentState.held}
        unknown = [serial for serial in request.serials if serial not in held]
        if unknown:
            raise refuse(f"not a device of this account still to be returned: {', '.join(unknown)}")

    @action("Store staff record rented equipment (光猫, 机顶盒) handed back.", check=_returnable,
            allowed=(TerminationState.terminated,), refusal="equipment is returned once the service is terminated")
    async def record_equipment_return(self, request: RecordEquipmentReturn) -> None:
        result = await call(Billing.return_equipment, EquipmentReturn(
            account_id=self.request.account_id, serials=request.serials, at=workflow.now()),
            "record the equipment return")
        self._update_equipment(result.items)
        held = [e for e in self.equipment if e.state is EquipmentState.held]
        if not held:
            self.close_window(EQUIPMENT)
        self._update_stage()
        returned = ", ".join(e.kind for e in self.equipment if e.serial in request.serials)
        await self.book.record(
            "equipment-returned", actor=request.actor, details={"equipment": self._equipment_summary()},
            reason=f"returned: {returned}" + (f"; {ALL_EQUIPMENT_BACK}" if not held else ""),
            notifications=[self.to_customer("equipment-returned", "termination.equipment_returned",
                                            still_held=[e.kind for e in held])])

    def _in_quarantine(self, request: ReclaimNumber) -> None:
        line = next((line for line in self.lines if line.line_id == request.number), None)
        if line is None:
            raise refuse("this number is not one of the lines of this termination")
        if line.outcome is not LineOutcome.quarantined or not self.book.clocks.is_open(QUARANTINE):
            raise refuse(f"the number is {line.outcome}: only a number in quarantine can be reclaimed")

    @action("The last holder reclaims a quarantined number (ID checked against the holder).", check=_in_quarantine)
    async def reclaim_number(self, request: ReclaimNumber) -> None:
        position = next(i for i, line in enumerate(self.lines) if line.line_id == request.number)
        result = await call(Termination.reclaim_number, NumberReclaim(
            order_id=f"RCL-{self.request.request_id}-{position + 1}", number=request.number,
            identity=request.identity, customer_ref=self.request.customer.customer_ref, at=workflow.now()),
            "reclaim a quarantined number")
        if not result.reclaimed:
            raise refuse(f"the number cannot be reclaimed: {result.reason}")
        self.lines[position] = self.lines[position].model_copy(update={"outcome": LineOutcome.reclaimed})
        if not self._quarantined():
            self.close_window(QUARANTINE)
        self._update_stage()
        await self.book.record(
            "number-reclaimed", actor=request.actor, details={"lines": self._line_summary()},
            reason=f"line {position + 1} reclaimed by its last holder during the quarantine",
            notifications=[self.to_customer("number-reclaimed", "termination.number_reclaimed",
                                            line=mask(request.number))])

    def _cancellable(self, request: CancelTermination) -> None:
        if self.ended:
            raise refuse(f"the request is {self.state}: there is nothing to cancel")
        if self.stage not in AWAITING_PAYMENT:
            raise refuse("billing has stopped and the service is being terminated: the request can no longer be "
                         "cancelled")
        # While received, the checks may still be running: the handler checks again once they have.

    @action("The customer withdraws the request while it awaits payment.", check=_cancellable)
    async def cancel(self, request: CancelTermination) -> None:
        await self._cancel(request.actor, f"cancelled by {request.actor}: {request.reason}", "termination.cancelled")

    @case_signal(PAYMENT_SIGNAL, "Billing reports a payment (fire-and-forget, once per reference).")
    def payment_received(self, payment: PaymentReceived) -> None:
        if payment.reference in self.references:
            return
        if self.stage not in AWAITING_PAYMENT:
            workflow.logger.warning("ignored payment %s: the request is %s, no payment is awaited",
                                    payment.reference, self.stage)
            return
        self.references.add(payment.reference)
        self.unbooked.append(payment)

    @workflow.query(description="Where the termination stands: state, stage, money, lines, equipment, deadlines.")
    def status(self) -> TerminationStatus:
        request, until = self.request, self.book.clocks.deadlines().get(QUARANTINE)
        return TerminationStatus(
            **self.status_fields(), request_id=request.request_id, account_id=request.account_id, stage=self.stage,
            reason=request.reason, requested_at=self.requested_at, port_out=request.port_out,
            id_type=request.identity.id_type,
            id_masked=self.id_masked, outstanding_fen=self.outstanding_fen, early_termination_fee_fen=self.fee_fen,
            payments=self.payments, final_bill=self.final_bill, refund=self.refund,
            lines=[LineView(line_masked=mask(line.line_id), service_type=line.service_type, outcome=line.outcome,
                            quarantine_until=until if line.outcome is LineOutcome.quarantined else None)
                   for line in self.lines],
            equipment=self.equipment, personal_data=self.personal, cancel_reason=self.cancel_reason)

    # --- the request and its obligations ------------------------------------------------

    def _refuse_invalid(self, facts: RequestFacts) -> None:
        request = self.request
        if not facts.account_found:
            raise invalid_input("account_id", f"no account {request.account_id}")
        if not facts.identity_matches:
            raise invalid_input("identity", f"the ID document is not that of the holder of account "
                                            f"{request.account_id}")
        account = facts.account
        assert account is not None
        if account.customer_ref != request.customer.customer_ref:
            raise invalid_input("customer.customer_ref", f"account {request.account_id} belongs to another customer")
        if not account.active:
            raise invalid_input("account_id", f"account {request.account_id} is already terminated")
        unknown = [str(i + 1) for i, line in enumerate(facts.lines) if line.service_type is None]
        if unknown:
            raise invalid_input("services", f"line(s) {', '.join(unknown)} are not active lines of account "
                                            f"{request.account_id}")
        if request.port_out and not any(line.service_type in PORTABLE_SERVICES for line in facts.lines):
            raise invalid_input("port_out", "none of these lines is a mobile number (携号转网 ports mobile numbers)")

    async def _receive(self, balance_fen: int, months: int) -> None:
        policy, request, now = self.book.policy.termination, self.request, workflow.now()
        notes = [self.to_customer("received", "termination.received", lines=len(request.services))]
        reason = f"termination of {len(request.services)} line(s) requested ({request.reason})"
        if self.outstanding_fen:
            self.stage = TerminationStage.awaiting_payment
            await self.open_window(PAYMENT, policy.payment, request.requested_at or now, self._unpaid,
                                   self._payment_reminder)
            due = self.book.clocks.deadlines()[PAYMENT]
            notes.append(self.to_customer("received", "termination.payment_due", amount_fen=self.outstanding_fen,
                                          early_termination_fee_fen=self.fee_fen, due_at=due.isoformat()))
            reason += f": {self.outstanding_fen} fen to pay first, by {due:%Y-%m-%d}"
        else:
            self.stage = TerminationStage.settling
        await self.record_opening(
            "received", to_state=TerminationState.active, contact=request.customer, reason=reason, notifications=notes,
            details={"account_id": request.account_id, "reason": request.reason, "port_out": request.port_out,
                     "requested_at": self.requested_at.isoformat(),
                     "services": [str(line.service_type) for line in self.lines], "id_type": request.identity.id_type,
                     "id_masked": self.id_masked, "balance_fen": balance_fen, "early_termination_fee_fen": self.fee_fen,
                     "contract_months_left": months, "outstanding_fen": self.outstanding_fen,
                     "equipment": self._equipment_summary()})

    async def _obligations(self) -> None:
        """Book payments as billing reports them, until nothing is due or the request is cancelled."""
        while not self.ended:
            async with self.book.lock:
                while self.unbooked and not self.ended:
                    await self._book_payment(self.unbooked.pop(0))
            if not self.outstanding_fen or self.ended:
                return
            await self.wait(lambda: self.ended or bool(self.unbooked))

    async def _book_payment(self, payment: PaymentReceived) -> None:
        balance = await call(Billing.record_payment, PaymentRecord(
            account_id=self.request.account_id, reference=payment.reference, amount_fen=payment.amount_fen,
            at=workflow.now()), f"book payment {payment.reference}")
        self.payments.append(Payment(reference=payment.reference, amount_fen=payment.amount_fen, at=workflow.now()))
        self.outstanding_fen = max(0, balance.balance_fen + self.fee_fen)
        if not self.outstanding_fen and self.book.clocks.is_open(PAYMENT):
            self.close_window(PAYMENT)
            self.stage = TerminationStage.settling
        await self.book.record(
            "payment", reason=f"payment {payment.reference} of {payment.amount_fen} fen received"
                              + (f"; {self.outstanding_fen} fen still due" if self.outstanding_fen else
                                 "; obligations met"),
            details={"outstanding_fen": self.outstanding_fen, "payments": len(self.payments)},
            notifications=[self.to_customer("payment", "termination.payment_received",
                                            amount_fen=payment.amount_fen, outstanding_fen=self.outstanding_fen)])

    async def _payment_reminder(self, firing: Firing) -> None:
        assert firing.due_at is not None
        await self.book.record(
            "payment-reminder", reason=f"reminder: {self.outstanding_fen} fen still due",
            notifications=[self.to_customer("payment-reminder", "termination.payment_reminder",
                                            amount_fen=self.outstanding_fen, due_at=firing.due_at.isoformat())])

    async def _unpaid(self, firing: Firing) -> None:
        """The customer's window to pay is over: the request is cancelled, arrears take the debt."""
        policy = self.book.policy.termination
        await self._cancel("system", f"{self.outstanding_fen} fen not paid within {policy.payment.budget.days} days: "
                                     "left to the arrears process", "termination.cancelled_unpaid",
                           self.to_staff("cancelled", policy.arrears_queue, "termination.unpaid_balance",
                                         account_id=self.request.account_id, amount_fen=self.outstanding_fen))


def _whole_months(today: date, contract_end: date | None) -> int:
    """Whole months left of a contract period (a started month does not count: the customer's favour)."""
    if contract_end is None or contract_end <= today:
        return 0
    months = (contract_end.year - today.year) * 12 + contract_end.month - today.month
    return months if add_months(today, months) <= contract_end else months - 1
