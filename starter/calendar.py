"""Publish a working-day calendar change (docs/calendar.md):

    python -m starter.calendar publish FILE [--source TEXT] [--wait]
    python -m starter.calendar status VERSION

`publish` stores the file's days as the next calendar version (the newest version with these days
applied; never an edit of an old one), then starts its rollout to the running cases, workflow
`calendar-v{N}`. Publishing the same days again adds no version and only makes sure the newest
version's rollout exists, so an interrupted publish is finished by running it again. The database
and the Temporal connection come from the TELECOM_* and TEMPORAL_* settings, as for the worker.
Exit codes: 0 done, 1 failed (no server, rollout failed), 2 invalid file or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.calendar import load_change
from activities.calendar_versions import CalendarVersions
from activities.database import make_engine, upgrade
from edge.client import connect
from edge.settings import Settings, load
from models.calendar import WORKFLOW_TYPE, CalendarChangeInput, CalendarChangeStatus, workflow_id


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m starter.calendar", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="store a calendar change as the next version and roll it out")
    publish.add_argument("file", help="TOML: holidays = [...], working_days = [...], source = \"...\"")
    publish.add_argument("--source", help="where the days come from (else the file's `source`)")
    publish.add_argument("--wait", action="store_true", help="wait until every running case was told")
    status = commands.add_parser("status", help="how far a version's rollout is")
    status.add_argument("version", type=int)
    arguments = parser.parse_args()
    settings = load("calendar")
    try:
        if arguments.command == "publish":
            asyncio.run(_publish(arguments.file, arguments.source, arguments.wait, settings))
        else:
            asyncio.run(_status(arguments.version, settings))
    except RPCError as error:
        raise SystemExit(f"calendar: Temporal refused or cannot be reached: {error.message}") from None


async def _publish(path: str, source: str | None, wait: bool, settings: Settings) -> None:
    try:
        change, noted = load_change(path)
    except (OSError, ValueError) as error:
        print(f"calendar: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    source = source or noted
    if not source:
        print("calendar: say where the days come from: `source = \"...\"` in the file, or --source", file=sys.stderr)
        raise SystemExit(2)
    engine = make_engine(settings.database_url.get_secret_value())
    upgrade(engine)
    versions = CalendarVersions(engine)
    version, first_day = versions.publish(change, source, datetime.now(UTC))
    if first_day is None:
        row = versions.row(version)
        if row is None:
            print("calendar: these days change nothing, and no version is published yet")
            return
        print(f"calendar: no change, version {version} already has these days")
        first_day = date.fromisoformat(row.first_day)
    else:
        print(f"calendar: version {version} published (first day changed: {first_day})")
    engine.dispose()
    client = await connect(settings)
    await _roll_out(client, version, first_day, settings.task_queue, wait)


async def _roll_out(client: Client, version: int, first_day: date, task_queue: str, wait: bool) -> None:
    change = CalendarChangeInput(version=version, first_day=first_day)
    try:
        handle = await client.start_workflow(WORKFLOW_TYPE, change, id=workflow_id(version), task_queue=task_queue,
                                             id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                                             result_type=CalendarChangeStatus)
        print(f"calendar: rolling out to running cases: workflow {handle.id}")
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id(version), result_type=CalendarChangeStatus)
        print(f"calendar: rollout {handle.id} already started")
    if wait:
        try:
            print(json.dumps((await handle.result()).model_dump(mode="json"), ensure_ascii=False))
        except WorkflowFailureError as failed:
            raise SystemExit(f"calendar: rollout {handle.id} failed: {failed.cause}") from None


async def _status(version: int, settings: Settings) -> None:
    client = await connect(settings)
    handle = client.get_workflow_handle(workflow_id(version))
    status = await handle.query("status", result_type=CalendarChangeStatus)
    print(json.dumps(status.model_dump(mode="json"), ensure_ascii=False))


if __name__ == "__main__":
    main()
