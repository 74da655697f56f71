"""The worker's Prometheus endpoint, scraped after real cases: the SDK's metrics and the business
counters, each business event counted once even when its transition is recorded again."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.quality import GAUGE, GAUGE_MONTH
from activities.records import CaseRecords
from edge import metrics
from edge.codec import data_converter
from edge.settings import Settings
from models import quality
from models.complaint import ConfirmReply
from models.policy import Policy
from models.records import SlaEventRecord, Transition
from models.sla import SlaEventKind
from starter import Complaints
from worker import build_worker

from .conftest import TEST_QUEUE, binary, register_search_attributes
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

DAY = timedelta(days=1)
_SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


class Scrape:
    """One read of /metrics in the Prometheus text format."""

    def __init__(self, address: str) -> None:
        text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
        self.samples = []
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match:
                name, labels, value = match.groups()
                self.samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))

    def value(self, name: str, **labels: str) -> float:
        """Sum over the samples of `name` that carry these labels (0 when none)."""
        return sum(v for n, found, v in self.samples if n == name and labels.items() <= found.items())

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


@pytest.fixture
def address() -> str:
    return free_address()


@pytest.fixture
async def metered(address, engine) -> AsyncIterator[WorkflowEnvironment]:
    """A worker whose runtime serves /metrics, as `TELECOM_METRICS_ADDRESS` makes the real one do."""
    async with await WorkflowEnvironment.start_time_skipping(
            runtime=metrics.runtime(address), data_converter=data_converter(),
            test_server_existing_path=binary("temporal-test-server")) as env:
        await register_search_attributes(env.client)
        async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
            yield env


async def closed_complaint(env: WorkflowEnvironment) -> None:
    complaints = Complaints(env.client, TEST_QUEUE)
    handle = await complaints.start(complaint())
    await investigate_and_reply(complaints)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    await complaints.submit_closure("C1", CLOSURE)
    await handle.result()


async def test_a_closed_complaint_counts_one_start_and_one_close(metered, address):
    await closed_complaint(metered)
    scrape = Scrape(address)
    assert scrape.value(metrics.CASES_STARTED, case_type="complaint", task_queue=TEST_QUEUE) == 1
    assert scrape.value(metrics.CASES_CLOSED, case_type="complaint", state="closed") == 1
    assert all(scrape.value(name) == 0 for name in metrics.SLA_COUNTERS.values())
    # The SDK's own metrics come from the same endpoint.
    assert scrape.value("temporal_workflow_completed", workflow_type="ComplaintClosure") == 1
    assert scrape.value("temporal_local_activity_execution_latency_count", activity_type="record_transition") > 0


async def test_a_breach_counts_its_warnings_the_breach_and_each_escalation(metered, address):
    complaints = Complaints(metered.client, TEST_QUEUE)
    await complaints.start(complaint())
    await metered.sleep(15 * DAY + timedelta(hours=1))
    scrape = Scrape(address)
    assert scrape.value(metrics.SLA_COUNTERS[SlaEventKind.warning], case_type="complaint", clock="reply") == 2
    assert scrape.value(metrics.SLA_COUNTERS[SlaEventKind.breach], case_type="complaint", clock="reply") == 1
    escalations = metrics.SLA_COUNTERS[SlaEventKind.escalation]
    assert scrape.value(escalations, level="functional") == 1 and scrape.value(escalations, level="hierarchic") == 0
    await metered.sleep(2 * DAY)
    scrape = Scrape(address)
    assert scrape.value(escalations, level="hierarchic") == 1 and scrape.value(escalations) == 2
    assert scrape.value(metrics.CASES_STARTED) == 1 and scrape.value(metrics.CASES_CLOSED) == 0


@pytest.mark.postgres
def test_a_transition_recorded_again_is_not_counted_again(engine, address):
    """An activity retry after its commit (e.g. the worker died before reporting) finds the step
    applied: its rows are not written twice, and neither are its counts."""
    runtime = metrics.runtime(address)  # kept: the endpoint lives as long as its runtime
    activity = ActivityEnvironment()
    activity.metric_meter = runtime.metric_meter
    records = CaseRecords(engine, Policy())
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    opened = Transition(workflow_id="fault-F1", run_id="run-1", case_type="fault", step="001-reported",
                        at=at, actor="system", reason="reported", to_state="acknowledged")
    breach = SlaEventRecord(key="resolution:breach", clock="resolution", kind=SlaEventKind.breach, at=at)
    closed = opened.model_copy(update={"step": "002-closed", "to_state": "closed", "from_state": "acknowledged",
                                       "closed": True, "sla_events": [breach]})
    for transition in (opened, opened, closed, closed):
        activity.run(records.record_transition, transition)
    scrape = Scrape(address)
    assert scrape.value(metrics.CASES_STARTED, case_type="fault") == 1
    assert scrape.value(metrics.CASES_CLOSED, case_type="fault", state="closed") == 1
    assert scrape.value(metrics.SLA_COUNTERS[SlaEventKind.breach], case_type="fault", clock="resolution") == 1


async def test_the_latest_reported_month_is_a_gauge_per_figure(metered, address, engine):
    await closed_complaint(metered)
    month = (await metered.get_current_time()).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    earlier = "2020-01"  # reported after the newer month: the gauges stay on the newer one
    for period in (month, earlier):
        await metered.client.execute_workflow(quality.WORKFLOW_TYPE, quality.ReportInput(period=period),
                                              id=quality.workflow_id(period), task_queue=TEST_QUEUE)
    scrape = Scrape(address)
    assert scrape.value(GAUGE_MONTH) == int(month.replace("-", ""))
    assert scrape.value(GAUGE, process="complaint", kpi="reply_on_time", dimension="all") == 100
    assert scrape.value(GAUGE, process="complaint", kpi="received", dimension="category=network_quality") == 1
    assert scrape.value(GAUGE, process="termination", kpi="refund_on_time") == 0  # no value: no series


def test_metrics_are_off_unless_an_address_is_configured(address):
    assert Settings.from_environ({}).metrics_address is None and metrics.runtime(None) is None
    runtime = metrics.runtime(Settings.from_environ({"TELECOM_METRICS_ADDRESS": address}).metrics_address)
    assert runtime is not None and Scrape(address).samples == []  # served, empty until something runs
