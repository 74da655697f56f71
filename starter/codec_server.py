"""Codec server: decrypts case payloads for the Temporal Web UI and `temporal --codec-endpoint`,
for those allowed to see personal data (guide 7.4, PIPL). Temporal's codec protocol: POST
`…/encode` and `…/decode` (only the last path segment counts) with `{"payloads": [...]}` in
protobuf JSON, answered the same way.

Who may decode (the bearer token is TELECOM_CODEC_TOKEN):
- programs, with `Authorization: Bearer <token>`, e.g.
  `temporal workflow show -w complaint-C1 --codec-endpoint http://localhost:8081 \
      --codec-auth "Bearer $TELECOM_CODEC_TOKEN"`;
- the Web UI, from its one allowed origin: the operator signs in once at `/login` with the token
  (an HttpOnly, SameSite=Strict session cookie), and the UI's Codec Server settings have the
  endpoint and "Include cross-origin credentials" on, so the UI sends that cookie. (The UI's "Pass
  the user access token" needs an HTTPS endpoint and the UI's own OIDC login; the dev server has
  neither, and its only codec flag, --ui-codec-endpoint, cannot turn credentials on.) Use the same
  host name for both, e.g. localhost: a cookie travels only between same-site addresses.

Refused, with nothing decoded: another Origin 403, no or wrong credentials 401, a body that is not
`{"payloads": [...]}` 400, a payload that does not open (unknown key id, altered data) 422.

Configuration (environment):
  TELECOM_CODEC_TOKEN           required, at least 16 characters
  TELECOM_CODEC_ADDRESS         where to listen (default 127.0.0.1:8081)
  TELECOM_CODEC_ALLOWED_ORIGIN  the Web UI's origin (default http://localhost:8233)
  TELECOM_CODEC_KEYS or TELECOM_CODEC_KEY_FILE   the key ring, see models/payloads.py
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from models.payloads import EncryptionCodec, KeyRing, UndecryptablePayload

DEFAULT_ADDRESS = "127.0.0.1:8081"
DEFAULT_ORIGIN = "http://localhost:8233"
MIN_TOKEN_LENGTH = 16
MAX_BODY = 8 * 1024 * 1024
"""Room for a batch of payloads at Temporal's default 2 MiB payload limit."""
SESSION_COOKIE = "telecom_codec_session"

log = logging.getLogger("telecom.codec")

LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>Telecom codec server</title>
<h1>Telecom codec server</h1><p>{message}</p>
<form method="post" action="/login"><label>Codec token <input type="password" name="token" autofocus></label>
<button type="submit">Sign in</button></form>"""


class CodecServer:
    def __init__(self, codec: EncryptionCodec, token: str, allowed_origin: str) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"TELECOM_CODEC_TOKEN is required, at least {MIN_TOKEN_LENGTH} characters")
        self.codec = codec
        self.token = token
        self.allowed_origin = allowed_origin.rstrip("/")
        # The cookie proves the token was shown without being the token itself.
        self.session = hmac.new(token.encode(), SESSION_COOKIE.encode(), hashlib.sha256).hexdigest()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes([web.get("/login", self.login_page), web.post("/login", self.login),
                        web.route("*", "/{path:.*}", self.codec_request)])
        return app

    async def login_page(self, request: web.Request) -> web.Response:
        return _page("Sign in to let the Temporal Web UI decode case data in this browser.")

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not hmac.compare_digest(str(form.get("token", "")).encode(), self.token.encode()):
            log.warning("codec sign-in refused from %s", request.remote)
            return _page("Wrong token.", status=401)
        response = web.Response(status=303, headers={hdrs.LOCATION: self.allowed_origin})
        response.set_cookie(SESSION_COOKIE, self.session, httponly=True, samesite="Strict",
                            secure=request.secure or None)
        log.info("codec sign-in from %s", request.remote)
        return response

    async def codec_request(self, request: web.Request) -> web.StreamResponse:
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            raise web.HTTPNotFound(text="codec endpoints are …/encode and …/decode")
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin != self.allowed_origin:
            log.warning("codec %s refused: origin %s is not allowed", action, origin)
            return _error(403, f"origin {origin} is not allowed")
        cors = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin, hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",
                hdrs.VARY: "Origin"} if origin else {}
        if request.method == hdrs.METH_OPTIONS:
            return web.Response(status=204, headers={
                **cors, hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST", hdrs.ACCESS_CONTROL_MAX_AGE: "600",
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: "content-type, x-namespace, authorization"})
        if request.method != hdrs.METH_POST:
            return _error(405, "use POST", cors)
        if not self._authorised(request):
            log.warning("codec %s refused: no valid token from %s", action, request.remote)
            return _error(401, "a valid bearer token or codec session is required",
                          {**cors, hdrs.WWW_AUTHENTICATE: 'Bearer realm="telecom-codec"'})
        try:
            payloads = _parse(await request.read())
        except ValueError as error:
            return _error(400, f"malformed body: {error}", cors)
        convert: Callable[[Sequence[Payload]], Awaitable[list[Payload]]] = (
            self.codec.decode if action == "decode" else self.codec.encode)
        try:
            converted = await convert(payloads)
        except UndecryptablePayload as error:
            log.warning("codec %s refused: %s", action, error)
            return _error(422, str(error), cors)
        # Built by hand so that an empty batch still answers {"payloads": []}.
        return web.json_response({"payloads": [json_format.MessageToDict(p) for p in converted]}, headers=cors)

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, credential = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode()):
            return True
        return hmac.compare_digest(request.cookies.get(SESSION_COOKIE, "").encode(), self.session.encode())


def _parse(body: bytes) -> list[Payload]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads"), list):
        raise ValueError('expected {"payloads": [...]}')
    try:
        return list(json_format.ParseDict(document, Payloads()).payloads)
    except json_format.ParseError as error:
        raise ValueError(str(error)) from None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _page(message: str, status: int = 200) -> web.Response:
    return web.Response(text=LOGIN_PAGE.format(message=html.escape(message)), status=status, content_type="text/html")


def from_env() -> tuple[CodecServer, str, int]:
    keys = KeyRing.from_env()
    if keys is None:
        raise ValueError("no key ring: set TELECOM_CODEC_KEYS or TELECOM_CODEC_KEY_FILE")
    host, _, port = os.environ.get("TELECOM_CODEC_ADDRESS", DEFAULT_ADDRESS).rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("TELECOM_CODEC_ADDRESS must be host:port")
    server = CodecServer(EncryptionCodec(keys), os.environ.get("TELECOM_CODEC_TOKEN", ""),
                         os.environ.get("TELECOM_CODEC_ALLOWED_ORIGIN", DEFAULT_ORIGIN))
    return server, host, int(port)


def main() -> None:
    logging.basicConfig(level=os.environ.get("TELECOM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server, host, port = from_env()
    except ValueError as error:
        raise SystemExit(f"telecom-codec-server: {error}") from None
    log.info("codec server on http://%s:%d for origin %s, key ids %s (encrypting with %s)", host, port,
             server.allowed_origin, ", ".join(server.codec.keys.keys), server.codec.keys.current)
    web.run_app(server.app(), host=host, port=port, print=None)


if __name__ == "__main__":
    main()
