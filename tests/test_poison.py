"""Poison input: every malformed workflow input and update argument ends in a documented,
non-retryable error (or a refused update), writes nothing, and the worker keeps serving.

The whole corpus is read by the worker's converter, without a server: that is where every refusal is
decided. On the real engine each kind of mistake then runs once per process: the refusal fails the case
or the update, writes nothing, and the next case still works."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.tables import Case, CaseEvent
from edge.converter import contract_data_converter
from models.contract import CONTRACTS
from models.errors import Undecodable

from .conftest import TEST_QUEUE, rows
from .examples import EXAMPLES
from .poison import corpus, kinds

DOCUMENTED = {"ValidationError", "InvalidInput"}
CONVERTER = contract_data_converter.payload_converter


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.workflow_type)
def test_the_converter_refuses_every_malformed_value(contract):
    example = EXAMPLES[contract.workflow_type]
    for label, value in corpus(contract.input, example.input):
        [read] = CONVERTER.from_payloads([value.payload], [contract.input])
        assert isinstance(read, Undecodable), f"input {label}: accepted"  # the case fails with it
        assert read.error.type in DOCUMENTED and read.error.non_retryable, f"input {label}: {read.error}"
    for update, model in contract.updates.items():
        for label, value in corpus(model, example.updates[update]):
            with pytest.raises(ApplicationError) as refused:  # the update is refused with it
                CONVERTER.from_payloads([value.payload], [model])
            assert refused.value.type in DOCUMENTED and refused.value.non_retryable, f"{update} {label}"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.workflow_type)
async def test_malformed_inputs_fail_the_case_cleanly(env, worker, engine, contract):
    example = EXAMPLES[contract.workflow_type]
    malformed = kinds(corpus(contract.input, example.input))

    async def run(label, value) -> str:
        handle = await env.client.start_workflow(contract.workflow_type, value, task_queue=TEST_QUEUE,
                                                 id=f"{contract.id_prefix}poison-{uuid.uuid4().hex[:8]}")
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert failed.value.cause.type in DOCUMENTED, f"{label}: {failed.value.cause}"
        return handle.id

    with env.auto_time_skipping_disabled():  # failing needs no timer; skipping would time tasks out
        await asyncio.gather(*(run(label, value) for label, value in malformed))
    assert rows(engine, Case) == [], "a malformed input wrote records"

    if example.seed:
        example.seed(engine, example.input)
    handle = await env.client.start_workflow(contract.workflow_type, example.input, task_queue=TEST_QUEUE,
                                             id=example.workflow_id)
    await example.drive(env, handle)
    assert [case.workflow_id for case in rows(engine, Case)] == [example.workflow_id]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.workflow_type)
async def test_malformed_update_arguments_are_refused_and_change_nothing(env, worker, engine, contract):
    example = EXAMPLES[contract.workflow_type]
    if example.seed:
        example.seed(engine, example.input)
    handle = await env.client.start_workflow(contract.workflow_type, example.input, task_queue=TEST_QUEUE,
                                             id=example.workflow_id)
    await example.opened(env, handle)
    before = rows(engine, CaseEvent, example.workflow_id)
    state = (await handle.query("status"))["state"]
    tried = 0
    for update, model in contract.updates.items():
        for _label, value in kinds(corpus(model, example.updates[update])):
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(update, value)
            tried += 1
    assert tried >= 5 * len(contract.updates)
    assert rows(engine, CaseEvent, example.workflow_id) == before
    assert (await handle.query("status"))["state"] == state
    await example.drive(env, handle)  # the case still works
