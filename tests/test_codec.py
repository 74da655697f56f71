"""Payload encryption: what Temporal stores for a case holds no clear-text personal data, the
codec round-trips, keys rotate, and a payload under an unknown key fails naming its key id."""

from __future__ import annotations

import base64
import json
import logging
import os
import zlib
from datetime import date

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.converter import WithSerializationContext
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.tables import Case
from edge.codec import (
    COMPRESSION,
    ENCODING,
    KEY_FILE_VARIABLE,
    KEY_ID,
    KEYS_VARIABLE,
    MAX_OPENED_BYTES,
    NOT_ENCRYPTED,
    UNDECRYPTABLE,
    EncryptionCodec,
    KeyRing,
    KeyRingError,
    UndecryptablePayload,
    data_converter,
)
from edge.converter import contract_data_converter
from edge.settings import Settings, SettingsError
from models.complaint import ComplaintInput, ComplaintStatus, ConfirmReply
from models.errors import Undecodable
from starter import Complaints
from worker import WORKFLOW_RUNNER, WORKFLOWS, build_worker

from .conftest import TEST_QUEUE, binary, register_search_attributes, rows
from .test_complaint_closure import CLOSURE, complaint, investigate_and_reply

NAME, PHONE, ID_NUMBER = "张三", "13800138000", "110101199003071234"
KEYS = {kid: os.urandom(32) for kid in ("kid0", "kid1", "kid9")}


def ring(*kids: str) -> KeyRing:
    """A ring of this run's keys, newest first."""
    return KeyRing({kid: KEYS[kid] for kid in kids})


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def fraud_complaint(complaint_id: str = "C1") -> ComplaintInput:
    """A complaint whose text carries an ID number, as identity-fraud complaints do."""
    return complaint(complaint_id, description=f"有人用我的身份证 {ID_NUMBER} 办了号码", category="other",
                     event_date=date(2026, 11, 20))


async def encrypted_env(keys: KeyRing) -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(keys), test_server_existing_path=binary("temporal-test-server"))
    await register_search_attributes(env.client)
    return env


def without_codec(client: Client) -> Client:
    """What the server, its database and a UI without the codec server see."""
    return Client(client.service_client, namespace=client.namespace, data_converter=contract_data_converter)


def assert_no_personal_data(history: WorkflowHistory) -> None:
    """Payload data are raw bytes in the serialised events: clear-text JSON would show here."""
    raw = b"".join(event.SerializeToString() for event in history.events)
    for secret in (NAME, PHONE, ID_NUMBER):
        for form in (secret.encode(), json.dumps(secret).strip('"').encode()):
            assert form not in raw, f"{secret} in clear text"


async def test_a_case_history_holds_no_clear_text_personal_data_and_round_trips(engine):
    keys = ring("kid0")
    async with await encrypted_env(keys) as env, build_worker(env.client, engine, task_queue=TEST_QUEUE):
        complaints = Complaints(env.client, TEST_QUEUE)
        handle = await complaints.start(fraud_complaint())
        await investigate_and_reply(complaints)
        await complaints.confirm("C1", ConfirmReply(satisfied=True, comment=f"回电 {PHONE}"))
        await complaints.submit_closure("C1", CLOSURE)
        assert (await handle.result()).state == "closed"

        raw = await without_codec(env.client).get_workflow_handle(handle.id).fetch_history()
        assert_no_personal_data(raw)
        started = raw.events[0].workflow_execution_started_event_attributes
        [payload] = started.input.payloads
        assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID] == b"kid0"
        assert raw.events[0].user_metadata.summary.metadata["encoding"] == ENCODING  # summaries too

        decoded = await handle.fetch_history()
        [clear] = await EncryptionCodec(keys).decode([payload])
        value = contract_data_converter.payload_converter.from_payload(clear, ComplaintInput)
        assert value.customer.name == NAME and ID_NUMBER in value.description
        assert decoded.events[0].workflow_execution_started_event_attributes.input == started.input
        replayer = Replayer(workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=data_converter(keys))
        replay = await replayer.replay_workflow(decoded)
        assert replay.replay_failure is None


