"""Patch ids (README § Changing a workflow safely): each guards a change to what a workflow asks
the server for, so histories recorded before it replay down the old path."""

from temporalio import workflow

LOCAL_STEPS = "local-steps"
"""Issue 9: records and working-time arithmetic run as local activities, inside the workflow task
that asks for them, which saves a server round trip each. Both are short and idempotent."""


SIGNAL_REFUSALS = "signal-refusals"
"""Issue 13: a malformed signal is recorded on the case's event log; before, it was only logged."""


DUE_MARKS_KEPT = "due-marks-kept"
"""Issue 14: a pause or a stop keeps a mark already due whose timer was not yet taken (an update handled
first), so it fires at its own instant; before, they dropped it (it fired at the resume, or never)."""


MIGRATED_MARKS = "migrated-marks"
"""Issue 15: a mark due before the case started here (a backdated event time: a case taken over from
a legacy system) is recorded as missed, telling nobody; before, it fired as a fresh warning."""


LINKED_CHANGES = "linked-changes"
"""Issue 18: a fault reported in a service change's window on an affected line is linked to the change:
no operator response or resolution clock, the statutory one runs. Before, every fault had all three."""


BUNDLE_1 = "bundle-1"
"""Issue 16: the five patches above in one, for the cases started from here on. Each patch a case
takes costs its history a marker and an upsert of `TemporalChangeVersion` (a visibility write on the
server); a new case takes this one instead. A case started before it replays without its marker, so it
asks for each patch as it did. A later change gets a patch of its own, outside the bundle."""


def _bundle_1() -> bool:
    return workflow.patched(BUNDLE_1)


def local_steps() -> bool:
    return _bundle_1() or workflow.patched(LOCAL_STEPS)


def recorded_signal_refusals() -> bool:
    return _bundle_1() or workflow.patched(SIGNAL_REFUSALS)


def kept_due_marks() -> bool:
    return _bundle_1() or workflow.patched(DUE_MARKS_KEPT)


def migrated_marks() -> bool:
    return _bundle_1() or workflow.patched(MIGRATED_MARKS)


def linked_changes() -> bool:
    return _bundle_1() or workflow.patched(LINKED_CHANGES)
