"""The activities of ServiceChange (workflows/service_change.py): the impact assessment, notices
page by page, the window FaultRepair reads, the follow-up line tests and the tickets for lines still
down. A change's lines are read page by page from the line inventory (the network adapter's lines),
never handed to the workflow: only counts and the lines still down come back."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapters.network import Network, NetworkService
from models.change import (
    PAGE,
    ChangeLink,
    ChangeScope,
    FollowUpPage,
    FollowUpResult,
    Impact,
    ImpactRequest,
    LineLookup,
    NoticePage,
    NoticeProgress,
    TicketsOpened,
    TicketsRequest,
    WindowClosed,
    WindowOpened,
)
from models.common import CaseType, Customer, Region
from models.fault import WORKFLOW_TYPE as FAULT_REPAIR
from models.fault import FaultChannel, FaultInput, LineStatus, Severity

from .tables import Case, ChangeWindow, CustomerContact

FOLLOW_UP_PAGE = 200
"""Lines tested per activity: each test is a call to the network."""


def in_scope(scope: ChangeScope) -> list[sa.ColumnElement[bool]]:
    line = NetworkService
    where: list[sa.ColumnElement[bool]] = []
    if scope.lines is not None:
        where.append(col(line.service_id).in_(scope.lines))
    if scope.region is not None:
        where.append(col(line.region) == scope.region)
    if scope.service_type is not None:
        where.append(col(line.service_type) == scope.service_type)
    return where


def covers(scope: ChangeScope, line: NetworkService) -> bool:
    return ((scope.lines is None or line.service_id in scope.lines)
            and (scope.region is None or line.region == scope.region)
            and (scope.service_type is None or line.service_type == scope.service_type))


class ChangeActivities:
    def __init__(self, engine: sa.Engine, network: Network, client: Client) -> None:
        self.engine = engine
        self.network = network
        self.client = client

    @activity.defn
    def assess_impact(self, request: ImpactRequest) -> Impact:
        """Guide 6.5: how many lines, where, and which need care: open faults, open complaints, special care."""
        where = in_scope(request.scope)
        line = NetworkService
        with Session(self.engine) as session:
            groups = session.exec(select(line.region, line.service_type, sa.func.count()).where(*where)
                                  .group_by(col(line.region), col(line.service_type))).all()
            faulty = _open_fault_lines(session)
            complaining = {ref for ref in session.exec(select(Case.customer_ref).where(
                col(Case.closed_at).is_(None), col(Case.case_type) == CaseType.complaint)) if ref}

            def count(*more: sa.ColumnElement[bool]) -> int:
                return session.exec(select(sa.func.count()).select_from(line).where(*where, *more)).one()

            by = Counter({f"{region}/{service_type or 'unknown'}": n for region, service_type, n in groups})
            return Impact(lines=sum(by.values()), by_region_and_service=dict(sorted(by.items())),
                          open_faults=count(col(line.service_id).in_(faulty)) if faulty else 0,
                          open_complaints=count(col(line.customer_ref).in_(complaining)) if complaining else 0,
                          special_care=count(col(line.special_care).is_(True)))

    @activity.defn
    def notify_lines(self, page: NoticePage) -> NoticeProgress:
        """A notification per line of the next page, each keyed `<notice>:<line>` in the case's outbox:
        a page run again (a retry, a worker killed mid-page) adds no second one."""
        line = NetworkService
        with Session(self.engine) as session, session.begin():
            lines = session.exec(select(line.service_id, line.customer_ref)
                                 .where(*in_scope(page.scope), col(line.service_id) > page.after)
                                 .order_by(col(line.service_id)).limit(PAGE)).all()
            rows = [{"workflow_id": page.workflow_id, "key": f"{page.notice}:{service_id}", "channel": "sms",
                     "template": page.template, "recipient": customer or f"line:{service_id}",
                     "params": {**page.params, "line": service_id}, "created_at": page.at}
                    for service_id, customer in lines]
            if rows:
                session.execute(_insert_new(session, SQLModel.metadata.tables["notification"], ["workflow_id", "key"]),
                                rows)
        return NoticeProgress(lines=len(lines), last=lines[-1][0] if lines else None)

    @activity.defn
    def open_window(self, window: WindowOpened) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(ChangeWindow(workflow_id=window.workflow_id, change_id=window.change_id,
                                       scope=window.scope.model_dump(mode="json"), starts_at=window.starts_at,
                                       ends_at=window.ends_at))

    @activity.defn
    def close_window(self, window: WindowClosed) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(sa.delete(ChangeWindow).where(col(ChangeWindow.workflow_id) == window.workflow_id))

    @activity.defn
    def change_for_line(self, lookup: LineLookup) -> ChangeLink:
        """The change whose window covers this line at this moment (FaultRepair asks at the report)."""
        with Session(self.engine) as session:
            line = session.get(NetworkService, lookup.service_id)
            if line is None:
                return ChangeLink(change_id=None)
            windows = session.exec(select(ChangeWindow).where(col(ChangeWindow.starts_at) <= lookup.at,
                                                              col(ChangeWindow.ends_at) > lookup.at)).all()
        covering = sorted(w.change_id for w in windows if covers(ChangeScope.model_validate(w.scope), line))
        return ChangeLink(change_id=covering[0] if covering else None)

    @activity.defn
    def follow_up(self, page: FollowUpPage) -> FollowUpResult:
        """After the window: a line test on each line of the next page; which are still down."""
        with Session(self.engine) as session:
            lines = session.exec(select(NetworkService.service_id)
                                 .where(*in_scope(page.scope), col(NetworkService.service_id) > page.after)
                                 .order_by(col(NetworkService.service_id)).limit(FOLLOW_UP_PAGE)).all()
        down = [service_id for service_id in lines
                if self.network.line_test(service_id).line_status is not LineStatus.up]
        return FollowUpResult(checked=len(lines), down=down, last=lines[-1] if lines else None)

    @activity.defn
    async def open_tickets(self, request: TicketsRequest) -> TicketsOpened:
        """A FaultRepair case per line still down and without an open ticket (e.g. one reported in the
        window), its ticket id a digest of change and line (a retry starts none twice),
        reported by the change on the customer's behalf, with the change id in its facts."""
        with Session(self.engine) as session:
            ticketed = _open_fault_lines(session)
            wanted = [line for line in request.lines if line not in ticketed]
            found = session.exec(select(NetworkService, CustomerContact).join(
                CustomerContact, col(CustomerContact.customer_ref) == col(NetworkService.customer_ref))
                .where(col(NetworkService.service_id).in_(wanted))).all()
        queue = activity.info().task_queue

        async def start(line: NetworkService, contact: CustomerContact) -> str:
            digest = hashlib.sha256(f"{request.change_id}:{line.service_id}".encode()).hexdigest()[:20]
            ticket = FaultInput(
                ticket_id=f"CHG-{digest}", service_id=line.service_id,
                region=Region(line.region), severity=Severity.major, channel=FaultChannel.service_change,
                terminal_equipment=False,
                description=f"line still down after service change {request.change_id}", change_id=request.change_id,
                customer=Customer(customer_ref=contact.customer_ref, name=contact.name, phone=contact.phone))
            with contextlib.suppress(WorkflowAlreadyStartedError):  # this activity ran before and started it
                await self.client.start_workflow(FAULT_REPAIR, ticket, id=ticket.workflow_id, task_queue=queue,
                                                 id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            return ticket.ticket_id

        tickets = await asyncio.gather(*(start(line, contact) for line, contact in found))
        return TicketsOpened(tickets=sorted(tickets), already_open=len(request.lines) - len(wanted),
                             without_contact=len(wanted) - len(found))


def _open_fault_lines(session: Session) -> set[str]:
    """The lines with a fault ticket still open (its service id is in the case's details)."""
    return {details["service_id"] for details in session.exec(select(Case.details).where(
        col(Case.closed_at).is_(None), col(Case.case_type) == CaseType.fault)) if "service_id" in details}


def _insert_new(session: Session, table: Any, keys: Sequence[str]) -> Any:
    """INSERT that skips rows whose unique key exists (SQLite and PostgreSQL)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
