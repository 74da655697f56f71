"""The quality report end to end (docs/quality.md): cases of every customer process with known
outcomes on the time-skipping server — late, held, breached, reopened, silent — then `QualityReport`
for the period, every KPI checked against values worked out by hand, and a rerun that replaces the
period's rows instead of adding a second set."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowFailureError, WorkflowHandle

from activities.tables import Compensation, QualityFigure
from adapters.network import NetworkService
from models.policy import Policy
from models.quality import WORKFLOW_TYPE, ReportInput, ReportResult, workflow_id

from .conftest import TEST_QUEUE, rows
from .examples import APPLICATION, COMPLAINT, FAULT, TERMINATION, load

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
pytestmark = pytest.mark.postgres


@pytest.fixture
def policy() -> Policy:
    """A line test's diagnostic message is not taken as the first response: dispatch is (F2's is late)."""
    fault = Policy().fault.model_copy(update={"diagnostic_ack_is_response": False})
    return Policy().model_copy(update={"fault": fault})


async def start(env, engine, example, case_id: str, **overrides: Any) -> WorkflowHandle:
    wid, data = example.numbered(0, case_id)
    data = {**data, **overrides}
    if example.seed:
        example.seed(engine, data)
    handle = await env.client.start_workflow(example.workflow_type, data, id=wid, task_queue=TEST_QUEUE)
    await example.opened(env, handle)
    return handle


def update(handle: WorkflowHandle, name: str, **changes: Any):
    kind = handle.id.split("-", 1)[0]
    workflow_type = {"fault": "FaultRepair", "complaint": "ComplaintClosure"}[kind]
    return handle.execute_update(name, {**load(workflow_type, "update", name), **changes})


async def test_a_period_of_cases_gives_the_kpis_worked_out_by_hand(env, worker, engine, policy):
    t0 = await env.get_current_time()
    f1 = await start(env, engine, FAULT, "F1", severity="critical")
    f2 = await start(env, engine, FAULT, "F2", severity="major", region="rural", service_id="FL-4001")
    f3 = await start(env, engine, FAULT, "F3", severity="minor", service_id="FL-3001")
    f4 = await start(env, engine, FAULT, "F4", severity="low")
    c1 = await start(env, engine, COMPLAINT, "C1", category="billing")
    c2 = await start(env, engine, COMPLAINT, "C2", category="network_quality")
    c3 = await start(env, engine, COMPLAINT, "C3", category="service_attitude")
    application = await start(env, engine, APPLICATION, "A1")
    termination = await start(env, engine, TERMINATION, "X1")

    for fault in (f1, f3, f4):
        await update(fault, "assign_technician")  # in time: F2's 1 h response target will pass
    for complaint in (c1, c2, c3):
        await update(complaint, "assign_handler")
    for complaint in (c1, c3):
        await update(complaint, "record_findings")
        await update(complaint, "send_reply")
    await update(c1, "confirm", satisfied=True)  # satisfied, then the closure report
    await update(c1, "submit_closure")
    await update(c3, "confirm", satisfied=False)  # dissatisfied: reopened, answered again, satisfied
    await update(c3, "record_findings")
    await update(c3, "send_reply")
    await update(c3, "submit_closure")
    await update(c3, "confirm", satisfied=True)
    await application.execute_update("approve", APPLICATION.updates["approve"])

    await env.sleep(HOUR)  # t0 + 1 h: F4 repaired (F2's response target passes now)
    await update(f4, "resolve")
    await env.sleep(HOUR)  # + 2 h
    await update(f1, "resolve")
    await update(f1, "confirm")
    await update(f2, "assign_technician")
    await update(f4, "reopen")
    await env.sleep(HOUR)  # + 3 h: F2's customer is away for 3 h; F4 repaired again
    await update(f2, "hold")
    await update(f4, "resolve")
    await update(f4, "confirm")
    await env.sleep(3 * HOUR)  # + 6 h
    await update(f2, "resume")
    await env.sleep(4 * HOUR)  # + 10 h: 7 h of F2's 8 h target used
    await update(f2, "resolve")
    await update(f2, "confirm")
    await env.sleep(40 * HOUR)  # + 50 h: F3 past its 24 h target and the 48 h statutory cap
    await update(f3, "resolve")
    await update(f3, "confirm")
    await env.sleep(14 * DAY)  # + 16 d 2 h: C2's 15 days passed (appeal-eligible), then the late reply
    await update(c2, "record_findings")
    await update(c2, "send_reply")
    await env.sleep(8 * DAY)  # C2's customer stays silent: confirmed by default
    await update(c2, "submit_closure")
    await env.sleep(160 * DAY)  # the termination's equipment charge, quarantine and erasure
    for handle in (f1, f2, f3, f4, c1, c2, c3, application, termination):
        await handle.result()

    zone = ZoneInfo(policy.timezone)
    first = t0.astimezone(zone).date()
    period = f"{first}..{first + timedelta(days=250)}"
    for _ in range(2):  # a rerun replaces the period's rows
        result = await env.client.execute_workflow(WORKFLOW_TYPE, ReportInput(period=period), id=workflow_id(period),
                                                    task_queue=TEST_QUEUE, result_type=ReportResult)
        [written] = result.reports
        assert written.period == period and written.figures == len(rows(engine, QualityFigure))
    figures = {(r.process, r.kpi, r.dimension): r for r in rows(engine, QualityFigure)}
    assert {r.period for r in rows(engine, QualityFigure)} == {period}

    def value(process: str, kpi: str, dimension: str = "") -> float | None:
        return figures[process, kpi, dimension].value

    def ratio(process: str, kpi: str, dimension: str = "") -> tuple[float | None, float | None]:
        row = figures[process, kpi, dimension]
        return row.numerator, row.denominator

    # Faults: F1 2 h, F2 10 h (3 h held), F3 50 h, F4 1 h to its first repair.
    assert value("fault", "reported") == 4
    assert ratio("fault", "response_on_time") == (3, 4)  # F2 dispatched after its 1 h
    assert ratio("fault", "response_on_time", "region=rural") == (0, 1)
    assert ratio("fault", "response_on_time", "region=urban") == (3, 3)
    assert ratio("fault", "repair_on_time") == (3, 4)  # F3 only; F2's hold paused its clock
    assert ratio("fault", "statutory_on_time") == (3, 4)
    assert ratio("fault", "statutory_on_time", "severity=minor") == (0, 1)
    assert value("fault", "repair_hours_mean") == pytest.approx((2 + 10 + 50 + 1) / 4, abs=0.01)
    assert value("fault", "repair_hours_p90") == pytest.approx(50, abs=0.01)
    assert value("fault", "repair_hours_mean_excl_held") == pytest.approx((2 + 7 + 50 + 1) / 4, abs=0.01)
    assert value("fault", "repair_hours_p90_excl_held") == pytest.approx(50, abs=0.01)
    assert value("fault", "repair_hours_mean", "severity=major") == pytest.approx(10, abs=0.01)
    assert value("fault", "repair_hours_mean_excl_held", "severity=major") == pytest.approx(7, abs=0.01)
    assert ratio("fault", "reopen_rate") == (1, 5) and value("fault", "reopen_rate") == pytest.approx(20)
    [waiver] = [c for c in rows(engine, Compensation) if c.kind == "rental_waiver"]
    assert waiver.workflow_id == f3.id
    assert (value("fault", "rental_waivers"), ratio("fault", "rental_waivers")[0]) == (waiver.amount_fen, 1)

    # Complaints: C1 satisfied; C2 replied late, silent; C3 dissatisfied once, then satisfied.
    with engine.connect() as db:
        lines = db.execute(sa.select(sa.func.count()).select_from(NetworkService)).scalar_one()
    assert value("complaint", "received") == 3
    assert value("complaint", "per_10k_lines") == pytest.approx(3 * 10_000 / lines)
    assert ratio("complaint", "reply_on_time") == (2, 3)
    assert ratio("complaint", "reply_on_time", "category=network_quality") == (0, 1)
    assert value("complaint", "appeal_eligible") == 1
    assert ratio("complaint", "satisfied") == (2, 4)
    assert ratio("complaint", "confirmed_by_silence") == (1, 4)
    assert ratio("complaint", "dissatisfied") == (1, 4)
    assert value("complaint", "reopenings") == 1
    assert value("complaint", "escalations") == 1  # C2's breach, to the supervisor; replied before the next

    # The application, activated at once; the termination: modem never returned, its data erased on time.
    assert value("application", "received") == 1
    assert ratio("application", "installation_on_time") == (1, 1)
    assert value("application", "days_to_activation_mean") == pytest.approx(0, abs=0.01)
    assert ratio("application", "supplement_rate") == (0, 1)
    assert (value("application", "penalties"), ratio("application", "penalties")[0]) == (0, 0)
    assert value("termination", "requested") == 1
    assert ratio("termination", "refund_on_time") == (0, 0) and value("termination", "refund_on_time") is None
    assert ratio("termination", "equipment_returned_on_time") == (0, 1)
    assert value("termination", "numbers_released") == 0  # a broadband line has no number to quarantine
    assert ratio("termination", "erasure_on_time") == (1, 1)


async def test_a_report_for_another_period_than_its_id_says_is_refused(env, worker):
    with pytest.raises(WorkflowFailureError) as failed:
        await env.client.execute_workflow(WORKFLOW_TYPE, ReportInput(period="2026-11"), id="quality-report-2026-10",
                                          task_queue=TEST_QUEUE)
    assert "must be 'quality-report-2026-11'" in str(failed.value.cause)


async def test_the_schedule_run_reports_the_month_just_closed(env, worker, engine):
    now = await env.get_current_time()
    result = await env.client.execute_workflow(WORKFLOW_TYPE, ReportInput(), id="quality-report-monthly-run",
                                               task_queue=TEST_QUEUE, result_type=ReportResult)
    last_month = now.astimezone(ZoneInfo("Asia/Shanghai")).date().replace(day=1) - DAY
    quarter = [f"{last_month.year}-Q{last_month.month // 3}"] if last_month.month % 3 == 0 else []
    assert [r.period for r in result.reports] == [f"{last_month:%Y-%m}", *quarter]
    assert {r.period for r in rows(engine, QualityFigure)} == {r.period for r in result.reports}
