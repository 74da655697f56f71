"""Our Schedules (edge/schedules.py), as every worker makes sure of them at start: created on a dev
server, brought up to date on the next start without undoing a pause, skipped with a warning on a
server that has none."""

from __future__ import annotations

import logging

import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleRange
from temporalio.testing import WorkflowEnvironment

from edge import schedules
from edge.codec import data_converter
from models.archive import PURGE_INTERVAL, PURGE_SCHEDULE_ID
from models.quality import SCHEDULE_ID

from .conftest import binary


@pytest.mark.slow  # a dev server of its own
async def test_a_worker_start_creates_our_schedules_and_the_next_keeps_a_pause():
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"), ui=False,
                                                     data_converter=data_converter()) as env:
        assert await schedules.ensure(env.client, "queue-1", "Asia/Shanghai") == [SCHEDULE_ID, PURGE_SCHEDULE_ID]
        report = env.client.get_schedule_handle(SCHEDULE_ID)
        await report.pause(note="month-end freeze")
        assert await schedules.ensure(env.client, "queue-2", "Asia/Shanghai") == [SCHEDULE_ID, PURGE_SCHEDULE_ID]

        described = (await report.describe()).schedule
        assert described.state.paused and described.state.note == "month-end freeze"
        assert isinstance(described.action, ScheduleActionStartWorkflow)
        assert (described.action.workflow, described.action.task_queue) == ("QualityReport", "queue-2")
        [monthly] = described.spec.calendars
        assert (list(monthly.day_of_month), list(monthly.hour)) == ([ScheduleRange(1)], [ScheduleRange(2)])
        assert described.spec.time_zone_name == "Asia/Shanghai"
        purge = (await env.client.get_schedule_handle(PURGE_SCHEDULE_ID).describe()).schedule
        assert [i.every for i in purge.spec.intervals] == [PURGE_INTERVAL] and not purge.state.paused


async def test_a_server_without_schedules_is_told_in_the_log_not_fatal(env, caplog):
    with caplog.at_level(logging.WARNING, logger="telecom.schedules"):
        assert await schedules.ensure(env.client, "queue-1", "Asia/Shanghai") == []
    assert f"{SCHEDULE_ID} not created" in caplog.text
