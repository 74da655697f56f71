"""Types shared by every process contract."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

TASK_QUEUE = "telecom-service"


class Contract(BaseModel):
    """Base of every public model: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseType(StrEnum):
    application = "application"
    fault = "fault"
    complaint = "complaint"
    termination = "termination"


class Region(StrEnum):
    urban = "urban"
    rural = "rural"


CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
"""A caller-chosen case id; it becomes part of the workflow id, so only URL-safe characters."""

StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
"""An operator staff account (reviewer, handler, technician); never a person's name."""

CustomerRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
"""The operator's internal customer id: safe for search attributes and logs, unlike name or phone."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]

_PHONE = re.compile(r"^(?:\+?86)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def _phone(value: str) -> str:
    compact = value.replace(" ", "")
    if not _PHONE.match(compact):
        raise ValueError("not a mainland-China mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number")
    return compact


Phone = Annotated[str, AfterValidator(_phone)]


class Customer(Contract):
    """Who the case is for. Name and phone are personal data: stored once, never in summaries."""

    customer_ref: CustomerRef
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    phone: Phone


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

