"""ArchivePurge (docs/archive.md), started daily by the Schedule `archive-purge`: deletes the archived cases
whose retention has passed and that no legal hold keeps, page by page, and completes the run's deletion
certificate. The history carries workflow ids and counts only, never a case's content. A run that stops
goes on from its last page; a page repeated after a crash deletes nothing twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.archive_purge import ArchivePurger
    from models.archive import (PURGE_ID_MAX, WORKFLOW_TYPE, ArchivePurgeInput, DuePage, PurgeBatch, PurgeCertificate,
                                PurgeRun)

    from .actions import call, invalid_input

PAGE = 200
PAGES_PER_RUN = 50
"""Pages before continue-as-new keeps the history short (10,000 cases: one run)."""
TIMEOUT = timedelta(minutes=5)


@workflow.defn(name=WORKFLOW_TYPE)
class ArchivePurge:
    @workflow.run
    async def run(self, purge: ArchivePurgeInput) -> PurgeCertificate:
        now, purge_id = workflow.now(), workflow.info().workflow_id
        if len(purge_id) > PURGE_ID_MAX:  # its certificate's key: a longer one could never be written
            raise invalid_input("workflow_id", f"must be at most {PURGE_ID_MAX} characters")
        if purge.cutoff is not None and purge.cutoff > now:
            raise invalid_input("cutoff", "must not be in the future: an entry is purged once its retention has passed")
        cutoff, after = purge.cutoff or now, purge.after
        for _ in range(PAGES_PER_RUN):
            page = await call(ArchivePurger.due_for_purge, DuePage(cutoff=cutoff, after=after, limit=PAGE),
                              "entries past their retention", timeout=TIMEOUT)
            if not page.workflow_ids:
                return await call(ArchivePurger.certify_purge, PurgeRun(purge_id=purge_id, cutoff=cutoff,
                                                                        at=workflow.now()),
                                  "the deletion certificate", timeout=TIMEOUT)
            await call(ArchivePurger.purge_cases, PurgeBatch(purge_id=purge_id, cutoff=cutoff, at=workflow.now(),
                                                             workflow_ids=page.workflow_ids),
                       f"purge {len(page.workflow_ids)} cases", timeout=TIMEOUT)
            after = page.workflow_ids[-1]
        workflow.continue_as_new(ArchivePurgeInput(cutoff=cutoff, after=after))
