"""A time-skipping test server per test, started before the test asks for it.

`WorkflowEnvironment.start_time_skipping` spawns the same binary but polls for it every 100 ms, about
0.1 s idle per test while the server is ready in 0.03 s. Here each test's server was spawned while the
previous test ran (`Spares`), and the environment is the SDK's own time-skipping one around it: the
test still has a server and a clock of its own."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
from collections.abc import Iterator

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

# The class start_time_skipping returns; importing it fails loudly if an SDK upgrade renames it.
from temporalio.testing._workflow import _V1WorkflowEnvironment


class TestServer:
    """A temporal-test-server process on a free port: what the environment needs of its server is a
    `target` and `shutdown()`."""

    __test__ = False  # not a test class

    def __init__(self, path: str, port: int) -> None:
        self.target = f"127.0.0.1:{port}"
        self.process = subprocess.Popen([path, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def listening(self) -> bool:
        """Wait until the server accepts connections; False if it exited (its port was taken)."""
        host, port = self.target.split(":")
        for _ in range(5000):  # 10 s, the SDK's start-up bound twice over
            if self.process.poll() is not None:
                return False
            try:
                _, writer = await asyncio.open_connection(host, int(port))
            except OSError:
                await asyncio.sleep(0.002)
                continue
            writer.close()
            return self.process.poll() is None
        raise TimeoutError(f"temporal-test-server on {self.target} did not start")

    async def shutdown(self) -> None:
        """Killed; reaped later (`Spares`): waiting for its exit cost each test 4 ms here."""
        self.process.kill()
        KILLED.append(self.process)


KILLED: list[subprocess.Popen] = []
"""Servers killed and not yet reaped."""


def _reap() -> None:
    KILLED[:] = [process for process in KILLED if process.poll() is None]


PORTS = 500
"""Ports of each xdist worker's own range, below the ephemeral ports the system gives clients. With
ports the system picked (the SDK's way), two workers could both be given one just freed: the server
that lost the race exits, but its test may connect to the other's server first (the likeliest cause
of a CI failure where another test's case had already started)."""


def _ports() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    first = 21000 + PORTS * int(worker.removeprefix("gw") or 0)
    return itertools.cycle(range(first, first + PORTS))


class Spares:
    """One server spawned ahead: a test takes it and spawns the next test's."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.spare: TestServer | None = None
        self.ports = _ports()

    def _spawn(self) -> TestServer:
        _reap()
        while True:  # the next free port of the range (a killed server's may still be held)
            port = next(self.ports)
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return TestServer(self.path, port)

    async def environment(self, data_converter: DataConverter) -> WorkflowEnvironment:
        while True:
            server, self.spare = self.spare or self._spawn(), self._spawn()
            if await server.listening():
                break
            await server.shutdown()
        try:
            client = await Client.connect(server.target, data_converter=data_converter)
        except BaseException:
            await server.shutdown()
            raise
        return _V1WorkflowEnvironment(client, server)  # duck-typed: a target and shutdown()

    def close(self) -> None:
        if self.spare is not None:
            self.spare.process.kill()
            self.spare.process.wait()
        for process in KILLED:
            process.wait()
