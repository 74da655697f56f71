"""ApplicationReview's second half (see `workflows.application_review`): the approved order goes to
provisioning (ch. 3) and is activated within the published time limit, or late with the 条例 Art. 31
penalty; and how an application ends: the customer told, the case archived (guide 2.5, ch. 7)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.provisioning import Provisioning
    from models.application import (COMPLETED_SIGNAL, Activation, ApplicationInput, ApplicationState, Decision,
                                    OrderReceipt, OrderRequest, OrderState, OrderStatus, Outcome, PreReviewResult,
                                    ProvisioningCompleted, ReviewFlag, order_id, start_of)
    from models.catalog import MaterialKind
    from models.identity import mask
    from models.records import CaseFacts, CompensationKind, CompensationRecord

    from .actions import call
    from .case import Case
    from .inbound import case_signal

PROVISIONING = "provisioning"
DAY = timedelta(days=1)


class Fulfilment(Case):
    application: ApplicationInput
    kinds_supplied: list[MaterialKind]
    supplement_rounds: int
    identity: PreReviewResult | None
    flags: list[ReviewFlag]
    decision: Decision | None
    order: OrderStatus | None
    report: ProvisioningCompleted | None
    requested_start_date: date | None

    async def _provision(self) -> None:
        """Provisioning (ch. 3) within the published time limit."""
        app, policy = self.application, self.book.policy.application
        assert self.decision is not None and self.identity is not None and self.requested_start_date is not None
        request = OrderRequest(order_id=order_id(app.application_id), workflow_id=workflow.info().workflow_id,
                               service_type=app.service_type, region=app.region,
                               requested_start_date=self.requested_start_date,
                               holder_hash=self.identity.applicant.id_hash, customer_ref=app.applicant.customer_ref,
                               submitted_at=workflow.now())
        try:
            receipt = await call(Provisioning.submit_order, request, f"submit order {request.order_id}")
        except ActivityError as error:
            cause = error.cause.message if isinstance(error.cause, ApplicationError) else str(error)
            await self._end(ApplicationState.failed, "system", f"provisioning refused the order: {cause}",
                            "application.failed")
            return
        start = max(self.decision.at, start_of(self.requested_start_date, self.book.policy.timezone))
        await self.book.clocks.start(PROVISIONING, policy.provisioning_clock(app.service_type, app.region), start)
        self.order = OrderStatus(order_id=request.order_id, state=receipt.state, submitted_at=request.submitted_at,
                                 due_at=self.book.clocks.deadlines()[PROVISIONING], activated_at=receipt.activated_at)
        if receipt.state is OrderState.accepted:
            await self.book.record("order-submitted", reason=f"order {request.order_id} accepted by provisioning",
                                   details={"order": self.order.model_dump(mode="json")})
            await self.wait(lambda: self.report is not None)
            assert self.report is not None
            # The OSS's clock, but never later than ours nor before the order existed.
            activated = max(min(self.report.activated_at, workflow.now()), request.submitted_at)
            receipt = await call(Provisioning.record_activation,
                                 Activation(order_id=request.order_id, activated_at=activated),
                                 f"record the activation of {request.order_id}")
        await self._activated(receipt)

    @case_signal(COMPLETED_SIGNAL, "The OSS reports the order activated (fire-and-forget).")
    def provisioning_completed(self, report: ProvisioningCompleted) -> None:
        expected = order_id(self.application.application_id)
        if report.order_id != expected or self.decision is None or self.decision.outcome is not Outcome.approved:
            workflow.logger.warning("ignored a completion report for order %s: the case awaits %s",
                                    report.order_id, self.awaiting() or "nothing")
        elif self.report is None:
            self.report = report

    async def _activated(self, receipt: OrderReceipt) -> None:
        """Late through the operator's fault costs a share of the installation fee per day (条例 Art. 31)."""
        policy, order = self.book.policy.application, self.order
        assert order is not None and order.due_at is not None and receipt.activated_at is not None
        self.book.clocks.stop(PROVISIONING)
        late = receipt.activated_at - order.due_at
        days_late = -(-late // DAY) if late > timedelta(0) else 0
        customer_caused = self.report is not None and self.report.customer_caused_delay
        fee = policy.services[self.application.service_type].installation_fee_fen
        rate = policy.late_penalty_percent_per_day
        penalty = (-(-fee * rate * days_late // 100) if not customer_caused else 0) or None
        compensations = [CompensationRecord(
            key="provisioning-penalty", kind=CompensationKind.penalty, amount_fen=penalty,
            period_start=order.due_at, period_end=receipt.activated_at,
            reason=f"activated {days_late} day(s) after the published time limit: {rate} % of the "
                   f"{fee} fen installation fee per day (条例 Art. 31)")] if penalty else []
        self.order = order.model_copy(update={"state": receipt.state, "activated_at": receipt.activated_at,
                                              "days_late": days_late, "penalty_fen": penalty})
        reason = "service activated" + (f", {days_late} day(s) late" if days_late else " on time")
        if days_late and customer_caused:
            reason += " (delay attributed to the customer: no penalty)"
        await self._end(ApplicationState.completed, "system", reason, "application.activated",
                        compensations=compensations, order_id=order.order_id, penalty_fen=penalty,
                        facts=CaseFacts(details={"order": self.order.model_dump(mode="json")}))

    async def _end(self, state: ApplicationState, actor: str, why: str, template: str, *,
                   facts: CaseFacts | None = None, compensations: list[CompensationRecord] | None = None,
                   **params: Any) -> None:
        """Tell the customer the outcome and archive the case (guide 2.5, ch. 7)."""
        app = self.application
        summary = {"outcome": state, "service_type": app.service_type, "region": app.region,
                   "id_type": app.applicant.identity.id_type, "id_masked": mask(app.applicant.identity.id_number),
                   "id_hash": self.identity.applicant.id_hash if self.identity else None,
                   "proxy_id_masked": mask(app.proxy.identity.id_number) if app.proxy else None,
                   "materials": list(dict.fromkeys(self.kinds_supplied)), "supplement_rounds": self.supplement_rounds,
                   "review_flags": [f.code for f in self.flags], "reason": why,
                   "decided_by": self.decision.actor if self.decision else actor,
                   "order": self.order.model_dump(mode="json") if self.order else None}
        await self.finish(str(state), to_state=state, actor=actor, reason=why, summary=summary, facts=facts,
                          compensations=compensations or [],
                          notifications=[self.to_customer(str(state), template, **params)])