async def test_refusals_are_readable_without_the_codec_and_hold_no_personal_data(engine):
    """A refusal's message names the field, never the value, so it stays in clear for any client;
    the input it refuses is encrypted like every payload."""
    bad = fraud_complaint().model_dump(mode="json")
    bad["customer"]["phone"] = PHONE + "9"
    async with await encrypted_env(ring("kid0")) as env, build_worker(env.client, engine, task_queue=TEST_QUEUE):
        handle = await env.client.start_workflow("ComplaintClosure", bad, id="complaint-C1", task_queue=TEST_QUEUE,
                                                 result_type=ComplaintStatus)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert "customer.phone" in str(failure.value.cause) and PHONE not in str(failure.value.cause)
        raw = await without_codec(env.client).get_workflow_handle(handle.id).fetch_history()
        failed = raw.events[-1].workflow_execution_failed_event_attributes.failure
        assert "customer.phone" in failed.message and failed.application_failure_info.type == "ValidationError"
        assert_no_personal_data(raw)


async def test_other_failure_messages_go_through_the_codec():
    """A failure the contract did not write (here: a library's error in an activity) may quote
    input: its message and stack trace are encrypted."""
    codec = data_converter(ring("kid0"))
    failure = Failure()
    await codec.encode_failure(ValueError(f"bad row ({NAME}, {PHONE})"), failure)
    assert failure.message == "Encoded failure" and NAME.encode() not in failure.SerializeToString()
    await codec.encode_failure(ApplicationError("customer.phone: not a number", type="ValidationError"),
                               failure := Failure())
    assert failure.message == "customer.phone: not a number" and failure.stack_trace == ""


async def test_history_written_with_the_old_key_decodes_and_replays_after_rotation(engine):
    async with await encrypted_env(ring("kid0")) as env, build_worker(env.client, engine, task_queue=TEST_QUEUE):
        handle = await Complaints(env.client, TEST_QUEUE).start(complaint())
        await investigate_and_reply(Complaints(env.client, TEST_QUEUE))
        history = await handle.fetch_history()
        raw = await without_codec(env.client).get_workflow_handle(handle.id).fetch_history()

    rotated = data_converter(ring("kid1", "kid0"))
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=rotated)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
    payload = raw.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    [value] = await rotated.decode([payload], [ComplaintInput])
    assert value.customer.phone == PHONE
    [fresh] = await rotated.encode([value])
    assert fresh.metadata[KEY_ID] == b"kid1"  # the new key encrypts
    [refused] = await data_converter(ring("kid0")).decode([fresh], [ComplaintInput])
    assert isinstance(refused, Undecodable)  # the case decides: it fails, naming the key id
    assert refused.error.type == UNDECRYPTABLE and "'kid1'" in refused.error.message


async def test_unknown_key_id_fails_naming_it():
    [payload] = await EncryptionCodec(ring("kid9")).encode([Payload(data=b"{}")])
    with pytest.raises(UndecryptablePayload) as error:
        await EncryptionCodec(ring("kid1", "kid0"), strict=False).decode([payload])
    assert "'kid9'" in str(error.value) and "kid1, kid0" in str(error.value)
    # The worker's codec hands a refusal on to the converter, which names it where the payload is used.
    [refused] = await EncryptionCodec(ring("kid1", "kid0")).decode([payload])
    with pytest.raises(ApplicationError) as error:
        contract_data_converter.payload_converter.from_payloads([refused], [ConfirmReply])
    assert error.value.type == UNDECRYPTABLE and error.value.non_retryable and "'kid9'" in error.value.message


@pytest.mark.parametrize("data", [b"", b"abc", bytes(27)])
async def test_truncated_ciphertext_is_refused_not_crashed_on(data):
    truncated = Payload(metadata={"encoding": ENCODING, KEY_ID: b"kid1"}, data=data)
    with pytest.raises(UndecryptablePayload, match=r"truncated|fails authentication"):
        await EncryptionCodec(ring("kid1"), strict=False).decode([truncated])


async def test_altered_or_relabelled_payloads_fail_authentication():
    codec = EncryptionCodec(ring("kid1", "kid0"), strict=False)
    [payload] = await codec.encode([Payload(data=PHONE.encode())])
    tampered = Payload(metadata=payload.metadata, data=payload.data[:-1] + bytes([payload.data[-1] ^ 1]))
    relabelled = Payload(metadata={**payload.metadata, KEY_ID: b"kid0"}, data=payload.data)
    for bad in (tampered, relabelled):
        with pytest.raises(UndecryptablePayload, match="fails authentication"):
            await codec.decode([bad])
    assert (await codec.decode([payload]))[0].data == PHONE.encode()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"before encryption"')
    assert await codec.decode([plain]) == [plain]  # the codec server shows clear text as it is
    [refused] = await EncryptionCodec(codec.keys).decode([plain])  # the worker does not take it
    with pytest.raises(ApplicationError) as error:
        contract_data_converter.payload_converter.from_payloads([refused], [ConfirmReply])
    assert error.value.type == NOT_ENCRYPTED and "--codec-endpoint" in error.value.message


