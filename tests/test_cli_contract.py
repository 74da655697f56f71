"""The contract as the README documents it: a complaint driven by the real `temporal` CLI and by the
ops CLI (`telecom`), as subprocesses, against a dev server started here and an in-process worker;
`telecom setup-server` on a bare dev server. (Against the encrypted, deployed system, with and
without the key ring: tests/test_second_shell.py.)"""

from __future__ import annotations

import ast
import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.tables import Case
from edge.converter import contract_data_converter
from edge.search_attributes import WANTED, readme_table, type_name
from models.contract import CONTRACTS
from starter import Complaints, cli
from starter.processes import PROCESSES
from worker import build_worker

from .conftest import binary, register_search_attributes, rows

INPUT = {"complaint_id": "CLI1", "channel": "hotline", "category": "network_quality",
         "customer": {"customer_ref": "CUST-1001", "name": "张三", "phone": "13800138000"},
         "description": "家中宽带每晚断线", "event_date": "2026-11-28"}

STEPS = [  # update, argument, state after it
    ("assign_handler", {"handler": "h.li", "actor": "desk.wang"}, "inProgress"),
    ("record_findings", {"findings": "光衰过大，已更换分光器", "actor": "h.li"}, "inProgress"),
    ("send_reply", {"reply": "已修复，请确认", "channel": "sms", "actor": "h.li"}, "resolved"),
    ("confirm", {"satisfied": True}, "resolved"),
    ("submit_closure", {"cause_analysis": "分光器老化", "improvement_measures": "片区分光器巡检", "actor": "h.li"},
     "closed"),
]

# The subprocesses see no outside Temporal settings (a profile or namespace of the person running the tests).
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "TELECOM_"))}


@pytest.fixture
async def dev() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary("temporal"), data_converter=contract_data_converter, ui=False) as env:
        await register_search_attributes(env.client)
        yield env


@pytest.fixture
def queue() -> str:
    return f"cli-contract-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def dev_worker(dev, engine, queue):
    async with build_worker(dev.client, engine, task_queue=queue) as worker:
        yield worker


def address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None
              ) -> subprocess.CompletedProcess[str]:
    # The worker runs on this event loop: a CLI waiting for it must not block the loop.
    return await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, input=stdin,
                                   env=env or CLEAN_ENV, timeout=30)


