"""Heartbeats for activities that do not send their own: while one runs, the worker tells Temporal it
is alive. A worker that dies mid-call then stops beating, and the call is retried elsewhere after
`HEARTBEAT_TIMEOUT` instead of after its whole start-to-close timeout (30 s for an outside system),
which still bounds a call that hangs on a live worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ActivityOutboundInterceptor, ExecuteActivityInput, Interceptor

HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""What a workflow asks of a call that may outlive its worker (workflows.actions.call). As long as the
workflow task timeout: after a crash, the workflows and their calls resume together."""
BEATS_PER_TIMEOUT = 3
"""Beats sent within each heartbeat timeout: one late beat under load does not time the call out."""
THROTTLE = HEARTBEAT_TIMEOUT / BEATS_PER_TIMEOUT
"""The worker's `max_heartbeat_throttle_interval`: the SDK sends a call's beats on at most this often,
by default only every 0.8 heartbeat timeouts, which would leave a fifth of the timeout to spare."""


class Heartbeats(Interceptor):
    """Every activity scheduled with a heartbeat timeout beats `BEATS_PER_TIMEOUT` times per timeout
    while it runs, from the worker's event loop (sync activities too: they run in its thread pool)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Beating(next)


class _Beating(ActivityInboundInterceptor):
    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        # The outbound heartbeat queues the beat on the event loop. The activity's own
        # (`activity.heartbeat`) is, for a sync activity, rebound to wait for that loop: called from
        # the loop, it would block it.
        self.outbound = outbound
        super().init(outbound)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = self.outbound.info().heartbeat_timeout
        if not timeout:
            return await self.next.execute_activity(input)
        beating = asyncio.create_task(self._beat(timeout.total_seconds() / BEATS_PER_TIMEOUT))
        try:
            return await self.next.execute_activity(input)
        finally:
            beating.cancel()

    async def _beat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.outbound.heartbeat()
