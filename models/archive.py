"""The service archive (guide ch. 7; docs/archive.md): who may read it, what staff give to read it, and the
scheduled purge of entries whose retention has passed, with its deletion certificate."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from .common import Contract, CustomerRef, Inbound, StaffId, Timestamp

WORKFLOW_TYPE = "ArchivePurge"
PURGE_SCHEDULE_ID = "archive-purge"
"""The Schedule that starts the purge; each run's workflow id is this id and its scheduled time."""
PURGE_INTERVAL = timedelta(days=1)
PURGE_ID_MAX = 200
"""A run's workflow id keys its certificate (`archivepurge.purge_id`): the Schedule's are far shorter."""


class ArchiveRole(StrEnum):
    """What a member of staff may do with the archive (TELECOM_ARCHIVE_STAFF names each one's role)."""

    agent = "agent"
    """customer service: finds and reads entries, personal data masked"""
    auditor = "auditor"
    """quality and compliance: finds and reads entries, personal data masked"""
    legal = "legal"
    """legal and privacy officer: reads personal data unmasked, places and releases legal holds"""


UNMASKED_ROLES = frozenset({ArchiveRole.legal})
HOLDING_ROLES = frozenset({ArchiveRole.legal})


ArchiveAction = Literal["find", "show", "hold", "release"]
"""What an access-log row records: a read (find, show), or a legal hold placed or released."""


MIN_PURPOSE = 8
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=MIN_PURPOSE, max_length=500)]
"""Why the archive is read, or why a hold is placed or released: a sentence, not a word (e.g. the
complaint or court case it serves); staff text, never a customer's personal data."""


class ArchiveRequest(Inbound):
    """What every read, hold and release gives before anything is read: who and why."""

    staff: StaffId
    purpose: Purpose


class ArchiveQuery(ArchiveRequest):
    """`find`: one case by its workflow id, or every archived case of one customer."""

    workflow_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    customer_ref: CustomerRef | None = None

    @model_validator(mode="after")
    def _one_key(self) -> ArchiveQuery:
        if (self.workflow_id is None) == (self.customer_ref is None):
            raise ValueError("give either a case (workflow id) or a customer reference")
        return self


class ArchivePurgeInput(Inbound):
    """The purge's input; the Schedule sends `{}`. `cutoff` and `after` are how a long purge goes on after
    continue-as-new: the cutoff fixed by its first run, the last workflow id reached."""

    cutoff: Timestamp | None = Field(default=None, description="purge entries retained until before this instant; "
                                                               "unset: the run's start (never later)")
    after: str = Field(default="", max_length=100, description="resume after this workflow id")


class DuePage(Contract):
    cutoff: AwareDatetime
    after: str
    limit: int = Field(gt=0, le=1000)


class DueEntries(Contract):
    """A page of archived cases past their retention and not held, in workflow-id order."""

    workflow_ids: list[str]


class PurgeRun(Contract):
    purge_id: str = Field(description="the purge run's workflow id: its certificate's key")
    cutoff: AwareDatetime
    at: AwareDatetime


class PurgeBatch(PurgeRun):
    workflow_ids: list[str]


class PurgeCertificate(Contract):
    """The deletion certificate of one purge run (the `archivepurge` row), by counts: the purged
    workflow ids are in the row, not in Temporal."""

    purge_id: str
    cutoff: AwareDatetime
    completed_at: AwareDatetime
    cases: int
    deleted: dict[str, int] = Field(description="table → rows deleted")
