"""ApplicationReview under the time-skipping server and a real database: states, inventory,
records, notifications and times (computed with the same working-day calendar)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, delete
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError

from activities.calendar import CalendarOverrides, WorkingCalendar
from activities.tables import ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact, Notification, SlaEvent
from adapters.inventory import CustomerLine, DatabaseInventory, IdentityFlag, NumberStatus, PoolNumber, seed_inventory
from adapters.provisioning import DatabaseOss, ProvisioningOrder
from edge.id_hash import development_keys, hash_keys, id_hash
from models.application import (
    ApplicationInput,
    ApplicationState,
    ApplicationStatus,
    Approve,
    MaterialKind,
    OrderState,
    PreReview,
    ProvisioningCompleted,
    Reject,
    RequestSupplement,
    ReviewFlagCode,
    SupplyMaterials,
)
from models.identity import IdType, citizen_check_digit, mask
from models.policy import ApplicationPolicy, Policy
from worker import build_worker
from workflows.application_review import ApplicationReview

from .conftest import TEST_QUEUE, rows

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
TZ = "Asia/Shanghai"
ID = "11010519491231002X"
"""The specimen number of GB 11643-1999."""
PROXY_ID = "44030419850101001" + citizen_check_digit("44030419850101001")
DEV_KEYS = development_keys()
HOLDER = id_hash(IdType.resident_id_card, ID, DEV_KEYS)
WID = "application-A1"
MOBILE = [{"kind": "application_form", "document_id": "DOC-1"}, {"kind": "service_agreement", "document_id": "DOC-2"}]
ADDRESS = {"kind": "address_proof", "document_id": "DOC-3"}


def application(**overrides) -> ApplicationInput:
    data = dict(application_id="A1", service_type="mobile", region="urban", materials=MOBILE,
                requested_start_date=datetime.now(ZoneInfo(TZ)).date(),
                applicant=dict(customer_ref="CUST-2001", name="王芳", phone="13800138000",
                               identity=dict(id_type="resident_id_card", id_number=ID,
                                             verification_source="card_reader")))
    return ApplicationInput.model_validate({**data, **overrides})


def application_worker(env, engine, policy, inventory, *, complete_immediately: bool = True, **options):
    return build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE, inventory=inventory,
                        provisioning=DatabaseOss(engine, inventory, complete_immediately=complete_immediately),
                        **options)


@pytest.fixture
def inventory(engine) -> DatabaseInventory:
    seed_inventory(engine)
    return DatabaseInventory(engine)


@pytest.fixture
async def app_worker(env, engine, policy, inventory):
    async with application_worker(env, engine, policy, inventory) as worker:
        yield worker


async def start(env, app: ApplicationInput | None = None) -> WorkflowHandle:
    app = app or application()
    return await env.client.start_workflow(ApplicationReview.run, app, id=app.workflow_id, task_queue=TEST_QUEUE)


async def until(handle: WorkflowHandle, ready: Callable[[ApplicationStatus], bool]) -> ApplicationStatus:
    """Poll the status query until the case reaches what the test waits for."""
    for _ in range(200):
        status = await handle.query(ApplicationReview.status)
        if ready(status):
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"case never got there; it is {status.state}, awaiting {status.awaiting}")


async def settled(handle: WorkflowHandle) -> ApplicationStatus:
    """Past the completeness check and pre-review: pending, in review, or ended."""
    return await until(handle, lambda s: s.awaiting != "completeness check and pre-review")


def clock(status: ApplicationStatus, name: str):
    return next(c for c in status.clocks if c.name == name)


def steps(engine, wid: str = WID) -> list[str]:
    return [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, wid)]


def templates(engine, wid: str = WID) -> list[str]:
    return [n.template for n in rows(engine, Notification, wid)]


def near(a: datetime, b: datetime, tolerance: timedelta = timedelta(seconds=2)) -> bool:
    return abs(a - b) <= tolerance


def active_lines(engine, holder: str = HOLDER) -> list[CustomerLine]:
    return [line for line in rows(engine, CustomerLine) if line.holder_hash == holder and line.status == "active"]


def free_numbers(engine, service_type: str = "mobile") -> list[str]:
    return [n.number for n in rows(engine, PoolNumber) if n.service_type == service_type and n.status == "free"]


@pytest.mark.postgres
async def test_happy_path_activates_a_free_number_for_the_customer(env, app_worker, engine):
    free_before = free_numbers(engine)
    handle = await start(env)
    status = await settled(handle)
    assert status.state is ApplicationState.inProgress and status.awaiting == "the reviewer's decision"
    assert status.pre_review == PreReview(service_available=True, active_lines=0, line_limit=5, line_limit_applies=True)
    assert status.review_flags == [] and list(status.deadlines) == ["review"]
    await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
    result = await handle.result()

    assert [h.state for h in result.history] == ["acknowledged", "inProgress", "completed"]
    assert result.order.state is OrderState.completed and result.order.days_late == 0
    assert result.order.penalty_fen is None and result.deadlines == {}
    [line] = active_lines(engine)
    assert line.service_type == "mobile" and line.order_id == "ORD-A1" and line.customer_ref == "CUST-2001"
    assert line.line_id in free_before and free_numbers(engine) == [n for n in free_before if n != line.line_id]
    [number] = [n for n in rows(engine, PoolNumber) if n.number == line.line_id]
    assert number.status == NumberStatus.assigned and number.holder_hash == HOLDER
    [order] = rows(engine, ProvisioningOrder)
    assert order.status == "completed" and order.activated_at == result.order.activated_at

    [case] = rows(engine, Case, WID)
    assert case.state == "completed" and case.closed_at is not None and not case.sla_breached
    assert case.details["id_masked"] == "1101**********002X" and case.details["id_hash"] == HOLDER
    assert steps(engine) == ["received", "pre-reviewed", "approved", "completed"]
    assert templates(engine) == ["application.received", "application.review_requested", "application.approved",
                                 "application.activated"]
    assert rows(engine, Compensation, WID) == [] and rows(engine, SlaEvent, WID) == []
    [archive] = rows(engine, ArchiveEntry, WID)
    assert archive.classification == "application" and archive.summary["outcome"] == "completed"
    stored = json.dumps([case.details, archive.summary, [n.params for n in rows(engine, Notification, WID)]])
    assert ID not in stored and "王芳" not in stored and "13800138000" not in stored
    assert len([e async for e in handle.fetch_history_events()]) <= 80  # about 65: 6 activities, 1 update


async def test_missing_material_pends_until_supplied_on_working_day_4(env, app_worker, engine):
    calendar = WorkingCalendar(TZ)
    handle = await start(env, application(materials=MOBILE[:1]))
    status = await settled(handle)
    assert status.state is ApplicationState.pending and status.outstanding_materials == [MaterialKind.service_agreement]
    opened = clock(status, "supplement-1").started_at
    assert status.deadlines == {"supplement-1": calendar.add_working_time(opened, 5 * DAY)}
    assert status.pre_review is None  # pre-review waits for a complete file

    await env.sleep(calendar.add_working_time(opened, 3 * DAY + HOUR) - await env.get_current_time())
    [reminder] = [n for n in rows(engine, Notification, WID) if n.template == "application.materials_reminder"]
    assert near(reminder.created_at, calendar.add_working_time(opened, 3 * DAY))
    assert reminder.params["missing"] == ["service_agreement"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
    assert "materials are outstanding (service_agreement)" in str(refused.value.cause)

    supplied = SupplyMaterials(materials=[{"kind": "service_agreement", "document_id": "DOC-9"}])
    status = await handle.execute_update(ApplicationReview.supply_materials, supplied)
    assert status.state is ApplicationState.inProgress and status.outstanding_materials == []
    assert status.pre_review is not None and list(status.deadlines) == ["review"]
    await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
    result = await handle.result()
    assert [h.state for h in result.history] == ["acknowledged", "pending", "inProgress", "completed"]
    assert templates(engine).count("application.materials_reminder") == 1
    assert rows(engine, SlaEvent, WID) == [] and not rows(engine, Case, WID)[0].sla_breached


def nth_working_day_after(calendar: WorkingCalendar, day: date, n: int) -> date:
    while n:
        day += DAY
        n -= calendar.is_working_day(day)
    return day


async def test_never_supplied_is_cancelled_after_5_working_days_across_a_holiday(env, engine, policy, inventory):
    plain = WorkingCalendar(TZ)
    today = (await env.get_current_time()).astimezone(ZoneInfo(TZ)).date()
    holiday = nth_working_day_after(plain, today, 2)
    overrides = CalendarOverrides(holidays=frozenset({holiday}))
    calendar = WorkingCalendar(TZ, overrides)
    async with application_worker(env, engine, policy, inventory, calendar=overrides):
        handle = await start(env, application(materials=[]))
        status = await settled(handle)
        opened = clock(status, "supplement-1").started_at
        remind_at, expire_at = calendar.add_working_time(opened, 3 * DAY), calendar.add_working_time(opened, 5 * DAY)
        assert remind_at > plain.add_working_time(opened, 3 * DAY)  # the holiday moved both
        assert status.deadlines["supplement-1"] == expire_at > plain.add_working_time(opened, 5 * DAY)
        result = await handle.result()

    assert result.state is ApplicationState.cancelled and near(result.history[-1].at, expire_at)
    assert "not supplied within 5 working days" in result.history[-1].reason
    assert result.deadlines == {} and result.clocks == []
    assert templates(engine) == ["application.received", "application.materials_requested",
                                 "application.materials_reminder", "application.cancelled"]
    reminder = rows(engine, Notification, WID)[2]
    assert near(reminder.created_at, remind_at)
    [case] = rows(engine, Case, WID)
    assert case.state == "cancelled" and case.closed_at is not None
    assert not case.sla_breached and rows(engine, SlaEvent, WID) == []  # the customer's window is no SLA
    assert rows(engine, ArchiveEntry, WID)[0].summary["outcome"] == "cancelled"


def held_line(n: int, service_type: str = "mobile", status: str = "active") -> CustomerLine:
    return CustomerLine(order_id=f"OLD-{service_type}-{n}", holder_hash=HOLDER, customer_ref="CUST-2001",
                        service_type=service_type, line_id=f"1370000{n:04d}", status=status,
                        activated_at=datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC")))


async def test_a_customer_at_the_line_limit_needs_a_reviewer_override(env, app_worker, engine, inventory):
    for n in range(5):
        inventory.activate_line(held_line(n))
    inventory.activate_line(held_line(5, status="terminated"))  # neither of these counts
    inventory.activate_line(held_line(6, service_type="broadband"))
    handle = await start(env)
    status = await settled(handle)
    assert status.state is ApplicationState.inProgress and status.awaiting == "the reviewer's decision"
    assert status.pre_review.active_lines == 5 and status.pre_review.service_available
    [flag] = status.review_flags
    assert flag.code is ReviewFlagCode.line_limit and "holds 5 active lines, the limit is 5" in flag.detail
    [request] = [n for n in rows(engine, Notification, WID) if n.template == "application.review_requested"]
    assert request.recipient == "application-review" and request.params["flags"] == ["line_limit"]

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
    assert "override_reason" in str(refused.value.cause)
    await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao", override_reason="已核实为家庭副卡"))
    result = await handle.result()
    assert result.state is ApplicationState.completed and result.decision.reason == "已核实为家庭副卡"
    assert "approved over flags (line_limit)" in rows(engine, CaseEvent, WID)[2].reason
    assert len([line for line in active_lines(engine) if line.service_type == "mobile"]) == 6


async def test_a_flagged_identity_is_reviewed_and_can_be_rejected(env, app_worker, engine):
    with Session(engine) as session:
        session.add(IdentityFlag(holder_hash=HOLDER, reason="反诈名单: 涉诈号码关联",
                                 flagged_at=datetime.now(ZoneInfo(TZ))))
        session.commit()
    handle = await start(env)
    status = await settled(handle)
    assert [f.code for f in status.review_flags] == [ReviewFlagCode.risk_flag]
    await handle.execute_update(ApplicationReview.reject, Reject(actor="r.zhao", reason="身份存在风险，请到营业厅办理"))
    result = await handle.result()
    assert result.state is ApplicationState.rejected and result.decision.outcome == "rejected"
    [note] = [n for n in rows(engine, Notification, WID) if n.template == "application.rejected"]
    assert note.params["reason"] == "身份存在风险，请到营业厅办理" and note.recipient == "CUST-2001"
    assert active_lines(engine) == [] and rows(engine, ProvisioningOrder) == []


async def test_a_silent_reviewer_gets_warnings_then_the_supervisor_each_once(env, app_worker, engine):
    calendar = WorkingCalendar(TZ)
    handle = await start(env)
    started = clock(await settled(handle), "review").started_at
    breach = calendar.add_working_time(started, 2 * DAY)
    expected = {"review:warning-50pct": calendar.add_working_time(started, DAY),
                "review:warning-75pct": calendar.add_working_time(started, 36 * HOUR),
                "review:warning-90pct": calendar.add_working_time(started, timedelta(hours=43, minutes=12)),
                "review:breach": breach, "review:escalation-functional": breach,
                "review:escalation-hierarchic": breach + DAY}
    await env.sleep(breach + DAY + HOUR - await env.get_current_time())
    status = await handle.query(ApplicationReview.status)
    assert {e.key: e.at for e in rows(engine, SlaEvent, WID)} == expected
    assert status.escalated_to == "review-manager" and status.deadlines == {"review": breach}
    staff = [(n.template, n.recipient) for n in rows(engine, Notification, WID) if n.channel == "staff"]
    assert staff == [("application.review_requested", "application-review"),
                     *[("sla.warning", "application-review")] * 3, ("sla.breach", "application-review"),
                     ("sla.escalation", "review-supervisor"), ("sla.escalation", "review-manager")]
    assert rows(engine, Case, WID)[0].sla_breached

    await env.sleep(3 * DAY)
    assert len(rows(engine, SlaEvent, WID)) == 6  # each once
    await handle.execute_update(ApplicationReview.approve, Approve(actor="r.sun"))  # still open until decided
    assert (await handle.result()).state is ApplicationState.completed
    assert len(rows(engine, SlaEvent, WID)) == 6


async def test_a_supplement_requested_in_review_pauses_the_review_clock(env, app_worker, engine):
    calendar = WorkingCalendar(TZ)
    handle = await start(env)
    started = clock(await settled(handle), "review").started_at
    await env.sleep(2 * HOUR)
    ask = RequestSupplement(actor="r.zhao", materials=["service_agreement"], note="签名不清晰")
    status = await handle.execute_update(ApplicationReview.request_supplement, ask)
    assert status.state is ApplicationState.pending and status.supplement_rounds == 1
    assert set(status.deadlines) == {"supplement-1"} and clock(status, "review").paused
    paused_at = clock(status, "review").pauses[0].paused_at
    await env.sleep(DAY)
    supplied = SupplyMaterials(materials=[{"kind": "service_agreement", "document_id": "D7"}])
    status = await handle.execute_update(ApplicationReview.supply_materials, supplied)
    review = clock(status, "review")
    used = calendar.working_time_between(started, paused_at)
    assert status.state is ApplicationState.inProgress and not review.paused
    assert status.deadlines["review"] == calendar.add_working_time(review.pauses[0].resumed_at, 2 * DAY - used)
    assert [e.kind for e in rows(engine, SlaEvent, WID)] == ["pause", "resume"]
    assert [h.state for h in status.history] == ["acknowledged", "inProgress", "pending", "inProgress"]


@pytest.mark.parametrize("customer_caused", [False, True], ids=["operator-fault", "customer-caused"])
async def test_activation_3_days_late_costs_3_percent_of_the_fee_once(env, engine, policy, inventory, customer_caused):
    calendar = WorkingCalendar(TZ)
    async with application_worker(env, engine, policy, inventory, complete_immediately=False):
        handle = await start(env, application(service_type="broadband", materials=[*MOBILE, ADDRESS]))
        await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
        status = await until(handle, lambda s: s.order is not None)
        limit = clock(status, "provisioning")
        due = calendar.add_working_time(limit.started_at, 5 * DAY)
        assert limit.started_at == status.decision.at and status.order.state is OrderState.accepted
        assert status.order.due_at == due and status.deadlines == {"provisioning": due}
        activated = due + timedelta(days=2, hours=12)  # 3 started days late
        await env.sleep(activated + HOUR - await env.get_current_time())
        report = ProvisioningCompleted(order_id="ORD-A1", activated_at=activated, customer_caused_delay=customer_caused)
        await handle.signal(ApplicationReview.provisioning_completed, report)
        await handle.signal(ApplicationReview.provisioning_completed, report)  # the OSS repeats itself
        result = await handle.result()

    assert result.state is ApplicationState.completed and result.order.days_late == 3
    assert result.order.activated_at == activated
    penalties = rows(engine, Compensation, WID)
    if customer_caused:
        assert penalties == [] and result.order.penalty_fen is None
    else:
        [penalty] = penalties
        assert penalty.kind == "penalty" and penalty.amount_fen == 300  # 3 % of the 10000 fen installation fee
        assert penalty.period_start == due and penalty.period_end == activated and "条例 Art. 31" in penalty.reason
        assert result.order.penalty_fen == 300
        assert rows(engine, Notification, WID)[-1].params["penalty_fen"] == 300
    keys = [e.key for e in rows(engine, SlaEvent, WID)]
    assert keys == ["provisioning:warning-50pct", "provisioning:warning-75pct", "provisioning:warning-90pct",
                    "provisioning:breach", "provisioning:escalation-functional", "provisioning:escalation-hierarchic"]
    [line] = active_lines(engine)
    assert line.service_type == "broadband" and line.activated_at == activated
    assert rows(engine, ProvisioningOrder)[0].status == "completed"


async def test_a_service_the_region_lacks_is_rejected_at_pre_review(env, app_worker, engine):
    handle = await start(env, application(service_type="fixed_line", region="rural", materials=[*MOBILE, ADDRESS]))
    result = await handle.result()
    assert result.state is ApplicationState.rejected and result.decision is None
    assert result.pre_review.service_available is False
    assert "fixed_line is not offered in rural regions" in result.history[-1].reason
    assert templates(engine) == ["application.received", "application.rejected"]


@pytest.mark.postgres
async def test_no_free_number_fails_the_application(env, app_worker, engine):
    with Session(engine) as session:
        session.exec(delete(PoolNumber).where(PoolNumber.service_type == "mobile"))
        session.commit()
    handle = await start(env)
    await handle.execute_update(ApplicationReview.approve, Approve(actor="r.zhao"))
    result = await handle.result()
    assert result.state is ApplicationState.failed and "no free mobile number" in result.history[-1].reason
    assert templates(engine)[-1] == "application.failed" and active_lines(engine) == []


class GateNotifier:
    """Holds the delivery of one template until released: the transition is written, its activity
    not yet finished, so a second reviewer can act meanwhile."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.arrived, self.release = threading.Event(), threading.Event()

    def send(self, message, contact) -> None:
        if message.template == self.template:
            self.arrived.set()
            self.release.wait(10)


