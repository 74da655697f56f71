"""Two ops staff acting on one case at once: exactly one wins, the other gets a clear answer, and
state and records stay consistent (the case book serialises actions and re-checks under its lock)."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError

from activities.tables import CaseEvent
from models.complaint import AssignHandler, ComplaintState, ConfirmReply

from .conftest import rows
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

pytestmark = pytest.mark.postgres  # the database is the point: SQLite and PostgreSQL


async def race(*actions):
    return await asyncio.gather(*actions, return_exceptions=True)


def split(results):
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


async def test_satisfied_and_dissatisfied_at_once_one_wins(env, worker, engine, complaints):
    await complaints.start(complaint())
    await investigate_and_reply(complaints)
    won, lost = split(await race(complaints.confirm("C1", ConfirmReply(satisfied=True)),
                                 complaints.confirm("C1", ConfirmReply(satisfied=False))))
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], WorkflowUpdateFailedError)
    assert "no reply awaiting the customer's confirmation" in str(lost[0].cause)
    status = await complaints.status("C1")
    steps = [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, "complaint-C1")]
    if won[0].confirmation == "satisfied":
        assert status.state is ComplaintState.resolved and steps[-1] == "confirmed"
    else:
        assert status.state is ComplaintState.inProgress and steps[-1] == "reopened"
    assert steps.count("confirmed") + steps.count("reopened") == 1


async def test_two_closure_reports_at_once_one_wins(env, worker, engine, complaints):
    handle = await complaints.start(complaint())
    await investigate_and_reply(complaints)
    await complaints.confirm("C1", ConfirmReply(satisfied=True))
    won, lost = split(await race(complaints.submit_closure("C1", CLOSURE),
                                 complaints.submit_closure("C1", CLOSURE)))
    assert len(won) == 1 and len(lost) == 1
    # Refused by the validator while the first report is being written, or under the lock after it.
    assert any(reason in str(lost[0].cause) for reason in ("already been submitted", "complaint is closed"))
    assert (await handle.result()).state is ComplaintState.closed
    assert [e.step for e in rows(engine, CaseEvent, "complaint-C1")].count("006-closed") == 1


async def test_the_same_assignment_twice_at_once_is_made_once(env, worker, engine, complaints):
    await complaints.start(complaint())
    assignment = AssignHandler(handler="h.li", actor="desk.wang")
    won, lost = split(await race(complaints.assign_handler("C1", assignment),
                                 complaints.assign_handler("C1", assignment)))
    assert len(won) == 1 and "already assigned to h.li" in str(lost[0].cause)
    assert [e.step for e in rows(engine, CaseEvent, "complaint-C1")] == ["001-accepted", "002-assigned"]
