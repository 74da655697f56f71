"""N copies of a program in child processes, kept running: what `telecom-worker --processes N` is.

Children are spawned (a fresh interpreter each), never forked: the Temporal SDK's Rust core runs
threads that a fork would copy in an undefined state. Each child calls `target(index, ready, *args)`
and sends on `ready` once it serves. SIGTERM or SIGINT to the parent is passed on as SIGTERM to every
child, which then shuts down gracefully; one still running `stop_timeout` later is killed.

A child that exits before it was ever ready (a setting, the server or the database refused it at
start) stops them all: the parent exits 1, as a single process would. One that dies after it was
ready (killed, out of memory) is started again after a back-off, 1 s doubling to 60 s, back to 1 s
once a child has run a minute; each restart is logged with its exit status."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("telecom.supervisor")
FIRST_BACKOFF, MAX_BACKOFF, STEADY = 1.0, 60.0, 60.0
"""Seconds: the first restart's delay, the longest, and the run after which a child counts as steady."""
SPAWN = multiprocessing.get_context("spawn")


@dataclass
class _Child:
    index: int
    process: BaseProcess | None = None
    ready: Connection | None = None  # the parent's end: the child says once when it serves
    was_ready: bool = False
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF  # the next restart's delay
    restart_at: float | None = None


def supervise(target: Callable[..., None], count: int, args: tuple[Any, ...] = (), *,
              stop_timeout: float = 30.0) -> int:
    """Run `count` children until SIGTERM or SIGINT; the exit status for the parent (0, or 1 when a
    child failed at start)."""
    waker, wakeup = socket.socketpair()
    waker.setblocking(False)
    wakeup.setblocking(False)
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.set_wakeup_fd(wakeup.fileno())  # a signal wakes the wait below at once
    children = [_Child(i) for i in range(1, count + 1)]
    try:
        for child in children:
            _start(child, target, args)
        status = _watch(children, count, target, args, stopping, waker)
    finally:
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop(children, stop_timeout)
        waker.close()
        wakeup.close()
    return status


def _watch(children: list[_Child], count: int, target: Callable[..., None], args: tuple[Any, ...],
           stopping: list[int], waker: socket.socket) -> int:
    while not stopping:
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None and now >= child.restart_at:
                _start(child, target, args)
        watched: list[Any] = [waker]
        for child in children:
            if child.process is not None:
                watched.append(child.process.sentinel)
            if child.ready is not None:
                watched.append(child.ready)
        pending = [c.restart_at for c in children if c.restart_at is not None]
        wait(watched, timeout=max(0.0, min(pending) - now) if pending else None)
        with contextlib.suppress(BlockingIOError):  # empty unless a signal woke the wait
            waker.recv(64)
        for child in children:
            _read_ready(child, count)
            process = child.process
            if process is None or process.is_alive() or stopping:
                continue
            process.join()
            if not child.was_ready:
                log.error("worker process %d (pid %d) failed at start (exit status %s): stopping",
                          child.index, process.pid, process.exitcode)
                return 1
            ran = time.monotonic() - child.started_at
            delay = FIRST_BACKOFF if ran >= STEADY else child.backoff
            child.backoff = min(delay * 2, MAX_BACKOFF)
            child.process, child.restart_at = None, time.monotonic() + delay
            log.warning("worker process %d (pid %d) exited unexpectedly (exit status %s) after %.0f s; "
                        "restarting it in %g s", child.index, process.pid, process.exitcode, ran, delay)
    log.info("stopping: %s passed on to the worker processes", signal.Signals(stopping[0]).name)
    return 0


def _start(child: _Child, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    theirs, ours = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=target, args=(child.index, ours, *args), name=f"worker-{child.index}")
    process.start()
    ours.close()  # the child holds its end: EOF here once it is gone
    child.process, child.ready, child.started_at, child.restart_at = process, theirs, time.monotonic(), None


def _read_ready(child: _Child, count: int) -> None:
    if child.ready is None or not child.ready.poll():
        return
    try:
        child.ready.recv()
    except EOFError:  # it died before saying so
        pass
    else:
        assert child.process is not None
        child.was_ready = True
        log.info("worker process %d of %d ready (pid %d)", child.index, count, child.process.pid)
    child.ready.close()
    child.ready = None


def _stop(children: list[_Child], timeout: float) -> None:
    running = [c.process for c in children if c.process is not None and c.process.is_alive()]
    for process in running:
        process.terminate()  # SIGTERM: the child finishes its running activities
    deadline = time.monotonic() + timeout
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("worker process %s (pid %d) still running after %g s: killing it",
                        process.name, process.pid, timeout)
            process.kill()
            process.join()
