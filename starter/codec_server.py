"""Codec server: decrypts case payloads for the Temporal Web UI and `temporal --codec-endpoint`,
for those allowed to see personal data (guide 7.4, PIPL). Temporal's codec protocol: POST
`…/encode` and `…/decode` (only the last path segment counts) with `{"payloads": [...]}` in
protobuf JSON, answered the same way, one payload for one. A body without "payloads" or with
`"payloads": null` is an empty batch, answered `{"payloads": []}`: the `temporal` CLI (1.9) sends `{}`
to …/encode for a query or a signal without arguments.

Who may decode (the bearer token is TELECOM_CODEC_TOKEN):
- programs, with `Authorization: Bearer <token>`, e.g.
  `temporal workflow show -w complaint-C1 --codec-endpoint http://localhost:8081 \
      --codec-auth "Bearer $TELECOM_CODEC_TOKEN"`;
- the Web UI, from its one allowed origin: the operator signs in at `/login` with the token, and
  the UI's Codec Server settings have the endpoint and "Include cross-origin credentials" on, so
  the UI sends the session cookie. (The UI's "Pass the user access token" needs an HTTPS endpoint
  and the UI's own OIDC login; the dev server has neither, and its only codec flag,
  --ui-codec-endpoint, cannot turn credentials on.) Use the same host name for both, e.g.
  localhost: a cookie travels only between same-site addresses.

Sessions: each sign-in gets a new random session id as its cookie (HttpOnly, SameSite=Strict,
Max-Age the session lifetime), known only to this process's memory. A session ends after
TELECOM_CODEC_SESSION_HOURS, at POST /logout, or when the server restarts; the 1001st live session
ends the oldest, so sign-ins cannot fill memory.

Endpoints:
  POST …/encode, …/decode  200 {"payloads": [...]}; OPTIONS answers the allowed origin's CORS preflight
                           (204); other methods 405
  GET /login               the sign-in page
  POST /login              form field `token`: 303 to the UI's origin with a session cookie, or 401
  POST /logout             ends this browser's session and clears its cookie: 200, the sign-in page
  anything else            404
Refused, with nothing decoded, as {"error": "<why>"}: another Origin 403; no bearer token, a wrong
one, or no live session 401; a malformed body 400 (not UTF-8 JSON, nested deeper than 32 levels,
not `{"payloads": [...]}` in protobuf JSON, or failing to parse in any way); a body over 8 MiB 413;
a payload that does not open (unknown key id, altered or truncated data) 422, for the whole batch.
Payloads hold personal data: neither the answers nor the log lines quote anything of a body.

Configuration (the TELECOM_* settings, edge/settings.py and the README's table):
  TELECOM_CODEC_TOKEN           required, at least 16 characters
  TELECOM_CODEC_ADDRESS         where to listen (default 127.0.0.1:8081)
  TELECOM_CODEC_ALLOWED_ORIGIN  the Web UI's origin (default http://localhost:8233)
  TELECOM_CODEC_SESSION_HOURS   how long a sign-in lasts, more than 0 and at most 720 (default 8)
  TELECOM_CODEC_KEYS or TELECOM_CODEC_KEY_FILE   the key ring, see edge/codec.py
  TELECOM_LOG_LEVEL             (default INFO)
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from edge.codec import EncryptionCodec, UndecryptablePayload
from edge.settings import MAX_SESSION_HOURS, MIN_TOKEN_LENGTH, Settings, load

MAX_BODY = 8 * 1024 * 1024
"""Room for a batch of payloads at Temporal's default 2 MiB payload limit."""
MAX_DEPTH = 32
"""JSON nesting allowed in a body; a real one nests at most 5 deep: {"payloads": [{"externalPayloads": [{…"""
SESSION_COOKIE = "telecom_codec_session"
DEFAULT_SESSION_HOURS = 8.0
MAX_SESSIONS = 1000

log = logging.getLogger("telecom.codec")

LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>Telecom codec server</title>
<h1>Telecom codec server</h1><p>{message}</p>
<form method="post" action="/login"><label>Codec token <input type="password" name="token" autofocus></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>"""

# JSON strings (escapes included) and everything but brackets: what is left shows the nesting.
# Possessive (*+): no backtracking, so an unterminated 8 MiB string costs one pass.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class CodecServer:
    def __init__(self, codec: EncryptionCodec, token: str, allowed_origin: str,
                 session_hours: float = DEFAULT_SESSION_HOURS, clock: Callable[[], float] = time.monotonic) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"TELECOM_CODEC_TOKEN is required, at least {MIN_TOKEN_LENGTH} characters")
        if not 0 < session_hours <= MAX_SESSION_HOURS:  # also refuses NaN
            raise ValueError(f"TELECOM_CODEC_SESSION_HOURS must be more than 0 and at most {MAX_SESSION_HOURS:g}, "
                             f"not {session_hours}")
        # The server reads: clear text passes and a payload that does not open is a 422, where the
        # worker's strict codec would hand on a refusal in its place.
        self.codec = EncryptionCodec(codec.keys, strict=False, compress=codec.compress) if codec.strict else codec
        self.token = token
        self.allowed_origin = allowed_origin.rstrip("/")
        self.session_seconds = max(1, round(session_hours * 3600))
        self.clock = clock
        # Session id → expiry on `clock`. Every session lasts as long, so insertion order is expiry order.
        self.sessions: dict[str, float] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes([web.get("/login", self.login_page), web.post("/login", self.login),
                        web.post("/logout", self.logout), web.route("*", "/{path:.*}", self.codec_request)])
        return app

    async def login_page(self, request: web.Request) -> web.Response:
        return _page("Sign in to let the Temporal Web UI decode case data in this browser.")

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not hmac.compare_digest(str(form.get("token", "")).encode(), self.token.encode()):
            log.warning("codec sign-in refused from %s", request.remote)
            return _page("Wrong token.", status=401)
        self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)  # a browser signing in again
        now = self.clock()
        while self.sessions and (len(self.sessions) >= MAX_SESSIONS or next(iter(self.sessions.values())) <= now):
            del self.sessions[next(iter(self.sessions))]  # expired, or the oldest when full
        session = secrets.token_urlsafe(32)
        self.sessions[session] = now + self.session_seconds
        response = web.Response(status=303, headers={hdrs.LOCATION: self.allowed_origin})
        response.set_cookie(SESSION_COOKIE, session, max_age=self.session_seconds, httponly=True,
                            samesite="Strict", secure=request.secure or None)
        log.info("codec sign-in from %s (%d live sessions)", request.remote, len(self.sessions))
        return response

    async def logout(self, request: web.Request) -> web.Response:
        # No origin check needed: a cross-site request carries no SameSite=Strict cookie to end.
        ended = self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None) is not None
        response = _page("Signed out." if ended else "Not signed in.")
        response.del_cookie(SESSION_COOKIE, httponly=True, samesite="Strict")
        if ended:
            log.info("codec sign-out from %s", request.remote)
        return response

    async def codec_request(self, request: web.Request) -> web.StreamResponse:
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            raise web.HTTPNotFound(text="codec endpoints are …/encode and …/decode")
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin != self.allowed_origin:
            log.warning("codec %s refused: origin %s is not allowed", action, origin)
            return _error(403, f"origin {origin} is not allowed")
        cors: dict[str, str] = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin, hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",
                                hdrs.VARY: "Origin"} if origin else {}
        if request.method == hdrs.METH_OPTIONS:
            return web.Response(status=204, headers={
                **cors, hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST", hdrs.ACCESS_CONTROL_MAX_AGE: "600",
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: "content-type, x-namespace, authorization"})
        if request.method != hdrs.METH_POST:
            return _error(405, "use POST", cors)
        if not self._authorised(request):
            log.warning("codec %s refused: no valid token or session from %s", action, request.remote)
            return _error(401, "a valid bearer token or codec session is required",
                          {**cors, hdrs.WWW_AUTHENTICATE: 'Bearer realm="telecom-codec"'})
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body is larger than {MAX_BODY} bytes", cors)
        try:
            payloads = _parse(body)
        except ValueError as error:
            return _error(400, f"malformed body: {error}", cors)
        except Exception as error:  # whatever the parsers raise, it is the body's fault: 400, never a 500
            log.warning("codec %s refused: body failed to parse (%s)", action, type(error).__name__)
            return _error(400, "malformed body", cors)
        convert: Callable[[Sequence[Payload]], Awaitable[list[Payload]]] = (
            self.codec.decode if action == "decode" else self.codec.encode)
        try:
            converted = await convert(payloads)
        except UndecryptablePayload as error:  # its message names key ids, never data
            log.warning("codec %s refused: %s", action, error)
            return _error(422, str(error), cors)
        except Exception as error:  # e.g. the cipher refusing malformed data: its message might quote it
            log.warning("codec %s refused: a payload does not open (%s)", action, type(error).__name__)
            return _error(422, "a payload does not open: malformed encrypted data", cors)
        # Built by hand so that an empty batch still answers {"payloads": []}.
        return web.json_response({"payloads": [json_format.MessageToDict(p) for p in converted]}, headers=cors)

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, credential = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode()):
            return True
        session = request.cookies.get(SESSION_COOKIE, "")
        # A dict lookup leaks no useful timing: ids are random and str hashes are salted per process.
        expiry = self.sessions.get(session)
        if expiry is not None and expiry <= self.clock():
            del self.sessions[session]
            return False
        return expiry is not None


def _parse(body: bytes) -> list[Payload]:
    """The body's payloads; a ValueError names what is wrong without quoting the body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    if _deeper_than(MAX_DEPTH, text):  # before json.loads, which would recurse until RecursionError
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads"), list | None):
        raise ValueError('expected {"payloads": [...]}')
    try:  # protobuf treats a missing or null "payloads" as empty
        return list(json_format.ParseDict(document, Payloads()).payloads)
    except json_format.ParseError:  # its message may quote values and keys of the body
        raise ValueError('expected {"payloads": [...]} in protobuf JSON') from None


