"""Published calendar versions (docs/calendar.md) and the activities that roll one out to the running
cases. A version holds the operator's whole set of days that differ from the `holidays` package
(each publication applied on top of the one before), so any version can be read on its own; the
worker's calendar file stays underneath every version."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from models.calendar import UPDATE, AffectedCases, CalendarChanged, CalendarMoves, CasePage, CasesTold, CasesToTell

from .calendar import CalendarOverrides
from .tables import CalendarVersion, Case

CONCURRENT_UPDATES = 20
"""Cases told at once by one activity: enough to keep the server busy, few enough not to crowd it."""


class CalendarVersions:
    """The versions in a database, on top of the worker's own calendar file (`base`)."""

    def __init__(self, engine: sa.Engine, base: CalendarOverrides | None = None) -> None:
        self.engine = engine
        self.base = base or CalendarOverrides()
        self._read: Callable[[int], CalendarOverrides] = lru_cache(maxsize=16)(self._days)  # versions never change

    def newest(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(sa.func.max(CalendarVersion.version))).one() or 0

    def overrides(self, version: int) -> CalendarOverrides:
        """The days in force under a version (0: the worker's file alone)."""
        return self._read(version)

    def _days(self, version: int) -> CalendarOverrides:
        if version == 0:
            return self.base
        with Session(self.engine) as session:
            row = session.get(CalendarVersion, version)
        if row is None:
            raise LookupError(f"no calendar version {version} is published")
        return self.base.then(_overrides(row))

    def publish(self, change: CalendarOverrides, source: str, at: datetime) -> tuple[int, date | None]:
        """Write the next version: the newest with `change` applied. Returns it and the first day it
        changes; if the change adds nothing, the newest version and None (publishing is idempotent)."""
        while True:
            with Session(self.engine) as session:
                newest = session.exec(select(CalendarVersion).order_by(col(CalendarVersion.version).desc())).first()
                before = _overrides(newest) if newest else CalendarOverrides()
                after = before.then(change)
                changed = before.changed_days(after)
                version = newest.version if newest else 0
                if not changed:
                    return version, None
                session.add(CalendarVersion(
                    version=version + 1, published_at=at, source=source, first_day=min(changed).isoformat(),
                    holidays=sorted(d.isoformat() for d in after.holidays),
                    working_days=sorted(d.isoformat() for d in after.working_days)))
                try:
                    session.commit()
                except IntegrityError:  # another publisher took the number: apply the change on top of theirs
                    continue
                return version + 1, min(changed)

    def row(self, version: int) -> CalendarVersion | None:
        with Session(self.engine) as session:
            return session.get(CalendarVersion, version)


def _overrides(row: CalendarVersion) -> CalendarOverrides:
    return CalendarOverrides(holidays=frozenset(map(date.fromisoformat, row.holidays)),
                             working_days=frozenset(map(date.fromisoformat, row.working_days)))


class CalendarRollout:
    """Finds the open cases a version may reach, from the records (no history is read), and tells them."""

    def __init__(self, engine: sa.Engine, client: Client) -> None:
        self.engine = engine
        self.client = client

    @activity.defn
    def find_affected_cases(self, page: CasePage) -> AffectedCases:
        """Open cases, in workflow-id order after `page.after`, with a deadline on or after the first
        changed day: a clock due before it counted no day the version changed. (A day earlier, so no
        time zone is missed; a case told in vain moves nothing.)"""
        since = datetime.combine(page.first_day - timedelta(days=1), time(), UTC)
        found: list[str] = []
        after = page.after
        with Session(self.engine) as session:
            while len(found) < page.limit:
                rows = session.exec(
                    select(Case.workflow_id, Case.deadlines).where(col(Case.closed_at).is_(None),
                                                                   col(Case.workflow_id) > after)
                    .order_by(col(Case.workflow_id)).limit(page.limit * 4)).all()
                if not rows:
                    break
                for workflow_id, deadlines in rows:
                    if any(datetime.fromisoformat(due) >= since for due in deadlines.values()):
                        found.append(workflow_id)
                        if len(found) == page.limit:
                            break
                    after = workflow_id
        return AffectedCases(workflow_ids=found)

    @activity.defn
    async def tell_cases(self, batch: CasesToTell) -> CasesTold:
        """Each case's `calendar_changed` update; telling a case twice moves nothing twice. A case that
        has ended meanwhile is skipped; a server that cannot be reached fails the activity (retried)."""
        gate = asyncio.Semaphore(CONCURRENT_UPDATES)
        change = CalendarChanged(version=batch.version)

        async def tell(workflow_id: str) -> CalendarMoves | str | None:
            async with gate:
                try:
                    return await self.client.get_workflow_handle(workflow_id).execute_update(
                        UPDATE, change, result_type=CalendarMoves)
                except WorkflowUpdateFailedError as refused:
                    return f"{workflow_id}: {refused.cause}"
                except RPCError as error:
                    if error.status is RPCStatusCode.NOT_FOUND:  # ended since the records were read
                        return None
                    raise

        answers = await asyncio.gather(*(tell(w) for w in batch.workflow_ids))
        told = [a for a in answers if isinstance(a, CalendarMoves)]
        return CasesTold(told=len(told), moved=sum(bool(a.moves) for a in told),
                         failed=[a for a in answers if isinstance(a, str)])
