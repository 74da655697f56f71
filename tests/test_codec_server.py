"""The codec server decodes only for the bearer token or a signed-in browser on the allowed
origin; every refusal has its own status and decodes nothing."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from models.payloads import KEY_ID, EncryptionCodec, KeyRing
from starter.codec_server import SESSION_COOKIE, CodecServer, from_env

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


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    """The server as deployed after a rotation: kid1 new and first, kid0 still decrypting."""
    server = CodecServer(EncryptionCodec(ring("kid1", "kid0")), TOKEN, UI)
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


@pytest.mark.parametrize("text", ["", "not json", "[]", "{}", '{"payloads": 3}', '{"payloads": [], "x": 1}',
                                  '{"payloads": [{"data": 5}]}', b"\xff\xfe"])
async def test_a_malformed_body_is_400(client, text):
    response = await client.post("/decode", data=text, headers=BEARER)
    assert response.status == 400 and json.loads(await response.text())["error"].startswith("malformed body")


async def test_an_unknown_key_id_refuses_the_whole_batch(client):
    request = await sealed("kid1", "kid9")
    response = await client.post("/decode", data=body(request), headers=BEARER)
    text = await response.text()
    assert response.status == 422 and "'kid9'" in json.loads(text)["error"]
    assert "payloads" not in text and "张三" not in text and "13800138000" not in text


async def test_signing_in_sets_a_session_cookie_that_the_ui_sends(client):
    refused = await client.post("/login", data={"token": "wrong"}, allow_redirects=False)
    assert refused.status == 401 and SESSION_COOKIE not in refused.cookies
    signed_in = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)
    assert signed_in.status == 303 and signed_in.headers["Location"] == UI
    cookie = signed_in.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and TOKEN not in cookie.value
    # The test client keeps the cookie, as the browser does for the UI's credentialed fetch.
    response = await client.post("/decode", data=body(await sealed("kid0")), headers={"Origin": UI})
    assert response.status == 200 and [p.data for p in payloads_of(await response.text())] == [SECRET]
    assert (await client.get("/login")).status == 200


async def test_an_empty_batch_answers_an_empty_list(client):
    response = await client.post("/decode", data='{"payloads": []}', headers=BEARER)
    assert response.status == 200 and json.loads(await response.text()) == {"payloads": []}


async def test_only_encode_and_decode_exist(client):
    assert (await client.post("/keys", data="{}", headers=BEARER)).status == 404
    assert (await client.get("/decode", headers=BEARER)).status == 405


def test_the_server_will_not_start_unsafely(monkeypatch):
    monkeypatch.delenv("TELECOM_CODEC_KEYS", raising=False)
    monkeypatch.delenv("TELECOM_CODEC_KEY_FILE", raising=False)
    monkeypatch.setenv("TELECOM_CODEC_TOKEN", TOKEN)
    with pytest.raises(ValueError, match="no key ring"):
        from_env()
    monkeypatch.setenv("TELECOM_CODEC_KEYS", "kid1:" + base64.b64encode(KEYS["kid1"]).decode())
    monkeypatch.setenv("TELECOM_CODEC_TOKEN", "short")
    with pytest.raises(ValueError, match="at least 16 characters"):
        from_env()
    monkeypatch.setenv("TELECOM_CODEC_TOKEN", TOKEN)
    monkeypatch.setenv("TELECOM_CODEC_ADDRESS", "0.0.0.0:9000")
    server, host, port = from_env()
    assert (host, port, server.allowed_origin) == ("0.0.0.0", 9000, UI)
