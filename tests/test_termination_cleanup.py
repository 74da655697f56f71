"""TerminationCleanup under the time-skipping server and a real database: states, billing, lines,
number pool, equipment, erasure, records, notifications and times — months of a case in seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.calendar import WorkingCalendar
from activities.tables import ArchiveEntry, Case, CaseEvent, Compensation, CustomerContact, Notification, SlaEvent
from activities.termination import DataErasure, TerminationClaim
from adapters.billing import BillingAccount, BillingEntry, DatabaseBilling, FinalBillRow, RentedEquipment
from adapters.inventory import CustomerLine, PoolNumber
from adapters.seed import seed_subscriber
from edge.id_hash import development_keys, id_hash
from models.common import add_months
from models.identity import IdentityDocument, IdType, citizen_check_digit
from models.policy import Policy, TerminationPolicy
from models.termination import (
    CancelTermination,
    EquipmentKind,
    LineOutcome,
    PaymentReceived,
    ReclaimNumber,
    RecordEquipmentReturn,
    TerminationInput,
    TerminationStage,
    TerminationState,
    TerminationStatus,
    erasure_time,
)
from worker import build_worker
from workflows.termination_cleanup import TerminationCleanup

from .conftest import TEST_QUEUE, rows

DAY = timedelta(days=1)
TZ = "Asia/Shanghai"
ID = "11010519491231002X"
"""The specimen number of GB 11643-1999."""
OTHER_ID = "44030419850101001" + citizen_check_digit("44030419850101001")
HOLDER = id_hash(IdType.resident_id_card, ID, development_keys())
NAME, PHONE = "李四", "13700137000"
MOBILE, BROADBAND = "13900000101", "BB-3001"
ACCOUNT, WID = "ACCT-3001", "termination-T1"
MODEM, SET_TOP = ("ONT-3001", EquipmentKind.optical_modem), ("STB-3001", EquipmentKind.set_top_box)


def identity(number: str = ID) -> IdentityDocument:
    return IdentityDocument(id_type="resident_id_card", id_number=number, verification_source="card_reader")


def request(request_id: str = "T1", **overrides) -> TerminationInput:
    data = dict(request_id=request_id, account_id=ACCOUNT, services=[MOBILE, BROADBAND], reason="relocation",
                identity=identity().model_dump(), customer=dict(customer_ref="CUST-3001", name=NAME, phone=PHONE))
    return TerminationInput.model_validate({**data, **overrides})


def seed(engine, *, balance_fen: int = 0, contract_end: date | None = None, equipment=(), lines=None) -> None:
    seed_subscriber(engine, ACCOUNT, "CUST-3001", identity(),
                    lines if lines is not None else [("mobile", MOBILE), ("broadband", BROADBAND)],
                    keys=development_keys(), balance_fen=balance_fen, contract_end=contract_end,
                    equipment=list(equipment))


@pytest.fixture
async def term_worker(env, engine, policy):
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE) as worker:
        yield worker


async def start(env, terminate: TerminationInput | None = None) -> WorkflowHandle:
    terminate = terminate or request()
    return await env.client.start_workflow(TerminationCleanup.run, terminate, id=terminate.workflow_id,
                                           task_queue=TEST_QUEUE)


async def until(handle: WorkflowHandle, ready: Callable[[TerminationStatus], bool]) -> TerminationStatus:
    """Poll the status query until the case reaches what the test waits for."""
    for _ in range(200):
        status = await handle.query(TerminationCleanup.status)
        if ready(status):
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"case never got there; it is {status.state} / {status.stage}, awaiting {status.awaiting}")


def steps(engine, wid: str = WID) -> list[str]:
    return [e.step.split("-", 1)[1] for e in rows(engine, CaseEvent, wid)]


def notes(engine, template: str, wid: str = WID) -> list[Notification]:
    return [n for n in rows(engine, Notification, wid) if n.template == template]


def near(a: datetime, b: datetime, tolerance: timedelta = timedelta(seconds=2)) -> bool:
    return abs(a - b) <= tolerance


def one(engine, table, **where):
    [row] = [r for r in rows(engine, table) if all(getattr(r, k) == v for k, v in where.items())]
    return row


def ledger(engine) -> dict[str, int]:
    return {e.key: e.amount_fen for e in rows(engine, BillingEntry)}


def six_months_after(moment: datetime) -> datetime:
    local = moment.astimezone(ZoneInfo(TZ))
    return datetime.combine(add_months(local.date(), 6), local.timetz()).astimezone(UTC)


@pytest.mark.postgres
async def test_clean_termination_runs_180_days_and_writes_every_record_once(env, term_worker, engine):
    seed(engine, balance_fen=-5000, equipment=[MODEM, SET_TOP])
    started = await env.get_current_time()
    handle = await start(env)
    status = await until(handle, lambda s: s.state is TerminationState.terminated)
    assert [h.state for h in status.history] == ["active", "pendingTerminate", "terminated"]
    assert status.stage is TerminationStage.aftercare and status.outstanding_fen == 0
    assert status.final_bill.opening_balance_fen == -5000 and status.final_bill.refund_due_fen == 5000
    status = await until(handle, lambda s: s.refund.refunded_at is not None)
    assert status.refund.amount_fen == 5000 and status.refund.due_at - started >= 7 * DAY  # 7 working days
    account = one(engine, BillingAccount, account_id=ACCOUNT)
    assert account.status == "closed" and near(account.billing_stopped_at, started) and account.balance_fen == 0
    mobile, broadband = status.lines
    assert (mobile.line_masked, mobile.outcome, broadband.outcome) == ("13*******01", "quarantined", "terminated")
    assert near(mobile.quarantine_until, started + 90 * DAY)
    assert {line.status for line in rows(engine, CustomerLine)} == {"terminated"}
    number = one(engine, PoolNumber, number=MOBILE)
    assert (number.status, number.holder_hash) == ("quarantined", HOLDER)
    assert number.quarantine_until == mobile.quarantine_until
    assert set(status.deadlines) == {"equipment", "quarantine", "retention"}
    assert near(status.deadlines["equipment"], started + 15 * DAY)
    assert near(status.personal_data.restricted_at, started)

    await env.sleep(3 * DAY)
    status = await handle.execute_update(TerminationCleanup.record_equipment_return,
                                         RecordEquipmentReturn(serials=["ONT-3001", "STB-3001"], actor="store.wu"))
    assert {e.state for e in status.equipment} == {"returned"} and "equipment" not in status.deadlines
    assert near(one(engine, RentedEquipment, serial="ONT-3001").returned_at, started + 3 * DAY, timedelta(minutes=1))

    await env.sleep(87 * DAY + timedelta(minutes=1))
    status = await handle.query(TerminationCleanup.status)
    assert status.lines[0].outcome is LineOutcome.released and status.stage is TerminationStage.retention
    number = one(engine, PoolNumber, number=MOBILE)
    assert number.status == "free" and number.holder_hash is None and number.quarantine_until is None
    assert near(number.updated_at, started + 90 * DAY)

    result = await handle.result()
    erase_at = result.personal_data.erase_at
    assert erase_at == max(result.personal_data.restricted_at + 180 * DAY,
                           six_months_after(result.personal_data.restricted_at))
    assert 180 * DAY <= erase_at - started <= 185 * DAY
    assert result.stage is TerminationStage.closed and near(result.personal_data.erased_at, erase_at)
    assert result.id_masked is None and result.deadlines == {}
    assert steps(engine) == ["received", "settled", "terminated", "refunded", "equipment-returned",
                             "numbers-released", "personal-data-erased", "closed"]
    assert [n.template for n in rows(engine, Notification, WID)] == [
        "termination.received", "termination.final_bill", "termination.terminated", "termination.refunded",
        "termination.equipment_returned", "termination.numbers_released"]
    assert all(n.sent_at is not None for n in rows(engine, Notification, WID))
    [refund] = rows(engine, Compensation, WID)
    assert (refund.kind, refund.amount_fen) == ("refund", 5000)
    assert ledger(engine) == {"refund": 5000} and rows(engine, SlaEvent, WID) == []
    [archive] = rows(engine, ArchiveEntry, WID)
    assert archive.classification == "termination" and archive.summary["outcome"] == "terminated"
    assert archive.summary["certificate_id"] == "DC-termination-T1"
    [case] = rows(engine, Case, WID)
    assert case.state == "terminated" and near(case.closed_at, erase_at)
    assert case.details["id_masked"] is None and case.details["certificate_id"] == "DC-termination-T1"
    certificate = one(engine, DataErasure, workflow_id=WID)
    assert near(certificate.erased_at, erase_at)
    assert certificate.erased == {"customerline": 2, "provisioningorder": 0, "billingaccount": 1, "customercontact": 1,
                                  "case": 1, "notification": 1, "archiveentry": 0, "caseevent": 6, "slaevent": 0}
    assert rows(engine, CustomerContact) == [] and rows(engine, TerminationClaim) == []
    assert {line.holder_hash for line in rows(engine, CustomerLine)} == {"erased"}


async def test_a_balance_paid_on_day_12_lets_the_termination_continue(env, term_worker, engine):
    today = (await env.get_current_time()).astimezone(ZoneInfo(TZ)).date()
    seed(engine, balance_fen=8000, contract_end=add_months(today, 3) + timedelta(days=10))
    started = await env.get_current_time()
    handle = await start(env)
    status = await until(handle, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    assert status.state is TerminationState.active and status.early_termination_fee_fen == 9000  # 3 months × 30 元
    assert status.outstanding_fen == 17000 and near(status.deadlines["payment"], started + 30 * DAY)
    [due] = notes(engine, "termination.payment_due")
    assert due.params["amount_fen"] == 17000

    await env.sleep(12 * DAY)
    await handle.signal(TerminationCleanup.payment_received, PaymentReceived(reference="PAY-1", amount_fen=10000))
    status = await until(handle, lambda s: len(s.payments) == 1)
    assert status.outstanding_fen == 7000 and status.stage is TerminationStage.awaiting_payment
    await handle.signal(TerminationCleanup.payment_received, PaymentReceived(reference="PAY-1", amount_fen=10000))
    await handle.signal(TerminationCleanup.payment_received, PaymentReceived(reference="PAY-2", amount_fen=7000))
    status = await until(handle, lambda s: s.state is TerminationState.terminated)
    assert [p.reference for p in status.payments] == ["PAY-1", "PAY-2"] and status.outstanding_fen == 0
    assert [h.state for h in status.history] == ["active", "pendingTerminate", "terminated"]
    assert near(status.history[1].at, started + 12 * DAY, timedelta(minutes=1))
    assert "payment" not in status.deadlines and status.refund is None
    assert ledger(engine) == {"payment:PAY-1": -10000, "payment:PAY-2": -7000, "early-termination-fee": 9000}
    bill = one(engine, FinalBillRow, account_id=ACCOUNT)
    assert (bill.opening_balance_fen, bill.early_termination_fee_fen, bill.closing_balance_fen) == (-9000, 9000, 0)
    [fee] = rows(engine, Compensation, WID)
    assert (fee.kind, fee.amount_fen) == ("early_termination_fee", 9000)
    assert steps(engine) == ["received", "payment", "payment", "settled", "terminated"]
    assert notes(engine, "termination.payment_reminder") == []


async def test_a_balance_never_paid_cancels_on_day_30_with_nothing_deprovisioned(env, term_worker, engine):
    seed(engine, balance_fen=8000)
    started = await env.get_current_time()
    result = await (await start(env)).result()
    assert result.state is TerminationState.cancelled and result.stage is TerminationStage.cancelled
    assert near(result.history[-1].at, started + 30 * DAY) and "arrears" in result.cancel_reason
    assert steps(engine) == ["received", "payment-reminder", "cancelled"]
    [reminder] = notes(engine, "termination.payment_reminder")
    assert near(reminder.created_at, started + 20 * DAY) and reminder.params["amount_fen"] == 8000
    [arrears] = notes(engine, "termination.unpaid_balance")
    assert arrears.recipient == "arrears-desk" and arrears.params["amount_fen"] == 8000
    account = one(engine, BillingAccount, account_id=ACCOUNT)
    assert (account.status, account.balance_fen, account.billing_stopped_at) == ("active", 8000, None)
    assert {line.status for line in rows(engine, CustomerLine)} == {"active"}
    assert one(engine, PoolNumber, number=MOBILE).status == "assigned"
    assert rows(engine, FinalBillRow) == [] and rows(engine, DataErasure) == [] and ledger(engine) == {}
    assert rows(engine, TerminationClaim) == [] and rows(engine, ArchiveEntry, WID)[0].summary["outcome"] == "cancelled"

    second = await start(env, request("T2"))  # the claim is released: a new request may come
    awaiting = await until(second, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    assert awaiting.outstanding_fen == 8000


async def test_the_customer_may_cancel_while_payment_is_awaited_but_not_after(env, term_worker, engine):
    seed(engine, balance_fen=3000)
    handle = await start(env)
    await until(handle, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    status = await handle.execute_update(TerminationCleanup.cancel, CancelTermination(reason="决定继续使用"))
    assert status.state is TerminationState.cancelled and status.deadlines == {}
    assert one(engine, BillingAccount, account_id=ACCOUNT).status == "active"
    assert rows(engine, TerminationClaim) == [] and steps(engine) == ["received", "cancelled"]

    other = await start(env, request("T2"))
    await handle.result()
    await other.signal(TerminationCleanup.payment_received, PaymentReceived(reference="PAY-9", amount_fen=3000))
    await until(other, lambda s: s.state is TerminationState.terminated)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await other.execute_update(TerminationCleanup.cancel, CancelTermination(reason="反悔"))
    assert "can no longer be cancelled" in str(refused.value.cause)


async def test_equipment_never_returned_is_reminded_on_day_10_and_charged_once_on_day_15(env, term_worker, engine):
    seed(engine, equipment=[MODEM, SET_TOP])
    started = await env.get_current_time()
    handle = await start(env)
    await env.sleep(15 * DAY + timedelta(hours=1))
    status = await handle.query(TerminationCleanup.status)
    assert {e.state for e in status.equipment} == {"charged"} and "equipment" not in status.deadlines
    [reminder] = notes(engine, "termination.equipment_reminder")
    assert near(reminder.created_at, started + 10 * DAY)
    assert sorted(reminder.params["equipment"]) == ["optical_modem", "set_top_box"]
    [charged] = notes(engine, "termination.equipment_charged")
    assert near(charged.created_at, started + 15 * DAY) and charged.params["amount_fen"] == 50000
    [charge] = rows(engine, Compensation, WID)
    assert (charge.kind, charge.amount_fen) == ("equipment_charge", 50000)
    assert near(charge.created_at, started + 15 * DAY)
    assert ledger(engine) == {"equipment:ONT-3001": 30000, "equipment:STB-3001": 20000}
    assert one(engine, BillingAccount, account_id=ACCOUNT).balance_fen == 50000  # for billing to collect
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(TerminationCleanup.record_equipment_return,
                                    RecordEquipmentReturn(serials=["ONT-3001"], actor="store.wu"))
    assert "return window has ended" in str(refused.value.cause)
    assert steps(engine).count("equipment-charged") == 1 and rows(engine, SlaEvent, WID) == []


async def test_the_holder_reclaims_the_number_on_day_40_and_it_never_reaches_the_pool(env, term_worker, engine):
    seed(engine, lines=[("mobile", MOBILE)])
    handle = await start(env, request(services=[MOBILE]))
    await until(handle, lambda s: s.state is TerminationState.terminated)
    await env.sleep(40 * DAY)
    events = len(rows(engine, CaseEvent, WID))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(TerminationCleanup.reclaim_number,
                                    ReclaimNumber(number=MOBILE, identity=identity(OTHER_ID)))
    assert "not the last holder's" in str(refused.value.cause) and len(rows(engine, CaseEvent, WID)) == events
    assert one(engine, PoolNumber, number=MOBILE).status == "quarantined"

    status = await handle.execute_update(TerminationCleanup.reclaim_number,
                                         ReclaimNumber(number=MOBILE, identity=identity()))
    assert status.lines[0].outcome is LineOutcome.reclaimed and set(status.deadlines) == {"retention"}
    assert status.stage is TerminationStage.retention
    number = one(engine, PoolNumber, number=MOBILE)
    assert (number.status, number.holder_hash, number.order_id) == ("assigned", HOLDER, "RCL-T1-1")
    line = one(engine, CustomerLine, order_id="RCL-T1-1")
    assert (line.status, line.line_id, line.holder_hash) == ("active", MOBILE, HOLDER)

    await env.sleep(60 * DAY)
    assert one(engine, PoolNumber, number=MOBILE).status == "assigned"
    result = await handle.result()
    assert steps(engine) == ["received", "settled", "terminated", "number-reclaimed", "personal-data-erased", "closed"]
    certificate = one(engine, DataErasure, workflow_id=WID)  # still a customer: the contact stays
    assert certificate.erased["customercontact"] == 0 and "customercontact" in certificate.retained
    assert result.personal_data.certificate_id == certificate.certificate_id
    assert one(engine, CustomerContact, customer_ref="CUST-3001").name == NAME
    assert one(engine, CustomerLine, order_id="RCL-T1-1").holder_hash == HOLDER


class SlowRefunds(DatabaseBilling):
    """Billing's refund run is closed for a while: the first attempt asks to be retried later."""

    def __init__(self, engine, closed_for: timedelta) -> None:
        super().__init__(engine)
        self.closed_for = closed_for

    def refund(self, request):
        if activity.info().attempt == 1:
            raise ApplicationError("refund run closed", next_retry_delay=self.closed_for)
        return super().refund(request)


