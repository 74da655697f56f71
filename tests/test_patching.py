"""The worked example of the README's "changing a workflow safely": a new step added to
ComplaintClosure must be guarded by `workflow.patched`, or recorded histories stop replaying."""

from __future__ import annotations

import pytest
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from activities.tables import CaseEvent
from edge.codec import data_converter
from models.complaint import ConfirmReply
from worker import WORKFLOW_RUNNER, build_worker

from .conftest import TEST_QUEUE, rows
from .histories import DIRECTORY, load
from .survey_patch import Patched, Unguarded
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

HAPPY = DIRECTORY / "ComplaintClosure-happy.json"


async def replay(workflow_class) -> None:
    await Replayer(workflows=[workflow_class], data_converter=data_converter(),
                        workflow_runner=WORKFLOW_RUNNER).replay_workflow(load(HAPPY))


async def test_an_unguarded_new_step_breaks_running_cases():
    with pytest.raises(NondeterminismError):
        await replay(Unguarded)


async def test_the_patched_step_replays_old_histories_and_runs_for_new_cases(env, engine, policy, complaints):
    await replay(Patched)  # running cases (recorded before the change) keep their old path
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE, extra_workflows=[Patched]):
        handle = await complaints.start(complaint())
        await investigate_and_reply(complaints)
        await complaints.confirm("C1", ConfirmReply(satisfied=True))
        await complaints.submit_closure("C1", CLOSURE)
        await handle.result()
    assert [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, "complaint-C1")][-2:] == ["closed", "survey"]
