"""What a case's history says about its cost: events, its size, activities, timers, updates, upserts,
and when its first record landed."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory

RECORD_ACTIVITY = "record_transition"
LOCAL_ACTIVITY_MARKER, PATCH_MARKER = "core_local_activity", "core_patch"  # sdk-core's marker names


@dataclass(frozen=True)
class Counts:
    events: int
    history_bytes: int
    """The history as the server stores and sends it: the History protobuf's serialized size, payloads
    as stored (encrypted)."""
    workflow_tasks: int
    activities: int
    local_activities: int
    patches: int
    timers: int
    timers_fired: int
    timers_canceled: int
    updates: int
    upserts: int
    fired_timer_s: float
    """Mean length of the timers that fired (the shortened windows the case waited out)."""

    def as_dict(self) -> dict:
        return asdict(self)


def counts(history: WorkflowHistory) -> Counts:
    of = lambda kind: sum(e.event_type == kind for e in history.events)  # noqa: E731
    started = {e.event_id: e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
               for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED}
    fired = [started[e.timer_fired_event_attributes.started_event_id].total_seconds()
             for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    markers = [e.marker_recorded_event_attributes.marker_name
               for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    return Counts(
        events=len(history.events), history_bytes=History(events=history.events).ByteSize(),
        workflow_tasks=of(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        activities=of(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        local_activities=markers.count(LOCAL_ACTIVITY_MARKER), patches=markers.count(PATCH_MARKER),
        timers=len(started), timers_fired=len(fired),
        timers_canceled=of(EventType.EVENT_TYPE_TIMER_CANCELED),
        updates=of(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
        upserts=of(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
        fired_timer_s=statistics.fmean(fired) if fired else 0.0)


def first_record_at(history: WorkflowHistory, activity_type: str | None = RECORD_ACTIVITY) -> float:
    """When (epoch seconds) the server had the first completed activity of this type (any type:
    None), local or not: its database transaction had committed by then."""
    scheduled = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            name = scheduled[event.activity_task_completed_event_attributes.scheduled_event_id]
        elif (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
              and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER):
            # sdk-core keeps the local activity's identity as clear JSON beside its result.
            data = event.marker_recorded_event_attributes.details["data"].payloads[0].data
            name = json.loads(data)["activity_type"]
        else:
            continue
        if activity_type is None or name == activity_type:
            return event.event_time.ToMicroseconds() / 1e6
    raise ValueError(f"{history.workflow_id} has no completed {activity_type or 'activity'}")


def median_counts(all_counts: list[Counts]) -> Counts:
    fields = Counts.__dataclass_fields__
    values = {name: statistics.median(getattr(c, name) for c in all_counts) for name in fields}
    return Counts(**{name: (float(v) if name == "fired_timer_s" else v) for name, v in values.items()})


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]