async def test_a_late_refund_warns_and_escalates_to_billing_while_other_clocks_run(env, engine, policy):
    seed(engine, balance_fen=-5000, equipment=[MODEM])
    started = await env.get_current_time()
    async with build_worker(env.client, engine, policy=policy, task_queue=TEST_QUEUE,
                            billing=SlowRefunds(engine, 12 * DAY)):
        handle = await start(env)
        status = await until(handle, lambda s: s.state is TerminationState.terminated)
        due = WorkingCalendar(TZ).add_working_time(status.final_bill.issued_at, 7 * DAY)
        assert status.refund.due_at == due and status.deadlines["refund"] == due
        await env.sleep(13 * DAY)
        status = await handle.query(TerminationCleanup.status)
    assert near(status.refund.refunded_at, started + 12 * DAY, timedelta(minutes=1))
    assert "refund" not in status.deadlines
    events = rows(engine, SlaEvent, WID)
    assert [e.key for e in events] == ["refund:warning-50pct", "refund:warning-75pct", "refund:warning-90pct",
                                       "refund:breach", "refund:escalation-functional",
                                       "refund:escalation-hierarchic"]
    assert events[3].at == due and events[4].to == "billing-supervisor" and events[5].at == due + DAY
    assert [n.recipient for n in rows(engine, Notification, WID) if n.channel == "staff"] == [
        "billing-desk", "billing-desk", "billing-desk", "billing-desk", "billing-supervisor", "billing-manager"]
    [reminder] = notes(engine, "termination.equipment_reminder")  # fired while the refund was pending
    assert near(reminder.created_at, started + 10 * DAY)
    [refund] = [c for c in rows(engine, Compensation, WID) if c.kind == "refund"]
    assert refund.amount_fen == 5000 and ledger(engine)["refund"] == 5000
    assert rows(engine, Case, WID)[0].sla_breached


