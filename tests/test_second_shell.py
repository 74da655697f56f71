"""A second shell next to a running system, as the README's walkthrough has it: `.run/env` written the
way scripts/run writes it (`python -m starter.shell_env`), sourced by bash, then the README's block
run as it is, against the deployed system (tests/cli_harness.py: dev server, codec server,
`telecom-worker`, an encrypted key ring). And `telecom` in such a shell without the key ring, or
with another one: a message naming the setting, never a traceback or a payload in clear."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .cli_harness import Stack, stack  # noqa: F401  (the module-scoped fixture)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

STACK_TASK_QUEUE = "telecom-service"
"""The worker polls the README's task queue."""
ROOT = Path(__file__).parents[1]
MARKER = "<!-- walkthrough: tests/test_second_shell.py runs the next block verbatim -->"
OUTSIDE = {"TEMPORAL_API_KEY": "another-servers-key", "TEMPORAL_ADDRESS": "elsewhere.example:7233",
           "TELECOM_CODEC_KEYS": "old:AAAA", "PATH": "/usr/bin:/bin"}
"""What the shell had before: another server's settings, and no venv on PATH. `.run/env` replaces them."""


def walkthrough() -> str:
    after = (ROOT / "README.md").read_text(encoding="utf-8").split(MARKER, 1)[1]
    block = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert block, f"README.md: {MARKER} is followed by a ```bash block"
    return block.group(1)


@pytest.fixture(scope="module")
def shell_dir(stack: Stack, tmp_path_factory) -> Path:
    """Like the repository root next to scripts/run: `.run/env` for this stack, and `examples/`."""
    home = tmp_path_factory.mktemp("second-shell")
    (home / ".run").mkdir()
    written = subprocess.run(
        [sys.executable, "-m", "starter.shell_env", str(home / ".run" / "env"), "--address", stack.address,
         "--codec-endpoint", stack.codec_url],
        cwd=ROOT, env=stack.env(TELECOM_CODEC_TOKEN=stack.token, TELECOM_CODEC_KEY_FILE=str(stack.key_file),
                                TELECOM_DATABASE_URL=stack.records_url),
        capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    (home / "examples").symlink_to(ROOT / "examples")
    return home


def bash(stack: Stack, home: Path, script: str, *, exit_on_error: bool = True) -> subprocess.CompletedProcess[str]:
    options = ["-e", "-o", "pipefail"] if exit_on_error else []
    return subprocess.run(["bash", *options, "-c", script], cwd=home, env={**stack.env(), **OUTSIDE},
                          capture_output=True, text=True, encoding="utf-8", timeout=240)


def test_run_env_is_for_its_owner_only(shell_dir):
    assert (shell_dir / ".run" / "env").stat().st_mode & 0o777 == 0o600  # it holds the codec token


def test_the_readme_walkthrough_runs_verbatim_in_a_second_shell(stack, shell_dir):
    script = walkthrough()
    assert script.startswith("source .run/env\n")
    # bash -e: the block stops at the first command that fails, with that command's status.
    done = bash(stack, shell_dir, script)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr

    workflow_id = re.search(r"--workflow-id (complaint-\S+)", script).group(1)
    # The last command is `telecom … status`: its indented JSON ends the output.
    telecom_status = json.loads(done.stdout[done.stdout.rindex("\n{\n") + 1:])
    assert telecom_status["state"] == "closed"
    described = stack.temporal("workflow", "describe", "--workflow-id", workflow_id, "-o", "json")
    assert json.loads(described.stdout)["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    [case] = stack.records(workflow_id)["case"]
    assert case["state"] == "closed" and case["closed_at"] is not None


@pytest.fixture(scope="module")
def case_id(stack, shell_dir) -> str:
    """A complaint started from the second shell with `telecom`, through the key ring."""
    started = bash(stack, shell_dir, "source .run/env\n"
                   "sed 's/\"EX1\"/\"KEYS1\"/' examples/ComplaintClosure.input.json | telecom complaint start -")
    assert started.returncode == 0, started.stderr
    return "KEYS1"


@pytest.fixture
def other_key_file(tmp_path) -> Path:
    path = tmp_path / "other.keys"
    path.write_text(f"other1:{base64.b64encode(os.urandom(32)).decode()}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_the_month_s_quality_report_is_computed_and_read_from_the_second_shell(stack, shell_dir, case_id):
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    done = bash(stack, shell_dir, f"source .run/env\ntelecom -o json report {month} --compute")
    assert done.returncode == 0, done.stderr
    figures = {(f["process"], f["kpi"], f["dimension"]): f for f in json.loads(done.stdout)["figures"]}
    assert figures["complaint", "received", ""]["value"] >= 1  # at least the case this module started


def test_telecom_without_the_worker_s_key_ring_says_which_setting_to_fix(stack, shell_dir, case_id, other_key_file):
    personal = json.loads((ROOT / "examples" / "ComplaintClosure.input.json").read_text(encoding="utf-8"))["customer"]
    answers = {
        "no key ring": bash(stack, shell_dir, f"source .run/env\nunset TELECOM_CODEC_KEY_FILE\n"
                                              f"telecom complaint status {case_id}", exit_on_error=False),
        "no key ring, update": bash(stack, shell_dir, "source .run/env\nunset TELECOM_CODEC_KEY_FILE\n"
                                    f"telecom complaint assign_handler {case_id} "
                                    "'{\"handler\":\"h.li\",\"actor\":\"desk.wang\"}'", exit_on_error=False),
        "another key ring": bash(stack, shell_dir, f"source .run/env\nexport TELECOM_CODEC_KEY_FILE={other_key_file}\n"
                                                   f"telecom -o json complaint status {case_id}", exit_on_error=False),
        "a key file that is gone": bash(stack, shell_dir, "source .run/env\nexport TELECOM_CODEC_KEY_FILE=/gone.keys\n"
                                                          f"telecom complaint status {case_id}", exit_on_error=False),
    }
    for label, done in answers.items():
        output = done.stdout + done.stderr
        assert "Traceback" not in output, label
        assert personal["name"] not in output and personal["phone"] not in output, label
        assert "TELECOM_CODEC_KEY_FILE" in output, (label, output)

    no_ring = answers["no key ring"]
    assert no_ring.returncode == 1 and no_ring.stdout == ""
    assert "the payload is encrypted and this process has no key ring" in no_ring.stderr
    update = answers["no key ring, update"]
    assert update.returncode == 1 and "assign_handler refused: clear-text payload refused" in update.stderr
    other = answers["another key ring"]
    error = json.loads(other.stdout)
    assert other.returncode == 1 and error["type"] == "UndecryptablePayload"
    assert "key id 'hostile1', which is not configured (configured: other1)" in error["message"]
    gone = answers["a key file that is gone"]
    assert gone.returncode == 2 and gone.stderr == "telecom: TELECOM_CODEC_KEY_FILE: /gone.keys: no such file\n"

    # Nothing reached the case; with the key ring, the same shell reads it.
    status = bash(stack, shell_dir, f"source .run/env\ntelecom -o json complaint status {case_id}")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "acknowledged" and json.loads(status.stdout)["assignee"] is None
