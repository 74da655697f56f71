"""One valid example per workflow type and how to drive it to its end: the poison corpus is
generated from these, and the other tests and the benchmark use them as a known-good case. Inputs,
update arguments and signals are read from examples/ (the published examples, one JSON file each,
named like schemas/), so the docs, the tests and the benchmark share one set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from temporalio import workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.contract import CONTRACTS

EXAMPLE_DIR = Path(__file__).parent.parent / "examples"  # no resolve(): the sandbox forbids it
# Test workflows' modules import this one inside the workflow sandbox too, which has no clock, may
# not open files and needs no examples: there the examples are empty.
IN_SANDBOX = workflow.unsafe.in_sandbox()


def example_file(workflow_type: str, kind: str, name: str = "") -> Path:
    """examples/<type>.input.json, <type>.update.<name>.json, <type>.signal.<name>.json (as schemas/)."""
    return EXAMPLE_DIR / ".".join(part for part in (workflow_type, kind, name, "json") if part)


def load(workflow_type: str, kind: str, name: str = "") -> dict[str, Any]:
    if IN_SANDBOX:
        return {}
    data: dict[str, Any] = json.loads(example_file(workflow_type, kind, name).read_text(encoding="utf-8"))
    return data


def _arguments(workflow_type: str, kind: str) -> dict[str, dict[str, Any]]:
    """The example argument of every update or signal the contract gives the workflow type."""
    contract = next(c for c in CONTRACTS if c.workflow_type == workflow_type)
    return {name: load(workflow_type, kind, name) for name in getattr(contract, f"{kind}s")}


@dataclass(frozen=True)
class Example:
    workflow_type: str
    workflow_id: str
    id_field: str
    """The input field the workflow id is made of (`{prefix}{input[id_field]}`)."""
    input: dict[str, Any]
    updates: dict[str, dict[str, Any]]
    """A valid argument for every update (not necessarily valid in every state)."""
    path: list[str]
    """Updates that drive the case from opened to its end, in order."""
    waits_in: str
    """The state the case settles in to wait for people (after its automatic first steps)."""
    seed: Callable[[sa.Engine, dict[str, Any]], None] | None = None
    """Outside-world state the case needs (e.g. the account to terminate), put in place before it starts."""
    vary: Callable[[dict[str, Any], str], dict[str, Any]] | None = None
    """What else must differ between copies besides the id (e.g. the account to terminate)."""
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A valid argument for every signal."""

    def numbered(self, n: int, tag: str = "N") -> tuple[str, dict[str, Any]]:
        """The n-th copy of this case: its workflow id and input."""
        case_id = f"{tag}{n:04d}"
        prefix = self.workflow_id[: -len(self.input[self.id_field])]
        data = {**self.input, self.id_field: case_id}
        return prefix + case_id, self.vary(data, case_id) if self.vary else data

    async def opened(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        """Until the case has taken its automatic first steps and waits for people."""
        for _ in range(200):
            status = await handle.query("status")
            if status["history"] and status["state"] == self.waits_in:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{handle.id} did not open")

    async def drive(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        for update in self.path:
            # Long enough to outlast a database outage: the update completes once its record is in.
            await handle.execute_update(update, self.updates[update], rpc_timeout=timedelta(minutes=5))
        await handle.result()


COMPLAINT = Example(
    workflow_type="ComplaintClosure",
    workflow_id="complaint-EX1",
    id_field="complaint_id",
    input=load("ComplaintClosure", "input"),
    updates=_arguments("ComplaintClosure", "update"),
    path=["assign_handler", "record_findings", "send_reply", "confirm", "submit_closure"],
    waits_in="acknowledged")

FAULT = Example(
    workflow_type="FaultRepair",
    workflow_id="fault-EX1",
    id_field="ticket_id",
    input=load("FaultRepair", "input"),
    updates=_arguments("FaultRepair", "update"),
    path=["assign_technician", "resolve", "confirm"], waits_in="pending")

_TERMINATION_INPUT = load("TerminationCleanup", "input")
TERMINATION_ID: dict[str, Any] = _TERMINATION_INPUT.get("identity", {})


def _subscriber(engine: sa.Engine, data: dict[str, Any]) -> None:
    """What `python -m starter.seed --subscriber FILE` puts in place for the input (docs/outside-systems.md):
    its broadband line takes no pool number, so any number of copies can be seeded."""
    from adapters.seed import seed_for_termination
    from edge.id_hash import development_keys
    from models.termination import TerminationInput
    seed_for_termination(engine, TerminationInput.model_validate(data), development_keys())


TERMINATION = Example(
    workflow_type="TerminationCleanup",
    workflow_id="termination-EX1",
    id_field="request_id",
    input=_TERMINATION_INPUT,
    # reclaim_number is refused in this case: its broadband line has no number to reclaim.
    updates=_arguments("TerminationCleanup", "update"),
    signals=_arguments("TerminationCleanup", "signal"),
    path=[], waits_in="terminated", seed=_subscriber,
    # One termination per account: each copy gets its own account, broadband line and modem.
    # It ends on its own: equipment charged, number released, data erased.
    vary=lambda data, case_id: {**data, "account_id": f"ACCT-{case_id}", "services": [f"BB-{case_id}"]})

APPLICATION = Example(
    workflow_type="ApplicationReview",
    workflow_id="application-EX1",
    id_field="application_id",
    input=load("ApplicationReview", "input"),  # no requested_start_date: as soon as possible
    updates=_arguments("ApplicationReview", "update"),
    signals=_arguments("ApplicationReview", "signal"),
    path=["approve"], waits_in="inProgress")



def _upcoming_window(data: dict[str, Any]) -> dict[str, Any]:
    """The published example's window is a fixed date; a test's case opens it ten days from now (the
    change must be announced 72 h ahead), as long as before."""
    if IN_SANDBOX:
        return data
    start, end = (datetime.fromisoformat(data[k]) for k in ("window_start", "window_end"))
    upcoming = datetime.now(UTC) + timedelta(days=10)
    return {**data, "window_start": upcoming.isoformat(), "window_end": (upcoming + (end - start)).isoformat()}


CHANGE = Example(
    workflow_type="ServiceChange",
    workflow_id="change-EX1",
    id_field="change_id",
    input=_upcoming_window(load("ServiceChange", "input")),  # the seeded line BB-1001 is in its scope
    updates=_arguments("ServiceChange", "update"),
    path=["approve"], waits_in="awaitingApproval")

EXAMPLES: dict[str, Example] = {e.workflow_type: e for e in (APPLICATION, FAULT, COMPLAINT, TERMINATION, CHANGE)}
CASE_EXAMPLES = {name: e for name, e in EXAMPLES.items() if e is not CHANGE}
"""A customer's case of each process: a service change is the operator's, benchmarked on its own (bench/change.py)."""
