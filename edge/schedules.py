"""Our Temporal Schedules, made sure of by every worker at start (idempotent): created when missing,
else their spec, action and policy brought up to date while their state (paused, notes) is kept.
The quality report runs on the 1st of each month at 02:00 in the policy's time zone and reports the
month just closed (docs/quality.md); the archive purge runs daily (docs/archive.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from models import archive, quality

log = logging.getLogger("telecom.schedules")
CATCH_UP = timedelta(days=7)
"""A run missed while the cluster was down still happens within this long after."""


@dataclass(frozen=True)
class Planned:
    schedule_id: str
    workflow_type: str
    argument: BaseModel
    spec: ScheduleSpec


def planned(timezone: str) -> list[Planned]:
    monthly = ScheduleSpec(calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(2)],
                                                           comment="the month just closed")],
                           time_zone_name=timezone)
    daily = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=archive.PURGE_INTERVAL)])
    return [Planned(quality.SCHEDULE_ID, quality.WORKFLOW_TYPE, quality.ReportInput(), monthly),
            Planned(archive.PURGE_SCHEDULE_ID, archive.WORKFLOW_TYPE, archive.ArchivePurgeInput(), daily)]


def _schedule(plan: Planned, task_queue: str) -> Schedule:
    return Schedule(action=ScheduleActionStartWorkflow(plan.workflow_type, plan.argument, id=plan.schedule_id,
                                                       task_queue=task_queue),
                    spec=plan.spec, policy=SchedulePolicy(catchup_window=CATCH_UP))


async def ensure(client: Client, task_queue: str, timezone: str) -> list[str]:
    """The ids of the schedules now in place; none on a server without schedules (the time-skipping
    test server), with a warning."""
    done = []
    for plan in planned(timezone):
        wanted = _schedule(plan, task_queue)
        try:
            await client.create_schedule(plan.schedule_id, wanted)
        except ScheduleAlreadyRunningError:
            def update(current: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(replace(current.description.schedule, action=wanted.action, spec=wanted.spec,
                                              policy=wanted.policy))

            await client.get_schedule_handle(plan.schedule_id).update(update)
        except RPCError as error:
            if error.status is not RPCStatusCode.UNIMPLEMENTED:
                raise
            log.warning("this Temporal server has no schedules: %s not created", plan.schedule_id)
            continue
        done.append(plan.schedule_id)
    return done
