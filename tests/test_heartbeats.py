"""activities.heartbeats: a call that asks for heartbeats and runs longer than its heartbeat timeout
completes on its first attempt when the worker beats for it, and times out without. (That a dead
worker's call is retried after the heartbeat timeout is what the crash tests rely on:
tests/test_resilience.py, tests/test_worker_processes.py.)"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import TimeoutError, TimeoutType
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.heartbeats import BEATS_PER_TIMEOUT, Heartbeats

QUEUE = "heartbeats"
HEARTBEAT_TIMEOUT = timedelta(seconds=1)
RUNS_FOR = 1.5
"""Seconds, real time: past the heartbeat timeout, so the call lives on its beats."""


@activity.defn(name="slow_call")
def slow_call() -> int:  # sync, as the outside systems' activities are: it runs in the thread pool
    time.sleep(RUNS_FOR)
    return activity.info().attempt


@workflow.defn(name="HeartbeatProbe", sandboxed=False)
class HeartbeatProbe:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            slow_call, start_to_close_timeout=timedelta(seconds=30), heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1))


async def run_probe(env, interceptors) -> int:
    async with Worker(env.client, task_queue=QUEUE, workflows=[HeartbeatProbe], activities=[slow_call],
                      workflow_runner=UnsandboxedWorkflowRunner(), interceptors=interceptors,
                      activity_executor=ThreadPoolExecutor(max_workers=1),
                      max_heartbeat_throttle_interval=HEARTBEAT_TIMEOUT / BEATS_PER_TIMEOUT):  # as worker.py
        return await env.client.execute_workflow(HeartbeatProbe.run, id=f"probe-{uuid.uuid4().hex[:8]}",
                                                 task_queue=QUEUE)


async def test_a_call_longer_than_its_heartbeat_timeout_completes_on_its_first_attempt(env):
    assert await run_probe(env, [Heartbeats()]) == 1


async def test_without_the_beats_the_same_call_times_out(env):
    with pytest.raises(WorkflowFailureError) as failed:
        await run_probe(env, [])
    timeout = failed.value.cause.cause
    assert isinstance(timeout, TimeoutError) and timeout.type is TimeoutType.HEARTBEAT
