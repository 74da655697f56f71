"""A database error names the statement, never its values: names, phones and free text stay out of
exception text, the worker's log and the failure Temporal stores (the engines hide parameters)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, default

from activities.records import CONTACT
from models.complaint import ComplaintInput

from .conftest import TEST_QUEUE

pytestmark = pytest.mark.postgres  # the database is the point: SQLite and PostgreSQL

NAME, PHONE, DESCRIPTION = "ERASEME王五", "13912340000", "ERASEME王五家里的路由器"
PERSONAL = (NAME, PHONE, DESCRIPTION)


def leaked(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


VIOLATIONS = {  # the second row after the first; PostgreSQL's DETAIL quotes the values of both
    "duplicate key": {},  # Key (customer_ref)=(…) already exists
    "not null": dict(customer_ref="CUST-7002", phone=None),  # Failing row contains (…)
}


@pytest.mark.parametrize("violation", VIOLATIONS)
def test_a_constraint_violation_does_not_echo_the_values(engine, caplog, violation):
    row = dict(customer_ref="CUST-7001", name=NAME, phone=PHONE, updated_at=datetime.now(UTC))
    with engine.begin() as db:
        db.execute(CONTACT.insert().values(row))
    with pytest.raises(IntegrityError) as raised, engine.begin() as db:
        db.execute(CONTACT.insert().values({**row, **VIOLATIONS[violation]}))
    logging.getLogger("telecom.test").error("insert failed", exc_info=raised.value)
    text = "".join(traceback.format_exception(raised.value))  # with the chained driver error
    assert "customercontact" in str(raised.value) and "parameters hidden" in str(raised.value)
    assert leaked(text) == [] and leaked(caplog.text) == []


async def test_a_failing_record_activity_logs_and_reports_no_personal_data(env, worker, engine, caplog):
    with engine.begin() as db:
        db.execute(sa.text("DROP TABLE customercontact"))  # the case's first record cannot write the contact
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    complaint = ComplaintInput.model_validate(dict(
        complaint_id="C7", channel="hotline", category="network_quality", description=DESCRIPTION,
        customer=dict(customer_ref="CUST-7001", name=NAME, phone=PHONE), event_date=date(2026, 11, 28)))
    # A short task timeout: the worker lets go of the terminated case's retrying record at its next
    # task heartbeat (80 % of the timeout), so the worker stops at once rather than 8 s later.
    handle = await env.client.start_workflow("ComplaintClosure", complaint, id=complaint.workflow_id,
                                             task_queue=TEST_QUEUE, task_timeout=timedelta(seconds=2))
    for _ in range(200):
        errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
        if errors:
            break
        await asyncio.sleep(0.05)
    await handle.terminate("test over")
    assert errors and "Completing activity as failed" in caplog.text and leaked(caplog.text) == []
    failure = Failure()  # what Temporal stores of it (before the payload codec encrypts it)
    DefaultFailureConverter().to_failure(errors[0], default().payload_converter, failure)
    assert "customercontact" in failure.message and leaked(failure.message + failure.stack_trace) == []
