"""Trust at the boundary: what any client sends is read strictly, bounded, and either refused with a
named, non-retryable error or accepted as documented; nothing wedges a case. The converter checks
need no server; the rest run the real worker on the time-skipping server."""

from __future__ import annotations

import asyncio
import json
import typing
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from activities.records import RECORD_REFUSED, CaseRecords
from activities.tables import Case, CaseEvent, CustomerContact
from edge.converter import MAX_PAYLOAD_BYTES, contract_data_converter
from models.common import Inbound
from models.complaint import ComplaintInput, ConfirmReply
from models.contract import CONTRACTS
from models.errors import Undecodable
from models.policy import Policy
from models.records import CompensationRecord, Transition

from .conftest import TEST_QUEUE, rows
from .examples import EXAMPLES
from .poison import raw_json

COMPLAINT = EXAMPLES["ComplaintClosure"]
CONVERTER = contract_data_converter.payload_converter


def read(value: Any, model: type = ComplaintInput) -> Any:
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    [decoded] = CONVERTER.from_payloads([payload], [model])
    return decoded


def refused(value: Any, model: type = ComplaintInput) -> ApplicationError:
    decoded = read(value, model)
    assert isinstance(decoded, Undecodable), f"accepted: {decoded!r}"
    assert decoded.error.non_retryable
    return decoded.error


def complaint(**changes: Any) -> dict[str, Any]:
    return {**COMPLAINT.input, **changes}


def customer(**changes: Any) -> dict[str, Any]:
    return complaint(customer={**COMPLAINT.input["customer"], **changes})


@pytest.mark.parametrize("value, field", [
    (complaint(received_at=12345), "received_at"),  # epoch seconds
    (complaint(received_at="12345"), "received_at"),  # pydantic alone would read 1970-01-01T03:25:45Z
    (complaint(received_at="2026-11-30T10:00:00"), "received_at"),  # no offset
    (complaint(received_at="2026-11-30"), "received_at"),
    (complaint(received_at="2026/11/30 10:00:00+08:00"), "received_at"),
    (complaint(received_at="0001-01-01T00:00:00Z"), "received_at"),  # overflowed the deadline arithmetic
    (complaint(received_at="9999-12-31T23:59:59Z"), "received_at"),
    (complaint(event_date="2026-11-20T00:00:00Z"), "event_date"),
    (complaint(event_date="0001-01-01"), "event_date"),
    (complaint(channel="Hotline"), "channel"),
    (complaint(complaint_id=42), "complaint_id"),
    (customer(phone=13900139000), "customer.phone"),
    (customer(phone="1390013900"), "customer.phone"),
    (customer(name="李\x00四"), "customer.name"),  # a NUL byte fails on PostgreSQL, for ever
    (complaint(description="退款\u202egnp.exe"), "description"),  # displays other than it reads
    (complaint(description="x" * 4001), "description"),
    (complaint(complaintId="EX1"), "complaintId"),
])
def test_wrong_types_and_values_are_refused_never_coerced(value, field):
    error = refused(value)
    assert error.type == "ValidationError" and f"{field}:" in error.message
    [problem] = error.details[0]["problems"]
    assert problem["field"] == field


def test_refusals_name_the_field_never_the_value():
    error = refused(customer(phone="0000ABC", name="X" * 101))
    assert "customer.phone" in error.message and "customer.name" in error.message
    assert "0000ABC" not in error.message and "X" * 101 not in error.message
    assert "0000ABC" not in json.dumps(error.details, ensure_ascii=False)


@pytest.mark.parametrize("model, value, field", [
    (ConfirmReply, {"satisfied": "yes"}, "satisfied"),
    (ConfirmReply, {"satisfied": 1}, "satisfied"),
    (ConfirmReply, {"satisfied": "true"}, "satisfied"),
])
def test_booleans_are_true_or_false_and_updates_are_refused_at_once(model, value, field):
    with pytest.raises(ApplicationError) as error:  # an update argument: refused on the spot
        read(value, model)
    assert error.value.type == "ValidationError" and error.value.non_retryable and f"{field}:" in error.value.message


def test_documented_normalisations_are_accepted():
    for typed in ("+86 １３９ ００１３ ９０００", "8613900139000", "139 0013 9000"):
        assert read(customer(phone=typed)).customer.phone == "13900139000"  # one number, one form
    assert read(customer(phone="０１０-１２３４５６７８")).customer.phone == "01012345678"
    accepted = read(complaint(received_at="2026-11-30t10:00:00.123456789z", description="  断网😡\n第二行\t完  "))
    assert accepted.received_at.isoformat() == "2026-11-30T10:00:00.123456+00:00"
    assert accepted.description == "断网😡\n第二行\t完"


