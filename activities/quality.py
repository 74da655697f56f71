"""The quality report's activity (docs/quality.md): reads a period's cases from the records, computes
their KPIs (activities.kpis) and writes them as `qualityfigure` rows, replacing the period's earlier
rows in the same transaction, so a rerun never leaves a second set. The latest month's figures are
also Prometheus gauges on the worker's metrics endpoint."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from temporalio import activity
from temporalio.common import MetricMeter

from adapters.network import Network
from edge.sql import table_of
from models.policy import Policy
from models.quality import (
    Figure,
    Period,
    ReportRequest,
    ReportResult,
    ReportWritten,
    closed_periods,
    is_month,
    period_of,
)
from models.sla import SlaEventKind

from .kpis import PROCESSES, CaseRecord, Event, Mark, Payment, Window, figures
from .tables import Case, CaseEvent, Compensation, QualityFigure, SlaEvent
from .termination import DataErasure

CASE, EVENT, SLA_EVENT, COMPENSATION, FIGURE, ERASURE = (
    table_of(t) for t in (Case, CaseEvent, SlaEvent, Compensation, QualityFigure, DataErasure))
GAUGE = "telecom_quality"
GAUGE_MONTH = "telecom_quality_month"


class QualityReports:
    def __init__(self, engine: sa.Engine, policy: Policy, network: Network, meter: MetricMeter | None = None) -> None:
        self.engine, self.policy, self.network = engine, policy, network
        self.meter = meter

    def window(self, period: Period) -> Window:
        zone = ZoneInfo(self.policy.timezone)
        return Window(start=datetime.combine(period.first, time(), zone).astimezone(UTC),
                      end=datetime.combine(period.after, time(), zone).astimezone(UTC), timezone=self.policy.timezone)

    @activity.defn
    def compute_report(self, request: ReportRequest) -> ReportResult:
        """Every period asked for, each written in its own transaction: a retry rewrites the same rows."""
        today = request.as_of.astimezone(ZoneInfo(self.policy.timezone)).date()
        periods = [period_of(request.period)] if request.period else closed_periods(today)
        return ReportResult(reports=[self.write(period) for period in periods])

    def write(self, period: Period) -> ReportWritten:
        window = self.window(period)
        lines = self.network.active_lines()
        with self.engine.connect() as db:
            found = [f for process in PROCESSES for f in figures(process, window, cases(db, process, window), lines)]
        now = datetime.now(UTC)
        with self.engine.begin() as db:
            db.execute(FIGURE.delete().where(FIGURE.c.period == period.label))
            db.execute(FIGURE.insert(), [{"period": period.label, "period_start": window.start,
                                          "period_end": window.end, "computed_at": now, **f.model_dump(mode="json")}
                                         for f in found])
        publish(self.engine, self.meter)
        return ReportWritten(period=period.label, start=window.start, end=window.end, figures=len(found))


def publish(engine: sa.Engine, meter: MetricMeter | None) -> None:
    """The latest reported month's figures as gauges (labels: process, kpi, dimension)."""
    if meter is None:
        return
    with engine.connect() as db:
        month, rows = latest_month(db)
    if month is None:
        return
    gauge = meter.create_gauge_float(GAUGE, "the latest reported month's KPIs (docs/quality.md)")
    for row in rows:
        if row.value is not None:
            gauge.set(row.value, {"process": row.process, "kpi": row.kpi, "dimension": row.dimension or "all"})
    meter.create_gauge(GAUGE_MONTH, "the month telecom_quality reports, as YYYYMM").set(int(month.replace("-", "")))


def latest_month(db: sa.Connection) -> tuple[str | None, list[sa.Row]]:
    """The newest month with figures (not a quarter or a range of days), and its rows."""
    months = [p for (p,) in db.execute(sa.select(FIGURE.c.period).distinct()) if is_month(p)]
    if not months:
        return None, []
    month = max(months)
    return month, list(db.execute(sa.select(FIGURE).where(FIGURE.c.period == month)))


def read_figures(db: sa.Connection, period: str) -> list[Figure]:
    rows = db.execute(sa.select(FIGURE).where(FIGURE.c.period == period)
                      .order_by(FIGURE.c.process, FIGURE.c.dimension, FIGURE.c.kpi))
    return [Figure(process=r.process, kpi=r.kpi, dimension=r.dimension, value=r.value, numerator=r.numerator,
                   denominator=r.denominator, unit=r.unit) for r in rows]


def cases(db: sa.Connection, process: str, window: Window) -> list[CaseRecord]:
    """The cases of `process` open at some time in the period, with what the KPIs read of them."""
    live = sa.and_(CASE.c.case_type == process, CASE.c.opened_at < window.end,
                   sa.or_(CASE.c.closed_at.is_(None), CASE.c.closed_at >= window.start))
    found = {r.workflow_id: CaseRecord(workflow_id=r.workflow_id, opened_at=r.opened_at, region=r.region,
                                       severity=r.severity, details=r.details)
             for r in db.execute(sa.select(CASE.c.workflow_id, CASE.c.opened_at, CASE.c.region, CASE.c.severity,
                                           CASE.c.details).where(live))}
    events, marks, payments = defaultdict(list), defaultdict(list), defaultdict(list)
    for e in db.execute(sa.select(EVENT.c.workflow_id, EVENT.c.step, EVENT.c.at, EVENT.c.reason)
                        .join(CASE).where(live, EVENT.c.at < window.end).order_by(EVENT.c.workflow_id, EVENT.c.id)):
        events[e.workflow_id].append(Event(step=e.step.split("-", 1)[1], at=e.at, reason=e.reason))
    for m in db.execute(sa.select(SLA_EVENT.c.workflow_id, SLA_EVENT.c.clock, SLA_EVENT.c.kind, SLA_EVENT.c.at)
                        .join(CASE).where(live, SLA_EVENT.c.at < window.end).order_by(SLA_EVENT.c.id)):
        marks[m.workflow_id].append(Mark(clock=m.clock, kind=SlaEventKind(m.kind), at=m.at))
    paid_at = COMPENSATION.c.created_at
    for p in db.execute(sa.select(COMPENSATION.c.workflow_id, COMPENSATION.c.kind, COMPENSATION.c.amount_fen, paid_at)
                        .join(CASE).where(live, paid_at >= window.start, paid_at < window.end)):
        payments[p.workflow_id].append(Payment(kind=p.kind, amount_fen=p.amount_fen, at=p.created_at))
    if process == "termination":
        for d in db.execute(sa.select(ERASURE.c.workflow_id, ERASURE.c.erase_at)
                            .join(CASE, CASE.c.workflow_id == ERASURE.c.workflow_id).where(live)):
            found[d.workflow_id].erase_at = d.erase_at
    for workflow_id, case in found.items():
        case.events, case.marks, case.payments = events[workflow_id], marks[workflow_id], payments[workflow_id]
    return list(found.values())
