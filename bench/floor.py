"""The floor: a workflow with a process's number of activities, local activities, timers and updates
per case, and no work in any of them. What it reaches is what the server and the SDK allow; the
processes are measured against it in the same run."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from pydantic import Field
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from models.common import Contract

FLOOR_TYPE = "BenchFloor"
STEP_TIMEOUT = timedelta(seconds=30)


class FloorShape(Contract):
    """One process's happy path, counted from its histories."""

    activities: int = Field(ge=0)
    local_activities: int = Field(ge=0)
    updates: int = Field(ge=0)
    timers_fired: int = Field(ge=0)
    timers_canceled: int = Field(ge=0)
    timer: timedelta = Field(gt=timedelta(0), description="how long a fired timer runs (the shortened windows)")


class FloorStep(Contract):
    n: int


@activity.defn(name="bench_floor_step")
def floor_step(step: FloorStep) -> None:
    """No work: the cost of an activity is its round trips."""


@workflow.defn(name=FLOOR_TYPE)
class Floor:
    def __init__(self) -> None:
        self.updates = 0
        self.changed = False
        self.local_updates: bool | None = None

    @workflow.run
    async def run(self, shape: FloorShape) -> int:
        # One activity runs in each update, as a process records each human action: a local one
        # where the process has enough of those (its records are local activities).
        self.local_updates = shape.local_activities >= shape.updates
        local, regular = ((shape.local_activities - shape.updates, shape.activities) if self.local_updates
                          else (shape.local_activities, max(shape.activities - shape.updates, 0)))
        for n in range(local):
            await workflow.execute_local_activity(floor_step, FloorStep(n=n), start_to_close_timeout=STEP_TIMEOUT)
        for n in range(regular):
            await workflow.execute_activity(floor_step, FloorStep(n=n), start_to_close_timeout=STEP_TIMEOUT)
        canceled = shape.timers_canceled
        while self.updates < shape.updates:  # a timer armed while waiting for people, canceled by them
            self.changed = False
            if canceled:
                canceled -= 1
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self.changed, timeout=timedelta(days=1))
            else:
                await workflow.wait_condition(lambda: self.changed)
        for _ in range(shape.timers_fired):
            await workflow.sleep(shape.timer)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.updates

    @workflow.update
    async def step(self, step: FloorStep) -> None:
        await workflow.wait_condition(lambda: self.local_updates is not None)
        run = workflow.execute_local_activity if self.local_updates else workflow.execute_activity
        await run(floor_step, step, start_to_close_timeout=STEP_TIMEOUT)
        self.updates += 1
        self.changed = True


MINIMAL_FLOOR_TYPE = "BenchMinimalFloor"


@workflow.defn(name=MINIMAL_FLOOR_TYPE)
class MinimalFloor:
    """The least a case can be: started, its people's updates (doing nothing), completed. Beside the
    floor, it shows the round trips a process's own steps (records, due times, outside systems) add."""

    def __init__(self) -> None:
        self.updates = 0

    @workflow.run
    async def run(self, updates: int) -> int:
        await workflow.wait_condition(lambda: self.updates >= updates)
        return self.updates

    @workflow.update
    async def step(self, step: FloorStep) -> None:
        self.updates += 1
