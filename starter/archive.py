"""`telecom archive find|show|hold|release` (docs/archive.md): the archive read from the records database
(TELECOM_DATABASE_URL) by archive staff (TELECOM_ARCHIVE_STAFF), never without a staff id and a purpose,
which are checked before anything is read."""

from __future__ import annotations

import argparse
from typing import Any

from .cli import EXIT_INVALID, Fail, _settings


def add_parser(commands: Any, output: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]) -> None:
    actions = commands.add_parser("archive", help="look up the service archive, place legal holds").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=parser_class)
    find = actions.add_parser("find", parents=[output], help="archived cases of a case id or a customer")
    key = find.add_mutually_exclusive_group(required=True)
    key.add_argument("--case", metavar="WORKFLOW_ID", help="e.g. complaint-C1")
    key.add_argument("--customer", metavar="CUSTOMER_REF", help="the operator's customer id, e.g. CUST-1001")
    show = actions.add_parser("show", parents=[output], help="one archived case, personal data masked by role")
    hold = actions.add_parser("hold", parents=[output], help="place a legal hold: the purge keeps the case")
    release = actions.add_parser("release", parents=[output], help="release a legal hold")
    for parser in (show, hold, release):
        parser.add_argument("workflow_id", metavar="WORKFLOW_ID")
    for parser, why in ((find, "purpose"), (show, "purpose"), (hold, "reason"), (release, "reason")):
        parser.add_argument("--staff", help="your staff id, as TELECOM_ARCHIVE_STAFF names it")
        parser.add_argument(f"--{why}", dest="purpose", help="why, in a few words: written to the access log")


def run(args: argparse.Namespace) -> Any:
    import sqlalchemy as sa

    from activities.archive import Archive, ArchiveRefused
    from activities.database import make_engine

    request = _request(args)
    settings = _settings()
    engine = make_engine(settings.database_url.get_secret_value())
    archive = Archive(engine, settings.archive_staff or {})
    try:
        if args.action == "find":
            return {"query": request.model_dump(include={"workflow_id", "customer_ref"}, exclude_none=True),
                    "entries": archive.find(request)}
        if args.action == "show":
            shown = archive.show(args.workflow_id, request)
            if shown is None:
                raise Fail("NotFound", f"no archive entry {args.workflow_id}")
            return shown
        return archive.hold(args.workflow_id, request) if args.action == "hold" else archive.release(
            args.workflow_id, request)
    except ArchiveRefused as refused:
        raise Fail(refused.kind, refused.message) from None
    except sa.exc.SQLAlchemyError as error:  # the engine hides parameters: the message names no value
        raise Fail("DatabaseError", f"the records database (TELECOM_DATABASE_URL): {str(error).splitlines()[0]}"
                   ) from None
    finally:
        engine.dispose()


def _request(args: argparse.Namespace) -> Any:
    """Who asks and why, checked before the settings or the database are touched."""
    from pydantic import ValidationError

    from models.archive import ArchiveQuery, ArchiveRequest
    from models.errors import invalid

    data = {"staff": args.staff, "purpose": args.purpose}
    if args.action == "find":
        data |= {"workflow_id": args.case, "customer_ref": args.customer}
    try:
        return (ArchiveQuery if args.action == "find" else ArchiveRequest).model_validate(
            {k: v for k, v in data.items() if v is not None})
    except ValidationError as error:
        problems = invalid(error, f"archive {args.action}").details[0]["problems"]
        why = "reason" if args.action in ("hold", "release") else "purpose"
        options = {"staff": "--staff", "purpose": f"--{why}", "workflow_id": "--case", "customer_ref": "--customer"}
        fields = {p["field"] for p in problems}
        # Who and why come first: a refusal for either has its own type, so a script can tell them apart.
        kind = ("StaffRequired" if "staff" in fields else f"{why.title()}Required" if "purpose" in fields
                else "ValidationError")
        message = "; ".join(f"{options.get(p['field'], p['field'])}: {p['problem']}" for p in problems)
        raise Fail(kind, f"archive {args.action} refused, nothing was read: {message}", EXIT_INVALID,
                   {"problems": problems}) from None