async def test_a_ported_out_number_is_not_quarantined(env, term_worker, engine):
    seed(engine)
    handle = await start(env, request(port_out=True))
    status = await until(handle, lambda s: s.state is TerminationState.terminated)
    assert [line.outcome for line in status.lines] == ["ported_out", "terminated"]
    assert status.lines[0].quarantine_until is None and set(status.deadlines) == {"retention"}
    assert status.stage is TerminationStage.retention
    number = one(engine, PoolNumber, number=MOBILE)
    assert (number.status, number.holder_hash, number.quarantine_until) == ("ported_out", None, None)
    terminated = notes(engine, "termination.terminated")[0]
    assert "quarantine_until" not in terminated.params and "erase_at" in terminated.params


def clear_text_hits(engine, *needles: str) -> dict[str, list[str]]:
    """Every row of every table, as text: which tables hold any of the needles."""
    hits: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                text = " ".join(str(value) for value in row)
                hits.setdefault(table, []).extend(needle for needle in needles if needle in text)
    return {table: found for table, found in hits.items() if found}


@pytest.mark.postgres
async def test_after_erasure_no_table_holds_the_name_phone_or_id_while_records_remain(env, term_worker, engine):
    today = (await env.get_current_time()).astimezone(ZoneInfo(TZ)).date()
    seed(engine, balance_fen=2000, contract_end=add_months(today, 2) + timedelta(days=3), equipment=[MODEM])
    handle = await start(env)
    await until(handle, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    await handle.signal(TerminationCleanup.payment_received, PaymentReceived(reference="PAY-1", amount_fen=9000))
    await until(handle, lambda s: s.state is TerminationState.terminated)
    needles = (NAME, PHONE, ID, HOLDER)
    assert clear_text_hits(engine, *needles) == {"customercontact": [NAME, PHONE], "billingaccount": [HOLDER],
                                                 "customerline": [HOLDER, HOLDER], "poolnumber": [HOLDER]}
    await handle.result()
    assert clear_text_hits(engine, *needles) == {}
    assert set(ledger(engine)) == {"payment:PAY-1", "early-termination-fee", "refund", "equipment:ONT-3001"}
    assert len(rows(engine, FinalBillRow)) == 1 and len(rows(engine, BillingAccount)) == 1
    assert [c.kind for c in rows(engine, Compensation, WID)] == ["early_termination_fee", "refund", "equipment_charge"]
    assert rows(engine, Case, WID)[0].closed_at is not None and len(rows(engine, ArchiveEntry, WID)) == 1
    assert len(rows(engine, CaseEvent, WID)) == 10 and rows(engine, Notification, WID)


def raw(**changes) -> dict:
    return {**request().model_dump(mode="json"), **changes}


INVALID = {
    "unknown account": (dict(account_id="ACCT-404"), "account_id: no account ACCT-404"),
    "identity mismatch": (dict(identity=identity(OTHER_ID).model_dump()), "identity: the ID document is not"),
    "another customer": (dict(customer=dict(customer_ref="CUST-9", name=NAME, phone=PHONE)),
                         "belongs to another customer"),
    "line not on the account": (dict(services=[MOBILE, "13900000999"]), "services: line(s) 2 are not active"),
    "port-out without a mobile": (dict(services=[BROADBAND], port_out=True), "port_out: none of these lines"),
}


@pytest.mark.parametrize("name", INVALID)
async def test_an_invalid_request_fails_clearly_with_nothing_written(env, term_worker, engine, name):
    seed(engine)
    changes, message = INVALID[name]
    handle = await env.client.start_workflow("TerminationCleanup", raw(**changes), id=WID, task_queue=TEST_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert message in str(failed.value.cause) and failed.value.cause.type == "InvalidInput"
    assert ID not in str(failed.value.cause) and OTHER_ID not in str(failed.value.cause)
    assert rows(engine, Case) == [] and rows(engine, CustomerContact) == [] and rows(engine, TerminationClaim) == []
    assert one(engine, BillingAccount, account_id=ACCOUNT).status == "active"


@pytest.mark.postgres
async def test_a_second_termination_of_a_running_account_is_refused_whatever_its_id(env, term_worker, engine):
    seed(engine, balance_fen=1000)
    first = await start(env)
    await until(first, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    second = await start(env, request("T2"))
    with pytest.raises(WorkflowFailureError) as failed:
        await second.result()
    assert "already running (termination-T1)" in str(failed.value.cause)
    assert [c.workflow_id for c in rows(engine, Case)] == [WID]
    assert [(c.account_id, c.workflow_id) for c in rows(engine, TerminationClaim)] == [(ACCOUNT, WID)]
    assert rows(engine, Notification, "termination-T2") == []


BAD_INPUTS = {
    "manual ID entry": (raw(identity={**raw()["identity"], "verification_source": "manual"}), "verification_source"),
    "bad check digit": (raw(identity={**raw()["identity"], "id_number": ID[:-1] + "1"}), "identity.id_number"),
    "a line twice": (raw(services=[MOBILE, MOBILE]), "services"),
    "no lines": (raw(services=[]), "services"),
    "unknown reason": (raw(reason="bored"), "reason"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
async def test_malformed_input_fails_naming_the_field(env, term_worker, engine, name):
    data, field = BAD_INPUTS[name]
    handle = await env.client.start_workflow("TerminationCleanup", data, id=WID, task_queue=TEST_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert field in str(failed.value.cause) and ID[:-4] not in str(failed.value.cause)
    assert rows(engine, Case) == [] and rows(engine, TerminationClaim) == []


@pytest.mark.postgres
async def test_a_reused_request_id_fails_and_leaves_the_account_free(env, term_worker, engine):
    seed(engine, balance_fen=1000)
    first = await start(env)
    await until(first, lambda s: bool(s.history) and s.stage is TerminationStage.awaiting_payment)
    await first.execute_update(TerminationCleanup.cancel, CancelTermination(reason="搬家取消"))
    await first.result()
    again = await start(env)  # the same workflow id: Temporal allows it, the records do not
    with pytest.raises(WorkflowFailureError) as failed:
        await again.result()
    causes, error = [], failed.value.cause
    while error is not None:
        causes.append(str(error))
        error = error.cause
    assert any("case ids are never reused" in cause for cause in causes)
    assert rows(engine, TerminationClaim) == [] and steps(engine) == ["received", "cancelled"]


def test_the_termination_policy_prices_every_device_and_ends_quarantine_before_erasure():
    assert set(TerminationPolicy.EquipmentCharges.model_fields) == set(EquipmentKind)
    with pytest.raises(ValueError, match="must end before personal data is erased"):
        Policy.model_validate({"termination": {"quarantine": {"source": "x", "budget": "P200D", "warnings": []}}})
    policy = TerminationPolicy()
    ended = datetime(2026, 8, 31, 16, 30, tzinfo=UTC)  # 1 September 00:30 in Shanghai
    assert erasure_time(ended, policy, TZ) == datetime(2027, 2, 28, 16, 30, tzinfo=UTC)  # 1 March local
    assert erasure_time(datetime(2026, 1, 10, tzinfo=UTC), policy, TZ) == datetime(2026, 7, 10, tzinfo=UTC)
