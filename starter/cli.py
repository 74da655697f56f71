"""Ops CLI over the typed API: `telecom <process> start FILE|-`, `status ID`, `<update> ID [JSON|-]`.

The connection comes from temporalio.envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles, TLS),
the key ring and mode from the TELECOM_* settings (edge.settings); the task queue for `start` from
--task-queue, else TELECOM_TASK_QUEUE, else telecom-service.
Exit codes: 0 done, 1 refused or failed (case exists, update refused, not found, no server),
2 invalid input or settings (nothing was sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError

from edge.client import connect
from edge.settings import Settings, load
from models.common import TASK_QUEUE
from models.contract import CONTRACTS

from .api import Applications, CaseAlreadyExists, Complaints, Faults, Terminations

UpdateMethod = Callable[[Any, str, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Process:
    """One process as the CLI sees it: its API class, start input, and updates (argument model, API method)."""

    api: Callable[[Client, str], Any]
    input: type[BaseModel]
    updates: Mapping[str, tuple[type[BaseModel], UpdateMethod]]


APIS = {"ApplicationReview": ("application", Applications), "FaultRepair": ("fault", Faults),
        "ComplaintClosure": ("complaint", Complaints), "TerminationCleanup": ("termination", Terminations)}
"""CLI name and typed API of each workflow type; the updates and their models come from the contract."""

PROCESSES: Mapping[str, Process] = {
    APIS[c.workflow_type][0]: Process(APIS[c.workflow_type][1], c.input, {
        update: (model, getattr(APIS[c.workflow_type][1], update)) for update, model in c.updates.items()})
    for c in CONTRACTS}


class Fail(Exception):
    """Print the message on stderr and exit with the code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telecom", description=__doc__.split("\n\n")[0])
    processes = parser.add_subparsers(dest="process", required=True, metavar="PROCESS")
    for name, process in PROCESSES.items():
        actions = processes.add_parser(name, help=f"{name} cases").add_subparsers(
            dest="action", required=True, metavar="ACTION")
        start = actions.add_parser("start", help=f"start a {name} case from a JSON {process.input.__name__}")
        start.add_argument("input", metavar="FILE|-", help="JSON file, or - for stdin")
        start.add_argument("--task-queue", help=f"default: $TELECOM_TASK_QUEUE or {TASK_QUEUE}")
        actions.add_parser("status", help="query the case's status").add_argument("id")
        for update, (model, _) in process.updates.items():
            sub = actions.add_parser(update, help=f"send {update} ({model.__name__})")
            sub.add_argument("id")
            # Omitted means {}: the validation error then lists every field the update needs.
            sub.add_argument("argument", nargs="?", default="{}", metavar="JSON|-", help="JSON, or - for stdin")
    return parser


def _load(model: type[BaseModel], text: str, source: str) -> BaseModel:
    """Validate before anything is sent, so a typo never reaches a case; as strictly as the worker
    reads it, so nothing is coerced here that a JSON client would be refused."""
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        fields = "\n".join(f"  {'.'.join(map(str, e['loc'])) or '(input)'}: {e['msg']}" for e in error.errors())
        raise Fail(f"invalid {model.__name__} from {source}:\n{fields}", 2) from None


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        raise Fail(f"cannot read {path}: {error.strerror}", 2) from None


async def _run(args: argparse.Namespace, settings: Settings) -> str:
    process = PROCESSES[args.process]
    # Validate first: an invalid request needs no server.
    request: BaseModel | None = None
    if args.action == "start":
        request = _load(process.input, _read(args.input), "stdin" if args.input == "-" else args.input)
    elif args.action in process.updates:
        model = process.updates[args.action][0]
        request = (_load(model, _read("-"), "stdin") if args.argument == "-"
                   else _load(model, args.argument, "the argument"))
    try:
        client = await connect(settings)
    except RuntimeError as error:  # the SDK's "Failed client connect"
        raise Fail(f"cannot connect to Temporal: {error}") from None
    if args.action == "start":
        task_queue = args.task_queue or settings.task_queue
        api = process.api(client, task_queue)
        try:
            handle = await api.start(request)
        except CaseAlreadyExists as error:
            raise Fail(str(error)) from None
        # Like `temporal workflow start`: return at once, whether or not a worker is running yet.
        return json.dumps({"workflow_id": handle.id, "run_id": handle.result_run_id,
                           "task_queue": task_queue}, indent=2)
    api = process.api(client, TASK_QUEUE)
    try:
        if args.action == "status":
            result = await api.status(args.id)
        else:
            result = await process.updates[args.action][1](api, args.id, request)
    except WorkflowUpdateFailedError as error:
        reason = error.cause.message if isinstance(error.cause, FailureError) else str(error.cause or error)
        raise Fail(f"{args.action} refused: {reason}") from None
    except WorkflowQueryFailedError as error:  # e.g. the case failed: the reason
        raise Fail(f"{args.action} {args.id}: {error.message}") from None
    except ApplicationError as error:  # an answer this process cannot read, e.g. without the key ring
        raise Fail(f"{args.action} {args.id}: {error.message}") from None
    except RPCError as error:  # e.g. NOT_FOUND: no such case, or it has already completed
        raise Fail(f"{args.action} {args.id}: {error.message}") from None
    return result.model_dump_json(indent=2)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = load("telecom", status=2)
    try:
        print(asyncio.run(_run(args, settings)))
    except Fail as error:
        print(f"telecom: {error}", file=sys.stderr)
        sys.exit(error.code)
    except KeyboardInterrupt:
        # An RPC abandoned mid-flight can hang or abort interpreter teardown (temporalio/sdk-python#300).
        sys.stdout.flush()
        os._exit(130)


def command() -> None:
    """The `telecom` command: `main`, then leave without interpreter teardown, where the SDK's native
    threads can abort a process whose work is done (exit -6; temporalio/sdk-python#300)."""
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else int(done.code is not None)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    command()
