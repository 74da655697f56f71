"""The worker: connects to Temporal, registers every workflow and activity, runs until told to stop.

Configuration: the Temporal connection from temporalio.envconfig (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE), and the TELECOM_* settings
(edge/settings.py; the README's table): task queue, database, policy and calendar files, both key
rings, mode, metrics address, cache size, log level. Read once, at start; a bad value stops it with
a message naming the variable. `--processes N` (TELECOM_WORKER_PROCESSES) runs N worker processes
under a supervisor (edge/supervisor.py); `--migrate-only` upgrades the schema and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.converter import SerializationContext, StorageDriverStoreContext, StorageDriverWorkflowInfo
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.archive_purge import ArchivePurger
from activities.calendar import CalendarOverrides, load_overrides
from activities.calendar_versions import CalendarRollout, CalendarVersions
from activities.change import ChangeActivities
from activities.database import make_engine, upgrade
from activities.deadlines import DueTimeCalculator
from activities.heartbeats import THROTTLE, Heartbeats
from activities.inventory import InventoryChecks
from activities.network import NetworkActivities
from activities.notify import Notifier
from activities.provisioning import Provisioning
from activities.quality import QualityReports, publish
from activities.records import CaseRecords
from activities.termination import termination_activities
from adapters.billing import BillingSystem
from adapters.deprovisioning import Deprovisioning
from adapters.inventory import CustomerInventory, DatabaseInventory
from adapters.network import DatabaseNetwork, Network
from adapters.provisioning import DatabaseOss, ProvisioningSystem
from edge import metrics, schedules
from edge.client import connect
from edge.id_hash import HashKeyRing, development_keys
from edge.settings import MAX_WORKER_PROCESSES, Settings, SettingsError, load
from edge.supervisor import supervise
from models.common import TASK_QUEUE
from models.policy import Policy
from workflows.application_review import ApplicationReview
from workflows.archive_purge import ArchivePurge
from workflows.boundary import BoundaryInterceptor
from workflows.calendar_change import CalendarChange
from workflows.complaint_closure import ComplaintClosure
from workflows.fault_repair import FaultRepair
from workflows.quality_report import QualityReport
from workflows.service_change import ServiceChange
from workflows.termination_cleanup import TerminationCleanup
from workflows.unknown import UnknownWorkflow

if TYPE_CHECKING:
    from temporalio.worker._command_aware_visitor import CommandInfo  # the SDK's, for the signatures below

WORKFLOWS = [ApplicationReview, FaultRepair, ComplaintClosure, TerminationCleanup, ServiceChange]
INTERNAL = [CalendarChange, QualityReport, ArchivePurge]
"""Workflows of our own that no caller starts with a case: the calendar rollout, the report, the purge."""


@dataclass(frozen=True)
class _SandboxValidatingOnce(SandboxedWorkflowRunner):
    """The SDK's sandbox, validating each workflow class once per process: the SDK validates every
    workflow of every worker and replayer it builds by running the class's module in a fresh sandbox
    (about 10 ms each), and the tests build hundreds."""

    _validated: set[type] = field(default_factory=set, init=False, compare=False, repr=False)

    def prepare_workflow(self, defn: workflow._Definition) -> None:
        if defn.cls not in self._validated:
            super().prepare_workflow(defn)
            self._validated.add(defn.cls)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(super().create_instance(det), det.info)


class _ContextFreeInstance(WorkflowInstance):
    """A sandboxed workflow that answers the SDK's per-payload questions without entering the sandbox.
    For each payload sequence of each workflow task, the SDK asks the workflow instance which
    serialization (and store) context applies, in three passes each way, and the sandbox answers each
    time by compiling and running code under its import hooks: a third of the CPU of a replay here.
    The answer changes nothing for us: our payload codec reads no serialization context
    (tests/test_codec.py holds it to that), so the context-free converter is the same converter, and
    no external storage is configured, so the store context is never read."""

    def __init__(self, sandboxed: WorkflowInstance, info: workflow.Info) -> None:
        self._sandboxed = sandboxed
        self._store = StorageDriverStoreContext(target=StorageDriverWorkflowInfo(
            id=info.workflow_id, run_id=info.run_id, type=info.workflow_type, namespace=info.namespace))

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._sandboxed.activate(act)

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        return None

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        return self._store

    def get_info(self) -> workflow.Info:
        return self._sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        return self._sandboxed.get_thread_id()


WORKFLOW_RUNNER = _SandboxValidatingOnce(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("models", "activities", "adapters", "edge"))
"""Our contracts, activity, adapter and edge modules are deterministic to import: shared with the
sandbox, never re-imported (a second copy of a model class fails pydantic's instance checks, and a
native extension such as the codec's cipher cannot load twice). Replayers use it too."""
INTERCEPTORS = [BoundaryInterceptor(), Heartbeats()]
"""What our workflows do with input they cannot read (workflows.boundary; replayers take it too), and the
beats of calls that ask for them (activities.heartbeats)."""
log = logging.getLogger("telecom.worker")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
"""How long a stopping worker lets running activities finish (deploy/'s termination grace period is longer)."""
STOP_MARGIN = 20.0
"""Seconds a supervisor waits past GRACEFUL_SHUTDOWN for a child to exit before it kills it."""
CAPACITY = dict(max_concurrent_workflow_tasks=20, max_concurrent_activities=16, max_concurrent_local_activities=16)
"""What one worker process takes on at once. Workflow code holds the GIL, and a workflow task waits
for its local activities (records), so a worker that takes more tasks than it can finish within
the 10 s workflow-task timeout only makes them time out and run again (seen in the scale run at
the SDK's default of 100). One thread per activity slot; more load wants more worker processes."""


def build_worker(client: Client, engine: sa.Engine, *, policy: Policy | None = None,
                 calendar: CalendarOverrides | None = None, notifier: Notifier | None = None,
                 inventory: CustomerInventory | None = None, provisioning: ProvisioningSystem | None = None,
                 network: Network | None = None, billing: BillingSystem | None = None,
                 deprovisioning: Deprovisioning | None = None, id_keys: HashKeyRing | None = None,
                 task_queue: str = TASK_QUEUE, extra_workflows: Sequence[type] = (),
                 extra_activities: Sequence[Callable] = (), **options) -> Worker:
    """The one place that wires workflows to activities; tests call it with their own parts. The
    default adapters unless given others; `id_keys`: the ID hash key ring (`serve` passes the
    configured one; unset, the public development key, with a warning)."""
    replaced = {_name(w) for w in extra_workflows}  # a test's new version stands in for ours
    workflows = [w for w in WORKFLOWS if _name(w) not in replaced] + list(extra_workflows)
    id_keys = id_keys or development_keys()
    policy = policy or Policy()
    records = CaseRecords(engine, policy, notifier)
    due_times = DueTimeCalculator(calendar, CalendarVersions(engine, calendar))
    rollout = CalendarRollout(engine, client)
    network = network or DatabaseNetwork(engine)
    lines, changes = NetworkActivities(network), ChangeActivities(engine, network, client)
    reports = QualityReports(engine, policy, network, _meter(client))
    stock = inventory or DatabaseInventory(engine)
    checks, oss = InventoryChecks(stock, id_keys), Provisioning(provisioning or DatabaseOss(engine, stock))
    purger = ArchivePurger(engine)
    return Worker(
        client, task_queue=task_queue, workflows=[*workflows, *INTERNAL, UnknownWorkflow],
        activities=[records.load_policy, records.record_transition, due_times.compute_due_times,
                    rollout.find_affected_cases, rollout.tell_cases,
                    checks.pre_review, oss.submit_order, oss.record_activation,
                    lines.run_line_test, lines.look_up_service, changes.assess_impact, changes.notify_lines,
                    changes.open_window, changes.close_window, changes.change_for_line, changes.follow_up,
                    changes.open_tickets, reports.compute_report,
                    purger.due_for_purge, purger.purge_cases, purger.certify_purge,
                    *termination_activities(engine, id_keys, billing, deprovisioning), *extra_activities],
        activity_executor=ThreadPoolExecutor(max_workers=32),
        workflow_runner=WORKFLOW_RUNNER, interceptors=INTERCEPTORS,
        # A malformed input or update argument fails that case or update, never the task forever.
        workflow_failure_exception_types=[ValidationError],
        max_heartbeat_throttle_interval=THROTTLE, **{**CAPACITY, **options})


def _meter(client: Client) -> MetricMeter | None:
    """The meter of the client's runtime when it serves metrics (edge.metrics.runtime)."""
    runtime = client.service_client.config.runtime
    return runtime.metric_meter if runtime is not None else None


def _name(workflow_class: type) -> str | None:  # None: a dynamic workflow
    return workflow._Definition.must_from_class(workflow_class).name


async def serve(settings: Settings, extra_workflows: Sequence[type] = (),
                extra_activities: Sequence[Callable] = (), *, migrate: bool = True,
                ready: Callable[[], None] | None = None) -> None:
    """One worker process until SIGINT or SIGTERM. `migrate`: upgrade the schema first (a supervisor
    does it once for all its children instead); `ready` is called once the worker polls."""
    # Everything configured is checked before any work: a bad value stops the worker at start.
    id_keys, policy, calendar = _configured(settings)
    engine = make_engine(settings.database_url.get_secret_value())
    if migrate:
        upgrade(engine)
    client = await connect(settings, runtime=metrics.runtime(settings.metrics_address))
    publish(engine, _meter(client))  # the latest month's KPIs, until the next report replaces them
    await schedules.ensure(client, settings.task_queue, policy.timezone)
    worker = build_worker(client, engine, policy=policy, calendar=calendar, id_keys=id_keys,
                          task_queue=settings.task_queue, extra_workflows=extra_workflows,
                          extra_activities=extra_activities, max_cached_workflows=settings.max_cached_workflows,
                          graceful_shutdown_timeout=GRACEFUL_SHUTDOWN)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info("worker on %s, task queue %s, database %s, policy %s", client.service_client.config.target_host,
                 settings.task_queue, engine.url.render_as_string(hide_password=True), policy.version)
        if ready:
            ready()
        await stop.wait()
        log.info("stopping: finishing running activities")
    engine.dispose()


def _configured(settings: Settings) -> tuple[HashKeyRing, Policy, CalendarOverrides | None]:
    """The ID hash key ring, the policy and the calendar the settings name; SettingsError if one is bad."""
    id_keys = settings.id_hash_keys()
    policy = _load(settings.policy_file, Policy.from_toml, "TELECOM_POLICY_FILE") or Policy()
    return id_keys, policy, _load(settings.calendar_file, load_overrides, "TELECOM_CALENDAR_FILE")


def _load(path, read: Callable, variable: str):
    """The file a setting names, read by `read`; None when unset. Its problem names the variable."""
    if path is None:
        return None
    try:
        return read(path)
    except ValidationError as error:  # one line: each field and its problem
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors(include_url=False, include_input=False))
        raise SettingsError(f"{variable} ({path}): {problems}") from None
    except (OSError, ValueError) as error:  # a TOML error is a ValueError
        raise SettingsError(f"{variable} ({path}): {error}") from None


