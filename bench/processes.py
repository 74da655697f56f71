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
    """CPU seconds (user + system) so far, resident and peak resident memory of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    kb = lambda key: int(status[key].split()[0])  # noqa: E731
    return Usage(cpu, kb("VmRSS") / 1024, kb("VmHWM") / 1024)


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
    """The production worker (`worker.serve`) plus the floor workflow, on a task queue of its own."""

    def __init__(self, server: DevServer, database_url: str, policy_file: Path | None, keys: str, log: Path) -> None:
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
        start = log.stat().st_size if log.exists() else 0
        self.process = subprocess.Popen([sys.executable, "-m", "bench.worker"], cwd=ROOT, env=environ,
                                        stdout=log.open("ab"), stderr=subprocess.STDOUT)
        for _ in range(600):  # polling once it logs its task queue
            if self.queue in log.read_bytes()[start:].decode(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError("the worker did not start within 60 s")

    def usage(self) -> Usage:
        return usage(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
