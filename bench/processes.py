"""The processes the benchmark runs: the dev server and the worker as their own OS processes, so
their CPU time and memory are read from /proc as ops would see them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from edge.search_attributes import WANTED, type_name

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu_s: float
    rss_mb: float
    peak_rss_mb: float


def usage(pid: int) -> Usage:
    """CPU seconds (user + system) so far, resident and peak resident memory of a live process and
    its live descendants (a worker's supervised processes), summed."""
    total = Usage(0.0, 0.0, 0.0)
    for member in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            status = dict(line.split(":", 1) for line in Path(f"/proc/{member}/status").read_text().splitlines()
                          if ":" in line)
        except OSError:  # a descendant gone meanwhile
            continue
        rss_mb, peak_mb = (int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
        total = Usage(total.cpu_s + (int(fields[11]) + int(fields[12])) / TICKS, total.rss_mb + rss_mb,
                      total.peak_rss_mb + peak_mb)
    return total


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        found.append(child := todo.pop())
        todo += children.get(child, [])
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class DevServer:
    """`temporal server start-dev`, in memory, headless, our search attributes registered."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        attributes = [f"{name}={type_name(value_type)}" for name, value_type in WANTED.items()]
        command = [_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                   "--port", str(self.port), *(arg for a in attributes for arg in ("--search-attribute", a))]
        self.process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        for _ in range(300):
            health = subprocess.run([_binary("temporal"), "operator", "cluster", "health", "--address", self.address],
                                    capture_output=True)
            if health.returncode == 0:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the dev server exited:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"the dev server did not answer on {self.address} within 60 s")

    def usage(self) -> Usage:
        return usage(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


class WorkerProcess:
    """The production worker (`worker.serve`) plus the floor workflows, on a task queue of its own;
    `processes` worker processes under a supervisor (`telecom-worker --processes`) when more than one.
    Ready when built, unless `spawned` (then `ready()`)."""

    def __init__(self, server: DevServer, database_url: str, policy_file: Path | None, keys: str, log: Path,
                 processes: int = 1, *, spawned: bool = False) -> None:
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.log = log
        environ = {**os.environ, "TEMPORAL_ADDRESS": server.address, "TELECOM_DATABASE_URL": database_url,
                   "TELECOM_TASK_QUEUE": self.queue, "TELECOM_CODEC_KEYS": keys, "TELECOM_LOG_LEVEL": "INFO"}
        # The development ID hash key, as the examples' seeding uses (edge.id_hash.development_keys).
        for unset in ("TELECOM_METRICS_ADDRESS", "TELECOM_CODEC_KEY_FILE", "TELECOM_POLICY_FILE", "TELECOM_ID_HASH_KEY",
                      "TELECOM_MODE"):
            environ.pop(unset, None)
        if policy_file is not None:  # else the built-in policy
            environ["TELECOM_POLICY_FILE"] = str(policy_file)
        self.processes, self.log_start = processes, log.stat().st_size if log.exists() else 0
        self.process = subprocess.Popen([sys.executable, "-m", "bench.worker", "--processes", str(processes)],
                                        cwd=ROOT, env=environ, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        if not spawned:
            self.ready()

    def ready(self) -> None:
        """Until each process has logged its task queue."""
        for _ in range(600):
            logged = self.log.read_bytes()[self.log_start:].decode(errors="replace")
            if logged.count(f"task queue {self.queue},") >= self.processes:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError("the worker did not start within 60 s")

    def usage(self) -> Usage:
        return usage(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
