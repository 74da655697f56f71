"""A hostile corpus: the honest mistakes of teams that integrate with us from other languages, sent
the way they would send them — the real `temporal` CLI through the codec server (encrypted mode),
the CLI without the codec, and raw payloads from a Python client that does not use our models —
to a deployed stack (dev server, codec server, `telecom-worker`; tests/cli_harness.py).

Every entry is refused with a message that names the problem, or accepted safely as documented.
For every entry the test checks what it can see from outside: the CLI's exit and message, the
case's history (no workflow task failing again and again, no activity retrying), its status,
and the records database (nothing written for a refused start; normalised values for an accepted one).

The whole corpus runs once, concurrently (`campaign`), and each entry is then its own test.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec
from temporalio.service import RPCError

from edge.codec import ENCODING, KEY_ID, EncryptionCodec, KeyRing, UndecryptablePayload
from models.identity import citizen_check_digit, mask

from .cli_harness import Stack, stack  # noqa: F401  (the module-scoped fixture)
from .examples import TERMINATION_ID

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # about a minute: slow, but CI runs it

# --- time: every date is relative to today, in the operator's time zone --------------------------

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(ZONE).replace(microsecond=0)
TODAY = NOW.date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def moment(offset: timedelta, zone=ZONE, fmt: str | None = None) -> str:
    value = (NOW + offset).astimezone(zone)
    return value.strftime(fmt) if fmt else value.isoformat()


# --- people and documents ---------------------------------------------------------------------


def citizen(first17: str) -> str:
    return first17 + citizen_check_digit(first17)


def citizen_ending_in_digit(prefix: str) -> str:
    for n in range(1000):
        number = citizen(f"{prefix}{n:03d}")
        if number[-1].isdigit():
            return number
    raise AssertionError("no citizen number ending in a digit")


APPLICANT_ID = citizen("44030519900101123")
DIGIT_ID = citizen_ending_in_digit("44030519851111")
X_ID = TERMINATION_ID["id_number"]  # 11010519491231002X: the account holder of every seeded termination
STRANGER_ID = citizen("31010419800202456")
FULL_WIDTH = str.maketrans("0123456789X+", "０１２３４５６７８９Ｘ＋")


def full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def wrong_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("1" if last != "1" else "2")


# --- valid inputs, one per process; every copy has its own case id and customer ----------------

def customer(case_id: str) -> dict[str, Any]:
    return {"customer_ref": f"HC-{case_id}", "name": "李四", "phone": "13900139000"}


def complaint(case_id: str) -> dict[str, Any]:
    return {"complaint_id": case_id, "channel": "hotline", "category": "billing", "customer": customer(case_id),
            "description": "本月多扣费 30 元", "event_date": day(-3)}


def fault(case_id: str) -> dict[str, Any]:
    return {"ticket_id": case_id, "service_id": "BB-1001", "region": "urban", "severity": "major",
            "description": "宽带无法上网", "channel": "hotline", "terminal_equipment": False,
            "customer": customer(case_id)}


MATERIALS = [{"kind": kind, "document_id": f"DOC-{n}"}
             for n, kind in enumerate(["application_form", "service_agreement", "address_proof"], 1)]


def application(case_id: str) -> dict[str, Any]:
    return {"application_id": case_id, "service_type": "broadband", "region": "urban",
            "requested_start_date": day(7),
            "applicant": {**customer(case_id), "name": "王芳",
                          "identity": {"id_type": "resident_id_card", "id_number": APPLICANT_ID,
                                       "verification_source": "card_reader"}},
            "materials": copy.deepcopy(MATERIALS)}


def termination(case_id: str) -> dict[str, Any]:
    return {"request_id": case_id, "account_id": f"ACCT-{case_id}", "services": [f"BB-{case_id}"],
            "reason": "relocation", "identity": dict(TERMINATION_ID), "port_out": False,
            "customer": customer(case_id)}


BASES: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    # workflow type: (workflow id prefix, id field, valid input)
    "ComplaintClosure": ("complaint-", "complaint_id", complaint),
    "FaultRepair": ("fault-", "ticket_id", fault),
    "ApplicationReview": ("application-", "application_id", application),
    "TerminationCleanup": ("termination-", "request_id", termination),
}


# --- mutations: how a valid input goes wrong ---------------------------------------------------

Mutation = Callable[[dict[str, Any]], Any]


def _walk(data: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def put(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        node, last = _walk(data, path)
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return data
    return mutate


def drop(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        node, last = _walk(data, path)
        node.pop(last)
        return data
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> Any:
        for m in mutations:
            data = m(data)
        return data
    return mutate


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


@dataclass(frozen=True)
class Text:
    """An input sent exactly as written (not a JSON value we serialise)."""
    text: str


def as_text(value: Any) -> str:
    if isinstance(value, Text):
        return value.text
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only as \u escapes, as a JSON encoder would write them
        text = json.dumps(value, ensure_ascii=True)
    return text


# --- what is expected --------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    outcome: str
    """refused: by the case (failed), the update, or the signal's case event; cli: the CLI or the
    server refuses before anything reaches the worker; accepted."""
    error: str | None = None
    fragment: str | None = None
    secret: str | None = None
    """A value that must never appear in the message (personal data)."""
    check: Callable[[Observation, Context], Any] | None = None
    """For accepted entries: extra checks (normalised values, resulting state)."""
    settle: tuple[str, ...] = ()
    """For accepted starts: the states the case moves on to by itself; checked once it is in one."""


def refused(error: str | None, fragment: str | None, secret: str | None = None) -> Expect:
    return Expect("refused", error, fragment, secret)


def cli(fragment: str) -> Expect:
    return Expect("cli", None, fragment)


def accepted(check: Callable[[Observation, Context], Any] | None = None, settle: tuple[str, ...] = ()) -> Expect:
    return Expect("accepted", check=check, settle=settle)


VE, II, IA = "ValidationError", "InvalidInput", "InvalidAction"
NOT_ENCRYPTED, UNDECRYPTABLE, UNKNOWN_TYPE = "PayloadNotEncrypted", "UndecryptablePayload", "UnknownWorkflowType"
UNKNOWN_UPDATE, UNKNOWN_SIGNAL = "UnknownUpdate", "UnknownSignal"


@dataclass(frozen=True)
class Seal:
    """A raw payload from a Python client that bypasses our converter (RawValue)."""
    data: bytes | None
    encoding: bytes = b"json/plain"
    key: str = "ours"
    """ours (the worker's key ring), other-id (a key id the worker does not have), same-id (the
    worker's key id, another key), none (clear text)."""
    tamper: str | None = None
    """truncate-half, truncate-10, flip, no-key-id."""


@dataclass
class Entry:
    id: str
    story: str
    kind: str  # start | update | signal | query
    process: str
    expect: Expect
    inputs: list[Any] | None = None
    """JSON values (or Text) given as --input, one each; None: no --input at all."""
    files: list[str] | None = None
    """Inputs too large for an argument: written to files, given as --input-file."""
    seals: Callable[[dict[str, Any]], list[Seal]] | None = None
    """Sent from a Python client as raw payloads instead of the CLI (built from the valid input)."""
    codec: bool = True
    workflow_type: str | None = None
    workflow_id: str | None = None
    case_id: str = ""
    target: str | None = None
    """updates, signals, queries: a shared target's name, or "own" (a fresh case for this entry)."""
    name: str | None = None
    group: str | None = None
    """signals of one group go to one case, one after the other."""

    @property
    def customer_ref(self) -> str:
        return f"HC-{self.case_id}"


ENTRIES: list[Entry] = []
_SEQ = iter(range(1, 10_000))


def _case_id() -> str:
    return f"H{next(_SEQ):03d}"


def start(process: str, slug: str, story: str, mutation: Mutation | None, expect: Expect, *,
          inputs: list[Any] | str | None = "one", files: list[str] | None = None,
          seals: Callable[[dict[str, Any]], list[Seal]] | None = None, codec: bool = True,
          workflow_type: str | None = None, workflow_id: Callable[[str], str] | str | None = None) -> None:
    case_id = _case_id()
    prefix, _, base = BASES[process]
    data = base(case_id)
    value = mutation(copy.deepcopy(data)) if mutation else data
    if inputs == "one":
        inputs = [value]
    elif inputs is not None:
        inputs = [v(case_id) if callable(v) else v for v in inputs]
    entry = Entry(id=f"{process}:{slug}", story=story, kind="start", process=process, expect=expect,
                  inputs=inputs, files=files, seals=seals, codec=codec,
                  workflow_type=workflow_type or process, case_id=case_id,
                  workflow_id=(workflow_id(case_id) if callable(workflow_id) else workflow_id) or prefix + case_id)
    ENTRIES.append(entry)


def update(process: str, target: str, name: str, slug: str, story: str, argument: Any, expect: Expect, *,
           inputs: list[Any] | str | None = "one", codec: bool = True) -> None:
    ENTRIES.append(Entry(id=f"{process}:update:{slug}", story=story, kind="update", process=process,
                         expect=expect, inputs=[argument] if inputs == "one" else inputs, codec=codec,
                         target=target, name=name, case_id=_case_id()))


def signal(process: str, target: str, name: str, slug: str, story: str, argument: Any, expect: Expect, *,
           inputs: list[Any] | str | None = "one", codec: bool = True, group: str | None = None) -> None:
    ENTRIES.append(Entry(id=f"{process}:signal:{slug}", story=story, kind="signal", process=process,
                         expect=expect, inputs=[argument] if inputs == "one" else inputs, codec=codec,
                         target=target, name=name, group=group, case_id=_case_id()))


# --- accepted-entry checks -----------------------------------------------------------------------

def contact_phone(expected: str) -> Callable[[Observation, Context], Any]:
    def check(obs: Observation, ctx: Context) -> None:
        row = ctx.stack.contact(obs.entry.customer_ref, ctx.engine)
        if row is None:
            obs.problem("no customercontact row for the accepted case")
            return
        phone = row["phone"]
        if not phone.isascii() or " " in phone:
            obs.problem(f"phone stored as {phone!r}: not normalised to ASCII without spaces")
        elif phone != expected:
            obs.problem(f"phone stored as {phone!r}, expected {expected!r} (one number, one form)")
    return check


def id_masked(expected_number: str) -> Callable[[Observation, Context], Any]:
    def check(obs: Observation, ctx: Context) -> None:
        shown = (obs.status or {}).get("id_masked")
        if shown != mask(expected_number):
            obs.problem(f"status id_masked is {shown!r}, expected {mask(expected_number)!r} (the ID number in "
                        "canonical ASCII form)")
    return check


def contact_name(expected: str) -> Callable[[Observation, Context], Any]:
    def check(obs: Observation, ctx: Context) -> None:
        row = ctx.stack.contact(obs.entry.customer_ref, ctx.engine)
        if row is None or row["name"] != expected:
            obs.problem(f"customercontact name is {row and row['name']!r}, expected {expected!r}")
    return check


def _instant(text: str) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads at most microseconds
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def moment_is(name: str, sent: str) -> Callable[[Observation, Context], Any]:
    """The status shows the same instant as was sent: not shifted by a time zone, not replaced by now."""
    def check(obs: Observation, ctx: Context) -> None:
        shown = (obs.status or {}).get(name)
        if shown is None or _instant(shown) != _instant(sent):
            obs.problem(f"status {name} is {shown!r}, sent {sent!r}")
    return check


def state_is(*states: str) -> Callable[[Observation, Context], Any]:
    def check(obs: Observation, ctx: Context) -> None:
        state = (obs.status or {}).get("state")
        if state not in states:
            obs.problem(f"state {state!r}, expected {' or '.join(states)}")
    return check


def all_of(*checks: Callable[[Observation, Context], Any]) -> Callable[[Observation, Context], Any]:
    def check(obs: Observation, ctx: Context) -> None:
        for c in checks:
            c(obs, ctx)
    return check


# ================================================================================================
# The corpus
# ================================================================================================

C, F, A, T = "ComplaintClosure", "FaultRepair", "ApplicationReview", "TerminationCleanup"
BIG = "垃圾" * 65_000  # ~390 kB of UTF-8: over the 256 kB per input, under the server's 2 MB
HUGE = "垃" * 1_000_000  # ~3 MB, so repetitive that the codec compresses it to a few kB: we refuse it
NOISE = base64.b64encode(random.Random(7).randbytes(2_300_000)).decode()  # ~3 MB that no compression shrinks
EPOCH = int(NOW.timestamp())
RECEIVED = {"offset": moment(timedelta(hours=-1)),
            "utc-millis": (NOW - timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.123Z"),
            "nanoseconds": moment(timedelta(hours=-1), fmt="%Y-%m-%dT%H:%M:%S.123456789+08:00"),
            "dotnet": moment(timedelta(hours=-1), fmt="%Y-%m-%dT%H:%M:%S.1234567+08:00"),
            "negative-offset": (NOW - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York")).isoformat()}

# --- ComplaintClosure input --------------------------------------------------------------------
start(C, "camelCase-keys", "a Java team serialises with Jackson's default camelCase naming",
      camel, refused(VE, "complaint_id"))
start(C, "customer-flattened", "customer fields sent at the top level, no customer object",
      lambda d: {**{k: v for k, v in d.items() if k != "customer"}, **d["customer"]}, refused(VE, "customer"))
start(C, "event_date-epoch-seconds", "event date as Unix seconds", put("event_date", EPOCH), refused(VE, "event_date"))
start(C, "event_date-epoch-ms", "event date as JavaScript Date.now() milliseconds", put("event_date", EPOCH * 1000),
      refused(VE, "event_date"))
start(C, "event_date-slashes", "event date as 2026/11/28", put("event_date", day(-3).replace("-", "/")),
      refused(VE, "event_date"))
start(C, "event_date-chinese", "event date as 2026年11月28日",
      put("event_date", (TODAY - timedelta(days=3)).strftime("%Y年%m月%d日")), refused(VE, "event_date"))
start(C, "event_date-dd/mm/yyyy", "event date in day/month/year order",
      put("event_date", (TODAY - timedelta(days=3)).strftime("%d/%m/%Y")), refused(VE, "event_date"))
start(C, "event_date-timestamp", "a timestamp where a date is expected",
      put("event_date", moment(timedelta(days=-3))), refused(VE, "event_date"))
start(C, "event_date-midnight-utc", "a date serialised as midnight UTC (JavaScript toISOString())",
      put("event_date", f"{day(-3)}T00:00:00.000Z"), refused(VE, "event_date"))
start(C, "event_date-year-1", "an uninitialised date (0001-01-01, .NET DateTime.MinValue)",
      put("event_date", "0001-01-01"), refused(VE, "event_date"))
start(C, "event_date-year-9999", "a 'no end' sentinel date 9999-12-31", put("event_date", "9999-12-31"),
      refused(VE, "event_date"))
start(C, "event_date-feb-30", "an impossible date", put("event_date", f"{TODAY.year}-02-30"), refused(VE, "event_date"))
start(C, "event_date-after-receipt", "the event date is after the complaint was received",
      put("event_date", day(5)), refused(II, "event_date"))
start(C, "event_date-null", "event date null (not known)", put("event_date", None), refused(VE, "event_date"))
start(C, "event_date-jackson-array", "a Java LocalDate written by Jackson as [year, month, day]",
      put("event_date", [int(part) for part in day(-3).split("-")]), refused(VE, "event_date"))
start(C, "received_at-zone-name", "Java ZonedDateTime.toString(): 2026-12-01T10:00+08:00[Asia/Shanghai]",
      put("received_at", moment(timedelta(hours=-1), fmt="%Y-%m-%dT%H:%M+08:00[Asia/Shanghai]")),
      refused(VE, "received_at"))
start(C, "received_at-dotnet-ticks", ".NET round-trip format with 7 fraction digits (accepted)",
      put("received_at", RECEIVED["dotnet"]), accepted(moment_is("received_at", RECEIVED["dotnet"])))
start(C, "received_at-dotnet-date", "old ASP.NET JSON date /Date(ms)/", put("received_at", f"/Date({EPOCH * 1000})/"),
      refused(VE, "received_at"))
start(C, "received_at-utc-word", "2026-12-01 02:00:00 UTC (SQL client output)",
      put("received_at", (NOW - timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
      refused(VE, "received_at"))
start(C, "customer-php-empty-array", "PHP json_encode of an empty array for the customer object", put("customer", []),
      refused(VE, "customer"))
start(C, "phone-excel-scientific", "a phone exported from Excel as 1.39001390E10", put("customer.phone", 1.39001390e10),
      refused(VE, "customer.phone"))
start(C, "input-python-booleans", "hand-written JSON with Python's True", None, cli("not valid JSON"),
      inputs=[Text('{"complaint_id": "C1", "urgent": True}')])
start(C, "input-at-file", "curl-style --input @complaint.json", None, cli("not valid JSON"),
      inputs=[Text("@complaint.json")])
start(C, "retry-running-case", "a start retried for a case that is running", None, cli("already"),
      workflow_id="COLLIDE:complaint-open")
start(C, "retry-failed-case", "a start retried for a case id already used (refused earlier)", None, cli("already"),
      workflow_id="COLLIDE:complaint-failed")
start(C, "received_at-naive", "a timestamp without offset (Python datetime.isoformat() of a naive time)",
      put("received_at", moment(timedelta(hours=-1), fmt="%Y-%m-%dT%H:%M:%S")), refused(VE, "received_at"))
start(C, "received_at-date-only", "a date where a timestamp is expected", put("received_at", day(-1)),
      refused(VE, "received_at"))
start(C, "received_at-epoch-seconds", "Unix seconds as a number", put("received_at", EPOCH - 3600),
      refused(VE, "received_at"))
start(C, "received_at-epoch-string", "Unix seconds as a string", put("received_at", str(EPOCH - 3600)),
      refused(VE, "received_at"))
start(C, "received_at-epoch-ms", "JavaScript milliseconds", put("received_at", (EPOCH - 3600) * 1000),
      refused(VE, "received_at"))
start(C, "received_at-offset-without-colon", "strftime('%z') offset +0800",
      put("received_at", moment(timedelta(hours=-1), fmt="%Y-%m-%dT%H:%M:%S%z")), refused(VE, "received_at"))
start(C, "received_at-chinese", "a timestamp as 2026年12月01日 10时30分",
      put("received_at", moment(timedelta(hours=-1), fmt="%Y年%m月%d日 %H时%M分")), refused(VE, "received_at"))
start(C, "received_at-year-1", "an uninitialised timestamp 0001-01-01T00:00:00Z",
      put("received_at", "0001-01-01T00:00:00Z"), refused(VE, "received_at"))
start(C, "received_at-year-9999", "a 'never' sentinel timestamp", put("received_at", "9999-12-31T23:59:59Z"),
      refused(VE, "received_at"))
start(C, "received_at-1999", "a timestamp before 2000 (a default of 1999-12-31)",
      both(put("received_at", "1999-12-31T23:59:59+08:00"), put("event_date", "1999-12-30")),
      refused(VE, "received_at"))
start(C, "received_at-future", "received tomorrow (clock or time-zone mix-up)",
      put("received_at", moment(timedelta(days=1))), refused(II, "received_at"))
start(C, "received_at-400-days-ago", "a complaint backdated by more than a year",
      both(put("received_at", moment(timedelta(days=-400))), put("event_date", day(-401))),
      refused(II, "received_at"))
start(C, "received_at-valid-offset", "an RFC 3339 timestamp with +08:00", put("received_at", RECEIVED["offset"]),
      accepted(all_of(state_is("acknowledged"), moment_is("received_at", RECEIVED["offset"]))))
start(C, "received_at-valid-utc-millis", "an RFC 3339 timestamp in UTC with milliseconds (toISOString())",
      put("received_at", RECEIVED["utc-millis"]),
      accepted(all_of(state_is("acknowledged"), moment_is("received_at", RECEIVED["utc-millis"]))))
start(C, "received_at-valid-nanoseconds", "Go's time.RFC3339Nano: nine fraction digits",
      put("received_at", RECEIVED["nanoseconds"]),
      accepted(all_of(state_is("acknowledged"), moment_is("received_at", RECEIVED["nanoseconds"]))))
start(C, "received_at-valid-new-york", "sent from a New York office with its own offset (-05:00)",
      put("received_at", RECEIVED["negative-offset"]),
      accepted(all_of(state_is("acknowledged"), moment_is("received_at", RECEIVED["negative-offset"]))))
start(C, "received_at-null", "optional timestamp sent as null (a serialiser that writes nulls)",
      put("received_at", None), accepted(state_is("acknowledged")))
start(C, "channel-capitalised", "enum value as shown in the UI: Hotline", put("channel", "Hotline"), refused(VE, "channel"))
start(C, "channel-chinese", "enum value as the Chinese label 热线", put("channel", "热线"), refused(VE, "channel"))
start(C, "channel-unknown", "a channel we do not have: phone", put("channel", "phone"), refused(VE, "channel"))
start(C, "category-capitalised", "category Billing", put("category", "Billing"), refused(VE, "category"))
start(C, "category-kebab", "category network-quality", put("category", "network-quality"), refused(VE, "category"))
start(C, "category-ordinal", "a C# enum serialised as its number", put("category", 1), refused(VE, "category"))
start(C, "phone-plus86-spaces", "phone as +86 139 0013 9000", put("customer.phone", "+86 139 0013 9000"),
      accepted(contact_phone("13900139000")))
start(C, "phone-full-width", "phone typed in full-width digits", put("customer.phone", full_width("13900139000")),
      accepted(contact_phone("13900139000")))
start(C, "phone-landline", "a landline with area code, kept without the dash", put("customer.phone", "010-62345678"),
      accepted(contact_phone("01062345678")))
start(C, "phone-number-type", "phone as a JSON number", put("customer.phone", 13900139000),
      refused(VE, "customer.phone"))
start(C, "phone-too-short", "a digit missing", put("customer.phone", "1390013900"),
      refused(VE, "customer.phone", secret="1390013900"))
start(C, "phone-dashes", "mobile written 139-0013-9000", put("customer.phone", "139-0013-9000"),
      refused(VE, "customer.phone", secret="139-0013-9000"))
start(C, "customer-null", "customer null", put("customer", None), refused(VE, "customer"))
start(C, "customer-string", "customer ref where the customer object goes", put("customer", "CUST-1001"),
      refused(VE, "customer"))
start(C, "name-empty", "empty name", put("customer.name", ""), refused(VE, "customer.name"))
start(C, "name-whitespace", "name of spaces only", put("customer.name", "   "), refused(VE, "customer.name"))
start(C, "name-too-long", "a name field filled with an address", put("customer.name", "张" * 101),
      refused(VE, "customer.name"))
start(C, "customer_ref-chinese", "the customer's name in customer_ref", put("customer.customer_ref", "张三"),
      refused(VE, "customer.customer_ref"))
start(C, "customer-extra-email", "an extra customer field (email)", put("customer.email", "a@example.com"),
      refused(VE, "customer.email"))
start(C, "description-nul", "a NUL byte from a C string", put("description", "断线\u0000"), refused(VE, "description"))
start(C, "description-bidi-override", "a right-to-left override U+202E", put("description", "断线\u202e123"),
      refused(VE, "description"))
start(C, "description-bidi-isolate", "a first-strong isolate U+2068", put("description", "断线\u2068x\u2069"),
      refused(VE, "description"))
start(C, "description-lone-high-surrogate", "a JavaScript string cut inside an emoji (lone high surrogate)",
      put("description", "断线\ud83d"), refused(VE, "surrogate"))
start(C, "description-lone-low-surrogate", "a lone low surrogate", put("description", "断线\ude00"),
      refused(VE, "surrogate"))
start(C, "description-c1-control", "a C1 control U+0085 from a mis-decoded Windows text",
      put("description", "断\u0085线"), refused(VE, "description"))
start(C, "description-ansi-escape", "a coloured log line pasted in (ESC [31m)", put("description", "\u001b[31m断线\u001b[0m"),
      refused(VE, "description"))
start(C, "description-tabs-newlines", "tabs, CRLF and newlines are text", put("description", "第一行\r\n第二行\t完"),
      accepted(state_is("acknowledged")))
start(C, "description-emoji", "emoji are text", put("description", "宽带又断了😡📶👨‍👩‍👧"),
      accepted(state_is("acknowledged")))
start(C, "description-too-long", "a 4001-character description", put("description", "断" * 4001),
      refused(VE, "description"))
start(C, "description-390kB", "a pasted log file of 390 kB", None, refused(VE, "bytes"), inputs=None, files=["big"])
start(C, "description-3MB", "a 3 MB attachment inlined", None, refused(VE, "at most 262144 are accepted"),
      inputs=None, files=["huge"])
start(C, "photo-3MB", "a 3 MB photo inlined in base64", None, cli("size exceeds limit"), inputs=None, files=["noise"])
start(C, "description-null", "description null", put("description", None), refused(VE, "description"))
start(C, "description-list", "description as a list of lines", put("description", ["第一行", "第二行"]),
      refused(VE, "description"))
start(C, "extra-priority", "a field we do not have: priority", put("priority", "high"), refused(VE, "priority"))
start(C, "wrapped-in-input", "the input wrapped as {\"input\": {...}}", lambda d: {"input": d}, refused(VE, "input"))
start(C, "wrapped-in-array", "the input wrapped in an array", lambda d: [d], refused(VE, "object"))
start(C, "double-encoded", "the JSON input encoded again as a JSON string", lambda d: json.dumps(d, ensure_ascii=False),
      refused(VE, "object"))
start(C, "no-input", "started without --input", None, refused(VE, "0 values"), inputs=None)
start(C, "two-inputs", "input split in two --input flags", None, refused(VE, "2 values"),
      inputs=[{"complaint_id": "X"}, {"channel": "hotline"}])
start(C, "input-null", "--input null", None, refused(VE, "object"), inputs=[None])
start(C, "input-empty", "--input ''", None, cli("not valid JSON"), inputs=[Text("")])
start(C, "input-key-value", "shell-style key=value input", None, cli("not valid JSON"),
      inputs=[Text("complaint_id=C1 channel=hotline")])
start(C, "input-trailing-comma", "JavaScript-style trailing comma", None, cli("not valid JSON"),
      inputs=[Text('{"complaint_id": "C1", "channel": "hotline",}')])
start(C, "input-python-repr", "a Python dict printed with str()", None, cli("not valid JSON"),
      inputs=[Text("{'complaint_id': 'C1', 'channel': 'hotline'}")])
start(C, "complaint_id-space", "a case id with a space", put("complaint_id", "C 1"), refused(VE, "complaint_id"),
      workflow_id="complaint-C 1")
start(C, "complaint_id-number", "case id as a number", put("complaint_id", 20261201), refused(VE, "complaint_id"),
      workflow_id=lambda cid: "complaint-20261201")
start(C, "workflow-id-plural-prefix", "workflow id complaints-… (plural)", None, refused(II, "workflow_id: must be"),
      workflow_id=lambda cid: f"complaints-{cid}")
start(C, "workflow-id-no-prefix", "workflow id without its prefix", None, refused(II, "workflow_id: must be"),
      workflow_id=lambda cid: cid)
start(C, "workflow-id-other-case", "workflow id of another complaint", None, refused(II, "workflow_id: must be"),
      workflow_id=lambda cid: f"complaint-{cid}X")
start(C, "workflow-id-capitalised", "workflow id Complaint-…", None, refused(II, "workflow_id: must be"),
      workflow_id=lambda cid: f"Complaint-{cid}")
start(C, "duplicate-key", "a hand-built JSON with channel twice (hotline, then sms)", None, refused(VE, "channel"),
      inputs=[lambda cid: Text(as_text(complaint(cid)).replace('"channel": "hotline"',
                                                                '"channel": "hotline", "channel": "sms"'))])
start(C, "no-codec", "plain `temporal workflow start --input` (clear text) to an encrypted worker", None,
      refused(NOT_ENCRYPTED, "clear-text"), codec=False)
start(C, "type-camelCase", "workflow type complaintClosure", None, refused(UNKNOWN_TYPE, "complaintClosure"),
      workflow_type="complaintClosure")
start(C, "type-snake_case", "workflow type complaint_closure", None, refused(UNKNOWN_TYPE, "complaint_closure"),
      workflow_type="complaint_closure")
start(C, "type-suffixed", "workflow type ComplaintClosureWorkflow (the class name in another SDK)", None,
      refused(UNKNOWN_TYPE, "ComplaintClosureWorkflow"), workflow_type="ComplaintClosureWorkflow")
start(C, "type-short", "workflow type Complaint", None, refused(UNKNOWN_TYPE, "known types"), workflow_type="Complaint")

# --- FaultRepair input -------------------------------------------------------------------------
start(F, "severity-capitalised", "severity Major", put("severity", "Major"), refused(VE, "severity"))
start(F, "severity-p1", "severity P1 from the NOC's tool", put("severity", "P1"), refused(VE, "severity"))
start(F, "severity-chinese", "severity 严重", put("severity", "严重"), refused(VE, "severity"))
start(F, "severity-number", "severity as a number", put("severity", 2), refused(VE, "severity"))
start(F, "region-capitalised", "region Urban", put("region", "Urban"), refused(VE, "region"))
start(F, "region-chinese", "region 城区", put("region", "城区"), refused(VE, "region"))
start(F, "region-trailing-space", "region 'rural ' from a fixed-width field", put("region", "rural "),
      refused(VE, "region"))
start(F, "bool-as-string", "terminal_equipment \"false\" (a string)", put("terminal_equipment", "false"),
      refused(VE, "terminal_equipment"))
start(F, "bool-as-zero", "terminal_equipment 0", put("terminal_equipment", 0), refused(VE, "terminal_equipment"))
start(F, "bool-as-N", "terminal_equipment \"N\" (a Y/N column)", put("terminal_equipment", "N"),
      refused(VE, "terminal_equipment"))
start(F, "bool-null", "terminal_equipment null", put("terminal_equipment", None), refused(VE, "terminal_equipment"))
start(F, "reported_at-epoch", "reported_at as Unix seconds", put("reported_at", EPOCH - 600), refused(VE, "reported_at"))
start(F, "reported_at-epoch-string", "reported_at as a string of Unix seconds", put("reported_at", str(EPOCH - 600)),
      refused(VE, "reported_at"))
start(F, "reported_at-naive", "reported_at without offset",
      put("reported_at", moment(timedelta(minutes=-10), fmt="%Y-%m-%dT%H:%M:%S")), refused(VE, "reported_at"))
start(F, "reported_at-local-minutes", "reported_at as 2026-12-01 21:30",
      put("reported_at", moment(timedelta(minutes=-10), fmt="%Y-%m-%d %H:%M")), refused(VE, "reported_at"))
start(F, "reported_at-http-date", "reported_at as an HTTP date (RFC 1123)",
      put("reported_at", (NOW - timedelta(minutes=10)).astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")),
      refused(VE, "reported_at"))
start(F, "reported_at-jackson-decimal", "a Java Instant written by Jackson as decimal seconds",
      put("reported_at", float(f"{EPOCH - 600}.123456789")), refused(VE, "reported_at"))
start(F, "reported_at-future", "reported tomorrow", put("reported_at", moment(timedelta(days=1))),
      refused(II, "reported_at"))
start(F, "reported_at-valid", "reported ten minutes ago, RFC 3339", put("reported_at", moment(timedelta(minutes=-10))),
      accepted(moment_is("reported_at", moment(timedelta(minutes=-10)))))
start(F, "service_id-space", "service id with a space", put("service_id", "BB 1001"), refused(VE, "service_id"))
start(F, "service_id-unknown", "a service id the network does not know: documented as rejected",
      put("service_id", "BB-9999"), accepted(state_is("rejected"), settle=("rejected",)))
start(F, "ticket_id-empty", "empty ticket id", put("ticket_id", ""), refused(VE, "ticket_id"),
      workflow_id="fault-")
start(F, "description-whitespace", "description of spaces and a newline", put("description", "  \n "),
      refused(VE, "description"))
start(F, "channel-unknown", "channel phone", put("channel", "phone"), refused(VE, "channel"))
start(F, "channel-missing", "channel left out", drop("channel"), refused(VE, "channel"))
start(F, "extra-priority", "a field we do not have", put("priority", 1), refused(VE, "priority"))
start(F, "phone-mixed-width", "phone as ＋８６ １３９ ００１３ ９０００", put("customer.phone", full_width("+86 139 0013 9000")),
      accepted(contact_phone("13900139000")))
start(F, "type-camelCase", "workflow type faultRepair", None, refused(UNKNOWN_TYPE, "faultRepair"),
      workflow_type="faultRepair")
start(F, "type-trailing-space", "workflow type 'FaultRepair '", None, refused(UNKNOWN_TYPE, "known types"),
      workflow_type="FaultRepair ")
start(F, "workflow-id-underscore", "workflow id fault_…", None, refused(II, "workflow_id: must be"),
      workflow_id=lambda cid: f"fault_{cid}")
start(F, "no-codec", "clear text to an encrypted worker", None, refused(NOT_ENCRYPTED, "clear-text"), codec=False)

# --- ApplicationReview input -------------------------------------------------------------------
start(A, "id-full-width", "ID number typed in full width (IME left on)",
      put("applicant.identity.id_number", full_width(APPLICANT_ID)), accepted(id_masked(APPLICANT_ID)))
start(A, "id-full-width-digits", "ID number of full-width digits (no X)",
      put("applicant.identity.id_number", full_width(DIGIT_ID)), accepted(id_masked(DIGIT_ID)))
start(A, "id-lowercase-x", "check digit x in lower case", put("applicant.identity.id_number", X_ID.lower()),
      accepted(id_masked(X_ID)))
start(A, "id-spaces", "ID number copied with the display spaces",
      put("applicant.identity.id_number", f"{APPLICANT_ID[:6]} {APPLICANT_ID[6:14]} {APPLICANT_ID[14:]}"),
      accepted(id_masked(APPLICANT_ID)))
start(A, "id-wrong-check-digit", "a typo in the ID number", put("applicant.identity.id_number", wrong_check_digit(APPLICANT_ID)),
      refused(VE, "applicant.identity.id_number", secret=wrong_check_digit(APPLICANT_ID)))
start(A, "id-15-digit", "an old 15-digit ID number", put("applicant.identity.id_number", "440305900101123"),
      refused(VE, "applicant.identity.id_number", secret="440305900101123"))
start(A, "id-number-type", "ID number as a JSON number", put("applicant.identity.id_number", int(DIGIT_ID)),
      refused(VE, "applicant.identity.id_number"))
start(A, "id-impossible-birth-date", "birth date 1990-13-01 in the number",
      put("applicant.identity.id_number", citizen("44030519901301123")), refused(VE, "applicant.identity.id_number"))
start(A, "id_type-chinese", "id type 身份证", put("applicant.identity.id_type", "身份证"),
      refused(VE, "applicant.identity.id_type"))
start(A, "id_type-upper", "id type ID_CARD", put("applicant.identity.id_type", "ID_CARD"),
      refused(VE, "applicant.identity.id_type"))
start(A, "verification-manual", "ID typed in by hand", put("applicant.identity.verification_source", "manual"),
      refused(VE, "manual"))
start(A, "verification-missing", "verification source left out", drop("applicant.identity.verification_source"),
      refused(VE, "verification_source"))
start(A, "service_type-capitalised", "service type Broadband", put("service_type", "Broadband"), refused(VE, "service_type"))
start(A, "service_type-chinese", "service type 宽带", put("service_type", "宽带"), refused(VE, "service_type"))
start(A, "service_type-product", "a product name FTTH-300M", put("service_type", "FTTH-300M"), refused(VE, "service_type"))
start(A, "start-date-yesterday", "requested start yesterday", put("requested_start_date", day(-1)),
      refused(II, "requested_start_date"))
start(A, "start-date-timestamp", "a timestamp for the date", put("requested_start_date", f"{day(7)}T00:00:00+08:00"),
      refused(VE, "requested_start_date"))
start(A, "start-date-us-order", "12/08/2026", put("requested_start_date", (TODAY + timedelta(days=7)).strftime("%m/%d/%Y")),
      refused(VE, "requested_start_date"))
start(A, "start-date-2100", "start date 2100-01-01", put("requested_start_date", "2100-01-01"),
      refused(VE, "requested_start_date"))
start(A, "start-date-epoch", "start date as Unix seconds", put("requested_start_date", EPOCH + 7 * 86400),
      refused(VE, "requested_start_date"))
start(A, "materials-object", "one material as an object, not a list", put("materials", MATERIALS[0]),
      refused(VE, "materials"))
start(A, "materials-strings", "materials as a list of kinds", put("materials", ["application_form"]),
      refused(VE, "materials.0"))
start(A, "materials-51", "51 materials", put("materials", [MATERIALS[0]] * 51), refused(VE, "materials"))
start(A, "material-kind-pascal", "material kind ApplicationForm", put("materials.0.kind", "ApplicationForm"),
      refused(VE, "materials.0.kind"))
start(A, "document_id-too-long", "a document's content in its id", put("materials.0.document_id", "D" * 201),
      refused(VE, "materials.0.document_id"))
start(A, "proxy-is-applicant", "the applicant named as their own proxy",
      put("proxy", {"name": "王芳", "identity": {"id_type": "resident_id_card", "id_number": APPLICANT_ID,
                                                 "verification_source": "card_reader"}}),
      refused(VE, "proxy.identity"))
start(A, "proxy-null", "no proxy, sent as null", put("proxy", None),
      accepted(state_is("inProgress"), settle=("inProgress",)))
start(A, "identity-missing", "applicant without the ID document", drop("applicant.identity"),
      refused(VE, "applicant.identity"))
start(A, "applicant-missing", "applicant left out", drop("applicant"), refused(VE, "applicant"))
start(A, "name-nul", "a NUL in the name", put("applicant.name", "王\u0000芳"), refused(VE, "applicant.name"))
start(A, "name-emoji", "an emoji in the name", put("applicant.name", "王芳🌸"),
      accepted(all_of(state_is("inProgress"), contact_name("王芳🌸")), settle=("inProgress",)))
start(A, "phone-full-width", "phone in full-width digits", put("applicant.phone", full_width("13800138901")),
      accepted(contact_phone("13800138901")))
start(A, "type-camelCase", "workflow type applicationReview", None, refused(UNKNOWN_TYPE, "applicationReview"),
      workflow_type="applicationReview")
start(A, "no-codec", "clear text to an encrypted worker", None, refused(NOT_ENCRYPTED, "clear-text"), codec=False)

# --- TerminationCleanup input (every case id has its own seeded account, line and modem) --------
start(T, "account-unknown", "an account id that does not exist", put("account_id", "ACCT-NOPE-1"),
      refused(II, "account_id"))
start(T, "account-chinese", "an account id with Chinese text", put("account_id", "账户-1"), refused(VE, "account_id"))
start(T, "services-string", "one line as a string, not a list", lambda d: put("services", d["services"][0])(d),
      refused(VE, "services"))
start(T, "services-empty", "no lines", put("services", []), refused(VE, "services"))
start(T, "services-twice", "the same line listed twice", lambda d: put("services", d["services"] * 2)(d),
      refused(VE, "services"))
start(T, "services-21", "21 lines", put("services", [f"BB-{n}" for n in range(21)]), refused(VE, "services"))
start(T, "services-other-account", "a line of another account", put("services", ["BB-1001"]), refused(II, "services"))
start(T, "port_out-string", "port_out \"false\"", put("port_out", "false"), refused(VE, "port_out"))
start(T, "port_out-broadband", "port-out of a broadband line", put("port_out", True), refused(II, "port_out"))
start(T, "reason-chinese", "reason 搬家", put("reason", "搬家"), refused(VE, "reason"))
start(T, "reason-capitalised", "reason Relocation", put("reason", "Relocation"), refused(VE, "reason"))
start(T, "identity-stranger", "the ID of someone else (the caller's own)", put("identity.id_number", STRANGER_ID),
      refused(II, "identity"))
start(T, "customer_ref-mismatch", "the customer ref of another customer", put("customer.customer_ref", "HC-OTHER"),
      refused(II, "customer.customer_ref"))
start(T, "identity-lowercase-x", "the holder's ID with a lower-case x", put("identity.id_number", X_ID.lower()),
      accepted(all_of(state_is("terminated", "active", "pendingTerminate"), id_masked(X_ID))))
start(T, "identity-full-width", "the holder's ID in full width", put("identity.id_number", full_width(X_ID)),
      accepted(all_of(state_is("terminated", "active", "pendingTerminate"), id_masked(X_ID))))
start(T, "verification-manual", "ID typed in by hand", put("identity.verification_source", "manual"), refused(VE, "manual"))
start(T, "type-CleanUp", "workflow type TerminationCleanUp", None, refused(UNKNOWN_TYPE, "TerminationCleanUp"),
      workflow_type="TerminationCleanUp")
start(T, "no-codec", "clear text to an encrypted worker", None, refused(NOT_ENCRYPTED, "clear-text"), codec=False)

# --- raw payloads from a Python client that does not use our models ------------------------------
RAW_VALID = json.dumps(complaint("RAWX"), separators=(",", ":"), ensure_ascii=False).encode()


def raw_start(slug: str, story: str, seals: Callable[[dict[str, Any]], list[Seal]], expect: Expect) -> None:
    start(C, f"raw:{slug}", story, None, expect, inputs=None, seals=seals)


def _json(d: dict[str, Any]) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode()


raw_start("unknown-key-id", "encrypted under a key id the worker does not have",
          lambda d: [Seal(_json(d), key="other-id")], refused(UNDECRYPTABLE, "key id"))
raw_start("same-key-id-other-key", "another team's key under our key id",
          lambda d: [Seal(_json(d), key="same-id")], refused(UNDECRYPTABLE, "authentication"))
raw_start("truncated-half", "ciphertext cut in half (a size-limited column)",
          lambda d: [Seal(_json(d), tamper="truncate-half")], refused(UNDECRYPTABLE, "authentication"))
raw_start("truncated-10-bytes", "ciphertext cut to 10 bytes", lambda d: [Seal(_json(d), tamper="truncate-10")],
          refused(UNDECRYPTABLE, "truncated"))
raw_start("flipped-byte", "one byte altered in transit", lambda d: [Seal(_json(d), tamper="flip")],
          refused(UNDECRYPTABLE, "authentication"))
raw_start("no-key-id", "binary/encrypted without a key id", lambda d: [Seal(_json(d), tamper="no-key-id")],
          refused(UNDECRYPTABLE, "key id"))
raw_start("clear-json", "raw JSON without encryption", lambda d: [Seal(_json(d), key="none")],
          refused(NOT_ENCRYPTED, "clear-text"))
raw_start("utf8-bom", "UTF-8 with a byte-order mark (.NET File.WriteAllText)",
          lambda d: [Seal(b"\xef\xbb\xbf" + _json(d))], refused(VE, "JSON"))
raw_start("gbk-bytes", "JSON encoded in GBK (a Windows service)",
          lambda d: [Seal(json.dumps(d, ensure_ascii=False).encode("gbk"))], refused(VE, "unicode"))
raw_start("trailing-garbage", "two objects concatenated", lambda d: [Seal(_json(d) + b' {"again": 1}')],
          refused(VE, "JSON"))
raw_start("encoding-binary-plain", "JSON bytes labelled binary/plain", lambda d: [Seal(_json(d), encoding=b"binary/plain")],
          refused(VE, "encoding"))
raw_start("encoding-protobuf", "labelled json/protobuf", lambda d: [Seal(_json(d), encoding=b"json/protobuf")],
          refused(VE, "encoding"))
raw_start("binary-null", "a binary/null payload (None from an SDK)", lambda d: [Seal(None, encoding=b"binary/null")],
          refused(VE, "object"))
raw_start("1MB", "a 1 MB input", lambda d: [Seal(_json({**d, "description": "垃" * 350_000}))], refused(VE, "bytes"))
raw_start("nested-300", "300 levels of nesting in an extra field",
          lambda d: [Seal(_json({**d, "x": json.loads("[" * 300 + "]" * 300)}))], refused(VE, None))
raw_start("two-payloads", "the input as two payloads", lambda d: [Seal(_json(d)), Seal(_json(d))], refused(VE, "2 values"))
raw_start("lone-surrogate-raw", "a lone surrogate escape in the name",
          lambda d: [Seal(_json(d).replace("李四".encode(), b"\\ud800"))], refused(VE, "surrogate"))
raw_start("valid-compact", "valid raw JSON bytes, compact, encrypted with our key (accepted)",
          lambda d: [Seal(json.dumps(dict(reversed(list(d.items()))), separators=(",", ":"),
                                     ensure_ascii=False).encode())], accepted(state_is("acknowledged")))

# --- updates -----------------------------------------------------------------------------------
# Shared targets (refused updates change nothing): complaint-open (acknowledged), fault-open
# (pending), application-open (inProgress), application-pending (materials outstanding),
# termination-ended (terminated, modem held), termination-due (awaiting payment), complaint-failed.
H = {"handler": "h.li", "actor": "desk.wang"}
update(C, "complaint-open", "assignHandler", "name-camelCase", "update name in camelCase", H,
       refused(UNKNOWN_UPDATE, "assignHandler"))
update(C, "complaint-open", "AssignHandler", "name-pascal", "update name in PascalCase", H,
       refused(UNKNOWN_UPDATE, "AssignHandler"))
update(C, "complaint-open", "assign-handler", "name-kebab", "update name with a dash", H, refused(UNKNOWN_UPDATE, "assign-handler"))
update(C, "complaint-open", "assign_handler", "camelCase-fields", "argument fields in camelCase",
       {"handlerId": "h.li", "actorId": "desk.wang"}, refused(VE, "handler"))
update(C, "complaint-open", "assign_handler", "handler-chinese-name", "a person's name for the staff id",
       {"handler": "李工", "actor": "desk.wang"}, refused(VE, "handler"))
update(C, "complaint-open", "assign_handler", "handler-null", "handler null", {"handler": None, "actor": "desk.wang"},
       refused(VE, "handler"))
update(C, "complaint-open", "assign_handler", "argument-null", "--input null", None, refused(VE, "object"))
update(C, "complaint-open", "assign_handler", "argument-string", "the handler id alone", "h.li", refused(VE, "object"))
update(C, "complaint-open", "assign_handler", "no-argument", "no --input", None, refused(VE, "0 values"), inputs=None)
update(C, "complaint-open", "assign_handler", "two-arguments", "handler and actor as two inputs", None,
       refused(VE, "2 values"), inputs=[{"handler": "h.li"}, {"actor": "desk.wang"}])
update(C, "complaint-open", "assign_handler", "extra-field", "an extra note field", {**H, "note": "急"},
       refused(VE, "note"))
update(C, "complaint-open", "assign_handler", "actor-number", "actor as an employee number", {**H, "actor": 42},
       refused(VE, "actor"))
update(C, "complaint-open", "assign_handler", "start-input-as-argument", "the case's start input sent as the argument",
       complaint("HT001"), refused(VE, "handler"))
update(C, "complaint-open", "send_reply", "reply-before-assign", "a reply before anyone is assigned",
       {"reply": "已处理", "channel": "sms", "actor": "h.li"}, refused(IA, "assigned handler"))
update(C, "complaint-open", "record_findings", "findings-before-assign", "findings before anyone is assigned",
       {"findings": "光衰", "actor": "h.li"}, refused(IA, "assigned handler"))
update(C, "complaint-open", "confirm", "confirm-before-reply", "the customer confirms before any reply",
       {"satisfied": True}, refused(IA, "no reply"))
update(C, "complaint-open", "confirm", "satisfied-string", "satisfied \"true\"", {"satisfied": "true"},
       refused(VE, "satisfied"))
update(C, "complaint-open", "confirm", "satisfied-one", "satisfied 1", {"satisfied": 1}, refused(VE, "satisfied"))
update(C, "complaint-open", "confirm", "satisfied-chinese", "satisfied 是", {"satisfied": "是"}, refused(VE, "satisfied"))
update(C, "complaint-open", "submit_closure", "closure-before-reply", "closure report before the reply",
       {"cause_analysis": "老化", "improvement_measures": "巡检", "actor": "h.li"}, refused(IA, "closure report"))
update(C, "complaint-open", "submit_closure", "closure-camelCase", "closure fields in camelCase",
       {"causeAnalysis": "老化", "improvementMeasures": "巡检", "actor": "h.li"}, refused(VE, "cause_analysis"))
update(C, "complaint-open", "send_reply", "reply-channel-upper", "reply channel SMS",
       {"reply": "已处理", "channel": "SMS", "actor": "h.li"}, refused(VE, "channel"))
update(C, "complaint-open", "send_reply", "reply-channel-hotline", "a reply by hotline (not written)",
       {"reply": "已处理", "channel": "hotline", "actor": "h.li"}, refused(VE, "channel"))
update(C, "complaint-open", "assign_handler", "no-codec", "clear text to an encrypted worker", H,
       refused(NOT_ENCRYPTED, None), codec=False)
update(C, "complaint-missing", "assign_handler", "wrong-workflow-id", "workflow id typed in lower case", H,
       cli("not found"))
update(C, "complaint-failed", "assign_handler", "case-already-failed", "an update to a case refused at start", H,
       cli("already completed"))
update(C, "own", "assign_handler", "valid", "a valid assignment (accepted)", H, accepted(state_is("inProgress")))

update(F, "fault-open", "resolve", "resolve-before-dispatch", "resolved before a technician is assigned",
       {"cause_code": "line_damage", "fix": "更换光缆", "actor": "t.zhao"}, refused(IA, "no technician"))
update(F, "fault-open", "confirm", "confirm-before-repair", "confirmed before the repair", {"comment": "好了"},
       refused(IA, "no repair awaiting"))
update(F, "fault-open", "reopen", "reopen-open-ticket", "reopen a ticket not yet repaired", {"reason": "又断了"},
       refused(IA, "resolved or closed"))
update(F, "fault-open", "resume", "resume-not-held", "resume a ticket that is not held",
       {"reason": "回家了", "actor": "t.zhao"}, refused(IA, "not held"))
update(F, "fault-open", "resolve", "cause-upper", "cause code LINE_DAMAGE",
       {"cause_code": "LINE_DAMAGE", "fix": "更换光缆", "actor": "t.zhao"}, refused(VE, "cause_code"))
update(F, "fault-open", "resolve", "cause-chinese", "cause code 线路故障",
       {"cause_code": "线路故障", "fix": "更换光缆", "actor": "t.zhao"}, refused(VE, "cause_code"))
update(F, "fault-open", "hold", "reason-201", "a 201-character hold reason", {"reason": "等" * 201, "actor": "t.zhao"},
       refused(VE, "reason"))
update(F, "fault-open", "hold", "reason-empty", "an empty hold reason", {"reason": "", "actor": "t.zhao"},
       refused(VE, "reason"))
update(F, "fault-open", "assign_technician", "technician-list", "two technicians in a list",
       {"technician": ["t.zhao", "t.qian"], "actor": "noc.wu"}, refused(VE, "technician"))
update(F, "fault-open", "assign_technician", "technician-null", "technician null",
       {"technician": None, "actor": "noc.wu"}, refused(VE, "technician"))
update(F, "fault-open", "cancel", "reason-nul", "a NUL in the reason", {"reason": "误报\u0000"}, refused(VE, "reason"))
update(F, "fault-open", "cancel", "reason-bidi", "a bidi isolate in the reason", {"reason": "误报\u2066x\u2069"},
       refused(VE, "reason"))
update(F, "own", "hold", "hold-emoji", "a hold reason with an emoji (accepted)", {"reason": "用户不在家🏠", "actor": "t.zhao"},
       accepted(state_is("held")))
update(F, "own", "cancel", "cancel-multiline", "a cancel reason with a tab and newlines (accepted)",
       {"reason": "误报\n用户\t已自行恢复"}, accepted(state_is("cancelled")))

update(A, "application-open", "approve", "approve-extra-field", "approve with approved: true",
       {"actor": "r.zhao", "approved": True}, refused(VE, "approved"))
update(A, "application-open", "approve", "approve-empty", "approve with {}", {}, refused(VE, "actor"))
update(A, "application-open", "approve", "actor-full-width", "staff id in full-width letters", {"actor": "ｒ.zhao"},
       refused(VE, "actor"))
update(A, "application-open", "reject", "reject-no-reason", "reject without a reason", {"actor": "r.zhao"},
       refused(VE, "reason"))
update(A, "application-open", "request_supplement", "materials-string", "one material kind as a string",
       {"materials": "address_proof", "actor": "r.zhao"}, refused(VE, "materials"))
update(A, "application-open", "request_supplement", "materials-empty", "an empty list",
       {"materials": [], "actor": "r.zhao"}, refused(VE, "materials"))
update(A, "application-open", "request_supplement", "materials-chinese", "material kind 地址证明",
       {"materials": ["地址证明"], "actor": "r.zhao"}, refused(VE, "materials.0"))
update(A, "application-open", "supply_materials", "nothing-outstanding", "materials supplied when none are awaited",
       {"materials": [{"kind": "address_proof", "document_id": "DOC-9"}]}, refused(IA, "no materials are outstanding"))
update(A, "application-open", "Approve", "name-capitalised", "update name Approve", {"actor": "r.zhao"},
       refused(UNKNOWN_UPDATE, "Approve"))
update(A, "application-pending", "approve", "approve-materials-missing", "approved while materials are outstanding",
       {"actor": "r.zhao"}, refused(IA, "materials are outstanding"))
update(A, "application-pending", "supply_materials", "supply-wrong-kind", "supplies a kind that is not awaited",
       {"materials": [{"kind": "business_license", "document_id": "DOC-8"}]}, refused(IA, "none of these materials"))
update(A, "own", "approve", "approve-valid", "a valid approval (accepted)", {"actor": "r.zhao"},
       accepted(state_is("inProgress", "completed")))
update(A, "own", "cancel", "cancel-emoji", "the customer cancels, with an emoji (accepted)", {"reason": "不办了🙏"},
       accepted(state_is("cancelled")))

update(T, "termination-ended", "record_equipment_return", "serials-string", "one serial as a string",
       {"serials": "ONT-1", "actor": "store.qian"}, refused(VE, "serials"))
update(T, "termination-ended", "record_equipment_return", "serials-empty", "no serials",
       {"serials": [], "actor": "store.qian"}, refused(VE, "serials"))
update(T, "termination-ended", "record_equipment_return", "serial-unknown", "a serial of another device",
       {"serials": ["ONT-NOPE"], "actor": "store.qian"}, refused(IA, "not a device"))
update(T, "termination-ended", "record_equipment_return", "serials-11", "11 serials",
       {"serials": [f"ONT-{n}" for n in range(11)], "actor": "store.qian"}, refused(VE, "serials"))
update(T, "termination-ended", "cancel", "cancel-after-termination", "cancel once terminated", {"reason": "不退了"},
       refused(IA, "cancel"))
update(T, "termination-ended", "reclaim_number", "reclaim-broadband", "reclaim a line that is not a number",
       {"number": "13900000901", "identity": dict(TERMINATION_ID)}, refused(IA, "not one of the lines"))
update(T, "termination-ended", "reclaim_number", "reclaim-bad-id", "reclaim with a mistyped ID",
       {"number": "13900000901", "identity": {**TERMINATION_ID, "id_number": wrong_check_digit(X_ID)}},
       refused(VE, "identity.id_number", secret=wrong_check_digit(X_ID)))
update(T, "termination-ended", "reclaim_number", "reclaim-number-spaces", "the number written 139 0000 0901",
       {"number": "139 0000 0901", "identity": dict(TERMINATION_ID)}, refused(VE, "number"))
update(T, "termination-due", "record_equipment_return", "return-before-termination", "equipment returned while payment is due",
       {"serials": ["ONT-1"], "actor": "store.qian"}, refused(IA, "terminated"))
update(T, "termination-due", "cancel", "cancel-empty-reason", "cancel with an empty reason", {"reason": ""},
       refused(VE, "reason"))
update(T, "own-ended", "record_equipment_return", "return-valid", "the modem handed back (accepted)",
       {"serials": ["OWN"], "actor": "store.qian"}, accepted())
update(T, "own", "cancel", "cancel-valid", "the customer withdraws while payment is due (accepted)",
       {"reason": "不退了"}, accepted(state_is("cancelled")))

# --- signals -----------------------------------------------------------------------------------
P = {"reference": "PAY-1", "amount_fen": 3000}
for n, (slug, story, argument, expect, kw) in enumerate([
        ("amount-string", "amount_fen \"3000\"", {**P, "amount_fen": "3000"}, refused(VE, "amount_fen"), {}),
        ("amount-fraction", "amount_fen 30.5", {**P, "amount_fen": 30.5}, refused(VE, "amount_fen"), {}),
        ("amount-float", "amount_fen 3000.0 (a double)", {**P, "amount_fen": 3000.0}, refused(VE, "amount_fen"), {}),
        ("amount-negative", "a refund sent as a negative payment", {**P, "amount_fen": -3000}, refused(VE, "amount_fen"), {}),
        ("amount-null", "JSON.stringify of NaN: amount_fen null", {**P, "amount_fen": None}, refused(VE, "amount_fen"), {}),
        ("amount-zero", "amount 0", {**P, "amount_fen": 0}, refused(VE, "amount_fen"), {}),
        ("amount-1e25", "amount 10^25", {**P, "amount_fen": 10 ** 25}, refused(VE, "amount_fen"), {}),
        ("amount-over-max", "amount 100000001 fen", {**P, "amount_fen": 100_000_001}, refused(VE, "amount_fen"), {}),
        ("amount-yuan", "amount in yuan under 'amount'", {"reference": "PAY-1", "amount": "30.00"},
         refused(VE, "amount_fen"), {}),
        ("amount-camelCase", "amountFen", {"reference": "PAY-1", "amountFen": 3000}, refused(VE, "amount_fen"), {}),
        ("reference-space", "reference PAY 1", {**P, "reference": "PAY 1"}, refused(VE, "reference"), {}),
        ("reference-missing", "no reference", {"amount_fen": 3000}, refused(VE, "reference"), {}),
        ("argument-null", "--input null", None, refused(VE, "object"), {}),
        ("no-argument", "no --input", None, refused(VE, "0 values"), {"inputs": None}),
        ("two-arguments", "reference and amount as two inputs", None, refused(VE, "2 values"),
         {"inputs": [{"reference": "PAY-1"}, {"amount_fen": 3000}]}),
        ("no-codec", "clear text to an encrypted worker", P, refused(NOT_ENCRYPTED, "clear-text"), {"codec": False}),
]):
    signal(T, "due-shared", "payment_received", slug, story, argument, expect, group=f"pay-{n % 4}", **kw)
signal(T, "own", "payment_received", "valid", "a valid payment (accepted: the obligations are met)", P, accepted())
signal(T, "own", "paymentReceived", "name-camelCase", "signal name paymentReceived: must not be lost silently", P,
       refused(UNKNOWN_SIGNAL, "paymentReceived"))
PC = {"order_id": "ORD-X", "activated_at": moment(timedelta(minutes=-5))}
for n, (slug, story, argument, expect, kw) in enumerate([
        ("activated-epoch", "activated_at as Unix seconds", {**PC, "activated_at": EPOCH}, refused(VE, "activated_at"), {}),
        ("activated-naive", "activated_at without offset",
         {**PC, "activated_at": moment(timedelta(minutes=-5), fmt="%Y-%m-%dT%H:%M:%S")}, refused(VE, "activated_at"), {}),
        ("delay-string", "customer_caused_delay \"false\"", {**PC, "customer_caused_delay": "false"},
         refused(VE, "customer_caused_delay"), {}),
        ("order-missing", "no order id", {"activated_at": PC["activated_at"]}, refused(VE, "order_id"), {}),
        ("extra-field", "an extra line_number field", {**PC, "line_number": "19900000001"}, refused(VE, "line_number"), {}),
        ("no-codec", "clear text to an encrypted worker", PC, refused(NOT_ENCRYPTED, "clear-text"), {"codec": False}),
]):
    signal(A, "application-signals", "provisioning_completed", slug, story, argument, expect, group=f"oss-{n % 2}", **kw)
signal(A, "own", "provisioning_completed", "unexpected-order", "a valid report for an order not placed (ignored)",
       PC, accepted())
signal(T, "termination-missing", "payment_received", "wrong-workflow-id", "a payment for a request id that does not exist",
       P, cli("not found"))
signal(C, "complaint-failed", "payment_received", "case-already-failed", "a signal to a case refused at start", P,
       cli("already completed"))

# --- queries -----------------------------------------------------------------------------------
ENTRIES.append(Entry(id=f"{C}:query:name-capitalised", story="query Status instead of status", kind="query", process=C,
                     expect=refused(None, "has no query 'Status'; its queries: status"),  # queries carry no type
                     target="complaint-open", name="Status", case_id=_case_id()))


# ================================================================================================
# Running the corpus
# ================================================================================================

@dataclass
class Observation:
    entry: Entry
    outcome: str = "?"
    error: str | None = None
    retryable: bool | None = None
    message: str = ""
    cli_rc: int | None = None
    cli_err: str = ""
    status: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    took: float | None = None
    """A refused start: seconds from its start to its failure, by the server's clock."""

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def report(self) -> str:
        e = self.entry
        if e.seals:
            shown = "(raw payloads from a Python client)"
        elif e.files:
            shown = f"(--input-file: {', '.join(e.files)})"
        elif e.inputs is None:
            shown = "(no --input)"
        else:
            shown = " ".join(f"--input {as_text(v)[:150]}" for v in e.inputs)
        return (f"{e.id}: {e.story}\n  sent: {e.kind} {e.workflow_type or e.name or ''} "
                f"{'' if e.codec else '(no codec) '}{shown[:300]}\n"
                f"  expected: {e.expect.outcome} {e.expect.error or ''} {e.expect.fragment or ''}\n"
                f"  observed: {self.outcome} {self.error or ''} retryable={self.retryable} message={self.message[:300]!r}"
                + (f"\n  cli: rc={self.cli_rc} {self.cli_err.strip()[:300]!r}" if self.cli_rc is not None else "")
                + "".join(f"\n  PROBLEM: {p}" for p in self.problems)
                + "".join(f"\n  note: {n}" for n in self.notes))


@dataclass
class Target:
    name: str
    process: str
    case_id: str
    data: dict[str, Any]
    waits_in: str | Sequence[str]
    balance_fen: int = 0
    valid: bool = True

    @property
    def workflow_id(self) -> str:
        return BASES[self.process][0] + self.case_id


def _targets() -> dict[str, Target]:
    targets: dict[str, Target] = {}

    def add(name: str, process: str, waits_in, *, balance: int = 0, mutate: Mutation | None = None,
            valid: bool = True, case_id: str | None = None) -> None:
        case_id = case_id or f"HT{len(targets) + 1:03d}"
        data = BASES[process][2](case_id)
        if mutate:
            data = mutate(data)
        targets[name] = Target(name, process, case_id, data, waits_in, balance, valid)

    add("complaint-open", C, "acknowledged")
    add("fault-open", F, "pending")
    add("application-open", A, "inProgress")
    add("application-pending", A, "pending", mutate=put("materials", MATERIALS[:2]))
    add("termination-ended", T, "terminated")
    add("termination-due", T, "active", balance=3000)
    add("complaint-failed", C, None, mutate=put("channel", "Hotline"), valid=False)
    for entry in ENTRIES:
        if entry.target == "own" or entry.target == "own-ended":
            own = f"own:{entry.id}"
            if entry.process == T:
                add(own, T, "terminated" if entry.target == "own-ended" else "active",
                    balance=0 if entry.target == "own-ended" else 3000)
            elif entry.process == A:
                add(own, A, "inProgress")
            else:
                add(own, entry.process, {C: "acknowledged", F: "pending"}[entry.process])
            entry.target = own
        elif entry.target == "due-shared":
            entry.target = f"pay:{entry.group}"
            if entry.target not in targets:
                add(entry.target, T, "active", balance=3000)
        elif entry.target == "application-signals":
            entry.target = f"oss:{entry.group}"
            if entry.target not in targets:
                add(entry.target, A, "inProgress")
    return targets


TARGETS = _targets()
MISSING = {"complaint-missing": "complaint-ht001", "termination-missing": "termination-NOPE-404"}


def seed_outside_world(engine: sa.Engine) -> None:
    """Every termination's account (its broadband line and modem), before the worker starts."""
    from adapters.seed import seed_subscriber
    from edge.id_hash import development_keys
    from models.identity import IdentityDocument
    identity = IdentityDocument.model_validate(TERMINATION_ID)
    accounts = [(t.case_id, t.balance_fen) for t in TARGETS.values() if t.process == T]
    accounts += [(e.case_id, 0) for e in ENTRIES if e.kind == "start" and e.process == T]
    for case_id, balance in accounts:
        seed_subscriber(engine, f"ACCT-{case_id}", f"HC-{case_id}", identity, [("broadband", f"BB-{case_id}")],
                        keys=development_keys(), balance_fen=balance, equipment=[(f"ONT-{case_id}", "optical_modem")])


# --- payloads for the raw client ---------------------------------------------------------------

class ReadOnlyCodec(PayloadCodec):
    """A client that sends payloads exactly as built (RawValue, no encryption on the way out) and
    reads answers through the key ring, like the codec server."""

    def __init__(self, keys: KeyRing) -> None:
        self.reader = EncryptionCodec(keys, strict=False)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            try:
                out.append(self.reader.open(payload) if payload.metadata.get("encoding") == ENCODING else payload)
            except UndecryptablePayload:
                out.append(payload)
        return out


async def sealed(seal: Seal, keys: KeyRing) -> Payload:
    clear = Payload(metadata={"encoding": seal.encoding}, data=seal.data or b"")
    if seal.key == "none":
        return clear
    ring = {"ours": keys,
            "other-id": KeyRing({"partner-2": os.urandom(32)}),
            "same-id": KeyRing({keys.current: os.urandom(32)})}[seal.key]
    [payload] = await EncryptionCodec(ring).encode([clear])
    if seal.tamper == "truncate-half":
        payload.data = payload.data[: len(payload.data) // 2]
    elif seal.tamper == "truncate-10":
        payload.data = payload.data[:10]
    elif seal.tamper == "flip":
        data = bytearray(payload.data)
        data[len(data) // 2] ^= 0x01
        payload.data = bytes(data)
    elif seal.tamper == "no-key-id":
        del payload.metadata[KEY_ID]
    return payload


# --- the campaign ------------------------------------------------------------------------------

UPDATE_ERROR = re.compile(r"(?s)unable to update workflow: (.*) \(type: ([^,]+), retryable: (true|false)\)\s*$")


class Context:
    def __init__(self, stack: Stack, client: Client, raw: Client, engine: sa.Engine, files: Path) -> None:
        self.stack, self.client, self.raw, self.engine, self.files = stack, client, raw, engine, files
        self.cli_slots = asyncio.Semaphore(4)
        self.cases_in_flight = asyncio.Semaphore(12)
        """Starts sent and not yet judged: the worker's backlog stays short, so a refused case fails
        in its first seconds and an update or signal to a target is not queued behind a hundred starts."""
        self.keys = stack.keys()
        self.run_ids: dict[str, str] = {}
        self.before: dict[str, Any] = {}

    async def temporal(self, *args: str, codec: bool = True, timeout: float = 60):
        async with self.cli_slots:
            return await asyncio.to_thread(self.stack.temporal, *args, codec=codec, timeout=timeout)

    async def db(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(function, *args)

    def input_args(self, entry: Entry) -> list[str]:
        args: list[str] = []
        for value in entry.inputs or []:
            args += ["--input", as_text(value)]
        for name in entry.files or []:
            path = self.files / f"{entry.case_id}.json"
            description = {"big": BIG, "huge": HUGE, "noise": NOISE}[name]
            path.write_text(json.dumps({**complaint(entry.case_id), "description": description}, ensure_ascii=False),
                            encoding="utf-8")
            args += ["--input-file", str(path)]
        return args

    # --- reading a case from outside ---------------------------------------------------------

    async def history_problems(self, workflow_id: str) -> list[str]:
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        problems = []
        failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        if failed:
            problems.append(f"{len(failed)} WorkflowTaskFailed event(s) in the history of {workflow_id}")
        timed_out = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
        if len(timed_out) > 1:
            problems.append(f"{len(timed_out)} WorkflowTaskTimedOut events in the history of {workflow_id}")
        return problems

    async def pending_problems(self, workflow_id: str) -> list[str]:
        described = await self.client.get_workflow_handle(workflow_id).describe()
        return [f"pending activity {a.activity_type.name} of {workflow_id} at attempt {a.attempt}: "
                f"{a.last_failure.message[:200] if a.HasField('last_failure') else ''}"
                for a in described.raw_description.pending_activities if a.attempt > 1]

    async def status(self, workflow_id: str) -> dict[str, Any] | None:
        try:
            return await self.client.get_workflow_handle(workflow_id).query("status")
        except Exception:
            return None

    async def events(self, workflow_id: str) -> list[dict[str, Any]]:
        rows = (await self.db(self.stack.records, workflow_id, self.engine)).get("caseevent", [])
        return sorted(rows, key=lambda r: r["id"])

    async def wait_opened(self, workflow_id: str, waits_in, timeout: float = 40) -> dict[str, Any]:
        states = {waits_in} if isinstance(waits_in, str) else set(waits_in)

        async def opened():
            status = await self.status(workflow_id)
            return status if status and status.get("history") and status.get("state") in states else None
        return await self.stack.wait_async(opened, timeout, f"{workflow_id} to settle in {states}", interval=0.3)

    async def wait_closed(self, workflow_id: str, timeout: float = 15) -> Any:
        handle = self.client.get_workflow_handle(workflow_id)

        async def closed():
            described = await handle.describe()
            return described if described.status != WorkflowExecutionStatus.RUNNING else None
        return await self.stack.wait_async(closed, timeout, f"{workflow_id} to close", interval=0.25)

    async def wait_settled(self, workflow_id: str, timeout: float = 30) -> tuple[Any, dict[str, Any] | None]:
        """Until the case has closed (described, None) or opened: its first record is in and its
        status has a history (described, status)."""
        handle = self.client.get_workflow_handle(workflow_id)

        async def settled():
            described = await handle.describe()
            if described.status != WorkflowExecutionStatus.RUNNING:
                return described, None
            if described.raw_description.workflow_execution_info.history_length > 4:  # a task completed
                status = await self.status(workflow_id)
                if status and status.get("history"):
                    return described, status
            return None
        return await self.stack.wait_async(settled, timeout, f"{workflow_id} to close or open", interval=0.25)

    async def failure(self, event) -> tuple[str | None, bool | None, str]:
        """Error type, retryable and message of a WorkflowExecutionFailed event, the message decoded
        by the codec server."""
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            return None, None, f"(closed with {EventType.Name(event.event_type)})"
        failure = event.workflow_execution_failed_event_attributes.failure
        info = failure.application_failure_info if failure.HasField("application_failure_info") else None
        message = failure.message
        if failure.HasField("encoded_attributes"):
            [clear] = await self.db(self.stack.decode, [failure.encoded_attributes])
            message = json.loads(clear.data).get("message", "")
        return (info.type, not info.non_retryable, message) if info else (None, None, message)

    async def failure_through_codec(self, workflow_id: str) -> tuple[str | None, bool | None, str]:
        """The case's failure as `temporal workflow result` shows it through the codec server."""
        done = await self.temporal("workflow", "result", "--workflow-id", workflow_id, "-o", "json", timeout=30)
        try:
            result = json.loads(done.stdout)
        except json.JSONDecodeError:
            return None, None, f"(no JSON from workflow result: {done.stderr.strip()[:200]})"
        failure = result.get("closeEvent", {}).get("workflowExecutionFailedEventAttributes", {}).get("failure", {})
        info = failure.get("applicationFailureInfo", {})
        attributes = failure.get("encodedAttributes")
        message = attributes["message"] if isinstance(attributes, dict) and "message" in attributes \
            else failure.get("message", "")
        return info.get("type"), (not info.get("nonRetryable", False)) if info else None, message


async def start_target(ctx: Context, target: Target) -> None:
    done = await ctx.temporal("workflow", "start", "--type", target.process, "--task-queue", ctx.stack.task_queue,
                              "--workflow-id", target.workflow_id, "--id-reuse-policy", "RejectDuplicate",
                              "--fail-existing", "--input", as_text(target.data))
    assert done.returncode == 0, f"target {target.name}: {done.stderr}"
    ctx.run_ids[target.name] = (await ctx.client.get_workflow_handle(target.workflow_id).describe()).run_id
    if not target.valid:
        await ctx.wait_closed(target.workflow_id)
        return
    await ctx.wait_opened(target.workflow_id, target.waits_in, timeout=60)
    ctx.before[target.name] = (await ctx.status(target.workflow_id), len(await ctx.events(target.workflow_id)))


async def run_start(ctx: Context, entry: Entry, obs: Observation) -> None:
    async with ctx.cases_in_flight:
        await _run_start(ctx, entry, obs)


async def _run_start(ctx: Context, entry: Entry, obs: Observation) -> None:
    if entry.workflow_id.startswith("COLLIDE:"):
        await run_colliding_start(ctx, entry, obs)
        return
    wid = entry.workflow_id
    if entry.seals:
        payloads = [RawValue(await sealed(s, ctx.keys)) for s in entry.seals(BASES[entry.process][2](entry.case_id))]
        try:
            await ctx.raw.start_workflow(entry.workflow_type, args=payloads, id=wid, task_queue=ctx.stack.task_queue,
                                         id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                                         id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
            obs.cli_rc = 0
        except RPCError as error:
            obs.cli_rc, obs.cli_err = 1, str(error)
    else:
        done = await ctx.temporal("workflow", "start", "--type", entry.workflow_type, "--task-queue",
                                  ctx.stack.task_queue, "--workflow-id", wid, "--id-reuse-policy", "RejectDuplicate",
                                  "--fail-existing", *ctx.input_args(entry), codec=entry.codec)
        obs.cli_rc, obs.cli_err = done.returncode, done.stderr
    if obs.cli_rc != 0:
        obs.outcome, obs.message = "cli", obs.cli_err
        try:
            await ctx.client.get_workflow_handle(wid).describe()
            obs.problem(f"the CLI refused, yet {wid} exists")
        except RPCError:
            pass
        await check_nothing_written(ctx, entry, obs)
        return
    try:
        described, status = await ctx.wait_settled(wid, timeout=30)
    except TimeoutError:
        described, status = None, None
    obs.problems += await ctx.history_problems(wid)
    if described is None or described.status != WorkflowExecutionStatus.FAILED:
        # Running (or completed): accepted, or stuck.
        status = status or await ctx.status(wid)
        obs.status = status
        if status and status.get("history"):
            obs.outcome = "accepted"
        elif described is None:
            obs.outcome = "stuck"
            obs.problem(f"{wid} neither failed nor opened within 30 s")
        else:
            obs.outcome = f"closed {described.status.name}"
        if obs.outcome == "accepted" and entry.expect.settle:
            async def settled():
                status = await ctx.status(wid)
                return status if status and status.get("state") in entry.expect.settle else None
            try:
                obs.status = await ctx.stack.wait_async(settled, 20, f"{wid} to settle", interval=0.3)
            except TimeoutError:
                obs.status = await ctx.status(wid)
        if obs.outcome == "accepted":
            obs.problems += await ctx.pending_problems(wid)
        return
    obs.outcome = "refused"
    history = await ctx.client.get_workflow_handle(wid).fetch_history()
    took = (history.events[-1].event_time.ToDatetime() - history.events[0].event_time.ToDatetime()).total_seconds()
    obs.took = took
    if took > 10:
        obs.problem(f"failed {took:.1f} s after it started (more than 10 s)")
    obs.error, obs.retryable, obs.message = await ctx.failure(history.events[-1])
    await check_nothing_written(ctx, entry, obs)


async def run_colliding_start(ctx: Context, entry: Entry, obs: Observation) -> None:
    """A start with the id of a case that exists: refused by the server, the case untouched."""
    target = TARGETS[entry.workflow_id.removeprefix("COLLIDE:")]
    done = await ctx.temporal("workflow", "start", "--type", target.process, "--task-queue", ctx.stack.task_queue,
                              "--workflow-id", target.workflow_id, "--id-reuse-policy", "RejectDuplicate",
                              "--fail-existing", "--input", as_text(target.data))
    obs.cli_rc, obs.cli_err = done.returncode, done.stderr
    obs.outcome = "cli" if done.returncode else "accepted"
    obs.message = done.stderr
    described = await ctx.client.get_workflow_handle(target.workflow_id).describe()
    if described.run_id != ctx.run_ids[target.name]:
        obs.problem(f"{target.workflow_id} has a new run {described.run_id}")


async def check_nothing_written(ctx: Context, entry: Entry, obs: Observation) -> None:
    rows = await ctx.db(ctx.stack.records, entry.workflow_id, ctx.engine)
    if rows:
        obs.problem(f"records written for a refused start: {', '.join(f'{t} ({len(r)})' for t, r in rows.items())}")
    if await ctx.db(ctx.stack.contact, entry.customer_ref, ctx.engine):
        obs.problem(f"customercontact row written for {entry.customer_ref}")


async def run_update(ctx: Context, entry: Entry, obs: Observation) -> None:
    target = TARGETS.get(entry.target)
    wid = target.workflow_id if target else MISSING.get(entry.target, entry.target)
    done = await ctx.temporal("workflow", "update", "execute", "--workflow-id", wid, "--name", entry.name,
                              *ctx.input_args(entry), "-o", "json", codec=entry.codec)
    obs.cli_rc, obs.cli_err = done.returncode, done.stderr
    if done.returncode == 0:
        obs.outcome = "accepted"
        try:
            obs.status = json.loads(done.stdout)["result"]
        except (json.JSONDecodeError, KeyError, TypeError):
            obs.problem(f"update output is not {{'result': status}}: {done.stdout[:200]!r}")
        if target:
            obs.problems += await ctx.history_problems(wid)
            obs.problems += await ctx.pending_problems(wid)
        return
    parsed = UPDATE_ERROR.search(done.stderr)
    if parsed:
        obs.outcome = "refused"
        obs.message, obs.error, obs.retryable = parsed[1], parsed[2], parsed[3] == "true"
    else:
        obs.outcome, obs.message = "cli", done.stderr.strip()


async def run_signal(ctx: Context, entry: Entry, obs: Observation) -> None:
    target = TARGETS.get(entry.target)
    wid = target.workflow_id if target else MISSING.get(entry.target, entry.target)
    before = {row["id"] for row in await ctx.events(wid)} if target and target.valid else set()
    done = await ctx.temporal("workflow", "signal", "--workflow-id", wid, "--name", entry.name,
                              *ctx.input_args(entry), codec=entry.codec)
    obs.cli_rc, obs.cli_err = done.returncode, done.stderr
    if done.returncode != 0:
        obs.outcome, obs.message = "cli", done.stderr.strip()
        return
    if not target or not target.valid:
        obs.outcome = "sent"
        return

    async def new_events():
        rows = [row for row in await ctx.events(wid) if row["id"] not in before]
        return rows or None
    wanted = "-payment" if entry.expect.outcome == "accepted" and entry.process == T else "signal-refused"
    try:
        rows = await ctx.stack.wait_async(new_events, 10 if entry.expect.outcome == "refused" else 6,
                                          "a case event", interval=0.25)
    except TimeoutError:
        rows = []
    refusals = [row for row in rows if row["step"].endswith("signal-refused")]
    if refusals:
        obs.outcome = "refused"
        reason = refusals[0]["reason"]
        found = re.search(r"refused \(([^)]+)\): (.*)", reason, re.S)
        obs.error, obs.message = (found[1], found[2]) if found else (None, reason)
        obs.retryable = False
    elif any(row["step"].endswith(wanted) for row in rows):
        obs.outcome = "accepted"
    else:
        obs.outcome = "accepted" if entry.expect.outcome == "accepted" and entry.process == A else "lost"
        if obs.outcome == "lost":
            obs.problem(f"no case event within 10 s: the signal left no trace on {wid}")
    obs.status = await ctx.status(wid)
    obs.problems += await ctx.history_problems(wid)
    obs.problems += await ctx.pending_problems(wid)


async def run_query(ctx: Context, entry: Entry, obs: Observation) -> None:
    wid = TARGETS[entry.target].workflow_id
    done = await ctx.temporal("workflow", "query", "--workflow-id", wid, "--name", entry.name, "-o", "json")
    obs.cli_rc, obs.cli_err = done.returncode, done.stderr
    obs.outcome = "accepted" if done.returncode == 0 else "refused"
    obs.message = done.stderr.strip()
    obs.retryable = False


RUNNERS = {"start": run_start, "update": run_update, "signal": run_signal, "query": run_query}


async def run_entry(ctx: Context, entry: Entry) -> Observation:
    obs = Observation(entry)
    began = time.monotonic()
    try:
        await RUNNERS[entry.kind](ctx, entry, obs)
    except Exception as error:  # the harness's own trouble, reported with the entry
        obs.outcome = "error"
        obs.problem(f"{type(error).__name__}: {error}")
    obs.seconds = time.monotonic() - began
    judge(ctx, obs)
    return obs


def judge(ctx: Context, obs: Observation) -> None:
    expect = obs.entry.expect
    if obs.outcome == "error":
        return
    if expect.outcome == "cli":
        if obs.outcome != "cli":
            obs.problem(f"expected the CLI to refuse, observed {obs.outcome}")
        elif expect.fragment and expect.fragment.lower() not in obs.message.lower():
            obs.problem(f"the CLI's message does not contain {expect.fragment!r}")
        return
    if expect.outcome != obs.outcome:
        obs.problem(f"expected {expect.outcome}, observed {obs.outcome}")
        return
    if expect.outcome == "refused":
        if expect.error and obs.error != expect.error:
            obs.problem(f"error type {obs.error!r}, expected {expect.error!r}")
        if obs.retryable is not False:
            obs.problem(f"retryable is {obs.retryable}, expected false")
        if expect.fragment and expect.fragment.lower() not in obs.message.lower():
            obs.problem(f"the message does not contain {expect.fragment!r}")
        if not obs.message or (obs.message == "Encoded failure" and obs.entry.codec):
            obs.problem("the message cannot be read through the codec")
        if expect.secret and expect.secret in obs.message:
            obs.problem("the message quotes the value (personal data)")
    if expect.outcome == "accepted" and expect.check is not None:
        expect.check(obs, ctx)


async def campaign_async(stack: Stack, files: Path) -> tuple[list[Observation], dict[str, Any]]:
    keys = stack.keys()
    client = await stack.client()
    raw = await stack.client(DataConverter(payload_codec=ReadOnlyCodec(keys),
                                           failure_converter_class=DefaultFailureConverterWithEncodedAttributes))
    engine = stack.engine()
    ctx = Context(stack, client, raw, engine, files)
    info: dict[str, Any] = {}
    try:
        began = time.monotonic()
        await asyncio.gather(*(start_target(ctx, t) for t in TARGETS.values()))
        info["targets_seconds"] = time.monotonic() - began
        for entry in ENTRIES:  # own targets of accepted equipment returns: the serial of that account
            if entry.kind == "update" and entry.inputs and isinstance(entry.inputs[0], dict) \
                    and entry.inputs[0].get("serials") == ["OWN"]:
                entry.inputs = [{**entry.inputs[0], "serials": [f"ONT-{TARGETS[entry.target].case_id}"]}]

        groups: dict[str, list[Entry]] = {}
        for entry in ENTRIES:
            groups.setdefault(entry.group or entry.id, []).append(entry)

        async def run_group(entries: list[Entry]) -> list[Observation]:
            return [await run_entry(ctx, e) for e in entries]

        began = time.monotonic()
        observations = [o for group in await asyncio.gather(*(run_group(g) for g in groups.values())) for o in group]
        info["corpus_seconds"] = time.monotonic() - began

        # The shared targets: refused updates and signals changed nothing, nothing is stuck.
        shared = {}
        for name in ("complaint-open", "fault-open", "application-open", "application-pending",
                     "termination-ended", "termination-due"):
            target = TARGETS[name]
            status, events = ctx.before[name]
            after, after_events = await ctx.status(target.workflow_id), len(await ctx.events(target.workflow_id))
            problems = await ctx.history_problems(target.workflow_id) + await ctx.pending_problems(target.workflow_id)
            if after is None or after["state"] != status["state"] or after["history"] != status["history"]:
                problems.append(f"state or history changed: {status and status['state']} -> {after and after['state']}")
            if after_events != events:
                problems.append(f"{after_events - events} case event(s) written by refused updates")
            shared[name] = problems
        info["shared"] = shared
        return observations, info
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def campaign(stack: Stack, tmp_path_factory) -> tuple[list[Observation], dict[str, Any]]:
    began, cpu_before, own_before = time.monotonic(), stack.cpu_seconds(), _own_cpu()
    observations, info = asyncio.run(campaign_async(stack, tmp_path_factory.mktemp("inputs")))
    info["seconds"] = time.monotonic() - began
    info["cpu"] = {name: used - cpu_before.get(name, 0) for name, used in stack.cpu_seconds().items()}
    info["cpu"]["test+cli"] = _own_cpu() - own_before
    (stack.workdir / "hostile-corpus.txt").write_text("\n\n".join(o.report() for o in observations), encoding="utf-8")
    return observations, info


def _own_cpu() -> float:
    """CPU time of this test process and its finished children (the CLI calls)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _by_id(campaign) -> dict[str, Observation]:
    return {o.entry.id: o for o in campaign[0]}


def test_the_corpus_is_large_and_covers_every_process():
    kinds = Counter((e.process, e.kind) for e in ENTRIES)
    assert len(ENTRIES) >= 100
    assert len({e.id for e in ENTRIES}) == len(ENTRIES), "entry ids must be unique"
    for process in BASES:
        assert kinds[(process, "start")] >= 5, process
        assert kinds[(process, "update")] >= 5, process
    assert kinds[(T, "signal")] >= 5 and kinds[(A, "signal")] >= 5


@pytest.mark.parametrize("entry_id", [e.id for e in ENTRIES])
def test_entry(campaign, entry_id):
    obs = _by_id(campaign)[entry_id]
    assert not obs.problems, obs.report()


def test_refused_updates_and_signals_left_the_shared_cases_unchanged(campaign):
    shared = campaign[1]["shared"]
    assert not any(shared.values()), shared


def test_without_the_codec_a_refusal_is_readable_and_quotes_no_value(stack, campaign):
    """A refusal's message names the field, never the value, so it is stored in clear: a client
    without the codec reads it too. Its details (the problem list) go through the codec."""
    entry = next(e for e in ENTRIES if e.id == f"{C}:event_date-epoch-seconds")
    done = stack.temporal("workflow", "result", "--workflow-id", entry.workflow_id, "-o", "json", codec=False)
    failure = json.loads(done.stdout)["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"]
    assert "event_date" in failure["message"] and "encodedAttributes" not in failure
    assert failure["applicationFailureInfo"]["type"] == VE and failure["applicationFailureInfo"]["nonRetryable"]
    assert str(EPOCH) not in failure["message"]


@pytest.mark.parametrize("entry_id", [f"{C}:event_date-epoch-seconds", f"{F}:reported_at-future", f"{A}:no-codec",
                                      f"{C}:raw:truncated-half", f"{C}:type-camelCase"])
def test_the_cli_through_the_codec_shows_the_type_and_the_message(stack, campaign, entry_id):
    """`temporal workflow result --codec-endpoint … --codec-auth …` shows what the corpus read."""
    obs = _by_id(campaign)[entry_id]

    async def read():
        client = await stack.client()
        ctx = Context(stack, client, client, stack.engine(), stack.workdir)
        try:
            return await ctx.failure_through_codec(obs.entry.workflow_id)
        finally:
            ctx.engine.dispose()
    error, retryable, message = asyncio.run(read())
    assert (error, retryable) == (obs.entry.expect.error, False)
    assert obs.entry.expect.fragment in message and message == obs.message


@pytest.mark.parametrize("entry_id", [f"{C}:event_date-epoch-seconds", f"{T}:account-unknown", f"{A}:no-codec"])
def test_status_of_a_refused_case_answers_with_its_error(stack, campaign, entry_id):
    """README: the `status` query of a case failed for its input answers with that error."""
    obs = _by_id(campaign)[entry_id]
    done = stack.temporal("workflow", "query", "--workflow-id", obs.entry.workflow_id, "--name", "status", "-o", "json")
    assert done.returncode != 0
    assert obs.entry.expect.error in done.stderr or obs.entry.expect.fragment in done.stderr, (
        f"status of {obs.entry.workflow_id} through the codec answers {done.stderr.strip()!r}; "
        f"the case failed with {obs.error}: {obs.message}")


def test_the_worker_still_serves(stack, campaign):
    """After the corpus: a valid case of each process opens, and the worker process is alive."""
    assert stack.alive(), stack.diagnostics()

    async def opens():
        client = await stack.client()
        handles = []
        for process, (prefix, _field_name, base) in BASES.items():
            if process == T:
                continue  # a termination needs a seeded account: the corpus's accepted ones show it
            case_id = f"AFTER-{process[:3]}"
            done = await asyncio.to_thread(stack.temporal, "workflow", "start", "--type", process, "--task-queue",
                                           stack.task_queue, "--workflow-id", prefix + case_id, "--fail-existing",
                                           "--input", as_text(base(case_id)))
            assert done.returncode == 0, done.stderr
            handles.append(client.get_workflow_handle(prefix + case_id))

        async def all_open():
            for handle in handles:
                status = await handle.query("status")
                if not status["history"]:
                    return False
            return True
        await stack.wait_async(all_open, 30, "valid cases to open after the corpus", interval=0.3)
    asyncio.run(opens())


def test_zz_summary(capsys, campaign):
    observations, info = campaign
    outcomes = Counter(o.outcome for o in observations)
    refused_count = outcomes["refused"] + outcomes["cli"]
    differing = [o for o in observations if o.problems]
    line = (f"hostile corpus: tried {len(observations)}, refused {refused_count} "
            f"(by the case/update/signal {outcomes['refused']}, by the CLI or server {outcomes['cli']}), "
            f"accepted {outcomes['accepted']}, other {sum(v for k, v in outcomes.items() if k not in ('refused', 'cli', 'accepted'))}; "
            f"differing from the contract {len(differing)}; refused starts failed after at most "
            f"{max((o.took for o in observations if o.took is not None), default=0):.1f} s; targets {info['targets_seconds']:.1f} s, "
            f"corpus {info['corpus_seconds']:.1f} s, campaign {info['seconds']:.1f} s; CPU s: "
            + ", ".join(f"{name} {used:.1f}" for name, used in info["cpu"].items()))
    with capsys.disabled():
        print(f"\n{line}")
