"""Personal data never reaches Temporal in clear text: one case of each process started and driven
with the `temporal` CLI through the codec endpoint, as the README shows, against the deployed
system (dev server, codec server, encrypted worker); then the dev server's database, every log and
every search attribute are searched for the customer's name, phone and ID number. And a plain
`--input` without the codec is refused, so clear text sent by mistake is never used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from adapters.seed import seed_subscriber
from edge.id_hash import development_keys
from models.identity import IdentityDocument, citizen_check_digit

from .cli_harness import Stack, stack  # noqa: F401  (the module-scoped fixture)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

NAME, PHONE = "欧阳明哲", "13987654321"
ID_NUMBER = "44030519870615" + "123"
ID_NUMBER += citizen_check_digit(ID_NUMBER)
IDENTITY = {"id_type": "resident_id_card", "id_number": ID_NUMBER, "verification_source": "card_reader"}
CUSTOMER = {"customer_ref": "CUST-PII", "name": NAME, "phone": PHONE}
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()

CASES = [  # workflow type, workflow id, input, updates through the CLI
    ("ComplaintClosure", "complaint-PII1",
     {"complaint_id": "PII1", "channel": "hotline", "category": "other", "customer": CUSTOMER,
      "description": f"有人冒用我的身份证 {ID_NUMBER} 办卡，请回电 {PHONE}",
      "event_date": (TODAY - timedelta(days=2)).isoformat()},
     [("assign_handler", {"handler": "h.li", "actor": "desk.wang"}),
      ("record_findings", {"findings": f"已联系 {NAME}，核实为冒用", "actor": "h.li"})]),
    ("FaultRepair", "fault-PII1",
     {"ticket_id": "PII1", "service_id": "BB-1001", "region": "urban", "severity": "major",
      "description": f"宽带断了，联系 {PHONE}", "channel": "hotline", "customer": CUSTOMER},
     [("assign_technician", {"technician": "t.zhao", "actor": "noc.wu"})]),
    ("ApplicationReview", "application-PII1",
     {"application_id": "PII1", "service_type": "broadband", "region": "urban",
      "requested_start_date": TODAY.isoformat(), "applicant": {**CUSTOMER, "identity": IDENTITY},
      "materials": [{"kind": kind, "document_id": f"DOC-{n}"} for n, kind in
                    enumerate(["application_form", "service_agreement", "address_proof"], 1)]},
     [("approve", {"actor": "r.zhao", "note": f"{NAME} 本人到厅办理"})]),
    ("TerminationCleanup", "termination-PII1",
     {"request_id": "PII1", "account_id": "ACCT-PII1", "services": ["BB-PII1"], "reason": "relocation",
      "identity": IDENTITY, "customer": CUSTOMER},
     []),
]


def seed_outside_world(engine: sa.Engine) -> None:
    """The account the termination closes, held by the same person."""
    seed_subscriber(engine, "ACCT-PII1", CUSTOMER["customer_ref"], IdentityDocument.model_validate(IDENTITY),
                    [("broadband", "BB-PII1")], keys=development_keys(), equipment=[("ONT-ACCT-PII1", "optical_modem")])


def forms(secret: str) -> Iterator[bytes]:
    """The ways a value can sit in a file: UTF-8, UTF-16 (some logs and drivers), JSON-escaped."""
    yield secret.encode()
    yield secret.encode("utf-16-le")
    yield json.dumps(secret).strip('"').encode()


def found_in(data: bytes) -> list[str]:
    return [secret for secret in (NAME, PHONE, ID_NUMBER) if any(form in data for form in forms(secret))]


@pytest.fixture(scope="module")
def driven(stack: Stack) -> Stack:
    for workflow_type, workflow_id, data, updates in CASES:
        started = stack.temporal("workflow", "start", "--type", workflow_type, "--task-queue", stack.task_queue,
                                 "--workflow-id", workflow_id, "--id-reuse-policy", "RejectDuplicate",
                                 "--fail-existing", "--input", json.dumps(data, ensure_ascii=False))
        assert started.returncode == 0, started.stderr
        stack.wait(lambda workflow_id=workflow_id: stack.records(workflow_id).get("caseevent"), 30,
                   f"{workflow_id} to open")
        for name, argument in updates:
            done = stack.temporal("workflow", "update", "execute", "--workflow-id", workflow_id, "--name", name,
                                  "--input", json.dumps(argument, ensure_ascii=False), "-o", "json")
            assert done.returncode == 0, (workflow_id, name, done.stderr)
        status = stack.temporal("workflow", "query", "--workflow-id", workflow_id, "--name", "status", "-o", "json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["queryResult"][0]["state"], workflow_id
    # The customer's data did arrive, through the codec: the worker read it and recorded the contact.
    assert stack.contact(CUSTOMER["customer_ref"])["phone"] == PHONE
    return stack


def test_no_personal_data_in_the_server_database_the_logs_or_the_search_attributes(driven: Stack):
    files = [path for path in driven.workdir.iterdir()
             if path.name.startswith(driven.server_db.name) or path in driven.log_files]
    assert driven.server_db in files and driven.worker_log in files
    leaks = {path.name: found_in(_read(path)) for path in files}
    assert all(not found for found in leaks.values()), leaks


def _read(path: Path) -> bytes:
    """A rollback journal (`temporal.db-journal`) exists only while a transaction runs: one deleted
    since the listing holds nothing any more (the database file itself is read too)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if not path.name.endswith("-journal"):
            raise
        return b""

    for _, workflow_id, _, _ in CASES:
        described = driven.temporal("workflow", "describe", "--workflow-id", workflow_id, "-o", "json")
        assert described.returncode == 0, described.stderr
        attributes = json.loads(described.stdout)["workflowExecutionInfo"]["searchAttributes"]
        assert "TelecomCustomerRef" in json.dumps(attributes)  # the operator's id, never a person's data
        assert found_in(json.dumps(attributes, ensure_ascii=False).encode()) == [], workflow_id
        raw = driven.temporal("workflow", "show", "--workflow-id", workflow_id, "-o", "json", codec=False)
        assert raw.returncode == 0 and found_in(raw.stdout.encode()) == [], workflow_id


def test_a_clear_text_start_is_refused_and_nothing_is_written(driven: Stack):
    data = {**CASES[0][2], "complaint_id": "PLAIN1", "customer": {**CUSTOMER, "customer_ref": "CUST-PLAIN"}}
    started = driven.temporal("workflow", "start", "--type", "ComplaintClosure", "--task-queue", driven.task_queue,
                              "--workflow-id", "complaint-PLAIN1", "--input", json.dumps(data, ensure_ascii=False),
                              codec=False)
    assert started.returncode == 0, started.stderr  # the server takes it; the worker will not use it
    driven.wait(lambda: json.loads(driven.temporal("workflow", "describe", "--workflow-id", "complaint-PLAIN1",
                                                   "-o", "json").stdout)["workflowExecutionInfo"]["status"]
                == "WORKFLOW_EXECUTION_STATUS_FAILED", 20, "the clear-text case to fail")
    history = driven.history("complaint-PLAIN1")
    [failure] = [e["workflowExecutionFailedEventAttributes"]["failure"] for e in history["events"]
                 if "workflowExecutionFailedEventAttributes" in e]
    assert failure["applicationFailureInfo"]["type"] == "PayloadNotEncrypted"
    assert failure["applicationFailureInfo"]["nonRetryable"] is True
    assert "--codec-endpoint" in failure["message"]  # a refusal: readable without the codec
    assert Stack.workflow_task_failures(history) == 0
    assert driven.records("complaint-PLAIN1") == {} and driven.contact("CUST-PLAIN") is None