def _deeper_than(limit: int, text: str) -> bool:
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _page(message: str, status: int = 200) -> web.Response:
    return web.Response(text=LOGIN_PAGE.format(message=html.escape(message)), status=status, content_type="text/html")


def from_settings(settings: Settings) -> tuple[CodecServer, str, int]:
    """The server the settings describe, and where it listens; ValueError names what is missing."""
    if settings.payload_keys is None:
        raise ValueError("no key ring: set TELECOM_CODEC_KEYS or TELECOM_CODEC_KEY_FILE")
    if settings.codec_token is None:
        raise ValueError(f"TELECOM_CODEC_TOKEN is required, at least {MIN_TOKEN_LENGTH} characters")
    host, _, port = settings.codec_address.rpartition(":")
    codec = EncryptionCodec(settings.payload_keys, strict=False, compress=settings.compress)
    server = CodecServer(codec, settings.codec_token.get_secret_value(), settings.codec_allowed_origin,
                         settings.codec_session_hours)
    return server, host, int(port)


def main() -> None:
    settings = load("telecom-codec-server")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server, host, port = from_settings(settings)
    except ValueError as error:
        raise SystemExit(f"telecom-codec-server: {error}") from None
    log.info("codec server on http://%s:%d for origin %s, key ids %s (encrypting with %s), sign-ins last %gh",
             host, port, server.allowed_origin, ", ".join(server.codec.keys.keys), server.codec.keys.current,
             server.session_seconds / 3600)
    web.run_app(server.app(), host=host, port=port, print=None)


if __name__ == "__main__":
    main()