def test_transport_mistakes_become_named_refusals():
    huge = Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"x" * MAX_PAYLOAD_BYTES + b'"')
    protobuf = Payload(metadata={"encoding": b"json/protobuf"}, data=b"{}")
    broken = Payload(metadata={"encoding": b"json/plain"}, data=b'{"complaint_id": ')
    null = Payload(metadata={"encoding": b"binary/null"})
    surrogate = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(complaint(description="\ud800")).encode())
    for payload, says in ((huge, "bytes; at most"), (protobuf, "json/protobuf"), (broken, "Invalid JSON"),
                          (null, "ComplaintInput"), (surrogate, "Invalid JSON")):  # not storable as UTF-8
        [decoded] = CONVERTER.from_payloads([payload], [ComplaintInput])
        assert isinstance(decoded, Undecodable) and says in decoded.error.message, decoded


def _bounded(schema: dict[str, Any], defs: dict[str, Any], path: str, unbounded: list[str]) -> None:
    if "$ref" in schema:
        _bounded(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path, unbounded)
        return
    for option in schema.get("anyOf", []):
        _bounded(option, defs, path, unbounded)
    kind = schema.get("type")
    if kind == "string" and not ("maxLength" in schema or "enum" in schema or "const" in schema
                                 or schema.get("format") in ("date", "date-time")
                                 or "}$" in schema.get("pattern", "")):
        unbounded.append(path)
    elif kind == "array":
        if "maxItems" not in schema:
            unbounded.append(path)
        _bounded(schema.get("items", {}), defs, f"{path}[]", unbounded)
    elif kind == "integer" and "maximum" not in schema:
        unbounded.append(path)
    elif kind == "object":
        if "properties" not in schema:
            unbounded.append(path)
        for name, field in schema.get("properties", {}).items():
            _bounded(field, defs, f"{path}.{name}", unbounded)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.workflow_type)
def test_every_value_a_client_sends_is_bounded(contract):
    """Strings, lists and numbers of every input, update argument and signal have a cap."""
    unbounded: list[str] = []
    for name, model in [("input", contract.input), *contract.updates.items(), *contract.signals.items()]:
        schema = model.model_json_schema()
        _bounded(schema, schema.get("$defs", {}), name, unbounded)
    assert unbounded == []


# --- the real worker -------------------------------------------------------------------------

async def failure_of(handle) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 20)
    return failed.value.cause


async def assert_no_task_failures(handle) -> None:
    events = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events


