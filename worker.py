"""The worker: connects to Temporal, registers every workflow and activity, runs until told to stop.

Configuration (environment):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE
                          the Temporal connection, read by temporalio.envconfig (profiles too)
  TELECOM_TASK_QUEUE      task queue (default telecom-service)
  TELECOM_DATABASE_URL    SQLAlchemy URL (default sqlite:///telecom-service.db)
  TELECOM_POLICY_FILE     policy TOML (default: the built-in policy, models/policy.py)
  TELECOM_CALENDAR_FILE   working-day override TOML (holidays / working_days lists)
  TELECOM_CODEC_KEYS / TELECOM_CODEC_KEY_FILE
                          payload key ring (models/payloads.py); unset = clear text, warned at start
  TELECOM_ID_HASH_KEY     ID-number hash key ring (models/identity.py)
  TELECOM_MODE            development (default) or production: refuses to start without both rings
  TELECOM_METRICS_ADDRESS host:port of the Prometheus /metrics endpoint; off when unset
  TELECOM_MAX_CACHED_WORKFLOWS
                          cases kept in memory between their steps (default 500); the rest are
                          replayed from history when they next wake (README § Performance)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from pydantic import ValidationError
from temporalio import workflow
from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import metrics
from activities.calendar import CalendarOverrides, load_overrides
from activities.database import make_engine, upgrade
from activities.deadlines import DueTimeCalculator
from activities.notify import Notifier
from activities.records import CaseRecords
from models.common import TASK_QUEUE
from models.identity import HashKeyError, hash_keys
from models.payloads import KeyRingError, data_converter
from models.policy import Policy
from activities.billing import BillingSystem
from activities.deprovisioning import Deprovisioning
from activities.inventory import CustomerInventory, DatabaseInventory, InventoryChecks
from activities.network import DatabaseNetwork, Network, NetworkActivities
from activities.provisioning import DatabaseOss, Provisioning, ProvisioningSystem
from activities.termination import termination_activities
from workflows.boundary import BoundaryInterceptor
from workflows.unknown import UnknownWorkflow
from workflows.application_review import ApplicationReview
from workflows.complaint_closure import ComplaintClosure
from workflows.fault_repair import FaultRepair
from workflows.termination_cleanup import TerminationCleanup

WORKFLOWS = [ApplicationReview, FaultRepair, ComplaintClosure, TerminationCleanup]
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("models", "activities"))
"""Our contracts and activity modules are deterministic to import: shared with the sandbox, never
re-imported (a second copy of a model class fails pydantic's instance checks). Replayers use it too."""
INTERCEPTORS = [BoundaryInterceptor()]
"""What our workflows do with input they cannot read (workflows.boundary); replayers take it too."""
log = logging.getLogger("telecom.worker")
CAPACITY = dict(max_concurrent_workflow_tasks=20, max_concurrent_activities=16, max_concurrent_local_activities=16)
"""What one worker process takes on at once. Workflow code holds the GIL, and a workflow task waits
for its local activities (records), so a worker that takes more tasks than it can finish within
the 10 s workflow-task timeout only makes them time out and run again (seen in the scale run at
the SDK's default of 100). One thread per activity slot; more load wants more worker processes."""


def build_worker(client: Client, engine: sa.Engine, *, policy: Policy | None = None,
                 calendar: CalendarOverrides | None = None, notifier: Notifier | None = None,
                 inventory: CustomerInventory | None = None, provisioning: ProvisioningSystem | None = None,
                 network: Network | None = None, billing: BillingSystem | None = None,
                 deprovisioning: Deprovisioning | None = None,
                 task_queue: str = TASK_QUEUE, extra_workflows: Sequence[type] = (),
                 extra_activities: Sequence[Callable] = (), **options) -> Worker:
    """The one place that wires workflows to activities; tests call it with their own parts."""
    replaced = {_name(w) for w in extra_workflows}  # a test's new version stands in for ours
    workflows = [w for w in WORKFLOWS if _name(w) not in replaced] + list(extra_workflows)
    records = CaseRecords(engine, policy or Policy(), notifier)
    due_times = DueTimeCalculator(calendar)
    lines = NetworkActivities(network or DatabaseNetwork(engine))
    stock = inventory or DatabaseInventory(engine)
    checks, oss = InventoryChecks(stock), Provisioning(provisioning or DatabaseOss(engine, stock))
    return Worker(
        client, task_queue=task_queue, workflows=[*workflows, UnknownWorkflow],
        activities=[records.load_policy, records.record_transition, due_times.compute_due_times,
                    checks.pre_review, oss.submit_order, oss.record_activation,
                    lines.run_line_test, lines.look_up_service,
                    *termination_activities(engine, billing, deprovisioning), *extra_activities],
        activity_executor=ThreadPoolExecutor(max_workers=32),
        workflow_runner=WORKFLOW_RUNNER, interceptors=INTERCEPTORS,
        # A malformed input or update argument fails that case or update, never the task forever.
        workflow_failure_exception_types=[ValidationError],
        **{**CAPACITY, **options})


def _name(workflow_class: type) -> str:
    return workflow._Definition.must_from_class(workflow_class).name


async def connect() -> Client:
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", "localhost:7233")
    return await Client.connect(**config, data_converter=data_converter(), runtime=metrics.runtime())


async def serve(extra_workflows: Sequence[type] = (), extra_activities: Sequence[Callable] = ()) -> None:
    # Both key rings, before any work: a bad one, or in production a missing one, stops the worker.
    hash_keys()
    data_converter()
    policy_file, calendar_file = os.environ.get("TELECOM_POLICY_FILE"), os.environ.get("TELECOM_CALENDAR_FILE")
    policy = Policy.from_toml(policy_file) if policy_file else Policy()
    calendar = load_overrides(calendar_file) if calendar_file else None
    engine = make_engine()
    upgrade(engine)
    client = await connect()
    task_queue = os.environ.get("TELECOM_TASK_QUEUE", TASK_QUEUE)
    worker = build_worker(client, engine, policy=policy, calendar=calendar, task_queue=task_queue,
                          extra_workflows=extra_workflows, extra_activities=extra_activities,
                          max_cached_workflows=int(os.environ.get("TELECOM_MAX_CACHED_WORKFLOWS", "500")),
                          graceful_shutdown_timeout=timedelta(seconds=10))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info("worker on %s, task queue %s, database %s, policy %s", client.service_client.config.target_host,
                 task_queue, engine.url.render_as_string(hide_password=True), policy.version)
        await stop.wait()
        log.info("stopping: finishing running activities")
    engine.dispose()


def main(extra_workflows: Sequence[type] = (), extra_activities: Sequence[Callable] = ()) -> None:
    logging.basicConfig(level=os.environ.get("TELECOM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(extra_workflows, extra_activities))
    except (KeyRingError, HashKeyError) as error:  # the message names the variable, never a key
        raise SystemExit(f"telecom-worker: {error}") from None


if __name__ == "__main__":
    main()
