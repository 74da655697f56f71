"""One settings object (edge/settings.py): every TELECOM_* variable the product reads is a field of it,
the README's table is the model's, only the settings module reads the environment, and a bad value
stops each entry point at start with one line naming the variable, never a secret's value."""

from __future__ import annotations

import ast
import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

import worker
from edge.settings import NOT_SETTINGS, Settings, SettingsError, readme_other_table, readme_table, variables
from starter import cli, codec_server, demo, seed

from .conftest import binary

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("activities", "adapters", "edge", "models", "starter", "workflows")
SECRET = "correct-horse-battery"
KEY = base64.b64encode(bytes(range(32))).decode()


def repository_files() -> list[Path]:
    """Source, scripts, CI, configuration and documentation: wherever a variable could be named."""
    found = [p for p in ROOT.rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".toml")
             and not {".venv", ".git", "node_modules"} & set(p.relative_to(ROOT).parts)]
    return found + sorted((ROOT / "scripts").iterdir()) + sorted((ROOT / ".ci").iterdir())


def test_the_readme_has_the_models_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "README § Configuration differs from edge/settings.py: paste " \
                                     "`python -m edge.settings` there"
    assert readme_other_table() in readme


def test_every_variable_named_anywhere_is_a_setting_or_listed_as_not_one():
    variable = re.compile(r"\bTELECOM_[A-Z0-9_]*[A-Z0-9]\b")
    named = {name for path in repository_files() for name in variable.findall(path.read_text("utf-8", "ignore"))}
    known = set(variables()) | set(NOT_SETTINGS)
    assert named - known == set(), "add these to edge/settings.py (a field, or NOT_SETTINGS)"
    assert set(NOT_SETTINGS) <= named, "NOT_SETTINGS lists a variable nothing reads"


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path in [ROOT / "worker.py", *(p for package in PRODUCT for p in (ROOT / package).rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if ((isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"))
                    or (isinstance(node, ast.alias) and node.name in ("environ", "getenv"))):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert [r for r in readers if not r.startswith("edge/settings.py")] == []


def test_defaults_and_a_full_environment():
    assert Settings.from_environ({}) == Settings()
    settings = Settings.from_environ({
        "TELECOM_MODE": "production", "TELECOM_CODEC_KEYS": f"k1:{KEY}", "TELECOM_ID_HASH_KEY": f"h1:{KEY}",
        "TELECOM_TASK_QUEUE": " q1 ", "TELECOM_LOG_LEVEL": "debug", "TELECOM_MAX_CACHED_WORKFLOWS": "20",
        "TELECOM_METRICS_ADDRESS": "127.0.0.1:9464", "TELECOM_CODEC_SESSION_HOURS": "0.5",
        "TELECOM_UI_URL": "http://ui.example:8233/", "TELECOM_DEMO_RUN": "42", "TELECOM_POLICY_FILE": "",
        "TELECOM_ARCHIVE_STAFF": "h.li:agent, w.chen:legal", "UNRELATED": "x"})
    assert (settings.task_queue, settings.log_level, settings.max_cached_workflows) == ("q1", "DEBUG", 20)
    assert settings.payload_keys.current == "k1" and settings.id_hash_keys().current == "h1"
    assert (settings.ui_url, settings.demo_run, settings.policy_file) == ("http://ui.example:8233", "42", None)
    assert settings.archive_staff == {"h.li": "agent", "w.chen": "legal"}


def test_secrets_are_hidden():
    settings = Settings.from_environ({"TELECOM_CODEC_TOKEN": SECRET * 2, "TELECOM_ID_HASH_KEY": f"h1:{KEY}",
                                      "TELECOM_DATABASE_URL": f"postgresql+psycopg://u:{SECRET}@db/x"})
    assert SECRET not in repr(settings) and KEY not in repr(settings) and SECRET not in str(settings)


@pytest.mark.parametrize("variable, value, problem", [
    ("TELECOM_MODE", "prod", "Input should be 'development' or 'production'"),
    ("TELECOM_MAX_CACHED_WORKFLOWS", "lots", "valid integer"),
    ("TELECOM_MAX_CACHED_WORKFLOWS", "-1", "greater than or equal to 0"),
    ("TELECOM_LOG_LEVEL", "LOUD", "Input should be"),
    ("TELECOM_METRICS_ADDRESS", "9464", "must be host:port"),
    ("TELECOM_CODEC_ADDRESS", "localhost:http", "must be host:port"),
    ("TELECOM_CODEC_ALLOWED_ORIGIN", "localhost:8233", "http:// or https://"),
    ("TELECOM_CODEC_SESSION_HOURS", "721", "more than 0 and at most 720"),
    ("TELECOM_POLICY_FILE", "/nonexistent/policy.toml", "no such file"),
    ("TELECOM_CODEC_KEY_FILE", "/nonexistent/codec.keys", "no such file"),
    ("TELECOM_DEMO_RUN", "run-1", "should match pattern"),
    ("TELECOM_CODEC_TOKEN", SECRET[:10], "at least 16 characters"),
    ("TELECOM_DATABASE_URL", f"postgres:/{SECRET}", "not a database URL"),
    ("TELECOM_CODEC_KEYS", SECRET, "entry 1 is not 'kid:<base64 secret>'"),
    ("TELECOM_ID_HASH_KEY", f"h1:{base64.b64encode(SECRET.encode()).decode()}", "too weak"),
    ("TELECOM_ARCHIVE_STAFF", "h.li", "must be staff:role pairs"),
    ("TELECOM_ARCHIVE_STAFF", "h.li:agent,h.li:legal", "h.li is given twice"),
    ("TELECOM_ARCHIVE_STAFF", "h.li:agent, w.chen:boss", "w.chen: Input should be 'agent', 'auditor' or 'legal'"),
    ("TELECOM_ARCHIVE_STAFF", "h li:agent", "h li: String should match pattern"),
])
def test_a_bad_value_is_named_with_its_problem_and_never_shown(variable, value, problem):
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({variable: value})
    message = str(refused.value)
    assert message.startswith(variable) and problem in message and "\n" not in message
    assert SECRET not in message and SECRET[:10] not in message


def test_every_problem_is_listed_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({"TELECOM_MODE": "prod", "TELECOM_CODEC_SESSION_HOURS": "x"})
    assert refused.value.for_program("demo") == ("demo: 2 settings are wrong:\n  TELECOM_MODE: Input should be "
                                                 "'development' or 'production'\n  TELECOM_CODEC_SESSION_HOURS: "
                                                 "must be a number of hours, e.g. 8")


ENTRY_POINTS = {
    "telecom-worker": (lambda: worker.main(argv=[]), 1),
    "telecom": (lambda: cli.main(["complaint", "status", "C1"]), 2),
    "telecom-codec-server": (codec_server.main, 1),
    "demo": (demo.main, 1),
    "seed": (seed.main, 1),
}


@pytest.mark.parametrize("program", ENTRY_POINTS)
def test_each_entry_point_stops_at_start_on_a_bad_value(program, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["seed", "1"])
    monkeypatch.setenv("TELECOM_MAX_CACHED_WORKFLOWS", "lots")
    main, status = ENTRY_POINTS[program]
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == status
    assert capsys.readouterr().err == (f"{program}: TELECOM_MAX_CACHED_WORKFLOWS: Input should be a valid integer, "
                                       "unable to parse string as an integer\n")


def test_production_worker_without_an_id_hash_key_stops_at_start(monkeypatch):
    monkeypatch.setenv("TELECOM_MODE", "production")
    monkeypatch.setenv("TELECOM_CODEC_KEYS", f"k1:{KEY}")
    monkeypatch.delenv("TELECOM_ID_HASH_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        worker.main(argv=[])
    assert stopped.value.code == "telecom-worker: TELECOM_ID_HASH_KEY is not set: production needs its own key " \
                                 "ring, 'kid:<base64 of 32 random bytes>'"


def test_a_bad_policy_file_stops_the_worker_naming_the_variable(monkeypatch, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text("[complaint]\nmax_reopenings = -1\n")
    monkeypatch.setenv("TELECOM_POLICY_FILE", str(policy))
    with pytest.raises(SystemExit) as stopped:
        worker.main(argv=[])
    assert str(stopped.value.code).startswith(f"telecom-worker: TELECOM_POLICY_FILE ({policy}): ")
    assert "max_reopenings" in str(stopped.value.code)


@pytest.mark.slow  # the installed `telecom-worker` as a process
def test_the_installed_worker_says_it_in_one_line_without_a_traceback():
    done = subprocess.run([binary("telecom-worker")], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "TELECOM_CODEC_SESSION_HOURS": "0"})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "telecom-worker: TELECOM_CODEC_SESSION_HOURS: must be more than 0 and at most 720\n"