@pytest.mark.parametrize("args, says", [
    ([], "0 values for the input"),
    ([raw_json(COMPLAINT.input), raw_json(COMPLAINT.input)], "2 values for the input"),
    ([RawValue(Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k9"}, data=b"abc"))],
     "this process has no key ring"),
    ([raw_json(complaint(received_at=12345))], "received_at"),
])
async def test_an_input_that_cannot_be_read_fails_the_case_at_once(env, worker, engine, args, says):
    with env.auto_time_skipping_disabled():
        handle = await env.client.start_workflow("ComplaintClosure", args=args, task_queue=TEST_QUEUE,
                                                 id=f"complaint-B{uuid.uuid4().hex[:6]}")
        error = await failure_of(handle)
        assert error.type in ("ValidationError", "UndecryptablePayload") and error.non_retryable
        assert says in error.message
        with pytest.raises(WorkflowQueryFailedError, match=f"the case failed: {error.type}: .*{says}"):
            await handle.query("status")
        await assert_no_task_failures(handle)
    assert rows(engine, Case) == [] and rows(engine, CustomerContact) == []


@pytest.mark.parametrize("changes, says", [
    ({"received_at": "2000-01-01T00:00:00Z"}, "received_at: lies more than 366 days before"),
    ({"received_at": "2099-01-01T00:00:00+08:00"}, "received_at: must not be in the future"),
])
async def test_event_times_outside_the_policy_window_are_impossible_input(env, worker, engine, changes, says):
    handle = await env.client.start_workflow("ComplaintClosure", complaint(**changes), task_queue=TEST_QUEUE,
                                             id=COMPLAINT.workflow_id)
    error = await failure_of(handle)
    assert error.type == "InvalidInput" and says in error.message
    with pytest.raises(WorkflowQueryFailedError, match="the case failed: InvalidInput"):
        await handle.query("status")
    assert rows(engine, Case) == []


async def test_an_unknown_workflow_type_fails_at_once_naming_the_known_ones(env, worker):
    with env.auto_time_skipping_disabled():
        handle = await env.client.start_workflow("complaintClosure", COMPLAINT.input, task_queue=TEST_QUEUE,
                                                 id="complaint-typo")
        error = await failure_of(handle)
    assert error.type == "UnknownWorkflowType" and error.non_retryable and "ComplaintClosure" in error.message
    await assert_no_task_failures(handle)


async def test_refused_updates_say_not_retryable_and_change_nothing(env, worker, engine):
    handle = await env.client.start_workflow("ComplaintClosure", COMPLAINT.input, task_queue=TEST_QUEUE,
                                             id=COMPLAINT.workflow_id)
    await COMPLAINT.opened(env, handle)
    before = rows(engine, CaseEvent, COMPLAINT.workflow_id)
    for name, args, error_type in [("assign_handler", [{"handler": "h.li", "actor": 42}], "ValidationError"),
                                   ("assign_handler", [None], "ValidationError"),
                                   ("assign_handler", [], "ValidationError"),
                                   ("confirm", [], "ValidationError"),
                                   ("assign_handler", [{"handler": "h.li", "actor": "a"}] * 2, "ValidationError"),
                                   ("confirm", [{"satisfied": True}], "InvalidAction"),
                                   ("assignHandler", [{"handler": "h.li", "actor": "a"}], "UnknownUpdate")]:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(name, args=args)
        assert failed.value.cause.type == error_type and failed.value.cause.non_retryable, (name, args)
    assert rows(engine, CaseEvent, COMPLAINT.workflow_id) == before
    with pytest.raises(WorkflowQueryFailedError, match="has no query 'Status'; its queries: status"):
        await handle.query("Status")


async def test_a_malformed_signal_is_written_to_the_case_event_log_and_the_case_goes_on(env, worker, engine):
    termination = EXAMPLES["TerminationCleanup"]
    termination.seed(engine, termination.input)
    handle = await env.client.start_workflow(termination.workflow_type, termination.input, task_queue=TEST_QUEUE,
                                             id=termination.workflow_id)
    with env.auto_time_skipping_disabled():
        await handle.signal("payment_received", {"reference": "PAY-1", "amount_fen": 10 ** 25})
        await handle.signal("payment_received", {"reference": "PAY-2", "amount_fen": "3000"})
        await handle.signal("paymentReceived", {"reference": "PAY-3", "amount_fen": 3000})  # lost, before
        for _ in range(100):
            events = rows(engine, CaseEvent, termination.workflow_id)
            refusals = [e for e in events if e.step.endswith("signal-refused")]
            if len(refusals) == 3:
                break
            await asyncio.sleep(0.1)
    assert [(e.actor, "amount_fen" in e.reason, "ValidationError" in e.reason) for e in refusals[:2]] == [
        ("signal:payment_received", True, True)] * 2
    assert refusals[2].actor == "signal:paymentReceived" and "UnknownSignal" in refusals[2].reason
    assert "its signals: payment_received" in refusals[2].reason
    assert all(str(10 ** 25) not in e.reason and "3000" not in e.reason for e in refusals)
    await termination.opened(env, handle)
    await termination.drive(env, handle)  # the case went on to its end
    await assert_no_task_failures(handle)


@pytest.mark.postgres
def test_a_value_the_database_cannot_store_fails_the_step_for_good_naming_it(engine):
    """Defence in depth behind the contract's bounds: a retry could never succeed."""
    transition = Transition(
        workflow_id="fault-OVER", run_id="r1", case_type="fault", step="001-repaired", at=datetime.now(UTC),
        actor="t.zhao", reason="repaired", to_state="resolved",
        compensations=[CompensationRecord(key="waiver", kind="rental_waiver", amount_fen=10 ** 25, reason="waiver")])
    with pytest.raises(ApplicationError) as refused:
        CaseRecords(engine, Policy()).record_transition(transition)
    assert refused.value.type == RECORD_REFUSED and refused.value.non_retryable
    assert "fault-OVER step 001-repaired" in refused.value.message and str(10 ** 25) not in refused.value.message
    assert rows(engine, Case, "fault-OVER") == []  # nothing half-written


def _models_in(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for field in model.model_fields.values():
        for hint in [field.annotation, *_args(field.annotation)]:
            if isinstance(hint, type) and issubclass(hint, BaseModel):
                yield from _models_in(hint)


def _args(hint: Any) -> list[Any]:
    return [a for arg in typing.get_args(hint) for a in (arg, *_args(arg))]


def test_everything_a_client_sends_has_its_text_checked():
    sent = {m for c in CONTRACTS for top in (c.input, *c.updates.values(), *c.signals.values())
            for m in _models_in(top)}
    assert len(sent) > 25 and [m.__name__ for m in sent if not issubclass(m, Inbound)] == []