async def temporal(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    return await run(binary("temporal"), *args, "--address", address(env))


async def query_status(env: WorkflowEnvironment, workflow_id: str) -> dict[str, Any]:
    done = await temporal(env, "workflow", "query", "--workflow-id", workflow_id, "--name", "status", "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["queryResult"][0]  # -o json: {"queryResult": [<one value per result>]}


async def start_with_temporal_cli(env: WorkflowEnvironment, queue: str, data: dict[str, Any]
                                  ) -> subprocess.CompletedProcess[str]:
    return await temporal(env, "workflow", "start", "--type", "ComplaintClosure", "--task-queue", queue,
                          "--workflow-id", f"complaint-{data['complaint_id']}", "--id-reuse-policy", "RejectDuplicate",
                          "--fail-existing", "--input", json.dumps(data, ensure_ascii=False))


async def update(env: WorkflowEnvironment, workflow_id: str, name: str, argument: dict[str, Any]
                 ) -> subprocess.CompletedProcess[str]:
    return await temporal(env, "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", name,
                          "--input", json.dumps(argument, ensure_ascii=False), "-o", "json")


async def test_temporal_cli_drives_a_complaint_to_closed(dev, dev_worker, engine, queue):
    workflow_id = "complaint-CLI1"
    started = await start_with_temporal_cli(dev, queue, INPUT)
    assert started.returncode == 0, started.stderr
    assert (await query_status(dev, workflow_id))["state"] == "acknowledged"
    for name, argument, state in STEPS:
        done = await update(dev, workflow_id, name, argument)
        assert done.returncode == 0, (name, done.stderr)
        assert json.loads(done.stdout)["result"]["state"] == state, name  # -o json: {name, updateId, result}
        assert (await query_status(dev, workflow_id))["state"] == state, name

    description = await dev.client.get_workflow_handle(workflow_id).describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED
    [case] = rows(engine, Case, workflow_id)
    assert case.state == "closed" and case.closed_at is not None


async def test_temporal_cli_refuses_a_second_start_and_says_why_an_update_is_refused(dev, dev_worker, queue):
    workflow_id, data = "complaint-CLI2", {**INPUT, "complaint_id": "CLI2"}
    assert (await start_with_temporal_cli(dev, queue, data)).returncode == 0
    again = await start_with_temporal_cli(dev, queue, data)  # without --fail-existing: exit 0, the running case
    assert again.returncode != 0 and "already running" in again.stderr
    assert (await update(dev, workflow_id, *STEPS[0][:2])).returncode == 0
    refused = await update(dev, workflow_id, "send_reply", STEPS[2][1])
    assert refused.returncode != 0
    assert "record the findings before replying" in refused.stderr and "InvalidAction" in refused.stderr
    assert (await query_status(dev, workflow_id))["state"] == "inProgress"


async def test_ops_cli_start_status_and_validation(dev, dev_worker, queue, tmp_path):
    env = {**CLEAN_ENV, "TEMPORAL_ADDRESS": address(dev), "TELECOM_TASK_QUEUE": queue}
    telecom = binary("telecom")
    (tmp_path / "complaint.json").write_text(json.dumps({**INPUT, "complaint_id": "OPS1"}), encoding="utf-8")

    started = await run(telecom, "complaint", "start", str(tmp_path / "complaint.json"), env=env)
    assert started.returncode == 0, started.stderr
    out = json.loads(started.stdout)
    assert out["workflow_id"] == "complaint-OPS1" and out["task_queue"] == queue and out["run_id"]

    # Independent of each other: side by side (each CLI process spends about a second importing).
    status, invalid = await asyncio.gather(
        run(telecom, "complaint", "status", "OPS1", env=env),
        run(telecom, "complaint", "assign_handler", "OPS1", '{"handler": "h li", "actor": "desk.wang"}', env=env))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "acknowledged"
    assert invalid.returncode == 2 and invalid.stdout == ""
    assert "handler: String should match pattern" in invalid.stderr
    after = await Complaints(dev.client, task_queue=queue).status("OPS1")
    assert after.assignee is None and len(after.history) == 1  # nothing was sent


async def test_ops_cli_refusals_exit_1(dev, dev_worker, queue, monkeypatch, capsys):
    """The same `main()` in this process (in a thread: it runs its own event loop), to save the imports."""
    for name in [k for k in os.environ if k.startswith(("TEMPORAL_", "TELECOM_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_ADDRESS", address(dev))
    monkeypatch.setenv("TELECOM_TASK_QUEUE", queue)
    data = json.dumps({**INPUT, "complaint_id": "OPS2"})

    async def telecom(*argv: str) -> tuple[int | str | None, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(data))
        try:
            await asyncio.to_thread(cli.main, list(argv))
            code: int | str | None = 0
        except SystemExit as exit:
            code = exit.code
        return code, capsys.readouterr().err

    assert (await telecom("complaint", "start", "-"))[0] == 0
    code, err = await telecom("complaint", "start", "-")
    assert code == 1 and "complaint-OPS2 already exists" in err
    code, err = await telecom("complaint", "send_reply", "OPS2", json.dumps(STEPS[2][1]))
    assert code == 1 and "send_reply refused: complaint is acknowledged: a reply needs an assigned handler" in err


async def test_poison_through_the_temporal_cli_fails_cleanly_and_the_worker_serves_on(dev, dev_worker, engine, queue):
    """A sample of the poison corpus (tests/test_poison.py), sent the way a shell script would."""
    from models.complaint import ComplaintInput

    from .examples import EXAMPLES
    from .poison import mutations
    sample = [value for label, value in mutations(ComplaintInput, EXAMPLES["ComplaintClosure"].input)
              if label in ("missing category", "category: bad enum", "customer.phone: wrong type",
                           "event_date: impossible date", "extra field", "nested garbage")]
    assert len(sample) == 6
    for n, value in enumerate(sample):
        workflow_id = f"complaint-POISON{n}"
        started = await temporal(dev, "workflow", "start", "--type", "ComplaintClosure", "--task-queue", queue,
                                 "--workflow-id", workflow_id, "--input", json.dumps(value, ensure_ascii=False))
        assert started.returncode == 0, started.stderr
        handle = dev.client.get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert failed.value.cause.type == "ValidationError"
    assert rows(engine, Case) == []
    assert (await start_with_temporal_cli(dev, queue, {**INPUT, "complaint_id": "AFTER"})).returncode == 0
    refused = await update(dev, "complaint-AFTER", "assign_handler", {"handler": "", "actor": 42})
    assert refused.returncode != 0 and "ValidationError" in refused.stderr
    assert (await update(dev, "complaint-AFTER", *STEPS[0][:2])).returncode == 0  # still served


def test_the_cli_names_the_contract_s_workflows_and_models():
    """The CLI's own table (so it imports no more than it runs) is the contract's."""
    assert {p.workflow_type for p in PROCESSES.values()} == {c.workflow_type for c in CONTRACTS}
    for contract in CONTRACTS:
        [process] = [p for p in PROCESSES.values() if p.workflow_type == contract.workflow_type]
        assert process.id_prefix == contract.id_prefix
        assert process.model(process.input) is contract.input
        assert {name: process.model(model) for name, model in process.updates.items()} == contract.updates
        assert {name: process.model(model) for name, model in process.signals.items()} == contract.signals
        assert process.cases().workflow_type == contract.workflow_type


def json_error(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """`-o json`: an error is one line of JSON on stdout, and no traceback anywhere."""
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stdout.splitlines()
    error = json.loads(line)
    assert set(error) == {"type", "message", "details"}
    return error


async def test_ops_cli_json_output_for_scripts(dev, dev_worker, queue, tmp_path):
    env = {**CLEAN_ENV, "TEMPORAL_ADDRESS": address(dev), "TELECOM_TASK_QUEUE": queue}
    telecom = binary("telecom")
    data = json.dumps({**INPUT, "complaint_id": "JSON1"})
    started = await run(telecom, "-o", "json", "complaint", "start", "-", env=env, stdin=data)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["workflow_id"] == "complaint-JSON1" and len(started.stdout.splitlines()) == 1

    status, invalid, refused, missing, usage, unreadable, not_json = await asyncio.gather(
        run(telecom, "complaint", "status", "JSON1", "-o", "json", env=env),
        run(telecom, "--output", "json", "complaint", "assign_handler", "JSON1", '{"handler": "h li"}', env=env),
        run(telecom, "-o", "json", "complaint", "send_reply", "JSON1", json.dumps(STEPS[2][1]), env=env),
        run(telecom, "-o", "json", "complaint", "status", "NOSUCH", env=env),
        run(telecom, "-o", "json", "complaint", "escalate", "JSON1", env=env),
        run(telecom, "-o", "json", "complaint", "start", str(tmp_path / "missing.json"), env=env),
        run(telecom, "-o", "json", "complaint", "confirm", "JSON1", '{"satisfied": tru', env=env))
    assert status.returncode == 0 and json.loads(status.stdout)["state"] == "acknowledged"

    assert invalid.returncode == 2
    error = json_error(invalid)
    assert error["type"] == "ValidationError" and "handler: String should match pattern" in error["message"]
    assert [p["field"] for p in error["details"]["problems"]] == ["handler", "actor"]

    assert refused.returncode == 1
    error = json_error(refused)
    assert error["type"] == "InvalidAction"
    assert error["message"] == "send_reply refused: complaint is acknowledged: a reply needs an assigned handler"

    assert missing.returncode == 1
    assert json_error(missing)["type"] == "NotFound" and "complaint-NOSUCH" in json_error(missing)["message"]
    assert usage.returncode == 2 and json_error(usage)["type"] == "UsageError"
    assert unreadable.returncode == 2 and json_error(unreadable)["type"] == "UsageError"
    assert "missing.json: No such file or directory" in json_error(unreadable)["message"]
    assert not_json.returncode == 2 and json_error(not_json)["type"] == "ValidationError"
    assert "not UTF-8 JSON" in json_error(not_json)["message"]
    after = await Complaints(dev.client, task_queue=queue).status("JSON1")
    assert len(after.history) == 1  # nothing was sent


async def test_the_cli_loads_no_workflow_code_and_only_its_own_process_s_models(dev, dev_worker, queue):
    """What keeps `telecom` fast (README: `status` takes a quarter of its former time), checked by
    what it imports, not by a clock: `status` no model and not the SDK's workflow client either."""
    heavy = ("workflows", "activities", "adapters", "sqlalchemy", "temporalio.client", "models.contract",
             "models.complaint", "models.application", "models.fault", "models.termination")

    async def loaded(argv: list[str], stdin: str | None = None) -> tuple[Any, list[str]]:
        # os._exit, as `telecom` leaves: interpreter teardown can abort after the SDK (sdk-python#300).
        code = (f"import os, sys; from starter import cli; cli.main({argv!r}); "
                f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})), flush=True); os._exit(0)")
        done = await run(sys.executable, "-c", code, stdin=stdin,
                         env={**CLEAN_ENV, "TEMPORAL_ADDRESS": address(dev), "TELECOM_TASK_QUEUE": queue})
        assert done.returncode == 0, done.stderr
        *result, modules = done.stdout.splitlines()
        return json.loads("\n".join(result)), ast.literal_eval(modules)

    started, modules = await loaded(["complaint", "start", "-"], json.dumps({**INPUT, "complaint_id": "LIGHT1"}))
    assert started["workflow_id"] == "complaint-LIGHT1"
    assert [m for m in modules if not m.startswith("temporalio.client")] == ["models.complaint"]
    status, modules = await loaded(["complaint", "status", "LIGHT1"])
    assert status["state"] == "acknowledged" and modules == []


@pytest.mark.slow  # `telecom` as a process
@pytest.mark.parametrize("argv, env, code, text", [
    (["complaint", "status", "C1"], {"TEMPORAL_ADDRESS": "127.0.0.1:1"}, 1,
     "cannot connect to Temporal at 127.0.0.1:1 (TEMPORAL_ADDRESS)"),
    (["complaint", "status", "C1"], {"TELECOM_CODEC_KEY_FILE": "/nonexistent/codec.keys"}, 2,
     "TELECOM_CODEC_KEY_FILE: /nonexistent/codec.keys: no such file"),
    (["complaint", "start", "/nonexistent/complaint.json"], {}, 2,
     "cannot read /nonexistent/complaint.json: No such file or directory"),
    (["complaint", "assign_handler", "C1", "{"], {}, 2, "invalid AssignHandler from the argument"),
    (["complaint"], {}, 2, "the following arguments are required: ACTION"),
], ids=["no server", "no key file", "no input file", "bad JSON", "no action"])
def test_user_errors_say_what_is_wrong_without_a_traceback(argv, env, code, text):
    """Before anything reaches a server: no dev server needed."""
    done = subprocess.run([binary("telecom"), *argv], capture_output=True, text=True, timeout=60,
                          env={**CLEAN_ENV, **env})
    assert done.returncode == code and done.stdout == ""
    # Development's warning that no key ring is set may come first.
    assert any(line.startswith(f"telecom: {text}") for line in done.stderr.splitlines()), done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
async def bare_dev() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server without our search attributes, with a second namespace `other`."""
    async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary("temporal"), ui=False,
            dev_server_extra_args=["--namespace", "other"]) as env:
        yield env


def test_the_readme_lists_our_search_attributes_with_their_types():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "README § Setting up a server: paste edge.search_attributes.readme_table()"


async def test_setup_server_registers_our_search_attributes_once_and_names_a_conflict(bare_dev):
    env = {**CLEAN_ENV, "TEMPORAL_ADDRESS": address(bare_dev)}
    first = await run(binary("telecom"), "setup-server", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"registered": list(WANTED), "present": []}
    listed = await temporal(bare_dev, "operator", "search-attribute", "list", "-o", "json")
    assert json.loads(listed.stdout)["customAttributes"] == {
        name: f"INDEXED_VALUE_TYPE_{value_type.name}" for name, value_type in WANTED.items()}
    again = await run(binary("telecom"), "-o", "json", "setup-server", env=env)
    assert again.returncode == 0 and json.loads(again.stdout) == {"registered": [], "present": list(WANTED)}

    # In the other namespace, one of ours already exists with another type: nothing is changed.
    created = await temporal(bare_dev, "operator", "search-attribute", "create", "--namespace", "other",
                             "--name", "TelecomRegion", "--type", "Int")
    assert created.returncode == 0, created.stderr
    conflict = await run(binary("telecom"), "setup-server", env={**env, "TEMPORAL_NAMESPACE": "other"})
    assert conflict.returncode == 1 and "Traceback" not in conflict.stderr
    assert (f"telecom: namespace other: TelecomRegion is a Int, ours is a {type_name(WANTED['TelecomRegion'])}"
            in conflict.stderr)
    listed = await temporal(bare_dev, "operator", "search-attribute", "list", "--namespace", "other", "-o", "json")
    assert json.loads(listed.stdout)["customAttributes"] == {"TelecomRegion": "INDEXED_VALUE_TYPE_INT"}
