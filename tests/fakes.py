"""Fake activities for the fast workflow tests: registered under the real activity names (as
temporalio/samples-python does), so the four workflows run unchanged on the time-skipping server
with no database and no outside system. The fakes remember what they were asked (`calls`) and the
record layer keeps each transition (`transitions`): tests assert on those and on `status`.

The working-day arithmetic is the real one (activities.deadlines, pure and in memory): a fake
calendar would only test itself. Everything else answers what the test sets on the `Fakes` object.

    fakes = Fakes()
    async with fakes.worker(env):
        handle = await env.client.start_workflow(...)
        await fakes.until(lambda: fakes.steps(wid)[-1:] == ["accepted"])
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.deadlines import DueTimeCalculator
from models.application import Activation, OrderReceipt, OrderRequest, OrderState, PreReviewRequest, PreReviewResult
from models.change import ChangeLink, LineLookup
from models.fault import LineStatus, LineTestOutcome, LineTestRequest, LineTestResult, ServiceInfo, ServiceLookup
from models.identity import IdentityDocument, ProtectedIdentity
from models.policy import BoundPolicy, Policy
from models.records import PolicyRequest, Transition
from models.sla import DueTimeRequest, DueTimes
from models.termination import (
    AccountClaim,
    AccountSnapshot,
    Balance,
    CheckRequest,
    ClaimResult,
    DeprovisionRequest,
    DeprovisionResult,
    Equipment,
    EquipmentCharge,
    EquipmentList,
    EquipmentReturn,
    EquipmentState,
    ErasureCertificate,
    ErasureRequest,
    FinalBill,
    LineFacts,
    LineOutcome,
    LineResult,
    NumberReclaim,
    NumberRelease,
    PaymentRecord,
    ReclaimResult,
    Refund,
    RefundRequest,
    RequestFacts,
    Settlement,
)
from worker import INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS

FAST_QUEUE = "telecom-service-fast"
UNAVAILABLE = "Unavailable"
"""A fake outside system that is down raises this (retryable): the workflow's retry policy applies."""


def protected(identity: IdentityDocument | None) -> ProtectedIdentity | None:
    if identity is None:
        return None
    digest = hashlib.sha256(f"{identity.id_type}:{identity.id_number}".encode()).hexdigest()
    return ProtectedIdentity(id_type=identity.id_type, id_masked=identity.id_number[:4] + "****", id_hash=digest)


