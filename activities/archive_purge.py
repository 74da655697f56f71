"""The purge at the end of retention (guide 7.2; docs/archive.md): archived cases whose `retain_until` has
passed and that no legal hold keeps are deleted with their records, page by page, each page in one
transaction with its run's deletion certificate, so a retried or replayed page deletes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel
from temporalio import activity

from edge.sql import UTCDateTime, table_of
from models.archive import PURGE_ID_MAX, DueEntries, DuePage, PurgeBatch, PurgeCertificate, PurgeRun

from .database import checkpoint_wal
from .records import ARCHIVE, CASE, COMPENSATION, CONTACT, EVENT, NOTIFICATION, SLA_EVENT


class ArchivePurgeRun(SQLModel, table=True):
    """The deletion certificate of one purge run, keyed by its workflow id; complete once `completed_at` is set."""

    __tablename__ = "archivepurge"
    purge_id: str = Field(primary_key=True, max_length=PURGE_ID_MAX)
    cutoff: datetime = Field(sa_type=UTCDateTime, nullable=False)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cases: int = 0
    workflow_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    deleted: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


PURGE = table_of(ArchivePurgeRun)
CASE_TABLES = (EVENT, SLA_EVENT, NOTIFICATION, COMPENSATION, ARCHIVE)
"""A case's rows besides the case row itself, deleted before it (they point at it)."""


def _due(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(ARCHIVE.c.retain_until <= cutoff, ARCHIVE.c.held_at.is_(None))


class ArchivePurger:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @activity.defn
    def due_for_purge(self, page: DuePage) -> DueEntries:
        with self.engine.connect() as db:
            return DueEntries(workflow_ids=list(db.scalars(
                sa.select(ARCHIVE.c.workflow_id).where(_due(page.cutoff), ARCHIVE.c.workflow_id > page.after)
                .order_by(ARCHIVE.c.workflow_id).limit(page.limit))))

    @activity.defn
    def purge_cases(self, batch: PurgeBatch) -> None:
        """Delete the page's cases that are still due (a hold placed since the page was read wins) and add
        them to the certificate, in one transaction: a retry finds them gone and adds nothing."""
        with self.engine.begin() as db:
            certificate = _certificate_row(db, batch.purge_id, batch.cutoff, batch.at)
            due = list(db.scalars(sa.select(ARCHIVE.c.workflow_id).where(
                _due(batch.cutoff), ARCHIVE.c.workflow_id.in_(batch.workflow_ids))))
            if not due:
                return
            refs = set(db.scalars(sa.select(CASE.c.customer_ref).where(
                CASE.c.workflow_id.in_(due), CASE.c.customer_ref.is_not(None))))
            deleted = dict(certificate.deleted)
            for table in (*CASE_TABLES, CASE):
                rows = db.execute(table.delete().where(table.c.workflow_id.in_(due))).rowcount
                deleted[table.name] = deleted.get(table.name, 0) + rows
            # A contact goes with the customer's last case: another case, open or archived, still needs it.
            still_used = set(db.scalars(sa.select(CASE.c.customer_ref).where(CASE.c.customer_ref.in_(refs))))
            contacts = db.execute(CONTACT.delete().where(CONTACT.c.customer_ref.in_(refs - still_used))).rowcount
            deleted[CONTACT.name] = deleted.get(CONTACT.name, 0) + contacts
            db.execute(PURGE.update().where(PURGE.c.purge_id == batch.purge_id).values(
                cases=certificate.cases + len(due), workflow_ids=[*certificate.workflow_ids, *due], deleted=deleted))

    @activity.defn
    def certify_purge(self, done: PurgeRun) -> PurgeCertificate:
        """Complete the run's certificate (once: a retry returns it as it was completed)."""
        with self.engine.begin() as db:
            row = _certificate_row(db, done.purge_id, done.cutoff, done.at)
            if row.completed_at is None:
                db.execute(PURGE.update().where(PURGE.c.purge_id == done.purge_id).values(completed_at=done.at))
            completed_at = row.completed_at or done.at
        checkpoint_wal(self.engine)  # also on a retry: deleted contacts must leave SQLite's WAL too
        return PurgeCertificate(purge_id=row.purge_id, cutoff=row.cutoff, completed_at=completed_at,
                                cases=row.cases, deleted=row.deleted)


def _certificate_row(db: sa.Connection, purge_id: str, cutoff: datetime, at: datetime) -> sa.Row:
    """The run's certificate row, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite: its
    writer lock), written first if the run has none yet. Two attempts racing to write it: one fails
    on the primary key and is retried."""
    query = sa.select(PURGE).where(PURGE.c.purge_id == purge_id).with_for_update()
    row = db.execute(query).first()
    if row is None:
        db.execute(PURGE.insert().values(purge_id=purge_id, cutoff=cutoff, started_at=at, completed_at=None,
                                         cases=0, workflow_ids=[], deleted={}))
        row = db.execute(query).one()
    return row
