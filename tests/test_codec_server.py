"""The codec server decodes only for the bearer token or a signed-in browser on the allowed
origin; every refusal has its own status, decodes nothing and quotes nothing of the body. The real
`temporal` CLI starts, signals, updates and queries through it."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from edge.codec import ENCODING, KEY_ID, EncryptionCodec, KeyRing, data_converter
from edge.converter import contract_data_converter
from edge.settings import Settings, SettingsError
from starter.codec_server import MAX_BODY, MAX_DEPTH, SESSION_COOKIE, CodecServer, from_settings
from worker import build_worker

from .conftest import binary, register_search_attributes
from .test_cli_contract import CLEAN_ENV, INPUT

TOKEN = "ops-token-0123456789"
UI = "http://localhost:8233"
KEYS = {kid: os.urandom(32) for kid in ("kid0", "kid1", "kid9")}
SECRET = '{"name": "张三", "phone": "13800138000"}'.encode()


def ring(*kids: str) -> KeyRing:
    return KeyRing({kid: KEYS[kid] for kid in kids})


def body(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def payloads_of(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


async def sealed(*kids: str) -> list[Payload]:
    """SECRET encrypted once under each key id."""
    return [(await EncryptionCodec(ring(kid)).encode([Payload(data=SECRET)]))[0] for kid in kids]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock) -> CodecServer:
    """The server as deployed after a rotation: kid1 new and first, kid0 still decrypting."""
    return CodecServer(EncryptionCodec(ring("kid1", "kid0")), TOKEN, UI, clock=clock)


@pytest.fixture
async def client(server) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server.app())) as client:
        yield client


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_bearer_token_decodes_old_and_new_key_payloads(client):
    request = await sealed("kid0", "kid1")
    response = await client.post("/decode", data=body(request), headers=BEARER)
    assert response.status == 200
    assert [p.data for p in payloads_of(await response.text())] == [SECRET, SECRET]
    assert "Access-Control-Allow-Origin" not in response.headers  # no Origin, no CORS


async def test_encode_uses_the_newest_key_and_any_path_depth_works(client):
    response = await client.post("/default/encode", data=body([Payload(data=SECRET)]), headers=BEARER)
    [encoded] = payloads_of(await response.text())
    assert response.status == 200 and encoded.metadata[KEY_ID] == b"kid1" and SECRET not in encoded.data
    response = await client.post("/default/decode", data=body([encoded]), headers=BEARER)
    assert [p.data for p in payloads_of(await response.text())] == [SECRET]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Origin": UI},
                                     {"Origin": UI, "Cookie": f"{SESSION_COOKIE}=forged"}])
async def test_without_a_valid_token_nothing_is_decoded(client, headers):
    response = await client.post("/decode", data=body(await sealed("kid1")), headers=headers)
    text = await response.text()
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(text) == {"error": "a valid bearer token or codec session is required"}


async def test_another_origin_is_refused_even_with_the_token(client):
    response = await client.post("/decode", data=body(await sealed("kid1")),
                                 headers={**BEARER, "Origin": "http://evil.example"})
    assert response.status == 403 and "payloads" not in await response.text()
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = await client.options("/decode", headers={"Origin": "http://evil.example",
                                                         "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403


async def test_the_ui_origin_gets_cors_for_credentials(client):
    preflight = await client.options("/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "content-type,x-namespace"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == UI
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-namespace" in preflight.headers["Access-Control-Allow-Headers"]
    response = await client.post("/decode", data=body(await sealed("kid1")), headers={**BEARER, "Origin": UI})
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == UI


@pytest.mark.parametrize("text", ["", "not json", "[]", "null", '{"payloads": 3}', '{"payloads": "abc"}',
                                  '{"payloads": [], "x": 1}', '{"payloads": [null]}', '{"payloads": [{"data": 5}]}',
                                  b"\xff\xfe", '{"payloads": [{"data": "\\ud800"}]}'])
async def test_a_malformed_body_is_400(client, text):
    response = await client.post("/decode", data=text, headers=BEARER)
    assert response.status == 400 and json.loads(await response.text())["error"].startswith("malformed body")


@pytest.mark.parametrize("text", ["{}", '{"payloads": null}'])
@pytest.mark.parametrize("action", ["encode", "decode"])
async def test_no_payloads_is_an_empty_batch(client, action, text):
    """What the `temporal` CLI sends to …/encode for a query or a signal without arguments."""
    response = await client.post(f"/{action}", data=text, headers=BEARER)
    assert response.status == 200 and json.loads(await response.text()) == {"payloads": []}


def nested(depth: int) -> str:
    return '{"payloads": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000,
                                  "[" * 100_000, nested(MAX_DEPTH)])
async def test_a_body_nested_too_deep_is_400(client, text):
    response = await client.post("/decode", data=text, headers=BEARER)
    assert response.status == 400
    assert json.loads(await response.text()) == {"error": f"malformed body: nested deeper than {MAX_DEPTH} levels"}


async def test_brackets_in_strings_are_not_nesting(client):
    key = '\\"' + "[{" * 1000 + '\\\\'  # escaped quote and backslash: still inside the string
    text = '{"payloads": [{"metadata": {"' + key + '": "YQ=="}, "data": "YQ=="}]}'
    response = await client.post("/encode", data=text, headers=BEARER)
    assert response.status == 200
    response = await client.post("/decode", data=await response.text(), headers=BEARER)
    [payload] = payloads_of(await response.text())
    assert list(payload.metadata) == ['"' + "[{" * 1000 + "\\"] and payload.data == b"a"
    shallow = await client.post("/decode", data=nested(MAX_DEPTH - 1), headers=BEARER)
    assert shallow.status == 400 and "nested" not in await shallow.text()  # deep enough: refused by protobuf


PERSONAL = ("张三", "13800138000")


@pytest.mark.parametrize("text", ['{"payloads": [{"x13800138000": 1}]}', '{"payloads": ["张三"]}',
                                  '{"payloads": [{"externalPayloads": [{"sizeBytes": "13800138000x"}]}]}',
                                  '{"payloads": [{"metadata": {"张三": 13800138000}}]}',
                                  '{"13800138000": "张三"', "张三 13800138000".encode("gb18030")])
async def test_a_refusal_quotes_nothing_of_the_body(client, caplog, text):
    caplog.set_level(logging.DEBUG)
    response = await client.post("/decode", data=text, headers=BEARER)
    answer = await response.text()
    assert response.status == 400 and json.loads(answer)["error"].startswith("malformed body")
    assert not any(p in answer or p in caplog.text for p in PERSONAL)


async def test_a_body_over_the_limit_is_413(client):
    response = await client.post("/decode", data=b" " * (MAX_BODY + 1), headers=BEARER)
    assert response.status == 413 and json.loads(await response.text()) == {
        "error": f"the body is larger than {MAX_BODY} bytes"}


async def test_a_truncated_ciphertext_is_422(client):
    for data in (b"\x01\x02\x03", os.urandom(20)):  # shorter than a nonce; a nonce and part of a tag
        truncated = Payload(metadata={"encoding": ENCODING, KEY_ID: b"kid1"}, data=data)
        response = await client.post("/decode", data=body([truncated]), headers=BEARER)
        assert response.status == 422 and "'kid1'" in json.loads(await response.text())["error"]


async def test_an_unforeseen_failure_is_400_or_422_without_details(client, monkeypatch, caplog):
    def fails(*args, **kwargs):
        raise RuntimeError("张三 13800138000")

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(json_format, "ParseDict", fails)
    response = await client.post("/decode", data='{"payloads": []}', headers=BEARER)
    assert response.status == 400 and json.loads(await response.text()) == {"error": "malformed body"}
    monkeypatch.undo()
    monkeypatch.setattr(EncryptionCodec, "open", fails)
    response = await client.post("/decode", data=body(await sealed("kid1")), headers=BEARER)
    assert response.status == 422 and "does not open" in json.loads(await response.text())["error"]
    assert "RuntimeError" in caplog.text and not any(p in caplog.text for p in PERSONAL)


async def test_an_unknown_key_id_refuses_the_whole_batch(client):
    request = await sealed("kid1", "kid9")
    response = await client.post("/decode", data=body(request), headers=BEARER)
    text = await response.text()
    assert response.status == 422 and "'kid9'" in json.loads(text)["error"]
    assert "payloads" not in text and "张三" not in text and "13800138000" not in text


async def sign_in(client: TestClient) -> str:
    """A new browser signing in: the session id its cookie holds."""
    client.session.cookie_jar.clear()
    response = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)
    assert response.status == 303
    return response.cookies[SESSION_COOKIE].value


async def decode_as_browser(client: TestClient, session: str) -> int:
    client.session.cookie_jar.clear()
    response = await client.post("/decode", data=body(await sealed("kid0")),
                                 headers={"Origin": UI, "Cookie": f"{SESSION_COOKIE}={session}"})
    return response.status


async def test_signing_in_sets_a_session_cookie_that_the_ui_sends(client):
    refused = await client.post("/login", data={"token": "wrong"}, allow_redirects=False)
    assert refused.status == 401 and SESSION_COOKIE not in refused.cookies
    signed_in = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)
    assert signed_in.status == 303 and signed_in.headers["Location"] == UI
    cookie = signed_in.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["max-age"] == str(8 * 3600)
    # The test client keeps the cookie, as the browser does for the UI's credentialed fetch.
    response = await client.post("/decode", data=body(await sealed("kid0")), headers={"Origin": UI})
    assert response.status == 200 and [p.data for p in payloads_of(await response.text())] == [SECRET]
    assert (await client.get("/login")).status == 200


async def test_each_sign_in_is_a_new_random_session(client, server):
    first, second = await sign_in(client), await sign_in(client)
    assert first != second and len(first) >= 43 and TOKEN not in first  # 32 random bytes, nothing of the token
    assert set(server.sessions) == {first, second}
    assert await decode_as_browser(client, first) == await decode_as_browser(client, second) == 200
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: second})
    again = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)  # the same browser
    assert set(server.sessions) == {first, again.cookies[SESSION_COOKIE].value}


async def test_a_session_ends_after_its_lifetime(client, server, clock):
    session = await sign_in(client)
    clock.now += 8 * 3600 - 1
    assert await decode_as_browser(client, session) == 200
    clock.now += 1
    assert await decode_as_browser(client, session) == 401
    assert session not in server.sessions


async def test_signing_out_ends_the_session(client, server):
    session = await sign_in(client)
    signed_out = await client.post("/logout", headers={"Cookie": f"{SESSION_COOKIE}={session}"})
    assert signed_out.status == 200 and "Signed out." in await signed_out.text()
    assert signed_out.cookies[SESSION_COOKIE].value == "" and signed_out.cookies[SESSION_COOKIE]["max-age"] == "0"
    assert server.sessions == {}
    assert await decode_as_browser(client, session) == 401  # a copy of the cookie is worth nothing now
    assert (await client.post("/logout")).status == 200


async def test_live_sessions_are_capped_oldest_first(client, server, clock, monkeypatch):
    monkeypatch.setattr("starter.codec_server.MAX_SESSIONS", 3)
    sessions = []
    for _ in range(5):
        sessions.append(await sign_in(client))
        clock.now += 1
    assert list(server.sessions) == sessions[2:]
    assert [await decode_as_browser(client, s) for s in sessions] == [401, 401, 200, 200, 200]
    clock.now += 8 * 3600  # expired ones make room first
    await sign_in(client)
    assert len(server.sessions) == 1


async def test_an_empty_batch_answers_an_empty_list(client):
    response = await client.post("/decode", data='{"payloads": []}', headers=BEARER)
    assert response.status == 200 and json.loads(await response.text()) == {"payloads": []}


async def test_only_encode_and_decode_exist(client):
    assert (await client.post("/keys", data="{}", headers=BEARER)).status == 404
    assert (await client.get("/decode", headers=BEARER)).status == 405


def test_the_server_will_not_start_unsafely():
    environ = {"TELECOM_CODEC_TOKEN": TOKEN}
    with pytest.raises(ValueError, match="no key ring"):
        from_settings(Settings.from_environ(environ))
    environ["TELECOM_CODEC_KEYS"] = "kid1:" + base64.b64encode(KEYS["kid1"]).decode()
    with pytest.raises(ValueError, match="TELECOM_CODEC_TOKEN is required"):
        from_settings(Settings.from_environ({**environ, "TELECOM_CODEC_TOKEN": " "}))
    with pytest.raises(SettingsError, match="TELECOM_CODEC_TOKEN: must be at least 16 characters") as refused:
        Settings.from_environ({**environ, "TELECOM_CODEC_TOKEN": "short"})
    assert "short" not in str(refused.value)
    environ["TELECOM_CODEC_ADDRESS"] = "0.0.0.0:9000"
    server, host, port = from_settings(Settings.from_environ(environ))
    assert (host, port, server.allowed_origin, server.session_seconds) == ("0.0.0.0", 9000, UI, 8 * 3600)
    assert not server.codec.strict  # reads clear text; a payload that does not open is a 422
    for hours in ["abc", "8h", "0", "-1", "nan", "721", "inf"]:
        problem = "a number of hours" if hours[0] in "a8" else "more than 0 and at most 720"
        with pytest.raises(SettingsError, match=f"TELECOM_CODEC_SESSION_HOURS: must be {problem}"):
            Settings.from_environ({**environ, "TELECOM_CODEC_SESSION_HOURS": hours})
    half_hour = Settings.from_environ({**environ, "TELECOM_CODEC_SESSION_HOURS": " 0.5 "})
    assert from_settings(half_hour)[0].session_seconds == 1800


# --- the real `temporal` CLI ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # a dev server and the `temporal` CLI as processes
async def test_the_temporal_cli_starts_signals_updates_and_queries_through_the_codec(engine):
    """The CLI encodes every argument list through …/encode, sending `{}` when there is none (the
    query, the signal without input), and decodes results through …/decode; the worker, in
    encrypted mode, opens what the CLI sent."""
    keys, queue, workflow_id = ring("kid1"), "codec-cli", "complaint-CODEC1"
    server = CodecServer(EncryptionCodec(keys, strict=False), TOKEN, UI)
    calls: list[tuple[str, object, int]] = []  # path, request body, status

    @web.middleware
    async def record(request: web.Request, handler) -> web.StreamResponse:
        response = await handler(request)
        calls.append((request.path, json.loads(await request.read()), response.status))
        return response

    app = server.app()
    app.middlewares.append(record)
    runner, port = web.AppRunner(app), free_port()
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with await WorkflowEnvironment.start_local(
                dev_server_existing_path=binary("temporal"), data_converter=data_converter(keys), ui=False) as env:
            await register_search_attributes(env.client)

            async def temporal(*args: str) -> dict | None:
                """Run the CLI (asynchronously: the codec server and the worker share this loop)."""
                calls.clear()
                cli = await asyncio.create_subprocess_exec(
                    binary("temporal"), "workflow", *args, "--workflow-id", workflow_id,
                    "--address", env.client.service_client.config.target_host,
                    "--codec-endpoint", f"http://127.0.0.1:{port}", "--codec-auth", f"Bearer {TOKEN}", "-o", "json",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=CLEAN_ENV)
                out, err = await asyncio.wait_for(cli.communicate(), timeout=30)
                assert cli.returncode == 0, (args[0], err.decode())
                assert {status for _, _, status in calls} == {200}, calls
                return json.loads(out) if out.strip() else None

            def one_json_payload(request: object) -> bool:
                [payload] = request["payloads"]  # type: ignore[index]
                return base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"

            async with build_worker(env.client, engine, task_queue=queue):
                await temporal("start", "--type", "ComplaintClosure", "--task-queue", queue,
                               "--input", json.dumps({**INPUT, "complaint_id": "CODEC1"}, ensure_ascii=False))
                [(path, request, _)] = calls
                assert path == "/encode" and one_json_payload(request)

                # ComplaintClosure has no signals: the server takes the signal, the workflow leaves it buffered.
                await temporal("signal", "--name", "nudge")
                assert calls == [("/encode", {}, 200)]
                await temporal("signal", "--name", "nudge", "--input", '"again"')
                assert [path for path, _, _ in calls] == ["/encode"] and one_json_payload(calls[0][1])

                done = await temporal("update", "execute", "--name", "assign_handler",
                                      "--input", json.dumps({"handler": "h.li", "actor": "desk.wang"}))
                assert done["result"]["state"] == "inProgress"  # type: ignore[index]
                assert [path for path, _, _ in calls] == ["/encode", "/decode"]

                status = await temporal("query", "--name", "status")
                assert status["queryResult"][0]["assignee"] == "h.li"  # type: ignore[index]
                assert calls[0] == ("/encode", {}, 200) and [path for path, _, _ in calls] == ["/encode", "/decode"]

            # What Temporal holds is what the codec server encrypted.
            plain = Client(env.client.service_client, namespace=env.client.namespace,
                           data_converter=contract_data_converter)
            history = await plain.get_workflow_handle(workflow_id).fetch_history()
            [stored] = history.events[0].workflow_execution_started_event_attributes.input.payloads
            assert stored.metadata["encoding"] == ENCODING and stored.metadata[KEY_ID] == b"kid1"
    finally:
        await runner.cleanup()
