"""The system as it is deployed, as subprocesses on free loopback ports: a Temporal dev server (its
own SQLite file), the codec server and the worker (`telecom-worker`), with an encrypted key ring,
the way `scripts/run` starts them. Tests drive it with the real `temporal` CLI (`Stack.temporal`)
or a Python client that does not go through our models (`Stack.client`).

Use the module-scoped `stack` fixture: `from .cli_harness import stack  # noqa: F401`. A test module
that needs outside-world state beyond `python -m starter.seed` (e.g. the accounts its
terminations close) defines `seed_outside_world(engine)`; it runs before the worker starts, so the
worker never competes with the test for the SQLite file.

Every file the stack writes is on the fixture object (`server_db`, `server_log`, `worker_log`,
`codec_log`, `records_db`, `log_files`), so a test can also grep them (e.g. for personal data).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import binary

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "TELECOM_"))}
"""No outside Temporal or telecom settings (a profile, a namespace, a key ring) reach the subprocesses."""

NAMESPACE = "default"
TASK_QUEUE = "telecom-hostile"


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now (held open together, so none repeats)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def search_attribute_flags() -> list[str]:
    """`--search-attribute NAME=Type` for each of ours (what `telecom setup-server` registers)."""
    from edge.search_attributes import WANTED, type_name
    return [flag for name, value_type in WANTED.items()
            for flag in ("--search-attribute", f"{name}={type_name(value_type)}")]


def tail(path: Path, lines: int = 60, skip: str | None = None) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path.name}: not written)"
    kept = [line for line in text.splitlines() if not skip or skip not in line]
    return "\n".join(kept[-lines:])


@dataclass
class Stack:
    workdir: Path
    task_queue: str = TASK_QUEUE
    namespace: str = NAMESPACE
    port: int = 0
    ui_port: int = 0
    http_port: int = 0
    metrics_port: int = 0
    codec_port: int = 0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _case_tables: list[sa.Table] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        free = iter(free_ports(5))
        for name in ("port", "ui_port", "http_port", "metrics_port", "codec_port"):
            if not getattr(self, name):
                setattr(self, name, next(free))

    # --- where everything is ---------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.codec_port}"

    @property
    def server_db(self) -> Path:
        return self.workdir / "temporal.db"

    @property
    def server_log(self) -> Path:
        return self.workdir / "server.log"

    @property
    def worker_log(self) -> Path:
        return self.workdir / "worker.log"

    @property
    def codec_log(self) -> Path:
        return self.workdir / "codec.log"

    @property
    def seed_log(self) -> Path:
        return self.workdir / "seed.log"

    @property
    def records_db(self) -> Path:
        return self.workdir / "records.db"

    @property
    def records_url(self) -> str:
        return f"sqlite:///{self.records_db}"

    @property
    def key_file(self) -> Path:
        return self.workdir / "codec.keys"

    @property
    def config_file(self) -> Path:
        """An empty Temporal client profile file: no profile of the person running the tests applies."""
        return self.workdir / "temporal.toml"

    @property
    def log_files(self) -> list[Path]:
        return [self.server_log, self.worker_log, self.codec_log, self.seed_log]

    def env(self, **extra: str) -> dict[str, str]:
        return {**CLEAN_ENV, "TEMPORAL_CONFIG_FILE": str(self.config_file), **extra}

    @property
    def worker_env(self) -> dict[str, str]:
        return self.env(TEMPORAL_ADDRESS=self.address, TEMPORAL_NAMESPACE=self.namespace,
                        TELECOM_DATABASE_URL=self.records_url, TELECOM_CODEC_KEY_FILE=str(self.key_file),
                        TELECOM_TASK_QUEUE=self.task_queue, TELECOM_LOG_LEVEL="INFO")

    # --- starting and stopping ---------------------------------------------------------------

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text("", encoding="utf-8")
        key = base64.b64encode(os.urandom(32)).decode()
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"hostile1:{key}\n")
        os.chmod(self.key_file, 0o600)

    def _spawn(self, name: str, args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            process = subprocess.Popen(list(args), env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir)
        self.processes[name] = process
        return process

    def start_server(self) -> None:
        self._spawn("server", [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                               "--port", str(self.port), "--ui-port", str(self.ui_port),
                               "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
                               "--db-filename", str(self.server_db), "--log-level", "warn",
                               *search_attribute_flags()],
                    self.env(), self.server_log)

    def server_started(self) -> None:
        self.wait(lambda: self._check_alive("server") and self.temporal(
            "operator", "cluster", "health", codec=False, timeout=10).returncode == 0,
            60, "the Temporal dev server to answer", interval=0.3)
        # The search attributes are registered while the server starts; a case upserting them
        # before they are there would fail its workflow task.
        from models.search import ALL
        self.wait(lambda: all(key.name in self.temporal("operator", "search-attribute", "list", codec=False,
                                                         timeout=10).stdout for key in ALL),
                  30, "the search attributes to be registered", interval=0.3)

    def start_codec(self) -> None:
        self._spawn("codec", [binary("telecom-codec-server")],
                    self.env(TELECOM_CODEC_KEY_FILE=str(self.key_file), TELECOM_CODEC_TOKEN=self.token,
                             TELECOM_CODEC_ADDRESS=f"127.0.0.1:{self.codec_port}", TELECOM_LOG_LEVEL="INFO"),
                    self.codec_log)

    def codec_started(self) -> None:
        self.wait(lambda: self._check_alive("codec") and self._codec_answers(), 30, "the codec server to answer")

    def _codec_answers(self) -> bool:
        request = urllib.request.Request(f"{self.codec_url}/decode", data=b"{}", method="POST",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def seed(self, seed: Callable[[sa.Engine], None] | None = None) -> None:
        """`python -m starter.seed` (coverage, number pool, network lines, a demo subscriber),
        then the test module's own outside world, before the worker opens the database."""
        with open(self.seed_log, "ab") as out:
            done = subprocess.run([sys.executable, "-m", "starter.seed", "1"], cwd=Path(__file__).parents[1],
                                  env=self.env(TELECOM_DATABASE_URL=self.records_url), stdout=out,
                                  stderr=subprocess.STDOUT, timeout=120)
        assert done.returncode == 0, f"python -m starter.seed failed:\n{tail(self.seed_log)}"
        if seed is not None:
            # As the worker sees it: no ID hash key (or other telecom setting) from the outside.
            outside = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("TELECOM_")}
            engine = self.engine()
            try:
                seed(engine)
            finally:
                engine.dispose()
                os.environ.update(outside)

    def start_worker(self) -> None:
        self._spawn("worker", [binary("telecom-worker")], self.worker_env, self.worker_log)
        self.wait(lambda: self._check_alive("worker") and self._worker_polls(), 60,
                  "the worker to poll its task queue", interval=0.1)

    def _worker_polls(self) -> bool:
        """As its log says once it polls (worker.serve). The server's task-queue description lists
        the poller seconds later."""
        return f"task queue {self.task_queue}," in self.worker_log.read_text(errors="replace")

    def _check_alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited with {process.returncode}:\n{self.diagnostics()}")
        return True

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process of the stack has used so far (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name, process in self.processes.items():
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[name] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
        return used

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes.values())

    def stop(self) -> None:
        """The worker first (it finishes what it runs), then the codec server and the dev server
        together: each process group, by its own id."""
        for names in (("worker",), ("codec", "server")):
            stopping = [process for process in map(self.processes.get, names)
                        if process is not None and process.poll() is None]
            for process in stopping:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process in stopping:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    # --- driving it ----------------------------------------------------------------------------

    def temporal(self, *args: str, codec: bool = True, timeout: float = 60,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The `temporal` CLI against this stack; with `codec`, through the codec server."""
        flags = ["--address", self.address, "--namespace", self.namespace]
        if codec:
            flags += ["--codec-endpoint", self.codec_url, "--codec-auth", f"Bearer {self.token}"]
        return subprocess.run([binary("temporal"), *args, *flags], capture_output=True, text=True,
                              encoding="utf-8", errors="replace", input=stdin, env=self.env(), timeout=timeout)

    def decode(self, payloads: Sequence[Any]) -> list[Any]:
        """Payloads (temporalio.api.common.v1.Payload) decoded by the codec server, as the CLI and
        the Web UI have them decoded: POST /decode with the bearer token."""
        from google.protobuf import json_format
        from temporalio.api.common.v1 import Payloads
        body = json_format.MessageToJson(Payloads(payloads=list(payloads))).encode()
        request = urllib.request.Request(f"{self.codec_url}/decode", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return list(json_format.Parse(response.read(), Payloads()).payloads)

    def keys(self):
        from edge.codec import KeyRing
        return KeyRing.parse(self.key_file.read_text(encoding="utf-8"), str(self.key_file))

    async def client(self, data_converter=None):
        """A Python client; by default with the project's encrypted converter (the key ring)."""
        from temporalio.client import Client

        from edge.codec import data_converter as encrypted
        return await Client.connect(self.address, namespace=self.namespace,
                                    data_converter=data_converter or encrypted(self.keys()))

    def history(self, workflow_id: str, codec: bool = True) -> dict[str, Any]:
        """The case's event history as `temporal workflow show -o json` prints it: {"events": [...]}."""
        done = self.temporal("workflow", "show", "--workflow-id", workflow_id, "-o", "json", codec=codec)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @staticmethod
    def workflow_task_failures(history: dict[str, Any]) -> int:
        return sum(e.get("eventType") == "EVENT_TYPE_WORKFLOW_TASK_FAILED" for e in history.get("events", []))

    def engine(self) -> sa.Engine:
        from activities.database import make_engine
        return make_engine(self.records_url)

    def records(self, workflow_id: str, engine: sa.Engine | None = None) -> dict[str, list[dict[str, Any]]]:
        """Every row about this case, table by table (tables with a workflow_id column)."""
        own = engine is None
        engine = engine or self.engine()
        try:
            found: dict[str, list[dict[str, Any]]] = {}
            if self._case_tables is None:
                metadata = sa.MetaData()
                metadata.reflect(engine)
                self._case_tables = [t for t in metadata.sorted_tables if "workflow_id" in t.c]
            with engine.connect() as connection:
                for table in self._case_tables:
                    rows = [dict(r._mapping) for r in
                            connection.execute(sa.select(table).where(table.c.workflow_id == workflow_id))]
                    if rows:
                        found[table.name] = rows
            return found
        finally:
            if own:
                engine.dispose()

    def contact(self, customer_ref: str, engine: sa.Engine | None = None) -> dict[str, Any] | None:
        """The customercontact row of a customer (personal data is kept by customer, not by case)."""
        own = engine is None
        engine = engine or self.engine()
        try:
            with engine.connect() as connection:
                row = connection.execute(sa.text("SELECT * FROM customercontact WHERE customer_ref = :ref"),
                                         {"ref": customer_ref}).first()
            return dict(row._mapping) if row else None
        finally:
            if own:
                engine.dispose()

    @staticmethod
    def wait(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(interval)

    @staticmethod
    async def wait_async(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(interval)

    def diagnostics(self, lines: int = 60) -> str:
        parts = []
        for name, process in self.processes.items():
            parts.append(f"{name}: pid {process.pid}, " + ("running" if process.poll() is None
                                                             else f"exited {process.returncode}"))
        for path in (self.codec_log, self.server_log, self.worker_log):  # the worker's last, nearest the prompt
            parts.append(f"--- last lines of {path} ---\n{tail(path, lines, skip='aiohttp.access')}")
        return "\n".join(parts)


@contextlib.contextmanager
def running_stack(workdir: Path, seed: Callable[[sa.Engine], None] | None = None,
                  task_queue: str = TASK_QUEUE) -> Iterator[Stack]:
    """Server, codec server, seeded records and worker, up and answering; all stopped at the end.
    The servers start while the records are seeded; the worker, which needs all three, last."""
    for attempt in range(3):  # a free port taken by someone else between our probe and the server's bind
        stack = Stack(workdir / f"run{attempt}" if attempt else workdir, task_queue=task_queue)
        stack.prepare()
        try:
            stack.start_server()
            stack.start_codec()
            stack.seed(seed)
            stack.server_started()
            stack.codec_started()
            break
        except BaseException as error:
            stack.stop()
            if not isinstance(error, RuntimeError) or attempt == 2:  # RuntimeError: a server exited
                raise
    try:
        stack.start_worker()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    """One stack per test module; the module's `seed_outside_world(engine)` runs before the worker,
    which polls the module's `STACK_TASK_QUEUE` if it names one.
    When a test of the module failed, the tails of the worker, codec and server logs are printed."""
    failed_before = request.session.testsfailed
    seed = getattr(request.module, "seed_outside_world", None)
    task_queue = getattr(request.module, "STACK_TASK_QUEUE", TASK_QUEUE)
    with running_stack(tmp_path_factory.mktemp("stack"), seed, task_queue) as stack:
        yield stack
        if request.session.testsfailed > failed_before:
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                print(f"\nstack files in {stack.workdir}\n{stack.diagnostics()}", file=sys.stderr)
