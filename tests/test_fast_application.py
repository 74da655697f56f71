"""ApplicationReview with fake activities (tests/fakes.py): its branches and every application rule of
the policy at its boundary, without a database. The database-backed tests are in
test_application_review.py. Working-day times are computed with the real calendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from activities.calendar import WorkingCalendar
from models.application import (
    ApplicationInput,
    ApplicationState,
    ApplicationStatus,
    Approve,
    Cancel,
    OrderState,
    ProvisioningCompleted,
    Reject,
    RequestSupplement,
    ReviewFlagCode,
    SupplyMaterials,
)
from models.identity import citizen_check_digit
from starter import Applications

from .fakes import FAST_QUEUE, Fakes, local_day, near

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
TZ = "Asia/Shanghai"
CALENDAR = WorkingCalendar(TZ)
ID = "11010519491231002X"
PROXY_ID = "44030419850101001" + citizen_check_digit("44030419850101001")
ALL_MATERIALS = ["application_form", "service_agreement", "address_proof", "business_license", "usage_statement",
                 "security_commitment"]
REQUIRED = {  # service type → materials of a complete application (guide 2.2, operator policy)
    "mobile": ["application_form", "service_agreement"],
    "fixed_line": ["application_form", "service_agreement", "address_proof"],
    "broadband": ["application_form", "service_agreement", "address_proof"],
    "iot": ["application_form", "service_agreement", "business_license", "usage_statement"],
    "cloud": ["application_form", "service_agreement", "business_license", "security_commitment"],
}


def working_days(start: datetime, days: float) -> datetime:
    return CALENDAR.add_working_time(start, timedelta(days=days))


def application(application_id: str = "A1", materials=("application_form", "service_agreement"),
                **overrides) -> ApplicationInput:
    data = dict(application_id=application_id, service_type="mobile", region="urban",
                materials=[{"kind": kind, "document_id": f"DOC-{n}"} for n, kind in enumerate(materials)],
                requested_start_date=local_day(datetime.now().astimezone()),
                applicant=dict(customer_ref="CUST-2001", name="王芳", phone="13800138000",
                               identity=dict(id_type="resident_id_card", id_number=ID,
                                             verification_source="card_reader")))
    return ApplicationInput.model_validate({**data, **overrides})


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
async def applications(env, fakes):
    async with fakes.worker(env):
        yield Applications(env.client, task_queue=FAST_QUEUE)


async def settled(applications: Applications, fakes: Fakes, case: ApplicationInput | None = None
                  ) -> ApplicationStatus:
    """Start the case; return its status once completeness check and pre-review are done."""
    case = case or application()
    await applications.start(case)
    wid = case.workflow_id
    await fakes.until(lambda: bool({"pre-reviewed", "materials-requested", "rejected"} & set(fakes.steps(wid))),
                      f"{wid} settled")
    return await applications.status(case.application_id)


def clock(status: ApplicationStatus, name: str):
    return next(c for c in status.clocks if c.name == name)


async def test_happy_path_reviews_provisions_and_archives(env, applications, fakes):
    status = await settled(applications, fakes)
    assert status.state is ApplicationState.inProgress and status.review_flags == []
    [asked] = fakes.called("pre_review")
    assert asked.counted_services == ["mobile"] and asked.service_type == "mobile"
    status = await applications.approve("A1", Approve(actor="r.zhao"))
    await fakes.until(lambda: fakes.called("submit_order"), "the order")
    [order] = fakes.called("submit_order")
    assert order.order_id == "ORD-A1" and order.customer_ref == "CUST-2001"
    status = await applications.status("A1")
    assert status.order.state is OrderState.accepted and status.awaiting == "activation by the provisioning system"
    await applications.report_activation("A1", ProvisioningCompleted(order_id="ORD-A1",
                                                                     activated_at=await env.get_current_time()))
    result = await applications.handle("A1").result()
    assert result.state is ApplicationState.completed
    assert result.order.days_late == 0 and result.order.penalty_fen is None
    assert fakes.steps("application-A1") == ["received", "pre-reviewed", "approved", "order-submitted", "completed"]
    completed = fakes.step("application-A1", "completed")
    assert completed.closed and completed.compensations == []
    assert completed.archive.retention == timedelta(days=3 * 365)
    assert fakes.notifications("application-A1") == [
        ("application.received", "CUST-2001"), ("application.review_requested", "application-review"),
        ("application.approved", "CUST-2001"), ("application.activated", "CUST-2001")]


async def test_each_service_type_needs_its_materials_and_a_proxy_an_authorisation(env, applications, fakes):
    for service in REQUIRED:
        await settled(applications, fakes, application(service, materials=["application_form"], service_type=service))
    proxy = dict(name="赵六", identity=dict(id_type="resident_id_card", id_number=PROXY_ID,
                                            verification_source="card_reader"))
    await settled(applications, fakes, application("P", materials=REQUIRED["mobile"], proxy=proxy))
    for service, required in REQUIRED.items():
        status = await applications.status(service)
        assert status.state is ApplicationState.pending, service
        assert status.outstanding_materials == required[1:], service
    assert (await applications.status("P")).outstanding_materials == ["proxy_authorization"]


async def test_missing_materials_are_reminded_after_3_working_days_and_cancelled_after_5(env, applications, fakes):
    status = await settled(applications, fakes, application(materials=["application_form"]))
    started = clock(status, "supplement-1").started_at
    assert status.deadlines == {"supplement-1": working_days(started, 5)}
    await env.sleep(working_days(started, 5) - started + MINUTE)
    result = await applications.handle("A1").result()
    assert result.state is ApplicationState.cancelled
    assert fakes.steps("application-A1") == ["received", "materials-requested", "materials-reminder", "cancelled"]
    assert near(fakes.step("application-A1", "materials-reminder").at, working_days(started, 3))
    assert near(fakes.step("application-A1", "cancelled").at, working_days(started, 5))
    assert fakes.sla_events("application-A1") == {}  # the customer's window is no SLA


async def test_materials_supplied_in_time_start_the_review(env, applications, fakes):
    status = await settled(applications, fakes, application(materials=["application_form"]))
    started = clock(status, "supplement-1").started_at
    await env.sleep(working_days(started, 5) - started - MINUTE)
    status = await applications.supply_materials("A1", SupplyMaterials(
        materials=[{"kind": "service_agreement", "document_id": "DOC-9"}]))
    assert status.outstanding_materials == []
    await fakes.until(lambda: "pre-reviewed" in fakes.steps("application-A1"), "the pre-review")
    assert (await applications.status("A1")).state is ApplicationState.inProgress


async def test_a_silent_reviewer_is_warned_then_escalated_on_working_day_time(env, applications, fakes):
    status = await settled(applications, fakes)
    start = clock(status, "review").started_at
    due = working_days(start, 2)
    assert status.deadlines == {"review": due}
    await env.sleep(due - start + DAY + MINUTE)
    await fakes.until(lambda: "review:escalation-hierarchic" in fakes.sla_events("application-A1"), "the manager")
    assert fakes.sla_events("application-A1") == {
        "review:warning-50pct": working_days(start, 1), "review:warning-75pct": working_days(start, 1.5),
        "review:warning-90pct": working_days(start, 1.8), "review:breach": due,
        "review:escalation-functional": due, "review:escalation-hierarchic": due + DAY}
    status = await applications.status("A1")
    assert status.escalated_to == "review-manager"
    staff = [(t, r) for t, r in fakes.notifications("application-A1") if t in ("sla.warning", "sla.escalation")]
    assert staff == [("sla.warning", "application-review")] * 3 + [("sla.escalation", "review-supervisor"),
                                                                    ("sla.escalation", "review-manager")]


async def test_a_supplement_asked_in_review_pauses_the_review_clock(env, applications, fakes):
    status = await settled(applications, fakes)
    await applications.request_supplement("A1", RequestSupplement(actor="r.zhao", materials=["address_proof"]))
    status = await applications.status("A1")
    assert status.state is ApplicationState.pending and "review" not in status.deadlines
    status = await applications.supply_materials("A1", SupplyMaterials(
        materials=[{"kind": "address_proof", "document_id": "DOC-9"}]))
    assert status.state is ApplicationState.inProgress and "review" in status.deadlines
    assert set(fakes.sla_events("application-A1")) == {"review:pause-1", "review:resume-1"}


async def test_the_line_limit_is_5_lines_of_a_counted_service(env, applications, fakes):
    fakes.active_lines = 4
    status = await settled(applications, fakes, application("UNDER"))
    assert status.review_flags == [] and status.pre_review.line_limit_applies
    fakes.active_lines = 5
    status = await settled(applications, fakes, application("AT"))
    assert [f.code for f in status.review_flags] == [ReviewFlagCode.line_limit]
    status = await settled(applications, fakes, application("BB", service_type="broadband",
                                                            materials=REQUIRED["broadband"]))
    assert status.review_flags == [] and not status.pre_review.line_limit_applies
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await applications.approve("AT", Approve(actor="r.zhao"))
    assert "needs an override_reason" in str(refused.value.cause)
    status = await applications.approve("AT", Approve(actor="r.zhao", override_reason="企业客户批量开户，已核实"))
    assert status.decision.outcome == "approved"


async def test_a_risk_flag_is_shown_and_the_application_can_be_rejected(env, applications, fakes):
    fakes.risk_flag = "涉诈高风险名单"
    status = await settled(applications, fakes)
    assert [f.code for f in status.review_flags] == [ReviewFlagCode.risk_flag]
    status = await applications.reject("A1", Reject(actor="r.zhao", reason="身份存在风险"))
    assert status.state is ApplicationState.rejected
    assert (await applications.handle("A1").result()).decision.outcome == "rejected"
    assert fakes.steps("application-A1")[-1] == "rejected" and not fakes.called("submit_order")


async def test_a_service_the_region_lacks_is_rejected_and_a_refused_order_fails(env, applications, fakes):
    fakes.service_available = False
    status = await settled(applications, fakes)
    assert status.state is ApplicationState.rejected and status.deadlines == {}
    fakes.service_available, fakes.order_refusal = True, "no free number in the pool"
    await settled(applications, fakes, application("A2"))
    await applications.approve("A2", Approve(actor="r.zhao"))
    result = await applications.handle("A2").result()
    assert result.state is ApplicationState.failed
    assert "no free number in the pool" in fakes.step("application-A2", "failed").reason


async def test_cancel_before_approval_only(env, applications, fakes):
    await settled(applications, fakes)
    status = await applications.cancel("A1", Cancel(reason="不需要了"))
    assert status.state is ApplicationState.cancelled
    await settled(applications, fakes, application("A2"))
    await applications.approve("A2", Approve(actor="r.zhao"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await applications.cancel("A2", Cancel(reason="不需要了"))
    assert "can no longer be cancelled" in str(refused.value.cause)


async def test_a_requested_start_date_before_today_is_refused(env, applications, fakes):
    now = await env.get_current_time()
    handle = await applications.start(application(requested_start_date=local_day(now) - DAY))
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "requested_start_date" in str(failed.value.cause) and fakes.transitions["application-A1"] == []


# --- provisioning: published time limits, warnings, escalations, the late penalty -----------------

LIMITS = {  # service type → (basis, urban, rural): operator policy (spec §2.6)
    "mobile": ("calendar", 1, 1), "fixed_line": ("working", 5, 10), "broadband": ("working", 5, 10),
    "iot": ("calendar", 1, 1), "cloud": ("working", 3, 3)}


async def approved(applications: Applications, fakes: Fakes, case: ApplicationInput) -> ApplicationStatus:
    await settled(applications, fakes, case)
    await applications.approve(case.application_id, Approve(actor="r.zhao"))
    await fakes.until(lambda: "order-submitted" in fakes.steps(case.workflow_id), f"{case.workflow_id} ordered")
    return await applications.status(case.application_id)


def last_working_day_before_a_day_off(after: date) -> date:
    day = after + DAY
    while not (CALENDAR.is_working_day(day) and not CALENDAR.is_working_day(day + DAY)):
        day += DAY
    return day


async def test_the_published_time_limit_per_service_and_region(env, applications, fakes):
    cases = [(service, region) for service in LIMITS for region in ("urban", "rural")]
    for service, region in cases:
        await settled(applications, fakes, application(f"{service}-{region}", service_type=service, region=region,
                                                        materials=ALL_MATERIALS))
    # Approved at noon before a day off: from there calendar days and working days part ways at once.
    noon = datetime.combine(last_working_day_before_a_day_off(local_day(await env.get_current_time())), time(12),
                            ZoneInfo(TZ))
    await env.sleep(noon - await env.get_current_time())
    for service, region in cases:
        await applications.approve(f"{service}-{region}", Approve(actor="r.zhao"))
    await fakes.until(lambda: all("order-submitted" in fakes.steps(f"application-{s}-{r}") for s, r in cases),
                      "every order")
    for service, region in cases:
        basis, urban, rural = LIMITS[service]
        days = urban if region == "urban" else rural
        status = await applications.status(f"{service}-{region}")
        start = status.decision.at
        assert near(start, noon, timedelta(minutes=5))
        due = start + days * DAY if basis == "calendar" else working_days(start, days)
        assert status.order.due_at == due, (service, region, basis)


@pytest.mark.parametrize("late, days_late", [(timedelta(0), 0), (2 * DAY + timedelta(seconds=1), 3)])
async def test_late_activation_costs_1_percent_of_the_installation_fee_per_started_day(
        env, applications, fakes, late, days_late):
    fees = {"mobile": 1000, "fixed_line": 10000, "broadband": 10000, "iot": 500, "cloud": 5000}  # fen
    due = {}
    for service in fees:
        status = await approved(applications, fakes, application(service, service_type=service,
                                                                 materials=ALL_MATERIALS))
        due[service] = status.order.due_at
    await env.sleep(max(due.values()) - await env.get_current_time() + late + MINUTE)
    for service in fees:
        await applications.report_activation(service, ProvisioningCompleted(order_id=f"ORD-{service}",
                                                                            activated_at=due[service] + late))
    for service, fee in fees.items():
        order = (await applications.handle(service).result()).order
        assert order.days_late == days_late, service
        penalty = -(-fee * days_late // 100)  # rounded up to the fen
        assert order.penalty_fen == (penalty or None), service
        compensations = fakes.step(f"application-{service}", "completed").compensations
        assert [c.amount_fen for c in compensations] == ([penalty] if penalty else []), service


async def test_a_delay_the_customer_caused_costs_no_penalty(env, applications, fakes):
    status = await approved(applications, fakes, application())
    await env.sleep(status.order.due_at - await env.get_current_time() + 3 * DAY)
    await applications.report_activation("A1", ProvisioningCompleted(
        order_id="ORD-A1", activated_at=status.order.due_at + 2 * DAY, customer_caused_delay=True))
    order = (await applications.handle("A1").result()).order
    assert order.days_late == 2 and order.penalty_fen is None
    assert fakes.step("application-A1", "completed").compensations == []


async def test_provisioning_is_warned_at_50_75_90_percent_then_escalated(env, applications, fakes):
    status = await approved(applications, fakes, application())
    start, due = status.decision.at, status.order.due_at
    assert due == start + DAY
    await env.sleep(due - await env.get_current_time() + DAY + MINUTE)
    await fakes.until(lambda: "provisioning:escalation-hierarchic" in fakes.sla_events("application-A1"), "manager")
    assert fakes.sla_events("application-A1") == {
        "provisioning:warning-50pct": start + 12 * HOUR, "provisioning:warning-75pct": start + 18 * HOUR,
        "provisioning:warning-90pct": start + 21 * HOUR + 36 * MINUTE, "provisioning:breach": due,
        "provisioning:escalation-functional": due, "provisioning:escalation-hierarchic": due + DAY}
    staff = [(t, r) for t, r in fakes.notifications("application-A1") if t in ("sla.warning", "sla.escalation")]
    assert staff == [("sla.warning", "provisioning-desk")] * 3 + [("sla.escalation", "provisioning-supervisor"),
                                                                  ("sla.escalation", "provisioning-manager")]
    assert (await applications.status("A1")).escalated_to == "provisioning-manager"