STATUS = Payload(metadata={"encoding": b"json/plain"},
                 data=json.dumps({"clocks": [{"name": "reply", "source": "申诉办法 Art. 10(四)", "budget": "P15D"}] * 8,
                                  "state": "resolved"}, ensure_ascii=False).encode())
"""A status-like payload: large and repetitive, as the ones compression is for."""


def seal(kid: str, clear: bytes, associated: bytes, **metadata: bytes) -> Payload:
    """A payload made by hand as the README describes the format, for a codec in another language."""
    nonce = os.urandom(12)
    return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode(), **metadata},
                   data=nonce + AESGCM(KEYS[kid]).encrypt(nonce, clear, associated))


async def test_large_payloads_are_compressed_before_encryption_and_small_ones_not():
    codec = EncryptionCodec(ring("kid1"), strict=False)
    [large, small] = await codec.encode([STATUS, Payload(data=PHONE.encode())])
    assert large.metadata[COMPRESSION] == b"zlib" and COMPRESSION not in small.metadata
    assert len(large.data) < len(STATUS.SerializeToString()) / 2
    assert await codec.decode([large, small]) == [STATUS, Payload(data=PHONE.encode())]
    # The format as documented: zlib of the Payload message, the key id, NUL and "zlib" authenticated.
    by_hand = seal("kid1", zlib.compress(STATUS.SerializeToString()), b"kid1\0zlib", **{COMPRESSION: b"zlib"})
    assert await codec.decode([by_hand]) == [STATUS]
    # Off (a rolling upgrade): written uncompressed, and compressed ones are still read.
    [plain] = await EncryptionCodec(ring("kid1"), compress=False).encode([STATUS])
    assert COMPRESSION not in plain.metadata and await codec.decode([plain, large]) == [STATUS, STATUS]


async def test_the_compression_label_is_authenticated_and_what_it_opens_to_is_bounded():
    codec = EncryptionCodec(ring("kid1"), strict=False)
    [large] = await codec.encode([STATUS])
    [small] = await codec.encode([Payload(data=PHONE.encode())])
    unlabelled = Payload(metadata={k: v for k, v in large.metadata.items() if k != COMPRESSION}, data=large.data)
    labelled = Payload(metadata={**small.metadata, COMPRESSION: b"zlib"}, data=small.data)
    for bad in (unlabelled, labelled):
        with pytest.raises(UndecryptablePayload, match="fails authentication"):
            await codec.decode([bad])
    with pytest.raises(UndecryptablePayload, match="'br'; only zlib"):
        await codec.decode([Payload(metadata={**large.metadata, COMPRESSION: b"br"}, data=large.data)])
    bomb = seal("kid1", zlib.compress(bytes(MAX_OPENED_BYTES + 1)), b"kid1\0zlib", **{COMPRESSION: b"zlib"})
    garbage = seal("kid1", b"not zlib at all", b"kid1\0zlib", **{COMPRESSION: b"zlib"})
    with pytest.raises(UndecryptablePayload, match="more than"):
        await codec.decode([bomb])
    with pytest.raises(UndecryptablePayload, match="does not decompress"):
        await codec.decode([garbage])
    [refused] = await EncryptionCodec(codec.keys).decode([bomb])  # the worker refuses it for good
    with pytest.raises(ApplicationError) as error:
        contract_data_converter.payload_converter.from_payloads([refused], [ConfirmReply])
    assert error.value.type == UNDECRYPTABLE and error.value.non_retryable


def test_the_worker_s_converter_reads_no_serialization_context():
    """worker._ContextFreeInstance has the SDK encode and decode every payload of a workflow task
    with the converter's codec as it is, without a serialization context: the same codec only while it
    reads none, and nothing is stored outside the history. (The payload converter, which does take a
    context, runs inside the sandbox and still gets the workflow's.)"""
    for converter in (data_converter(ring("kid1")), data_converter()):
        assert not isinstance(converter.payload_codec, WithSerializationContext)
        assert converter.external_storage is None