def main(extra_workflows: Sequence[type] = (), extra_activities: Sequence[Callable] = (), *,
         argv: Sequence[str] | None = None) -> None:
    settings = load("telecom-worker")
    options = _options(settings, argv)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    try:
        if options.migrate_only:
            _migrate(settings)
        elif options.processes == 1:
            _run(serve(settings, extra_workflows, extra_activities), "telecom-worker")
        else:
            _configured(settings)  # a bad setting stops the parent before any child starts
            metrics.process_address(settings.metrics_address, options.processes)
            _migrate(settings)  # once, before the children start: they would race each other
            log.info("starting %d worker processes", options.processes)
            raise SystemExit(supervise(_serve_one, options.processes, (extra_workflows, extra_activities),
                                       stop_timeout=GRACEFUL_SHUTDOWN.total_seconds() + STOP_MARGIN))
    except SettingsError as error:  # the message names the variable, never a key
        raise SystemExit(error.for_program("telecom-worker")) from None


def _options(settings: Settings, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="telecom-worker", description="Runs the workflows and activities on the task queue until SIGINT or "
        "SIGTERM. Settings: TEMPORAL_* (envconfig) and TELECOM_* variables (README § Configuration).")
    parser.add_argument("--processes", type=_process_count, default=settings.worker_processes, metavar="N",
                        help="worker processes on the task queue, supervised by this one (default: "
                             f"TELECOM_WORKER_PROCESSES, {settings.worker_processes}; at most {MAX_WORKER_PROCESSES})")
    parser.add_argument("--migrate-only", action="store_true",
                        help="upgrade the database schema to the newest migration and exit (a deployment's job)")
    return parser.parse_args(argv)


