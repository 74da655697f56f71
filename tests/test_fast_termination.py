"""TerminationCleanup with fake activities (tests/fakes.py): its branches and every termination rule
of the policy at its boundary — months of a case without a database. The database-backed tests are
in test_termination_cleanup.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from activities.calendar import WorkingCalendar
from models.common import add_months
from models.policy import Policy
from models.termination import (
    AccountSnapshot,
    CancelTermination,
    Equipment,
    LineOutcome,
    PaymentReceived,
    ReclaimNumber,
    RecordEquipmentReturn,
    TerminationInput,
    TerminationStage,
    TerminationState,
    TerminationStatus,
)
from starter import Terminations

from .fakes import FAST_QUEUE, Fakes, local_day, near

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
TZ = "Asia/Shanghai"
ID = "11010519491231002X"
MOBILE, BROADBAND = "13900000101", "BB-3001"
IDENTITY = dict(id_type="resident_id_card", id_number=ID, verification_source="card_reader")
MODEM = Equipment(serial="ONT-3001", kind="optical_modem", state="held")
SET_TOP = Equipment(serial="STB-3001", kind="set_top_box", state="held")


def request(request_id: str = "T1", **overrides) -> TerminationInput:
    data = dict(request_id=request_id, account_id=f"ACCT-{request_id}", services=[MOBILE, BROADBAND],
                reason="relocation", identity=IDENTITY,
                customer=dict(customer_ref="CUST-3001", name="李四", phone="13700137000"))
    return TerminationInput.model_validate({**data, **overrides})


def account(balance_fen: int = 0, contract_end: date | None = None, equipment=()) -> AccountSnapshot:
    return AccountSnapshot(customer_ref="CUST-3001", active=True, balance_fen=balance_fen, contract_end=contract_end,
                           equipment=list(equipment))


def months_later(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(ZoneInfo(TZ))
    return datetime.combine(add_months(local.date(), months), local.timetz()).astimezone(moment.tzinfo)


@pytest.fixture
def fakes() -> Fakes:
    fakes = Fakes()
    fakes.line_types = {MOBILE: "mobile", BROADBAND: "broadband"}
    return fakes


@pytest.fixture
async def terminations(env, fakes):
    async with fakes.worker(env):
        yield Terminations(env.client, task_queue=FAST_QUEUE)


async def until(terminations: Terminations, fakes: Fakes, step: str, request_id: str = "T1") -> TerminationStatus:
    await fakes.until(lambda: step in fakes.steps(f"termination-{request_id}"), f"{request_id} {step}")
    return await terminations.status(request_id)


async def test_a_clean_termination_from_request_to_erasure(env, terminations, fakes):
    fakes.account = account(balance_fen=-5000, equipment=[MODEM, SET_TOP])
    handle = await terminations.start(request())
    status = await until(terminations, fakes, "terminated")
    ended = status.personal_data.restricted_at
    assert status.state is TerminationState.terminated and status.stage is TerminationStage.aftercare
    assert status.final_bill.refund_due_fen == 5000 and status.early_termination_fee_fen == 0
    assert [(line.service_type, line.outcome) for line in status.lines] == [
        ("mobile", LineOutcome.quarantined), ("broadband", LineOutcome.terminated)]
    # Erased at the later of 180 days and the longest legal minimum, 6 calendar months (网安法 Art. 21).
    erase_at = max(ended + 180 * DAY, months_later(ended, 6))
    assert status.personal_data.erase_at == erase_at
    assert status.deadlines == {"quarantine": ended + 90 * DAY, "equipment": ended + 15 * DAY, "retention": erase_at}
    [deprovision] = fakes.called("deprovision")
    assert deprovision.quarantine_until == ended + 90 * DAY and not deprovision.port_out
    [refund] = fakes.called("refund")
    assert refund.amount_fen == 5000

    await env.sleep(15 * DAY - MINUTE)  # equipment: a reminder on day 10, charged on day 15
    assert fakes.called("charge_equipment") == []
    assert near(fakes.step("termination-T1", "equipment-reminder").at, ended + 10 * DAY)
    await env.sleep(2 * MINUTE)
    status = await until(terminations, fakes, "equipment-charged")
    [charge] = fakes.called("charge_equipment")
    assert charge.charges_fen == {"ONT-3001": 30000, "STB-3001": 20000}  # operator's prices of a 光猫, 机顶盒
    assert [c.amount_fen for c in fakes.step("termination-T1", "equipment-charged").compensations] == [50000]
    assert near(charge.at, ended + 15 * DAY)

    await env.sleep(75 * DAY - 2 * MINUTE)  # the quarantine: 90 days
    assert fakes.called("release_numbers") == []
    await env.sleep(2 * MINUTE)
    await until(terminations, fakes, "numbers-released")
    [release] = fakes.called("release_numbers")
    assert release.numbers == [MOBILE] and near(release.at, ended + 90 * DAY)

    result = await handle.result()
    [erasure] = fakes.called("erase_personal_data")
    assert near(erasure.at, erase_at) and result.personal_data.erased_at == erasure.at
    assert result.stage is TerminationStage.closed and result.id_masked is None and result.deadlines == {}
    closed = fakes.step("termination-T1", "closed")
    assert closed.closed and closed.archive.retention == timedelta(days=3 * 365)
    assert fakes.steps("termination-T1") == ["received", "settled", "terminated", "refunded", "equipment-reminder",
                                             "equipment-charged", "numbers-released", "personal-data-erased", "closed"]
    assert fakes.claims == {} and len(fakes.called("release_claim")) == 1


@pytest.mark.parametrize("minimums, retention, months", [
    ([], 180, None),  # no legal minimum: the operator's 180 days
    ([0], 90, 5),  # raw billing data alone (接入规范): 5 months
    ([1], 90, 6),  # network logs alone (网安法 Art. 21): 6 months
])
async def test_personal_data_is_erased_at_the_later_of_the_policy_and_each_legal_minimum(
        env, terminations, fakes, minimums, retention, months):
    default = Policy().termination
    policy = Policy().model_copy(update={"termination": default.model_copy(update={
        "retention_minimums": [default.retention_minimums[i] for i in minimums],
        "personal_data_retention": retention * DAY if retention != 180 else default.personal_data_retention})})
    fakes.policies["termination-T1"] = policy
    await terminations.start(request())
    status = await until(terminations, fakes, "terminated")
    ended = status.personal_data.restricted_at
    expected = ended + retention * DAY if months is None else max(ended + retention * DAY, months_later(ended, months))
    assert status.personal_data.erase_at == expected


async def test_an_unpaid_balance_is_reminded_on_day_20_and_cancels_the_request_on_day_30(env, terminations, fakes):
    fakes.account = account(balance_fen=2000)
    handle = await terminations.start(request())
    status = await until(terminations, fakes, "received")
    received = status.history[0].at
    assert status.stage is TerminationStage.awaiting_payment and status.outstanding_fen == 2000
    assert status.deadlines == {"payment": received + 30 * DAY}
    await env.sleep(30 * DAY - MINUTE)
    assert near(fakes.step("termination-T1", "payment-reminder").at, received + 20 * DAY)
    assert (await terminations.status("T1")).stage is TerminationStage.awaiting_payment
    result = await handle.result()
    assert result.state is TerminationState.cancelled and near(fakes.step("termination-T1", "cancelled").at,
                                                               received + 30 * DAY)
    assert ("termination.unpaid_balance", "arrears-desk") in fakes.notifications("termination-T1")
    assert fakes.called("settle") == [] and fakes.called("deprovision") == [] and fakes.claims == {}


async def test_a_payment_before_the_end_of_the_window_lets_the_termination_go_on(env, terminations, fakes):
    fakes.account = account(balance_fen=2000)
    await terminations.start(request())
    received = (await until(terminations, fakes, "received")).history[0].at
    await env.sleep(30 * DAY - MINUTE)
    await terminations.payment_received("T1", PaymentReceived(reference="PAY-1", amount_fen=2000))
    status = await until(terminations, fakes, "terminated")
    assert [p.reference for p in status.payments] == ["PAY-1"] and status.outstanding_fen == 0
    assert near(status.personal_data.restricted_at, received + 30 * DAY, timedelta(minutes=2))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await terminations.cancel("T1", CancelTermination(reason="不退了"))
    assert "can no longer be cancelled" in str(refused.value.cause)


async def test_the_customer_may_cancel_while_payment_is_awaited(env, terminations, fakes):
    fakes.account = account(balance_fen=2000)
    handle = await terminations.start(request())
    await until(terminations, fakes, "received")
    status = await terminations.cancel("T1", CancelTermination(reason="不退了"))
    assert status.state is TerminationState.cancelled and status.deadlines == {}
    assert (await handle.result()).cancel_reason.startswith("cancelled by customer")
    assert fakes.claims == {}


@pytest.mark.parametrize("months_left, fee", [(0, 0), (1, 3000), (2, 6000), (10, 30000), (11, 30000)])
async def test_the_early_termination_fee_is_30_yuan_per_whole_month_left_capped_at_300(
        env, terminations, fakes, months_left, fee):
    today = local_day(await env.get_current_time())
    # A started month does not count: the contract ends a day before the (months_left + 1)-th month.
    fakes.account = account(contract_end=add_months(today, months_left + 1) - DAY)
    await terminations.start(request())
    status = await until(terminations, fakes, "received")
    assert status.early_termination_fee_fen == fee and status.outstanding_fen == fee
    assert status.stage is (TerminationStage.awaiting_payment if fee else TerminationStage.settling)


async def test_a_late_refund_is_warned_and_escalated_on_working_day_time(env, terminations, fakes):
    fakes.account = account(balance_fen=-5000)
    fakes.refund_delay = 30 * DAY
    await terminations.start(request())
    status = await until(terminations, fakes, "settled")
    start = next(c for c in status.clocks if c.name == "refund").started_at
    calendar = WorkingCalendar(TZ)
    due = calendar.add_working_time(start, 7 * DAY)
    assert status.refund.due_at == due
    await env.sleep(due - start + DAY + MINUTE)
    await fakes.until(lambda: "refund:escalation-hierarchic" in fakes.sla_events("termination-T1"), "the manager")
    assert fakes.sla_events("termination-T1") == {
        "refund:warning-50pct": calendar.add_working_time(start, 3.5 * DAY),
        "refund:warning-75pct": calendar.add_working_time(start, 5.25 * DAY),
        "refund:warning-90pct": calendar.add_working_time(start, 6.3 * DAY),
        "refund:breach": due, "refund:escalation-functional": due, "refund:escalation-hierarchic": due + DAY}
    staff = [(t, r) for t, r in fakes.notifications("termination-T1") if t.startswith("sla.")]
    assert staff == [("sla.warning", "billing-desk")] * 3 + [("sla.breach", "billing-desk"),
                                                             ("sla.escalation", "billing-supervisor"),
                                                             ("sla.escalation", "billing-manager")]
    await env.sleep(start + 30 * DAY - await env.get_current_time())
    status = await until(terminations, fakes, "refunded")
    assert status.refund.reference == "RF-ACCT-T1" and near(status.refund.refunded_at, start + 30 * DAY)


async def test_equipment_returned_in_time_is_not_charged_and_a_number_can_be_reclaimed(env, terminations, fakes):
    fakes.account = account(equipment=[MODEM])
    await terminations.start(request())
    ended = (await until(terminations, fakes, "terminated")).personal_data.restricted_at
    await env.sleep(15 * DAY - MINUTE)
    status = await terminations.record_equipment_return("T1", RecordEquipmentReturn(serials=["ONT-3001"],
                                                                                   actor="store.wu"))
    assert "equipment" not in status.deadlines and [e.state for e in status.equipment] == ["returned"]
    await env.sleep(75 * DAY - MINUTE)
    status = await terminations.reclaim_number("T1", ReclaimNumber(number=MOBILE, identity=IDENTITY))
    assert status.lines[0].outcome is LineOutcome.reclaimed and "quarantine" not in status.deadlines
    assert fakes.called("charge_equipment") == [] and fakes.called("release_numbers") == []
    assert near(fakes.called("reclaim_number")[0].at, ended + 90 * DAY - 2 * MINUTE, timedelta(minutes=1))


async def test_a_ported_out_number_is_not_quarantined(env, terminations, fakes):
    await terminations.start(request(port_out=True))
    status = await until(terminations, fakes, "terminated")
    assert status.lines[0].outcome is LineOutcome.ported_out and "quarantine" not in status.deadlines
    assert fakes.called("deprovision")[0].port_out


@pytest.mark.parametrize("change, says", [
    (dict(account_found=False), "account_id: no account ACCT-T1"),
    (dict(identity_matches=False), "identity: the ID document is not that of the holder"),
    (dict(account=account().model_copy(update={"customer_ref": "CUST-9"})), "belongs to another customer"),
    (dict(account=account().model_copy(update={"active": False})), "is already terminated"),
    (dict(line_types={MOBILE: "mobile"}), "services: line(s) 2 are not active"),
    (dict(claims={"ACCT-T1": "termination-T0"}), "already running (termination-T0)"),
])
async def test_an_invalid_request_fails_naming_the_problem_with_nothing_recorded(env, terminations, fakes,
                                                                                change, says):
    for name, value in change.items():
        setattr(fakes, name, value)
    handle = await terminations.start(request())
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert says in str(failed.value.cause) and fakes.transitions["termination-T1"] == []