async def test_approve_after_reject_is_refused(env, engine, policy, inventory):
    gate = GateNotifier("application.rejected")
    async with application_worker(env, engine, policy, inventory, notifier=gate):
        handle = await start(env)
        await settled(handle)
        rejecting = asyncio.create_task(handle.execute_update(
            ApplicationReview.reject, Reject(actor="r.zhao", reason="证件照片与本人不符")))
        assert await asyncio.to_thread(gate.arrived.wait, 5)
        approving = asyncio.create_task(handle.execute_update(ApplicationReview.approve, Approve(actor="r.qian")))
        await asyncio.sleep(0.3)
        gate.release.set()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await approving
        assert "rejected" in str(refused.value.cause)
        assert (await rejecting).state is ApplicationState.rejected
        assert (await handle.result()).decision.actor == "r.zhao"
    assert steps(engine) == ["received", "pre-reviewed", "rejected"]
    assert "application.approved" not in templates(engine) and rows(engine, ProvisioningOrder) == []


def raw(**changes) -> dict:
    """An application as a non-Python service sends it: plain JSON, perhaps wrong."""
    data = application().model_dump(mode="json", exclude_none=True)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return data


PROXY = {"name": "李四", "identity": {"id_type": "resident_id_card", "id_number": PROXY_ID,
                                     "verification_source": "online"}}
