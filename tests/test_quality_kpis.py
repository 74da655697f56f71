"""The KPI rules without a server (activities.kpis, models.quality, the `telecom report` output): the
counting rule for open cases, percentiles, held time, erasure due times, periods and their labels."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from activities.kpis import CaseRecord, Event, Mark, Payment, Window, faults, figures, held_time, on_time, terminations
from activities.tables import QualityFigure
from models.complaint import DEEMED_REASON, SATISFIED_REASON
from models.quality import closed_periods, period_of
from models.sla import SlaEventKind
from models.termination import ALL_EQUIPMENT_BACK

from .conftest import binary

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
NOVEMBER = Window(start=T0, end=T0 + 30 * DAY, timezone="Asia/Shanghai")


def case(wid: str = "fault-1", *events: tuple[str, timedelta], marks=(), **facts) -> CaseRecord:
    return CaseRecord(workflow_id=wid, opened_at=T0, events=[Event(step, T0 + at, "") for step, at in events],
                      marks=[Mark(clock, SlaEventKind(kind), T0 + at) for clock, kind, at in marks], **facts)


def met(c: CaseRecord):
    return c.first("resolved")


def missed(c: CaseRecord):
    return c.breach("resolution")


def test_each_deadline_counts_once_in_the_period_its_outcome_became_known():
    on_time_case = case("a", ("resolved", 2 * HOUR))
    late_then_met = case("b", ("resolved", 30 * HOUR), marks=[("resolution", "breach", 24 * HOUR)])
    open_and_late = case("c", marks=[("resolution", "breach", 5 * DAY)])
    open_not_due = case("d")
    met_next_period = case("e", ("resolved", 31 * DAY))
    late_last_period = case("f", ("resolved", 2 * DAY), marks=[("resolution", "breach", -DAY)])
    cases = [on_time_case, late_then_met, open_and_late, open_not_due, met_next_period, late_last_period]
    assert on_time(NOVEMBER, cases, met, missed) == (1, 3)
    assert on_time(Window(T0 + 30 * DAY, T0 + 60 * DAY, "UTC"), cases, met, missed) == (1, 1)


def test_a_breach_after_the_first_repair_leaves_its_outcome_on_time():
    reopened = case("a", ("resolved", HOUR), ("reopened", 2 * HOUR), ("resolved", 40 * HOUR),
                    marks=[("resolution", "breach", 24 * HOUR)])
    assert on_time(NOVEMBER, [reopened], met, missed) == (1, 1)


def test_held_time_runs_from_each_hold_to_its_resume_before_the_first_repair():
    c = case("a", ("held", HOUR), ("resumed", 3 * HOUR), ("held", 4 * HOUR), ("resumed", 5 * HOUR),
             ("resolved", 6 * HOUR), ("reopened", 7 * HOUR), ("held", 8 * HOUR), ("resumed", 20 * HOUR))
    assert held_time(c) == 3 * HOUR


def test_repair_hours_give_the_nearest_rank_p90_and_leave_linked_tickets_out_of_operator_rates():
    tickets = [case(f"t{n}", ("resolved", n * HOUR), details={"reported_at": T0.isoformat()}) for n in range(1, 11)]
    linked = case("linked", ("resolved", 100 * HOUR), marks=[("response", "breach", HOUR)],
                  details={"linked_change": "CHG-1", "first_response_at": (T0 + 2 * HOUR).isoformat()})
    found = {kpi: (value, numerator, denominator) for kpi, value, numerator, denominator, _ in
             faults(NOVEMBER, [*tickets, linked], 0)}
    assert found["repair_hours_p90"][0] == 10  # of 1..10 and 100: the 10th of 11
    assert found["repair_hours_mean"][0] == pytest.approx((55 + 100) / 11)
    assert found["response_on_time"] == (None, 0, 0)  # the linked ticket has no response target
    assert found["statutory_on_time"][1:] == (11, 11)


def test_termination_outcomes_come_from_records_that_survive_the_erasure():
    erase_at = T0 + 10 * DAY + 3 * HOUR  # 11:00 in Shanghai: due by the end of that local day
    returned = CaseRecord("termination-a", T0, details={"equipment": "[erased]"}, erase_at=erase_at, events=[
        Event("equipment-returned", T0 + DAY, "returned: onu"),
        Event("equipment-returned", T0 + 2 * DAY, f"returned: stb; {ALL_EQUIPMENT_BACK}"),
        Event("personal-data-erased", erase_at + 12 * HOUR, "")])
    charged = CaseRecord("termination-b", T0, erase_at=erase_at, events=[
        Event("equipment-returned", T0 + DAY, "returned: onu"), Event("equipment-charged", T0 + 15 * DAY, ""),
        Event("numbers-released", T0 + 20 * DAY, "")])
    found = {kpi: (value, numerator, denominator) for kpi, value, numerator, denominator, _ in
             terminations(NOVEMBER, [returned, charged], 0)}
    assert found["equipment_returned_on_time"] == (50, 1, 2)
    assert found["erasure_on_time"] == (50, 1, 2)  # a's within the day; b's never done by the day's end
    assert found["numbers_released"][0] == 1
    assert found["requested"][0] == 2  # their request times erased: counted from their first record


def test_complaint_answers_are_read_from_the_records_reasons():
    answers = CaseRecord("complaint-a", T0, details={"category": "billing", "received_at": T0.isoformat()}, events=[
        Event("confirmed", T0 + DAY, SATISFIED_REASON),
        Event("closed", T0 + 2 * DAY, "closure report; customer satisfied"),  # the answer was counted before
        Event("reopened", T0 + 3 * DAY, "customer dissatisfied: reopening 1 of 2"),
        Event("confirmation-deemed", T0 + 4 * DAY, DEEMED_REASON)])
    rows = {(f.kpi, f.dimension): f for f in figures("complaint", NOVEMBER, [answers], 40_000)}
    assert (rows["satisfied", ""].numerator, rows["satisfied", ""].denominator) == (1, 3)
    assert rows["dissatisfied", "category=billing"].numerator == 1
    assert rows["confirmed_by_silence", ""].numerator == 1
    assert rows["per_10k_lines", ""].value == pytest.approx(0.25)


def test_compensations_total_what_was_recorded_in_the_period():
    waived = case("a", payments=[Payment("rental_waiver", 300, T0 + DAY), Payment("rental_waiver", 200, T0 - DAY)])
    found = {kpi: (value, numerator) for kpi, value, numerator, _, _ in faults(NOVEMBER, [waived], 0)}
    assert found["rental_waivers"] == (300, 1)


@pytest.mark.parametrize("label, first, last", [
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-11-03..2026-11-20", date(2026, 11, 3), date(2026, 11, 20))])
def test_periods_are_local_days(label, first, last):
    period = period_of(label)
    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize("label", ["2026-13", "2026-Q5", "2026-11-20..2026-11-03", "2026-01-01..2027-01-02",
                                   "1999-12", "26-11", "2026-11 ", "november"])
def test_a_period_that_is_not_one_is_refused(label):
    with pytest.raises(ValueError):
        period_of(label)


def test_the_schedule_reports_the_closed_month_and_the_quarter_it_ends():
    assert [p.label for p in closed_periods(date(2026, 12, 1))] == ["2026-11"]
    assert [p.label for p in closed_periods(date(2027, 1, 1))] == ["2026-12", "2026-Q4"]
    assert [p.label for p in period_of("2026-02").previous(3)] == ["2025-11", "2025-12", "2026-01"]
    assert [p.label for p in period_of("2026-Q1").previous(2)] == ["2025-Q3", "2025-Q4"]


def _figure(period: str, kpi: str, value: float | None, dimension: str = "", numerator=None, denominator=None):
    now = datetime.now(UTC)
    return QualityFigure(period=period, process="fault", kpi=kpi, dimension=dimension, value=value,
                         numerator=numerator, denominator=denominator, unit="%" if numerator is not None else "h",
                         period_start=now, period_end=now, computed_at=now)


@pytest.mark.slow  # `telecom report` as a process
def test_telecom_report_prints_the_table_and_writes_the_chart_and_the_page(engine, tmp_path):
    from sqlmodel import Session
    with Session(engine) as session:
        session.add_all([_figure("2026-10", "repair_on_time", 50.0, numerator=1, denominator=2),
                         _figure("2026-11", "repair_on_time", 75.0, numerator=3, denominator=4),
                         _figure("2026-11", "repair_on_time", 0.0, "region=rural", 0, 1),
                         _figure("2026-11", "repair_hours_mean", None)])
        session.commit()
    env = {"PATH": "/usr/bin:/bin", "TELECOM_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    text = subprocess.run([binary("telecom"), "report", "2026-11", "--chart", str(tmp_path / "q.png"),
                           "--html", str(tmp_path / "q.html")], capture_output=True, text=True, env=env, timeout=60)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["process", "kpi", "dimension", "value"]
    assert lines[1].split() == ["fault", "repair_hours_mean", "all", "–"]
    assert lines[2].split() == ["fault", "repair_on_time", "all", "75.0", "%", "(3/4)"]
    assert not any("rural" in line for line in lines)  # breakdowns only with --dimensions
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "q.html").read_text(encoding="utf-8")
    assert "<th>2026-10</th>" in page and "50.0 % (1/2)" in page and "data:image/png;base64," in page

    data = subprocess.run([binary("telecom"), "-o", "json", "report", "2026-11", "--dimensions"],
                          capture_output=True, text=True, env=env, timeout=60)
    figures_json = json.loads(data.stdout)["figures"]
    assert {(f["kpi"], f["dimension"]) for f in figures_json} == {
        ("repair_on_time", ""), ("repair_on_time", "region=rural"), ("repair_hours_mean", "")}

    missing = subprocess.run([binary("telecom"), "-o", "json", "report", "2026-09"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert missing.returncode == 1 and json.loads(missing.stdout)["type"] == "NotFound"
    bad = subprocess.run([binary("telecom"), "report", "2026-13"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "no month 13" in bad.stderr
    with engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(QualityFigure)).scalar_one() == 4