def _process_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKER_PROCESSES:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_WORKER_PROCESSES}")
    return int(value)


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.database_url.get_secret_value())
    upgrade(engine)
    engine.dispose()


def _serve_one(index: int, ready: Connection, extra_workflows: Sequence[type],
               extra_activities: Sequence[Callable]) -> None:
    """Worker process `index` of a supervisor (edge.supervisor), in a spawned interpreter: the settings
    from the environment it inherited, the metrics on port + index - 1 (edge.metrics.process_address)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # until serve handles it: the parent passes Ctrl-C on
    settings = load(f"telecom-worker (process {index})")
    settings = settings.model_copy(update={"metrics_address": metrics.process_address(settings.metrics_address,
                                                                                       index)})
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT.replace("%(name)s", "%(name)s[%(processName)s]"))
    _run(serve(settings, extra_workflows, extra_activities, migrate=False, ready=lambda: ready.send(True)),
         f"telecom-worker (process {index})")


def _run(serving: Coroutine[Any, Any, None], program: str) -> None:
    """Serve; on a failure, say what failed and exit 1 at once. Finalizing the interpreter while the
    SDK's runtime threads still run can abort it (SIGABRT, about one failed connect in five), and the
    exit status would no longer say what happened."""
    try:
        asyncio.run(serving)
    except SettingsError as error:  # the message names the variable, never a key
        raise SystemExit(error.for_program(program)) from None
    except Exception:
        traceback.print_exc()
        logging.shutdown()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
