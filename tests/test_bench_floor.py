"""The benchmark's floor is what it claims: a case with exactly the shape it is given."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from activities.database import make_engine
from bench.floor import FLOOR_TYPE, MINIMAL_FLOOR_TYPE, Floor, FloorShape, MinimalFloor, floor_step
from bench.measure import counts
from worker import build_worker

from .conftest import TEST_QUEUE


@pytest.mark.parametrize("activities, local_activities", [(4, 1), (1, 3)], ids=["regular", "local"])
async def test_floor_has_the_shape_it_is_given(env, activities, local_activities):
    """Its updates run regular activities, or local ones where the shape has enough of those."""
    shape = FloorShape(activities=activities, local_activities=local_activities, updates=2, timers_fired=2,
                       timer=timedelta(hours=2), timers_canceled=1)
    engine = make_engine("sqlite://")  # the floor writes nothing
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE, extra_workflows=[Floor],
                            extra_activities=[floor_step]):
        # The updates come once the floor waits for people, as a process's do once the case is open, and
        # time stands still meanwhile: otherwise updates sent during its first activities find no timer
        # to cancel, or a skipped day fires it (both seen under load).
        with env.auto_time_skipping_disabled():
            handle = await env.client.start_workflow(FLOOR_TYPE, shape, id="floor-1", task_queue=TEST_QUEUE)
            while not [e async for e in handle.fetch_history_events()
                       if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]:
                await asyncio.sleep(0.05)
            for n in range(shape.updates):
                await handle.execute_update("step", {"n": n})
        began = await env.get_current_time()
        assert await handle.result() == shape.updates
        assert await env.get_current_time() - began >= 2 * shape.timer  # the fired timers ran their length
        measured = counts(await handle.fetch_history())
    assert (measured.activities, measured.local_activities, measured.updates, measured.timers_fired,
            measured.timers_canceled, measured.upserts) == (activities, local_activities, 2, 2, 1, 0)
    assert measured.fired_timer_s == shape.timer.total_seconds()
    engine.dispose()


async def test_the_minimal_floor_is_a_start_its_updates_and_an_end(env):
    engine = make_engine("sqlite://")
    async with build_worker(env.client, engine, task_queue=TEST_QUEUE, extra_workflows=[MinimalFloor]):
        handle = await env.client.start_workflow(MINIMAL_FLOOR_TYPE, 2, id="minimal-1", task_queue=TEST_QUEUE)
        for n in range(2):
            await handle.execute_update("step", {"n": n})
        assert await handle.result() == 2
        measured = counts(await handle.fetch_history())
    assert (measured.activities, measured.local_activities, measured.timers, measured.updates) == (0, 0, 0, 2)
    assert measured.history_bytes > 0
    engine.dispose()
