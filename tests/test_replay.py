"""Replay every recorded history with today's workflow code: a non-deterministic change fails here."""

from pathlib import Path

import pytest
from temporalio.worker import Replayer

from edge.codec import data_converter
from worker import INTERCEPTORS, INTERNAL, WORKFLOW_RUNNER, WORKFLOWS

from .histories import DIRECTORY, SCENARIOS, load

RECORDED = sorted(DIRECTORY.rglob("*.json"))
"""Today's path of every scenario, and in a folder per patch the paths recorded before it: kept
while a case started before that patch may still be running."""


def test_every_scenario_has_a_recorded_history():
    assert {p.stem for p in DIRECTORY.glob("*.json")} == set(SCENARIOS)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: str(p.relative_to(DIRECTORY).with_suffix("")))
async def test_recorded_history_replays(path: Path):
    history = load(path)
    replayer = Replayer(workflows=[*WORKFLOWS, *INTERNAL], data_converter=data_converter(),
                        workflow_runner=WORKFLOW_RUNNER, interceptors=INTERCEPTORS)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
