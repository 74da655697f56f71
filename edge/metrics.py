"""Prometheus metrics of the worker: the SDK's own (workflow and activity task latencies, slots,
polls, failures, all prefixed `temporal_`) and business counters, counted by `CaseRecords` where a
transition is first applied, so a retried activity or a replayed workflow never counts twice.
Counters are per worker process and restart at zero with it: query them with rate()/increase().

The endpoint is TELECOM_METRICS_ADDRESS (edge.settings): host:port, e.g. 127.0.0.1:9464; off when unset.
With N worker processes (`telecom-worker --processes N`) each serves its own counters, process i on
the port + i - 1: one endpoint could not sum counters that live in separate processes.
"""

from __future__ import annotations

from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from models.records import Transition
from models.sla import SlaEventKind

from .settings import SettingsError

CASES_STARTED = "telecom_cases_started"
CASES_CLOSED = "telecom_cases_closed"
SLA_COUNTERS = {SlaEventKind.warning: "telecom_sla_warnings", SlaEventKind.breach: "telecom_sla_breaches",
                SlaEventKind.escalation: "telecom_sla_escalations"}
DESCRIPTIONS = {
    CASES_STARTED: "cases opened, by case type",
    CASES_CLOSED: "cases closed, by case type and final state",
    SLA_COUNTERS[SlaEventKind.warning]: "SLA warnings recorded, by case type and clock",
    SLA_COUNTERS[SlaEventKind.breach]: "SLA breaches recorded, by case type and clock",
    SLA_COUNTERS[SlaEventKind.escalation]: "SLA escalations recorded, by case type, clock and level",
}


def runtime(address: str | None) -> Runtime | None:
    """A runtime serving /metrics on `address` (host:port); None = the SDK's default runtime,
    without metrics. One per process: the client and its workers share it."""
    if not address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


def process_address(address: str | None, index: int) -> str | None:
    """Worker process `index`'s (1-based) endpoint: the port + index - 1. SettingsError past 65535."""
    if not address:
        return None
    host, _, port = address.rpartition(":")
    if int(port) + index - 1 > 65535:
        raise SettingsError(f"TELECOM_METRICS_ADDRESS: port {port} leaves no port for worker process {index}")
    return f"{host}:{int(port) + index - 1}"


def count_transition(meter: MetricMeter, transition: Transition, *, opened: bool) -> None:
    """Count what a newly applied transition records. The activity's meter already labels
    namespace, task queue and activity type."""
    labels = {"case_type": str(transition.case_type)}
    if opened:
        _counter(meter, CASES_STARTED).add(1, labels)
    if transition.closed:
        _counter(meter, CASES_CLOSED).add(1, {**labels, "state": transition.to_state or "unknown"})
    for event in transition.sla_events:
        name = SLA_COUNTERS.get(event.kind)
        if name is not None:
            extra = {"level": event.level or "unknown"} if event.kind is SlaEventKind.escalation else {}
            _counter(meter, name).add(1, {**labels, "clock": event.clock, **extra})


def _counter(meter: MetricMeter, name: str):
    return meter.create_counter(name, DESCRIPTIONS[name])
