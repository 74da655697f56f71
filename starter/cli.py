"""Ops CLI: `telecom <process> start FILE|-`, `status ID`, `<update> ID [JSON|-]`, `<signal> ID [JSON|-]`,
`telecom setup-server`, `telecom archive find|show|hold|release` and `telecom report PERIOD` (the
records database).

The connection comes from temporalio.envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles, TLS),
the key ring and mode from the TELECOM_* settings (edge.settings); the task queue for `start` from
--task-queue, else TELECOM_TASK_QUEUE, else telecom-service.
Exit codes: 0 done, 1 refused or failed (case exists, update refused, not found, no server),
2 invalid input or settings (nothing was sent).
With `-o json` the result is one line of JSON on stdout, and so is an error:
{"type": …, "message": …, "details": …}.
"""

# Everything heavy is imported where it is used: `telecom … status` loads the SDK's service client
# and the codec, not its workflow client, the workflows or any model; the other commands load the
# models of their own process only.
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from .processes import PROCESSES, Process

if TYPE_CHECKING:
    from pydantic import BaseModel
    from temporalio.client import Client

    from edge.settings import Settings

EXIT_FAILED, EXIT_INVALID = 1, 2
DEFAULT_TASK_QUEUE = "telecom-service"  # models.common.TASK_QUEUE, without importing the models for --help
T = TypeVar("T")
KEY_RING_HINT = "telecom needs the worker's key ring (next to scripts/run, `source .run/env` sets it)"


class Fail(Exception):
    """A user error: its type, message and details are printed, then the program exits with `code`."""

    def __init__(self, type: str, message: str, code: int = EXIT_FAILED, details: Any = None) -> None:
        super().__init__(message)
        self.type, self.message, self.code, self.details = type, message, code, details


class _Parser(argparse.ArgumentParser):
    """A usage error becomes a `Fail`, so it is printed like every other error (JSON with -o json)."""

    def error(self, message: str) -> NoReturn:
        raise Fail("UsageError", f"{message} (telecom --help)", EXIT_INVALID)


def _parser() -> argparse.ArgumentParser:
    output = _Parser(add_help=False)
    # SUPPRESS: given after the command, it overrides the global one only when present.
    output.add_argument("-o", "--output", choices=("text", "json"), default=argparse.SUPPRESS,
                        help="json: one line of JSON on stdout, results and errors alike")
    parser = _Parser(prog="telecom", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="json: one line of JSON on stdout, results and errors alike")
    commands = parser.add_subparsers(dest="process", required=True, metavar="PROCESS", parser_class=_Parser)
    commands.add_parser("setup-server", parents=[output],
                        help="register our search attributes on the server's namespace (idempotent)")
    from . import archive, report

    archive.add_parser(commands, output, _Parser)
    report.add_parser(commands, output, _Parser)
    for name, process in PROCESSES.items():
        actions = commands.add_parser(name, help=f"{name} cases").add_subparsers(
            dest="action", required=True, metavar="ACTION", parser_class=_Parser)
        start = actions.add_parser("start", parents=[output],
                                   help=f"start a {name} case from a JSON {process.input}")
        start.add_argument("input", metavar="FILE|-", help="JSON file, or - for stdin")
        start.add_argument("--task-queue", help=f"default: $TELECOM_TASK_QUEUE or {DEFAULT_TASK_QUEUE}")
        actions.add_parser("status", parents=[output], help="query the case's status").add_argument("id")
        for kind, names in (("update", process.updates), ("signal", process.signals)):
            for action, model in names.items():
                sub = actions.add_parser(action, parents=[output], help=f"{kind} {action} ({model})")
                sub.add_argument("id")
                # Omitted means {}: the validation error then lists every field it needs.
                sub.add_argument("argument", nargs="?", default="{}", metavar="JSON|-", help="JSON, or - for stdin")
    return parser


def _load(process: Process, model_name: str, text: str, source: str) -> BaseModel:
    """Validate before anything is sent, so a typo never reaches a case; as strictly as the worker
    reads it, so nothing is coerced here that a JSON client would be refused. The error is the
    worker's own refusal: the same message and details."""
    from pydantic import ValidationError

    from models.errors import invalid

    model = process.model(model_name)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        refusal = invalid(error, model_name)
        problems = refusal.details[0]["problems"] if refusal.details else []
        lines = "\n".join(f"  {p['field']}: {p['problem']}" for p in problems) or f"  {refusal.message}"
        raise Fail(refusal.type or "ValidationError", f"invalid {model_name} from {source}:\n{lines}",
                   EXIT_INVALID, refusal.details[0] if refusal.details else None) from None


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        raise Fail("UsageError", f"cannot read {path}: {error.strerror}", EXIT_INVALID) from None
    except UnicodeDecodeError:
        raise Fail("UsageError", f"cannot read {path}: not UTF-8 text", EXIT_INVALID) from None


def _settings() -> Settings:
    from edge.settings import SettingsError, current

    try:
        return current()
    except SettingsError as error:
        raise Fail("SettingsError", error.for_program("telecom").removeprefix("telecom: "), EXIT_INVALID) from None


async def _connected(call: Callable[[], Awaitable[T]]) -> T:
    """`call`, which connects first: a connection that fails is the user's to fix."""
    from edge.client import connect_config

    try:
        target = connect_config()["target_host"]
        return await call()
    except RuntimeError as error:  # the SDK's "Failed client connect: …"
        raise Fail("ConnectionFailed", f"cannot connect to Temporal at {target} (TEMPORAL_ADDRESS): {error}"
                   ) from None
    except ValueError as error:  # a bad TEMPORAL_* setting or profile (temporalio.envconfig)
        raise Fail("SettingsError", f"Temporal connection settings: {error}", EXIT_INVALID) from None


