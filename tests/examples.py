"""One valid example per workflow type, as plain JSON, and how to drive it to its end: the poison
corpus is generated from these, and the other tests use them as a known-good case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from temporalio import workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.policy import Policy

# Where the application example is checked ("not before today"), today. Test workflows' modules
# import this one inside the workflow sandbox too, which has no clock and needs no examples.
TODAY = "" if workflow.unsafe.in_sandbox() else datetime.now(ZoneInfo(Policy().timezone)).date().isoformat()


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
    input={"complaint_id": "EX1", "channel": "hotline", "category": "billing",
           "customer": {"customer_ref": "CUST-2001", "name": "李四", "phone": "13900139000"},
           "description": "本月多扣费 30 元", "event_date": "2026-11-20"},
    updates={"assign_handler": {"handler": "h.li", "actor": "desk.wang"},
             "record_findings": {"findings": "计费系统重复出账", "actor": "h.li"},
             "send_reply": {"reply": "已退还多扣费用", "channel": "sms", "actor": "h.li"},
             "confirm": {"satisfied": True},
             "submit_closure": {"cause_analysis": "出账任务重跑", "improvement_measures": "出账幂等校验",
                                "actor": "h.li"}},
    path=["assign_handler", "record_findings", "send_reply", "confirm", "submit_closure"],
    waits_in="acknowledged")

FAULT = Example(
    workflow_type="FaultRepair",
    workflow_id="fault-EX1",
    id_field="ticket_id",
    input={"ticket_id": "EX1", "service_id": "BB-1001", "region": "urban", "severity": "major",
           "description": "宽带无法上网", "channel": "hotline", "terminal_equipment": False,
           "customer": {"customer_ref": "CUST-2001", "name": "李四", "phone": "13900139000"}},
    updates={"assign_technician": {"technician": "t.zhao", "actor": "noc.wu"},
             "hold": {"reason": "用户不在家", "actor": "t.zhao"},
             "resume": {"reason": "用户已回家", "actor": "t.zhao"},
             "resolve": {"cause_code": "line_damage", "fix": "更换入户光缆", "actor": "t.zhao"},
             "confirm": {"comment": "好了"},
             "reopen": {"reason": "又断了"},
             "cancel": {"reason": "误报"}},
    path=["assign_technician", "resolve", "confirm"], waits_in="pending")

TERMINATION_ID = {"id_type": "resident_id_card", "id_number": "11010519491231002X",
                  "verification_source": "card_reader"}


def _subscriber(engine: sa.Engine, data: dict[str, Any]) -> None:
    from adapters.seed import seed_subscriber
    from edge.id_hash import development_keys
    from models.identity import IdentityDocument
    # A broadband line takes no pool number, so any number of copies can be seeded.
    seed_subscriber(engine, data["account_id"], data["customer"]["customer_ref"],
                    IdentityDocument.model_validate(data["identity"]), [("broadband", data["services"][0])],
                    keys=development_keys(), equipment=[(f"ONT-{data['account_id']}", "optical_modem")])


TERMINATION = Example(
    workflow_type="TerminationCleanup",
    workflow_id="termination-EX1",
    id_field="request_id",
    input={"request_id": "EX1", "account_id": "ACCT-EX1", "services": ["BB-EX1"], "reason": "relocation",
           "identity": TERMINATION_ID, "port_out": False,
           "customer": {"customer_ref": "CUST-3901", "name": "王五", "phone": "13700137901"}},
    updates={"record_equipment_return": {"serials": ["ONT-ACCT-EX1"], "actor": "store.qian"},
             "reclaim_number": {"number": "13900000901", "identity": TERMINATION_ID},  # refused: no number
             "cancel": {"reason": "不退了"}},
    path=[], waits_in="terminated", seed=_subscriber,
    # One termination per account: each copy gets its own account, broadband line and modem.
    # It ends on its own: equipment charged, number released, data erased.
    vary=lambda data, case_id: {**data, "account_id": f"ACCT-{case_id}", "services": [f"BB-{case_id}"]})

APPLICATION = Example(
    workflow_type="ApplicationReview",
    workflow_id="application-EX1",
    id_field="application_id",
    input={"application_id": "EX1", "service_type": "broadband", "region": "urban",
           "requested_start_date": TODAY,
           "applicant": {"customer_ref": "CUST-1901", "name": "王芳", "phone": "13800138901",
                         "identity": {"id_type": "resident_id_card", "id_number": "11010519491231002X",
                                      "verification_source": "card_reader"}},
           "materials": [{"kind": kind, "document_id": f"DOC-{n}"} for n, kind in
                         enumerate(["application_form", "service_agreement", "address_proof"], 1)]},
    updates={"approve": {"actor": "r.zhao"}, "reject": {"reason": "资料不实", "actor": "r.zhao"},
             "request_supplement": {"materials": ["address_proof"], "note": "地址证明不清晰", "actor": "r.zhao"},
             "supply_materials": {"materials": [{"kind": "address_proof", "document_id": "DOC-9"}]},
             "cancel": {"reason": "不办了"}},
    path=["approve"], waits_in="inProgress")

EXAMPLES: dict[str, Example] = {e.workflow_type: e for e in (APPLICATION, FAULT, COMPLAINT, TERMINATION)}