def test_key_ring_from_the_settings_or_a_file(tmp_path):
    ring_ = Settings.from_environ({KEYS_VARIABLE: f"kid1:{b64(KEYS['kid1'])}, kid0:{b64(KEYS['kid0'])}"}).payload_keys
    assert list(ring_.keys) == ["kid1", "kid0"] and ring_.current == "kid1"
    assert repr(ring_) == "KeyRing(kid1, kid0)"  # never the keys, e.g. in a traceback
    file = tmp_path / "codec.keys"
    file.write_text(f"# newest first\nkid1:{b64(KEYS['kid1'])}\n\nkid0:{b64(KEYS['kid0'])}  # retiring\n")
    file.chmod(0o600)
    assert Settings.from_environ({KEY_FILE_VARIABLE: str(file)}).payload_keys == ring_
    assert Settings.from_environ({}).payload_keys is None
    file.chmod(0o644)
    with pytest.raises(SettingsError, match=r"mode 644.*chmod 600"):
        Settings.from_environ({KEY_FILE_VARIABLE: str(file)})
    with pytest.raises(KeyRingError, match=r"mode 644.*chmod 600"):
        KeyRing.from_file(file)


def test_production_mode_refuses_to_run_without_a_key_ring():
    with pytest.raises(SettingsError, match="TELECOM_MODE=production needs a key ring"):
        Settings.from_environ({"TELECOM_MODE": "production"})


@pytest.mark.parametrize("value, message", [
    ("kid1", "entry 1 is not 'kid:<base64 secret>'"),
    ("kid1:not-base64!", "'kid1' is not valid base64"),
    (f"kid1:{b64(b'short')}", "'kid1' has 5 bytes"),
    (f"kid1:{b64(KEYS['kid1'])},kid1:{b64(KEYS['kid0'])}", "'kid1' appears twice"),
    (f"bad id:{b64(KEYS['kid1'])}", "key id 'bad id'"),
    (",", "at least one key"),
])
def test_bad_key_rings_are_refused_naming_the_variable_never_the_key(value, message):
    with pytest.raises(KeyRingError) as error:
        KeyRing.configured(value, None)
    assert KEYS_VARIABLE in str(error.value) and message in str(error.value)
    assert b64(KEYS["kid1"]) not in str(error.value)
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({KEYS_VARIABLE: value})
    assert KEYS_VARIABLE in str(error.value) and message in str(error.value)
    assert b64(KEYS["kid1"]) not in str(error.value)


def test_both_variables_set_is_refused(tmp_path):
    file = tmp_path / "k"
    file.write_text(f"kid0:{b64(KEYS['kid0'])}\n")
    file.chmod(0o600)
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_environ({KEYS_VARIABLE: f"kid1:{b64(KEYS['kid1'])}", KEY_FILE_VARIABLE: str(file)})


def test_without_keys_the_converter_is_plain_pydantic_and_warns_loudly(caplog):
    from edge import codec as payloads
    payloads._warn_unencrypted.cache_clear()
    with caplog.at_level(logging.WARNING, logger="telecom.payloads"):
        assert data_converter(None) is contract_data_converter
    assert "CLEAR TEXT" in caplog.text and KEYS_VARIABLE in caplog.text
    encrypting = data_converter(KeyRing.configured(f"kid1:{b64(KEYS['kid1'])}", None))
    assert isinstance(encrypting.payload_codec, EncryptionCodec) and encrypting.payload_codec.keys.current == "kid1"


async def test_clear_text_is_refused_when_a_key_ring_is_configured(engine):
    """A client that forgot the codec (a plain `temporal workflow start --input …`) cannot put
    personal data into Temporal by mistake and have it used: the case fails, the update is refused."""
    async with await encrypted_env(ring("kid0")) as env, build_worker(env.client, engine, task_queue=TEST_QUEUE):
        plain = without_codec(env.client)
        handle = await plain.start_workflow("ComplaintClosure", fraud_complaint().model_dump(mode="json"),
                                            id="complaint-C1", task_queue=TEST_QUEUE)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert failure.value.cause.type == NOT_ENCRYPTED and failure.value.cause.non_retryable
        assert rows(engine, Case) == []

        complaints = Complaints(env.client, TEST_QUEUE)
        await complaints.start(complaint("C2"))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await plain.get_workflow_handle("complaint-C2").execute_update(
                "assign_handler", {"handler": "h.li", "actor": "desk.wang"})
        assert refused.value.cause.type == NOT_ENCRYPTED and refused.value.cause.non_retryable
        assert (await complaints.status("C2")).assignee is None
