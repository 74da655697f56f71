"""Types shared by every process contract."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

TASK_QUEUE = "telecom-service"


_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
"""Control characters (tab, newline and carriage return are text), bidi overrides that make text
display other than it reads, lone surrogates (not storable as UTF-8) and non-characters."""


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        found = _UNSAFE.search(value)
        if found:
            raise ValueError(f"contains the control or formatting character U+{ord(found[0]):04X} at position "
                             f"{found.start()}; only tab and newline may appear in text")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)


class Contract(BaseModel):
    """Base of every public model: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Inbound(Contract):
    """Base of what clients send (inputs, update arguments, signals, and the models inside them): no
    text carries characters that break storage or display (a NUL byte fails on PostgreSQL). Not on
    every model: our own results and the policy are read far more often and need no such check
    (tests/test_boundary.py checks that everything a client sends is Inbound)."""

    @field_validator("*")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


class CaseType(StrEnum):
    application = "application"
    fault = "fault"
    complaint = "complaint"
    termination = "termination"
    change = "change"


class Region(StrEnum):
    urban = "urban"
    rural = "rural"


CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
"""A caller-chosen case id; it becomes part of the workflow id, so only URL-safe characters."""

StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
"""An operator staff account (reviewer, handler, technician); never a person's name."""

LineId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")]
"""A line as the inventory names it: its number (mobile, fixed line) or its service account (broadband, …)."""

CustomerRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
"""The operator's internal customer id: safe for search attributes and logs, unlike name or phone."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Who acts when it may be the customer or another system: free text, but short."""

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Every timestamp and date of the contract lies in [2000, 2100): a year-1 or year-9999 value would
overflow deadline arithmetic. How far back an event time may lie is the policy's (`backdating_limit`)."""
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
                      r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})")


def _rfc3339(value: Any) -> Any:
    # pydantic would also read "12345" (seconds since 1970) as a time. Parsed here, as a validator
    # before the type's own hands it on as a Python value, which strict mode takes only as a datetime.
    if not isinstance(value, str):
        return value
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-12-01T10:00:00+08:00")
    return datetime.fromisoformat(value.upper())


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return moment


def _day_in_range(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return day


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_day_in_range)]

MAX_FEN = 100_000_000
"""¥1 000 000: far above any one telecom payment, far below what the records' integer columns hold."""
Fen = Annotated[int, Field(gt=0, le=MAX_FEN)]

_PHONE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})")


def _phone(value: str) -> str:
    # One number, one form: NFKC folds full-width digits (１３８…) typed on a Chinese keyboard into
    # ASCII; spaces, the country code and the area code's dash go.
    match = _PHONE.fullmatch(unicodedata.normalize("NFKC", value).replace(" ", ""))
    if match is None:
        raise ValueError("not a mainland-China mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number")
    return match[1].replace("-", "")


Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(_phone)]


class Customer(Inbound):
    """Who the case is for. Name and phone are personal data: stored once, never in summaries."""

    customer_ref: CustomerRef
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(repr=False)
    phone: Phone = Field(repr=False)


class StateChange(Contract):
    """One entry of a case's state history, as the `status` query reports it."""

    at: AwareDatetime
    state: str
    reason: str
    actor: str


def add_months(moment: date, months: int) -> date:
    """Calendar-month arithmetic (5 months before 31 July is 28/29 Feb), deterministic for workflows."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    days_in_month = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                     31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month))

