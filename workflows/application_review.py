"""ApplicationReview (docs/processes.md § Application review, guide ch. 2–3): 受理 → 完整性检查 → 初步审核 →
审批 → 服务提供 → 反馈与归档. Intake, review and the customer's materials are here; provisioning and the
end of the case in `workflows.application_fulfilment`."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.inventory import InventoryChecks
    from models.application import (FINAL_STATES, WORKFLOW_TYPE, ApplicationInput,
                                    ApplicationState, ApplicationStatus, Approve, Cancel, Decision,
                                    OrderStatus, Outcome, PreReview,
                                    PreReviewRequest, PreReviewResult, ProvisioningCompleted, Reject,
                                    RequestSupplement, ReviewFlag, ReviewFlagCode, SupplyMaterials)
    from models.catalog import MaterialKind, ServiceType
    from models.common import CaseType, Customer
    from models.identity import mask
    from models.records import CaseFacts

    from .application_fulfilment import Fulfilment
    from .actions import Actions, call, invalid_input, process, refuse
    from .case import local_date
    from .clocks import Firing
    from .inbound import case_input

action = Actions(ApplicationStatus)
REVIEW, SUPPLEMENT = "review", "supplement"
OPEN = (ApplicationState.acknowledged, ApplicationState.pending, ApplicationState.inProgress)


@process(WORKFLOW_TYPE)
class ApplicationReview(Fulfilment):
    State, FINAL, NOUN = ApplicationState, FINAL_STATES, "application"

    @case_input
    def __init__(self, application: ApplicationInput) -> None:
        self.application = application
        self.received_at: datetime = application.received_at or workflow.now()
        self.requested_start_date = application.requested_start_date
        """The input's, else (once the case has started) the day received."""
        self.open_case(CaseType.application, application.applicant.customer_ref,
                       application_id=application.application_id)
        self.kinds_supplied = [m.kind for m in application.materials]
        self.outstanding: list[MaterialKind] = []
        self.supplement_rounds = 0
        self.identity: PreReviewResult | None = None
        self.pre_review: PreReview | None = None
        self.flags: list[ReviewFlag] = []
        self.decision: Decision | None = None
        self.order: OrderStatus | None = None
        self.report: ProvisioningCompleted | None = None

    @workflow.run
    async def run(self, application: ApplicationInput) -> ApplicationStatus:
        policy = await self.begin(application.workflow_id, f"application {application.application_id!r}",
                                  ("received_at", self.received_at))
        received = local_date(self.received_at, policy.timezone)
        self.requested_start_date = requested = application.requested_start_date or received
        if requested < received:
            raise invalid_input("requested_start_date", f"{requested} is before the application was received "
                                                        f"({received})")

        # Human actions wait until the case has settled into pending or review (or ended).
        async with self.book.lock:
            applicant, proxy = application.applicant, application.proxy
            await self.record_opening(
                "received", to_state=ApplicationState.acknowledged, region=application.region,
                reason=f"{application.service_type} application received" + (" from a proxy" if proxy else ""),
                contact=Customer(customer_ref=applicant.customer_ref, name=applicant.name, phone=applicant.phone),
                details={"service_type": application.service_type, "id_type": applicant.identity.id_type,
                         "requested_start_date": requested.isoformat(), "received_at": self.received_at.isoformat(),
                         "id_masked": mask(applicant.identity.id_number),
                         "proxy_id_masked": mask(proxy.identity.id_number) if proxy else None,
                         "materials": list(self.kinds_supplied)},
                notifications=[self.to_customer("received", "application.received")])
            await self._check_materials()
        await self.wait(lambda: self.ended or self.decision is not None)
        if not self.ended:
            await self._provision()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- human actions ------------------------------------------------------------------

    def _approvable(self, request: Approve) -> None:
        self._decidable("approved")
        if self.state is ApplicationState.pending:
            raise refuse(f"materials are outstanding ({self._outstanding_text}): approve once they are supplied")
        if self.flags and request.override_reason is None:
            details = "; ".join(f.detail for f in self.flags)
            raise refuse(f"pre-review flagged this application ({details}): approving it needs an override_reason")

    @action("The reviewer approves (审批) and provisioning starts. A flagged application needs an override_reason.",
            check=_approvable)
    async def approve(self, request: Approve) -> None:
        decision = Decision(outcome=Outcome.approved, actor=request.actor, at=workflow.now(),
                            reason=request.override_reason or request.note)
        self.book.clocks.stop(REVIEW)
        flagged = ", ".join(f.code for f in self.flags)
        await self.book.record(
            "approved", actor=request.actor,
            reason=f"approved over flags ({flagged}): {request.override_reason}" if self.flags else "approved",
            facts=CaseFacts(assignee=request.actor, details={"decision": decision.model_dump(mode="json")}),
            notifications=[self.to_customer("approved", "application.approved")])
        self.decision = decision

    @action("The reviewer rejects the application; the reason is told to the customer.",
            check=lambda self, request: self._decidable("rejected"))
    async def reject(self, request: Reject) -> None:
        decision = Decision(outcome=Outcome.rejected, actor=request.actor, at=workflow.now(), reason=request.reason)
        facts = CaseFacts(assignee=request.actor, details={"decision": decision.model_dump(mode="json")})
        await self._end(ApplicationState.rejected, request.actor, f"rejected: {request.reason}",
                        "application.rejected", facts=facts, reason=request.reason)
        self.decision = decision

    def _can_ask(self, request: RequestSupplement) -> None:
        self._decidable("sent back for materials")
        if self.state is ApplicationState.pending:
            raise refuse(f"materials are already awaited from the customer ({self._outstanding_text})")

    @action("The reviewer asks the customer for (more) materials; the review clock waits.", check=_can_ask)
    async def request_supplement(self, request: RequestSupplement) -> None:
        self.outstanding = list(dict.fromkeys(request.materials))
        await self._request_materials(request.actor, f"reviewer asks for {self._outstanding_text}"
                                      + (f": {request.note}" if request.note else ""))

    def _outstanding(self, request: SupplyMaterials) -> None:
        if not {m.kind for m in request.materials} & set(self.outstanding):
            raise refuse(f"none of these materials is outstanding; outstanding: {self._outstanding_text}")

    @action("The customer supplies outstanding materials; the completeness check runs again.", check=_outstanding,
            allowed=(ApplicationState.pending,), refusal="no materials are outstanding")
    async def supply_materials(self, request: SupplyMaterials) -> None:
        kinds = [m.kind for m in request.materials]
        self.kinds_supplied = self.kinds_supplied + kinds
        self.outstanding = [k for k in self.outstanding if k not in kinds]
        details = {"materials": list(self.kinds_supplied), "outstanding_materials": list(self.outstanding)}
        if self.outstanding:
            await self.book.record(
                "materials-supplied", actor=request.actor, details=details,
                reason=f"materials supplied; still missing: {self._outstanding_text}",
                notifications=[self.to_customer("materials-supplied", "application.materials_still_missing",
                                                missing=list(self.outstanding), due_at=self._supplement_due())])
            return
        self.close_window(self._supplement_clock)
        resumed = [await self.book.clocks.resume(REVIEW, workflow.now())] if self.pre_review else []
        await self.book.record("materials-complete", to_state=ApplicationState.inProgress, actor=request.actor,
                               reason="materials complete", sla_events=resumed, details=details)
        if self.pre_review is None:
            await self._start_review()

    def _not_approved(self, request: Cancel) -> None:
        if self.decision is not None:
            raise refuse("the application is approved and its order is with provisioning: it can no longer be "
                         "cancelled, ask for termination once it is active")

    @action("Withdraw the application (customer or staff, with a reason) before approval.", check=_not_approved,
            allowed=OPEN, refusal="there is nothing to cancel")
    async def cancel(self, request: Cancel) -> None:
        await self._end(ApplicationState.cancelled, request.actor, f"cancelled by {request.actor}: {request.reason}",
                        "application.cancelled", reason=request.reason)

    def _decidable(self, done: str) -> None:
        if self.ended:
            raise refuse(f"application is {self.state}: it can no longer be {done}")
        if self.decision is not None:
            raise refuse(f"application is already {self.decision.outcome}: it can no longer be {done}")
        if self.pre_review is None and self.state is ApplicationState.pending:
            raise refuse(f"materials are outstanding ({self._outstanding_text}): the review starts once they are "
                         "supplied")
        # Otherwise the pre-review may still be running: the handler checks again once it has.

    @workflow.query(description="Where the application stands: state, deadlines, flags, order, history.")
    def status(self) -> ApplicationStatus:
        app = self.application
        return ApplicationStatus(
            **self.status_fields(), application_id=app.application_id, service_type=app.service_type,
            region=app.region, requested_start_date=self.requested_start_date, received_at=self.received_at,
            id_type=app.applicant.identity.id_type,
            id_masked=mask(app.applicant.identity.id_number), proxy=app.proxy is not None,
            materials=list(dict.fromkeys(self.kinds_supplied)), outstanding_materials=self.outstanding,
            supplement_rounds=self.supplement_rounds, pre_review=self.pre_review, review_flags=self.flags,
            decision=self.decision, escalated_to=self.escalated_to, order=self.order)

    # --- completeness and pre-review --------------------------------------------------

    async def _check_materials(self) -> None:
        """Completeness check (guide 2.2): the service type's materials, plus a proxy's."""
        policy = self.book.policy.application
        required = policy.services[self.application.service_type].required_materials
        if self.application.proxy is not None:
            required = required + policy.proxy_materials
        self.outstanding = [MaterialKind(k) for k in dict.fromkeys(required) if k not in self.kinds_supplied]
        if self.outstanding:
            await self._request_materials("system", f"materials missing: {self._outstanding_text}")
        else:
            await self._start_review()

    async def _request_materials(self, actor: str, reason: str) -> None:
        now = workflow.now()
        paused = ([await self.book.clocks.pause(REVIEW, now, "awaiting materials from the customer")]
                  if self.book.clocks.is_running(REVIEW) else [])
        self.supplement_rounds += 1
        await self.open_window(self._supplement_clock, self.book.policy.application.supplement, now,
                               self._supplement_over, self._supplement_reminder)
        await self.book.record(
            "materials-requested", to_state=ApplicationState.pending, actor=actor, reason=reason, sla_events=paused,
            details={"outstanding_materials": list(self.outstanding), "supplement_rounds": self.supplement_rounds},
            notifications=[self.to_customer("materials-requested", "application.materials_requested",
                                            missing=list(self.outstanding), due_at=self._supplement_due())])

    async def _start_review(self) -> None:
        """Automated pre-review (guide 2.3), then the manual review clock starts."""
        app, policy = self.application, self.book.policy.application
        result = await call(InventoryChecks.pre_review, PreReviewRequest(
            applicant=app.applicant.identity, proxy=app.proxy.identity if app.proxy else None,
            service_type=app.service_type, region=app.region,
            counted_services=[ServiceType(s) for s in policy.line_limited_services]),
            "pre-review: coverage, lines held, risk list")
        self.identity = result
        applies = app.service_type in policy.line_limited_services
        self.pre_review = PreReview(service_available=result.service_available, active_lines=result.active_lines,
                                    line_limit=policy.line_limit, line_limit_applies=applies)
        identity = {"id_hash": result.applicant.id_hash, "pre_review": self.pre_review.model_dump(mode="json"),
                    "proxy_id_hash": result.proxy.id_hash if result.proxy else None}
        if not result.service_available:
            await self._end(ApplicationState.rejected, "system",
                            f"pre-review: {app.service_type} is not offered in {app.region} regions",
                            "application.rejected", facts=CaseFacts(details=identity),
                            reason=f"{app.service_type} is not offered in {app.region} regions")
            return
        if applies and result.active_lines >= policy.line_limit:
            self.flags.append(ReviewFlag(
                code=ReviewFlagCode.line_limit, detail=f"the applicant already holds {result.active_lines} active "
                                                       f"lines, the limit is {policy.line_limit} (反诈法 Art. 10)"))
        if result.risk_flag:
            self.flags.append(ReviewFlag(code=ReviewFlagCode.risk_flag, detail=f"on the risk list: {result.risk_flag}"))
        # Complete at a receipt the input dates, the review's time runs from then: a case taken over from
        # a legacy system has used some of it.
        taken_over = self.application.received_at is not None and self.supplement_rounds == 0
        started = self.received_at if taken_over else workflow.now()
        await self.book.clocks.start(REVIEW, policy.review, started)
        await self.book.record(
            "pre-reviewed", to_state=ApplicationState.inProgress,
            reason="pre-review flagged: " + "; ".join(f.detail for f in self.flags) if self.flags
            else "pre-review passed: awaiting the reviewer's decision",
            details={**identity, "review_flags": [f.model_dump(mode="json") for f in self.flags]},
            notifications=[self.to_staff("pre-reviewed", policy.review_queue, "application.review_requested",
                                         flags=[f.code for f in self.flags],
                                         due_at=self.book.clocks.deadlines()[REVIEW].isoformat())])

    # --- the customer's window ---------------------------------------------------------

    async def _supplement_reminder(self, firing: Firing) -> None:
        assert firing.due_at is not None
        await self.book.record("materials-reminder", reason=f"reminder: still missing {self._outstanding_text}",
                               notifications=[self.to_customer("materials-reminder", "application.materials_reminder",
                                                               missing=list(self.outstanding),
                                                               due_at=firing.due_at.isoformat())])

    async def _supplement_over(self, firing: Firing) -> None:
        budget = self.book.policy.application.supplement.budget.days
        await self._end(ApplicationState.cancelled, "system",
                        f"materials not supplied within {budget} working days: {self._outstanding_text}",
                        "application.cancelled", reason="materials not supplied in time", missing=self.outstanding)

    @property
    def _supplement_clock(self) -> str:
        return f"{SUPPLEMENT}-{self.supplement_rounds}"

    def _supplement_due(self) -> str:
        return self.book.clocks.deadlines()[self._supplement_clock].isoformat()

    @property
    def _outstanding_text(self) -> str:
        return ", ".join(self.outstanding) or "none"

    def queue(self, clock: str) -> str:
        policy = self.book.policy.application
        return policy.review_queue if clock == REVIEW else policy.provisioning_queue

    def awaiting(self) -> str | None:
        if self.ended:
            return None
        if self.state is ApplicationState.pending:
            return f"materials from the customer: {self._outstanding_text}"
        if self.state is ApplicationState.acknowledged or self.pre_review is None:
            return "completeness check and pre-review"
        return "the reviewer's decision" if self.decision is None else "activation by the provisioning system"

    def headline(self) -> str:
        return f"{self.state} · {self.application.service_type} · {self.application.region}"

    def alerts(self) -> list[str]:
        return ["flagged: " + ", ".join(f.code for f in self.flags)] * bool(self.flags)