BAD_INPUTS = {
    "proxy without the proxy's own ID": (raw(proxy={"name": "李四"}), "proxy.identity"),
    "proxy is the applicant": (raw(proxy={**PROXY, "identity": {**raw()["applicant"]["identity"],
                                                                "id_type": "household_register"}}), "proxy.identity"),
    "manual ID entry": (raw(applicant__identity__verification_source="manual"),
                        "applicant.identity.verification_source"),
    "bad check digit": (raw(applicant__identity__id_number=ID[:-1] + "5"), "applicant.identity.id_number"),
    "bad proxy check digit": (raw(proxy={**PROXY, "identity": {**PROXY["identity"], "id_number": PROXY_ID[:-1] + "0"}}),
                              "proxy.identity.id_number"),
    "ID type outside 令25号": (raw(applicant__identity__id_type="driving_licence"), "applicant.identity.id_type"),
    "permit number for the wrong document": (raw(applicant__identity__id_type="taiwan_permit"),
                                             "applicant.identity.id_number"),
    "unknown material": (raw(materials=[{"kind": "selfie", "document_id": "D1"}]), "materials.0.kind"),
    "unknown service": (raw(service_type="satellite"), "service_type"),
    "start date in the past": (raw(requested_start_date="2020-01-01"), "requested_start_date"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
async def test_bad_input_fails_naming_the_field_with_nothing_written(env, app_worker, engine, name):
    data, field = BAD_INPUTS[name]
    handle = await env.client.start_workflow("ApplicationReview", data, id=WID, task_queue=TEST_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert field in str(cause) and cause.type in ("ValidationError", "InvalidInput")
    assert ID not in str(cause) and PROXY_ID not in str(cause)  # errors never echo an ID number
    assert rows(engine, Case) == [] and rows(engine, CustomerContact) == []
    if name != "start date in the past":  # the typed model refuses it before anything is sent
        with pytest.raises(ValueError, match=field.split(".")[-1]):
            ApplicationInput.model_validate(data)


async def test_a_non_python_service_drives_a_case_with_plain_json(env, app_worker, engine):
    data = raw(proxy=PROXY, materials=[*MOBILE, {"kind": "proxy_authorization", "document_id": "DOC-4"}])
    handle = await env.client.start_workflow("ApplicationReview", data, id=WID, task_queue=TEST_QUEUE)
    answer = await handle.execute_update("approve", {"actor": "r.zhao"})  # waits for the pre-review
    assert answer["state"] == "inProgress" and answer["decision"]["outcome"] == "approved" and answer["proxy"]
    result = await handle.result()
    assert result["state"] == "completed" and result["id_masked"] == "1101**********002X"
    [case] = rows(engine, Case, WID)
    assert case.details["proxy_id_masked"] == mask(PROXY_ID)
    assert case.details["proxy_id_hash"] == id_hash(IdType.resident_id_card, PROXY_ID, DEV_KEYS)


def test_id_numbers_hash_per_person_and_mask_short_numbers():
    household = id_hash(IdType.household_register, ID, DEV_KEYS)
    assert household == HOLDER != id_hash(IdType.foreign_passport, ID, DEV_KEYS)  # one 公民身份号码, one person
    assert mask("H12345678") == "H1*****78" and mask("12345678") == "12****78"


def test_the_hash_is_the_key_rings():
    assert id_hash(IdType.resident_id_card, ID, hash_keys("prod-1:" + "QUJD" * 11, production=True)) != HOLDER


def test_the_default_application_policy_is_consistent_and_typos_are_refused():
    defaults = ApplicationPolicy()
    assert ApplicationPolicy.model_validate(defaults.model_dump()) == defaults
    assert defaults.provisioning_clock("broadband", "rural").budget == 10 * DAY
    with pytest.raises(ValueError, match=r"services\.mobile\.required_materials"):
        Policy.model_validate({"application": {"services": {
            **defaults.model_dump()["services"],
            "mobile": {**defaults.model_dump()["services"]["mobile"], "required_materials": ["aplication_form"]}}}})