class Fakes:
    """The outside world of one fast test. Set the answers before the case asks for them."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.policies: dict[str, Policy] = {}
        """workflow id → the policy that case binds instead of `policy`."""
        self.transitions: dict[str, list[Transition]] = defaultdict(list)
        self.calls: list[tuple[str, Any]] = []
        self._calendar = DueTimeCalculator()
        # ApplicationReview: pre-review and provisioning
        self.service_available = True
        self.active_lines = 0
        self.risk_flag: str | None = None
        self.order_state = OrderState.accepted
        """accepted: the OSS reports the activation later (signal); completed: activated at once."""
        self.order_refusal: str | None = None
        # FaultRepair: the network
        self.line_test = LineTestResult(outcome=LineTestOutcome.fault_found, line_status=LineStatus.down,
                                        message="光功率过低：入户光缆疑似受损")
        self.line_test_down = False
        self.monthly_rental_fen = 5000
        self.changes: dict[str, str] = {}
        """service id → the service change whose window covers it now."""
        # TerminationCleanup: billing, lines, the account
        self.account_found, self.identity_matches = True, True
        self.account = AccountSnapshot(customer_ref="CUST-3001", active=True, balance_fen=0, contract_end=None,
                                       equipment=[])
        self.line_types: dict[str, str] = {}
        """line id → service type of the account's active lines (others are unknown)."""
        self.claims: dict[str, str] = {}
        self.refund_delay: timedelta | None = None
        """Billing's refund run is closed this long: the first attempt asks to be retried then."""
        self.reclaimable = True

    # --- the worker -----------------------------------------------------------------------------

    def worker(self, env: WorkflowEnvironment, task_queue: str = FAST_QUEUE) -> Worker:
        return Worker(env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=self.activities(),
                      workflow_runner=WORKFLOW_RUNNER, interceptors=INTERCEPTORS,
                      workflow_failure_exception_types=[ValidationError])

    def activities(self) -> list[Callable]:
        return [self.load_policy, self.record_transition, self.compute_due_times, self.pre_review,
                self.submit_order, self.record_activation, self.run_line_test, self.look_up_service,
                self.change_for_line, self.check_request, self.claim_account, self.release_claim, self.deprovision,
                self.reclaim_number,
                self.release_numbers, self.erase_personal_data, self.record_payment, self.settle, self.refund,
                self.return_equipment, self.charge_equipment]

    # --- what the case wrote --------------------------------------------------------------------

    def steps(self, workflow_id: str) -> list[str]:
        """The case's steps without their sequence number ("001-accepted" → "accepted")."""
        return [t.step.split("-", 1)[1] for t in self.transitions[workflow_id]]

    def step(self, workflow_id: str, name: str) -> Transition:
        [found] = [t for t in self.transitions[workflow_id] if t.step.split("-", 1)[1] == name]
        return found

    def sla_events(self, workflow_id: str) -> dict[str, datetime]:
        """SLA event key → when it happened."""
        return {e.key: e.at for t in self.transitions[workflow_id] for e in t.sla_events}

    def notifications(self, workflow_id: str) -> list[tuple[str, str]]:
        """(template, recipient) of every message, in order."""
        return [(n.template, n.recipient) for t in self.transitions[workflow_id] for n in t.notifications]

    def called(self, name: str) -> list[Any]:
        return [argument for called, argument in self.calls if called == name]

    async def until(self, done: Callable[[], bool], what: str = "the case to get there", timeout: float = 10) -> None:
        """Wait (real time, briefly) until the workers have done what `done` checks."""
        for _ in range(int(timeout / 0.01)):
            if done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    # --- the record layer and the calendar ------------------------------------------------------

    @activity.defn(name="load_policy")
    async def load_policy(self, request: PolicyRequest) -> BoundPolicy:
        return self.policies.get(activity.info().workflow_id, self.policy).bound(str(request.case_type))

    @activity.defn(name="record_transition")
    async def record_transition(self, transition: Transition) -> None:
        steps = self.transitions[transition.workflow_id]
        if any(t.step == transition.step for t in steps):
            raise AssertionError(f"{transition.workflow_id} recorded {transition.step} twice")
        steps.append(transition)

    @activity.defn(name="compute_due_times")
    async def compute_due_times(self, request: DueTimeRequest) -> DueTimes:
        return self._calendar.compute_due_times(request)

    # --- ApplicationReview ------------------------------------------------------------------------

    @activity.defn(name="pre_review")
    async def pre_review(self, request: PreReviewRequest) -> PreReviewResult:
        self.calls.append(("pre_review", request))
        return PreReviewResult(applicant=protected(request.applicant), proxy=protected(request.proxy),
                               service_available=self.service_available, active_lines=self.active_lines,
                               risk_flag=self.risk_flag)

    @activity.defn(name="submit_order")
    async def submit_order(self, order: OrderRequest) -> OrderReceipt:
        self.calls.append(("submit_order", order))
        if self.order_refusal:
            raise ApplicationError(self.order_refusal, type="OrderRefused", non_retryable=True)
        activated = order.submitted_at if self.order_state is OrderState.completed else None
        return OrderReceipt(order_id=order.order_id, state=self.order_state, activated_at=activated)

    @activity.defn(name="record_activation")
    async def record_activation(self, activation: Activation) -> OrderReceipt:
        self.calls.append(("record_activation", activation))
        return OrderReceipt(order_id=activation.order_id, state=OrderState.completed,
                            activated_at=activation.activated_at)

    # --- FaultRepair ------------------------------------------------------------------------------

    @activity.defn(name="run_line_test")
    async def run_line_test(self, request: LineTestRequest) -> LineTestResult:
        self.calls.append(("run_line_test", request))
        if self.line_test_down:
            raise ApplicationError("line test system unavailable", type=UNAVAILABLE)
        return self.line_test

    @activity.defn(name="look_up_service")
    async def look_up_service(self, request: ServiceLookup) -> ServiceInfo:
        self.calls.append(("look_up_service", request))
        return ServiceInfo(service_id=request.service_id, region="urban", status=LineStatus.up,
                           monthly_rental_fen=self.monthly_rental_fen)

    @activity.defn(name="change_for_line")
    async def change_for_line(self, lookup: LineLookup) -> ChangeLink:
        return ChangeLink(change_id=self.changes.get(lookup.service_id))

    # --- TerminationCleanup -----------------------------------------------------------------------

    @activity.defn(name="check_request")
    async def check_request(self, request: CheckRequest) -> RequestFacts:
        self.calls.append(("check_request", request))
        return RequestFacts(account_found=self.account_found, identity_matches=self.identity_matches,
                            account=self.account if self.account_found and self.identity_matches else None,
                            id_masked=request.identity.id_number[:4] + "****",
                            lines=[LineFacts(line_id=line, service_type=self.line_types.get(line))
                                   for line in request.services])

    @activity.defn(name="claim_account")
    async def claim_account(self, claim: AccountClaim) -> ClaimResult:
        self.calls.append(("claim_account", claim))
        holder = self.claims.setdefault(claim.account_id, claim.workflow_id)
        return ClaimResult(claimed=holder == claim.workflow_id, held_by=None if holder == claim.workflow_id else holder)

    @activity.defn(name="release_claim")
    async def release_claim(self, claim: AccountClaim) -> None:
        self.calls.append(("release_claim", claim))
        if self.claims.get(claim.account_id) == claim.workflow_id:
            del self.claims[claim.account_id]

    @activity.defn(name="record_payment")
    async def record_payment(self, payment: PaymentRecord) -> Balance:
        self.calls.append(("record_payment", payment))
        self.account = self.account.model_copy(update={"balance_fen": self.account.balance_fen - payment.amount_fen})
        return Balance(balance_fen=self.account.balance_fen)

    @activity.defn(name="settle")
    async def settle(self, settlement: Settlement) -> FinalBill:
        self.calls.append(("settle", settlement))
        closing = self.account.balance_fen + settlement.early_termination_fee_fen
        return FinalBill(bill_id=f"FB-{settlement.account_id}", issued_at=settlement.at,
                         opening_balance_fen=self.account.balance_fen,
                         early_termination_fee_fen=settlement.early_termination_fee_fen,
                         closing_balance_fen=closing, refund_due_fen=max(0, -closing))

    @activity.defn(name="refund")
    async def refund(self, request: RefundRequest) -> Refund:
        self.calls.append(("refund", request))
        if self.refund_delay is not None and activity.info().attempt == 1:
            raise ApplicationError("refund run closed", type=UNAVAILABLE, next_retry_delay=self.refund_delay)
        return Refund(amount_fen=request.amount_fen, reference=f"RF-{request.account_id}")

    @activity.defn(name="deprovision")
    async def deprovision(self, request: DeprovisionRequest) -> DeprovisionResult:
        self.calls.append(("deprovision", request))

        def outcome(service_type: str) -> LineOutcome:
            if service_type != "mobile":
                return LineOutcome.terminated
            return LineOutcome.ported_out if request.port_out else LineOutcome.quarantined

        return DeprovisionResult(lines=[LineResult(line_id=line, service_type=self.line_types[line],
                                                   outcome=outcome(self.line_types[line]))
                                        for line in request.services])

    @activity.defn(name="reclaim_number")
    async def reclaim_number(self, request: NumberReclaim) -> ReclaimResult:
        self.calls.append(("reclaim_number", request))
        return ReclaimResult(reclaimed=self.reclaimable, reason=None if self.reclaimable else "not the last holder")

    @activity.defn(name="release_numbers")
    async def release_numbers(self, request: NumberRelease) -> None:
        self.calls.append(("release_numbers", request))

    @activity.defn(name="erase_personal_data")
    async def erase_personal_data(self, request: ErasureRequest) -> ErasureCertificate:
        self.calls.append(("erase_personal_data", request))
        return ErasureCertificate(certificate_id=f"DC-{request.workflow_id}", erased_at=request.at,
                                  erased={"customercontact": 1}, retained=request.retained)

    @activity.defn(name="return_equipment")
    async def return_equipment(self, request: EquipmentReturn) -> EquipmentList:
        self.calls.append(("return_equipment", request))
        self._equipment(lambda e: e.serial in request.serials,
                        {"state": EquipmentState.returned, "returned_at": request.at})
        return EquipmentList(items=self.account.equipment)

    @activity.defn(name="charge_equipment")
    async def charge_equipment(self, request: EquipmentCharge) -> EquipmentList:
        self.calls.append(("charge_equipment", request))
        for serial, amount in request.charges_fen.items():
            self._equipment(lambda e, serial=serial: e.serial == serial,
                            {"state": EquipmentState.charged, "charge_fen": amount})
        return EquipmentList(items=self.account.equipment)

    def _equipment(self, which: Callable[[Equipment], bool], update: dict[str, Any]) -> None:
        items = [e.model_copy(update=update) if which(e) else e for e in self.account.equipment]
        self.account = self.account.model_copy(update={"equipment": items})


def local_day(moment: datetime, timezone: str = "Asia/Shanghai") -> date:
    from zoneinfo import ZoneInfo
    return moment.astimezone(ZoneInfo(timezone)).date()


def near(a: datetime | None, b: datetime, tolerance: timedelta = timedelta(seconds=2)) -> bool:
    return a is not None and abs(a - b) <= tolerance