async def _run(args: argparse.Namespace) -> Any:
    """The command's result, as JSON-ready data."""
    from edge import client as temporal
    from models.errors import Undecodable

    if args.process == "archive":  # the records database, not Temporal
        from . import archive

        return archive.run(args)
    if args.process == "report":
        from . import report

        return await report.run(args)
    if args.process == "setup-server":
        from edge.search_attributes import SearchAttributeConflict, register

        plain = await _connected(temporal.connect_plain)
        try:
            return await register(plain)
        except SearchAttributeConflict as error:
            raise Fail("SearchAttributeConflict", str(error)) from None
    process = PROCESSES[args.process]
    settings = _settings()
    if args.action == "status":
        # One RPC, without the SDK's client; untyped, so the status is printed as the worker sent it.
        result = await _connected(lambda: temporal.query(settings, process.workflow_id(args.id), "status"))
    else:
        result = await _act(args, process, settings)
    if isinstance(result, Undecodable):  # e.g. encrypted with keys this key ring lacks
        raise result.error
    return result


async def _act(args: argparse.Namespace, process: Process, settings: Settings) -> Any:
    """start, an update or a signal: the request is validated first, as an invalid one needs no server."""
    from edge.client import connect

    if args.action == "start":
        request = _load(process, process.input, _read(args.input), "stdin" if args.input == "-" else args.input)
    else:
        model = process.updates.get(args.action) or process.signals[args.action]
        request = (_load(process, model, _read("-"), "stdin") if args.argument == "-"
                   else _load(process, model, args.argument, "the argument"))
    client = await _connected(lambda: connect(settings))
    if args.action == "start":
        return await _start(client, process, request, args.task_queue or settings.task_queue)
    handle = client.get_workflow_handle(process.workflow_id(args.id))
    if args.action in process.signals:
        await handle.signal(args.action, request)
        return {"workflow_id": handle.id, "signal": args.action}
    return await handle.execute_update(args.action, request)


async def _start(client: Client, process: Process, request: Any, task_queue: str) -> dict[str, str | None]:
    from .cases import CaseAlreadyExists

    cases: Any = process.cases()(client, task_queue)  # its `start` takes the process's own input model
    try:
        handle = await cases.start(request)
    except CaseAlreadyExists as error:
        raise Fail("CaseAlreadyExists", str(error)) from None
    # Like `temporal workflow start`: return at once, whether or not a worker is running yet.
    return {"workflow_id": handle.id, "run_id": handle.result_run_id, "task_queue": task_queue}


def _refusal(args: argparse.Namespace, error: BaseException) -> Fail:
    """What the server or the worker answered, as a `Fail`; anything else is a bug, raised as it is."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError, TemporalError
    from temporalio.service import RPCError, RPCStatusCode

    from models.errors import Undecodable

    action = getattr(args, "action", args.process)  # setup-server has none
    what = f"{action} {args.id}" if hasattr(args, "id") else action
    if isinstance(error, WorkflowUpdateFailedError):
        error, what = error.cause or error, f"{action} refused"
    if isinstance(error, ApplicationError):
        # Details as the worker sent them: one value (the contract's {"problems": …}) as it is.
        details = [d for d in error.details if not isinstance(d, Undecodable)]  # no key ring: not readable
        message = error.message
        if error.type in ("PayloadNotEncrypted", "UndecryptablePayload"):
            message = f"{message}. {KEY_RING_HINT}"
        return Fail(error.type or "ApplicationError", f"{what}: {message}",
                    details=details[0] if len(details) == 1 else details or None)
    if isinstance(error, RPCError) and action == "status" and error.status is RPCStatusCode.INVALID_ARGUMENT:
        return Fail("QueryFailed", f"{what}: {error.message}")  # e.g. the case failed: the reason
    if isinstance(error, RPCError):  # e.g. NOT_FOUND: no such case, or it has already completed
        return Fail("".join(part.title() for part in error.status.name.split("_")), f"{what}: {error.message}")
    if isinstance(error, TemporalError):
        return Fail(type(error).__name__, f"{what}: {error}")
    raise error


def _print_error(error: Fail, output: str) -> None:
    if output == "json":
        print(json.dumps({"type": error.type, "message": error.message, "details": error.details},
                         ensure_ascii=False))
    else:
        print(f"telecom: {error.message}", file=sys.stderr)


def _output(argv: list[str]) -> str:
    """-o/--output as given, for errors found before or while the command line is parsed."""
    for n, arg in enumerate(argv):
        if arg in ("-o", "--output") and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith(("--output=", "-o=")):
            return arg.split("=", 1)[1]
        if arg.startswith("-o") and len(arg) > 2:
            return arg[2:]
    return "text"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    output = _output(argv)
    try:
        args = _parser().parse_args(argv)
        output = args.output
        try:
            result = asyncio.run(_run(args))
        except Fail:
            raise
        except Exception as error:
            raise _refusal(args, error) from None
    except Fail as error:
        _print_error(error, output)
        sys.exit(error.code)
    except KeyboardInterrupt:
        # An RPC abandoned mid-flight can hang or abort interpreter teardown (temporalio/sdk-python#300).
        sys.stdout.flush()
        os._exit(130)
    try:
        # A text result (a report's table) is printed as it is; anything else as JSON.
        print(result if isinstance(result, str) else json.dumps(result, ensure_ascii=False,
                                                                indent=None if output == "json" else 2))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `telecom … | head`: the reader has what it wanted
        os._exit(0)


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
