"""`telecom report PERIOD` (docs/quality.md): the quality KPIs of a month, a quarter or a range of
days, read from the records database (TELECOM_DATABASE_URL) as the `QualityReport` workflow wrote
them; `--compute` runs that workflow first. `--chart` writes a one-page PNG and `--html` a page with
the period's figures beside the previous periods'."""

from __future__ import annotations

import argparse
import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli import EXIT_INVALID, Fail, _connected, _settings

if TYPE_CHECKING:
    from models.quality import Figure, Period

TRENDS = 5
"""Previous periods of the same kind shown beside the period (chart and HTML)."""
HEADLINES = {
    "application": ["installation_on_time", "supplement_rate"],
    "fault": ["response_on_time", "repair_on_time", "statutory_on_time", "reopen_rate"],
    "complaint": ["reply_on_time", "satisfied", "dissatisfied"],
    "termination": ["refund_on_time", "equipment_returned_on_time", "erasure_on_time"],
}
"""The rates each process's panel of the chart draws."""


def add_parser(commands: Any, output: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", parents=[output], help="the quality KPIs of a period (docs/quality.md)")
    report.add_argument("period", metavar="PERIOD", help="a month (2026-11), a quarter (2026-Q4) or days "
                                                         "(2026-11-03..2026-11-20)")
    report.add_argument("--compute", action="store_true",
                        help="compute the period now (the QualityReport workflow), replacing its rows")
    report.add_argument("--dimensions", action="store_true", help="also by region, severity and category")
    report.add_argument("--chart", metavar="FILE.png", type=Path, help="write a one-page chart with the trends")
    report.add_argument("--html", metavar="FILE.html", type=Path, help="write an HTML report with the trends")
    report.add_argument("--task-queue", help="for --compute; default: $TELECOM_TASK_QUEUE or telecom-service")


async def run(args: argparse.Namespace) -> Any:
    from activities.database import make_engine
    from activities.quality import read_figures
    from models.quality import period_of

    try:
        period = period_of(args.period)
    except ValueError as error:
        raise Fail("InvalidInput", f"report: {error}", EXIT_INVALID) from None
    settings = _settings()
    if args.compute:
        await _compute(period.label, settings, args.task_queue or settings.task_queue)
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        with engine.connect() as db:
            figures = read_figures(db, period.label)
            trend = {p.label: read_figures(db, p.label) for p in period.previous(TRENDS)}
    finally:
        engine.dispose()
    if not figures:
        raise Fail("NotFound", f"no report for {period.label} yet: `telecom report {period.label} --compute` "
                               "computes it")
    shown = [f for f in figures if args.dimensions or not f.dimension]
    written = {}
    if args.chart:
        written["chart"] = str(chart(period, figures, trend, args.chart))
    if args.html:
        written["html"] = str(page(period, shown, trend, args.html, args.chart))
    if args.output == "json":
        return {"period": period.label, "figures": [f.model_dump(mode="json") for f in shown], **written}
    return table(shown) + "".join(f"\n{kind}: {path}" for kind, path in written.items())


async def _compute(period: str, settings: Any, task_queue: str) -> None:
    from temporalio.common import WorkflowIDConflictPolicy

    from edge.client import connect
    from models.quality import WORKFLOW_TYPE, ReportInput, workflow_id

    client = await _connected(lambda: connect(settings))
    await client.execute_workflow(WORKFLOW_TYPE, ReportInput(period=period), id=workflow_id(period),
                                  task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


def readable(figure: Figure | None) -> str:
    """A figure as a person reads it: `87.5 %`, `12.30 h`, `1,200 fen`; `–` when there was nothing to measure."""
    if figure is None or figure.value is None:
        return "–"
    unit = figure.unit.value
    if unit == "%":
        return f"{figure.value:.1f} % ({figure.numerator:g}/{figure.denominator:g})"
    if unit in ("h", "d", "per10k"):
        return f"{figure.value:.2f} {unit}"
    return f"{figure.value:,.0f}" + (f" {unit}" if unit == "fen" else "")


def table(figures: list[Figure]) -> str:
    rows = [("process", "kpi", "dimension", "value")] + [
        (f.process, f.kpi, f.dimension or "all", readable(f)) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def _series(periods: list[str], trend: dict[str, list[Figure]], figures: list[Figure],
            process: str, kpi: str) -> list[float | None]:
    by_period = {**trend, periods[-1]: figures}
    return [next((f.value for f in by_period[p] if f.process == process and f.kpi == kpi and not f.dimension), None)
            for p in periods]


def chart(period: Period, figures: list[Figure], trend: dict[str, list[Figure]], path: Path) -> Path:
    """One page: per process, its headline rates over the previous periods and this one."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    periods = [*trend, period.label]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharey=True)
    for ax, (process, kpis) in zip(axes.flat, HEADLINES.items(), strict=True):
        for kpi in kpis:
            values = _series(periods, trend, figures, process, kpi)
            ax.plot(range(len(periods)), [float("nan") if v is None else v for v in values], marker="o", label=kpi)
        ax.set_xticks(range(len(periods)), periods)
        ax.set_title(process)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.legend(fontsize=7, loc="lower left")
        ax.grid(alpha=0.3)
    figure.suptitle(f"Service quality {period.label}" + (f" and the {len(trend)} periods before it" if trend else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def page(period: Period, figures: list[Figure], trend: dict[str, list[Figure]], path: Path,
         chart_path: Path | None) -> Path:
    """The period's figures beside the previous periods' (same process, KPI, dimension), with the chart."""
    def cell(items: list[Figure], f: Figure) -> str:
        same = next((t for t in items if (t.process, t.kpi, t.dimension) == (f.process, f.kpi, f.dimension)), None)
        return f"<td>{html.escape(readable(same))}</td>"

    head = "".join(f"<th>{html.escape(p)}</th>" for p in [*trend, period.label])
    body = "".join(f"<tr><td>{f.process}</td><td>{f.kpi}</td><td>{html.escape(f.dimension or 'all')}</td>"
                   + "".join(cell(items, f) for items in trend.values())
                   + f"<td><b>{html.escape(readable(f))}</b></td></tr>" for f in figures)
    image = ""
    if chart_path is not None:
        encoded = base64.b64encode(chart_path.read_bytes()).decode()
        image = f'<img alt="KPI trends" src="data:image/png;base64,{encoded}">'
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service quality {html.escape(period.label)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:.2em .6em;text-align:left}}</style></head>
<body><h1>Service quality {html.escape(period.label)}</h1>
<p>{period.first} to {period.last}; definitions in docs/quality.md.</p>{image}
<table><tr><th>process</th><th>kpi</th><th>dimension</th>{head}</tr>{body}</table></body></html>
""", encoding="utf-8")
    return path
