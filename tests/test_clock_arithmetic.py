"""The SLA clock arithmetic of `workflows.clocks`, without a server.

Hypothesis drives a ClockSet the way `workflows.sla.SlaClocks` does for calendar-basis clocks: add, then
pending → calendar_instants → schedule; pause with the running time since the last start or resume;
resume and schedule again; take_due as time advances; stop; close for windows. Every answer is
compared with a brute-force reference that knows nothing of the clock's fields: a clock's running
time is the sum of its running segments, and a budget mark is due when that sum reaches its offset
(escalations: calendar time after the breach).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.policy import ClockPolicy, Escalation, EscalationLevel, WarningMark
from models.sla import SlaEventKind
from workflows.clocks import BREACH, ClockSet, Firing, SlaClock, calendar_instants

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ZERO, MINUTE, HOUR, DAY = timedelta(0), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- The workflow's side, as workflows/sla.py does it for calendar-basis clocks ----

def schedule(clock: SlaClock) -> None:
    """SlaClocks._schedule: the running time left until each pending mark, from the segment start."""
    marks, offsets = clock.pending()
    assert all(offset >= ZERO for offset in offsets), f"negative running time left: {offsets}"
    assert clock.segment_start is not None
    instants = calendar_instants(clock.segment_start, offsets)
    assert all(at >= clock.segment_start for at in instants), "a mark scheduled before the clock (re)started"
    clock.schedule(marks, instants)


def start(clocks: ClockSet, name: str, policy: ClockPolicy, at: datetime, *, window: bool = False) -> SlaClock:
    clock = clocks.add(name, policy, at, window=window)
    schedule(clock)
    return clock


def pause(clocks: ClockSet, name: str, at: datetime, reason: str = "customer unavailable", **options):
    clock = clocks[name]
    elapsed = at - clock.segment_start if clock.segment_start is not None else ZERO
    return clock.pause(at, elapsed, reason, **options)


def resume(clocks: ClockSet, name: str, at: datetime):
    clock = clocks[name]
    clock.resume(at)
    schedule(clock)
    return clock.resumed()


# ---- The reference model ----

@dataclass(frozen=True)
class RefMark:
    label: str
    kind: SlaEventKind
    offset: timedelta
    """Running time for warnings and the breach; calendar time after the breach for escalations."""
    rung: int | None = None
    """Position in the escalation ladder, from 1."""


@dataclass
class Reference:
    name: str
    policy: ClockPolicy
    window: bool
    started_at: datetime
    segments: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    ended: datetime | None = None
    """When the clock was stopped or (a window) closed."""
    closed: bool = False

    def __post_init__(self) -> None:
        self.segments.append((self.started_at, None))
        budget = self.policy.budget
        warnings = [RefMark(w.label, SlaEventKind.warning, w.offset(budget)) for w in self.policy.warnings]
        self.marks = {m.label: m for m in [*warnings, RefMark(BREACH, SlaEventKind.breach, budget)]}
        seen: set[str] = set()
        for rung, escalation in enumerate(self.policy.escalations, start=1):
            label = f"escalation-{escalation.level}" + (f"-{rung}" if escalation.level in seen else "")
            seen.add(escalation.level)
            self.marks[label] = RefMark(label, SlaEventKind.escalation, escalation.after_breach, rung)

    @property
    def running(self) -> bool:
        return self.ended is None and self.segments[-1][1] is None

    @property
    def paused(self) -> bool:
        return self.ended is None and self.segments[-1][1] is not None

    def end_segment(self, at: datetime) -> None:
        if self.segments[-1][1] is None:
            self.segments[-1] = (self.segments[-1][0], at)

    def consumed(self, now: datetime) -> timedelta:
        return sum(((end if end is not None else now) - begin for begin, end in self.segments), ZERO)

    def reaches(self, offset: timedelta) -> datetime | None:
        """The instant the running time reaches `offset` (in the future while running), walking the
        segments; None if it stopped or paused short of it."""
        used = ZERO
        for begin, end in self.segments:
            if end is None or used + (end - begin) >= offset:
                return begin + (offset - used)
            used += end - begin
        return None

    @property
    def breach(self) -> datetime | None:
        return self.reaches(self.policy.budget)

    def instant(self, mark: RefMark) -> datetime | None:
        if mark.kind is SlaEventKind.escalation:
            breach = self.breach
            return None if breach is None else breach + mark.offset
        return self.reaches(mark.offset)

    def fired_by(self, now: datetime) -> dict[str, datetime]:
        """Every mark whose instant has come by `now` while the clock was open."""
        until = min(now, self.ended) if self.ended is not None else now
        instants = {label: self.instant(mark) for label, mark in self.marks.items()}
        return {label: at for label, at in instants.items() if at is not None and at <= until}

    def upcoming(self, now: datetime) -> dict[str, datetime]:
        if self.ended is not None:
            return {}
        instants = {label: self.instant(mark) for label, mark in self.marks.items()}
        return {label: at for label, at in instants.items() if at is not None and at > now}

    def breached_by(self, now: datetime) -> bool:
        return BREACH in self.fired_by(now)

    def due_at(self, now: datetime) -> datetime | None:
        """The breach instant once breached, or while running; none while paused or stopped short."""
        if self.breached_by(now) or self.running:
            return self.breach
        return None


# ---- Strategies ----

BUDGET_SECONDS = st.one_of(st.integers(60, 4 * 3600), st.integers(60, 5 * 86400))
WARNINGS = st.lists(st.tuples(st.booleans(), st.integers(1, 5 * 86400)), max_size=4)
"""(a share of the budget?, the share in percent or the time into the budget, folded inside it)."""
LADDER = st.lists(st.tuples(st.sampled_from(list(EscalationLevel)), st.one_of(st.just(0), st.integers(0, 2 * 86400))),
                  max_size=3)


@st.composite
def policies(draw: st.DrawFn, window: bool = False) -> ClockPolicy:
    """Budgets from a minute to five days, up to four warnings inside the budget; for an SLA clock a
    ladder of up to three rungs (a level may repeat), each no earlier after the breach than the one before."""
    seconds = draw(BUDGET_SECONDS)
    warnings: dict[str, WarningMark] = {}
    for share, n in draw(WARNINGS):
        mark = WarningMark(percent=1 + n % 99) if share else WarningMark(after=timedelta(seconds=1 + n % (seconds - 1)))
        warnings.setdefault(mark.label, mark)
    escalations: list[Escalation] = []
    if not window:
        rungs = draw(LADDER)
        afters = sorted(after for _, after in rungs)
        escalations = [Escalation(level=level, to=f"role-{n}", after_breach=timedelta(seconds=after))
                       for n, ((level, _), after) in enumerate(zip(rungs, afters, strict=True))]
    return ClockPolicy(source="test", budget=timedelta(seconds=seconds), warnings=list(warnings.values()),
                       escalations=escalations)


@st.composite
def clock_specs(draw: st.DrawFn) -> list[tuple[str, bool, ClockPolicy, timedelta]]:
    """(name, window, policy, started after T0) for one to three clocks."""
    specs = []
    for n in range(draw(st.integers(1, 3))):
        window = draw(st.booleans())
        specs.append((f"clock{n}", window, draw(policies(window)), timedelta(seconds=draw(st.integers(0, 7200)))))
    return specs


KINDS = ["advance", "advance", "pause", "pause", "resume", "resume", "stop", "close"]
ADVANCES = ["seconds", "share", "wake"]
"""By how much time moves before an action: seconds; a percentage (up to 150) of the chosen clock's
budget; or to the next scheduled mark, a second early, on time or a second late."""


def steps(late: bool = False):
    """(action, clock index, advance kind, amount, late)."""
    return st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 2), st.sampled_from(ADVANCES),
                              st.integers(0, 3 * 3600), st.booleans() if late else st.just(False)),
                    min_size=4, max_size=30)


# ---- The driver ----

class Run:
    """One ClockSet and its references. A late action is handled at a time by which marks may be due
    but not yet taken (an update handled before the timer). `exact`: compare instants with the
    reference; only pauses come late (a stop or a close drops the marks not yet taken)."""

    def __init__(self, specs, exact: bool = True) -> None:
        self.clocks = ClockSet()
        self.refs: dict[str, Reference] = {}
        self.log: dict[str, list[Firing]] = {}
        self.now = T0
        self.taken_at: datetime | None = None
        self.exact = exact
        for name, window, policy, after in sorted(specs, key=lambda spec: spec[3]):
            self.advance(T0 + after)
            start(self.clocks, name, policy, self.now, window=window)
            self.refs[name] = Reference(name, policy, window, self.now)
            self.log[name] = []
            self.check_state()

    # -- time --

    def target(self, name: str, how: str, amount: int) -> datetime:
        if how == "seconds":
            return self.now + timedelta(seconds=amount)
        if how == "share":
            return self.now + self.refs[name].policy.budget * (amount % 151) // 100
        wake = self.clocks.next_wake()
        return max(self.now, wake[0] + timedelta(seconds=amount % 3 - 1)) if wake else self.now

    def advance(self, to: datetime) -> None:
        assert to >= self.now
        firings = self.clocks.take_due(to)
        self.check_firings(firings, to)
        self.now = to

    def check_firings(self, firings: list[Firing], now: datetime) -> None:
        for firing in firings:
            ref, label = self.refs[firing.clock], firing.mark.label
            assert firing.at <= now, f"{firing.key} at {firing.at} is not due by {now}"
            assert label not in [f.mark.label for f in self.log[firing.clock]], f"{firing.key} fired twice"
            mark = ref.marks[label]
            assert firing.mark.kind is mark.kind and firing.mark.offset == mark.offset
            if mark.kind is SlaEventKind.escalation:
                assert firing.mark.escalation == ref.policy.escalations[mark.rung - 1]
            if self.exact:
                assert self.taken_at is None or firing.at > self.taken_at, f"{firing.key} was due at an earlier take"
                assert firing.at == ref.instant(mark), f"{firing.key} at {firing.at}, reference {ref.instant(mark)}"
                assert firing.due_at == ref.breach
                if mark.kind is not SlaEventKind.escalation:  # budget marks fire only while running
                    assert any(begin <= firing.at and (end is None or firing.at <= end)
                               for begin, end in ref.segments)
            self.log[firing.clock].append(firing)
        ats = [f.at for f in firings]
        assert ats == sorted(ats), f"firings out of time order: {[(f.key, f.at) for f in firings]}"
        for breach in (f for f in firings if f.mark.kind is SlaEventKind.breach):
            # escalations due by now come in the same call as the breach
            ref = self.refs[breach.clock]
            due = {m.label for m in ref.marks.values()
                   if m.kind is SlaEventKind.escalation and breach.at + m.offset <= now}
            assert due <= {f.mark.label for f in firings if f.clock == breach.clock}
        wake = self.clocks.next_wake()
        assert wake is None or wake[0] > now, f"{wake} left behind by take_due({now})"
        if self.exact:
            for name, ref in self.refs.items():
                fired = {f.mark.label: f.at for f in self.log[name]}
                assert fired == ref.fired_by(now), f"{name}: fired {fired}, reference {ref.fired_by(now)}"
        self.taken_at = now

    # -- actions --

    def step(self, kind: str, index: int, how: str, amount: int, late: bool) -> None:
        name = list(self.refs)[index % len(self.refs)]
        to = self.target(name, how, amount)
        if late and kind in (("pause",) if self.exact else ("pause", "stop", "close")):
            self.now = to  # the action is handled before the marks due by now are taken
            self.act(kind, name)
            self.advance(to)
        else:
            self.advance(to)
            self.act(kind, name)
        self.check_state()

    def act(self, kind: str, name: str) -> None:
        if kind != "advance" and not self.refs[name].closed:
            getattr(self, kind)(name)

    def pause(self, name: str) -> None:
        ref = self.refs[name]
        if not ref.running:
            with pytest.raises(ValueError):
                pause(self.clocks, name, self.now)
            return
        event = pause(self.clocks, name, self.now)
        ref.end_segment(self.now)
        ref.pauses.append((self.now, None))
        assert (event.key, event.kind, event.at, event.clock) == (
            f"{name}:pause-{len(ref.pauses)}", SlaEventKind.pause, self.now, name)

    def resume(self, name: str) -> None:
        ref = self.refs[name]
        if not ref.paused:
            with pytest.raises(ValueError):
                resume(self.clocks, name, self.now)
            return
        event = resume(self.clocks, name, self.now)
        ref.segments.append((self.now, None))
        ref.pauses[-1] = (ref.pauses[-1][0], self.now)
        assert (event.key, event.kind, event.at) == (f"{name}:resume-{len(ref.pauses)}", SlaEventKind.resume, self.now)
        if self.exact and not ref.breached_by(self.now):
            assert event.due_at == ref.breach

    def stop(self, name: str) -> None:
        ref = self.refs[name]
        self.clocks.stop(name, self.now)  # SlaClocks.stop: at workflow.now()
        ref.end_segment(self.now)
        ref.ended = ref.ended or self.now
        upcoming = self.clocks[name].status(self.now).next_at  # only marks already due stay, to fire once
        assert upcoming is None or upcoming <= self.now, f"{name} stopped with marks still to come"

    def close(self, name: str) -> None:
        ref = self.refs[name]
        if not ref.window:
            with pytest.raises(AssertionError):
                self.clocks.close(name)
            return
        self.clocks.close(name)
        self.clocks.close(name)  # closing what is not open does nothing
        ref.end_segment(self.now)
        ref.ended = ref.ended or self.now
        ref.closed = True

    # -- state --

    def check_state(self) -> None:
        now, clocks = self.now, self.clocks
        statuses = {status.name: status for status in clocks.status(now)}
        assert list(statuses) == [name for name, ref in self.refs.items() if not ref.closed]
        for name, ref in self.refs.items():
            breached = any(f.mark.kind is SlaEventKind.breach for f in self.log[name])
            assert clocks.is_open(name) == (ref.ended is None)
            assert clocks.is_running(name) == ref.running
            assert clocks.is_paused(name) == ref.paused
            assert clocks.has_breached(name) == (breached and not ref.closed)
            if ref.closed:
                continue
            status = statuses[name]
            assert (status.running, status.paused, status.breached) == (ref.running, ref.paused, breached)
            assert status.fired == [f.mark.label for f in self.log[name]]
            assert status.started_at == ref.started_at and status.budget == ref.policy.budget
            assert [(p.paused_at, p.resumed_at) for p in status.pauses] == ref.pauses
            assert status.remaining == max(ref.policy.budget - status.consumed, ZERO)
            assert status.consumed == ref.consumed(now), f"{name}: consumed {status.consumed}"
            assert status.consumed_as_of == now
            if ref.paused and not breached:
                assert status.due_at is None
            if self.exact:
                if ref.ended is None and not breached:
                    assert status.consumed + status.remaining == ref.policy.budget
                assert status.due_at == (ref.breach if breached else ref.due_at(now))
                upcoming = ref.upcoming(now)
                assert status.next_at == (min(upcoming.values()) if upcoming else None)
        open_with_due = {name for name, ref in self.refs.items() if ref.ended is None
                         and (ref.running or any(f.mark.kind is SlaEventKind.breach for f in self.log[name]))}
        deadlines = clocks.deadlines()
        assert set(deadlines) == open_with_due
        if self.exact:
            assert deadlines == {name: self.refs[name].due_at(now) for name in open_with_due}
            upcoming = [at for ref in self.refs.values() for at in ref.upcoming(now).values()]
            wake = clocks.next_wake()
            assert (wake[0] if wake else None) == (min(upcoming) if upcoming else None)
        assert clocks.breached == any(not ref.window and any(f.mark.kind is SlaEventKind.breach for f in self.log[name])
                                      for name, ref in self.refs.items())

    def finish(self) -> None:
        """Far enough ahead for every running clock to breach and escalate; then the order of each log."""
        self.advance(self.now + 5 * DAY + 2 * DAY + DAY)
        self.check_state()
        for name, ref in self.refs.items():
            marks = [ref.marks[f.mark.label] for f in self.log[name]]
            budget = [m for m in marks if m.kind is not SlaEventKind.escalation]
            assert [m.offset for m in budget] == sorted(m.offset for m in budget), "budget marks out of offset order"
            kinds = [m.kind for m in marks]
            if SlaEventKind.breach in kinds:
                at = kinds.index(SlaEventKind.breach)
                assert all(k is SlaEventKind.warning for k in kinds[:at])
                assert all(k is SlaEventKind.escalation for k in kinds[at + 1:])
            else:
                assert SlaEventKind.escalation not in kinds
            rungs = [m.rung for m in marks if m.rung is not None]
            assert rungs == sorted(rungs), "escalations out of ladder order"
            if ref.window:
                assert not [m for m in marks if m.kind is SlaEventKind.escalation]
            if ref.running:  # a mark dropped or delayed by a late action still fires, once
                assert sorted(f.mark.label for f in self.log[name]) == sorted(ref.marks)


# ---- Properties ----

@SETTINGS
@given(clock_specs(), steps(late=True))
def test_clocks_follow_the_reference(specs, actions) -> None:
    """Each mark fires once, when the running time reaches it (pauses excluded, a pause handled
    before the timer included), in order; status, deadlines, breached and the is_* answers agree with
    the reference after every action."""
    run = Run(specs)
    for kind, index, how, amount, late in actions:
        run.step(kind, index, how, amount, late)
    run.finish()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clock_specs(), steps(late=True))
def test_actions_before_the_timer_keep_the_invariants(specs, actions) -> None:
    """A pause, stop or close handled at a time by which marks are due but not yet taken (the update
    before the timer): running time and the schedule stay sane, nothing fires twice or out of order,
    no mark is scheduled in the past, and a clock left running fires every mark in the end."""
    run = Run(specs, exact=False)
    for kind, index, how, amount, late in actions:
        run.step(kind, index, how, amount, late)
    run.finish()


@settings(max_examples=60, deadline=None)
@given(policies(), st.lists(st.integers(1, 3 * 3600), min_size=1, max_size=12))
def test_a_single_clock_running_through(policy, ticks) -> None:
    """Without pauses: the k-th budget mark fires at start + its offset, the breach at start + budget,
    each escalation at start + budget + after_breach, in one ordered stream."""
    clocks, firings, now = ClockSet(), [], T0
    start(clocks, "c", policy, T0)
    for tick in ticks:
        now += timedelta(seconds=tick)
        taken = clocks.take_due(now)
        assert [f.at for f in taken] == sorted(f.at for f in taken)
        firings += taken
    firings += clocks.take_due(now + 8 * DAY)
    budget = policy.budget
    expected = sorted(((w.offset(budget), w.label) for w in policy.warnings), key=lambda item: item[0])
    ref = Reference("c", policy, False, T0)
    expected += [(budget, BREACH)] + [(budget + m.offset, m.label) for m in ref.marks.values() if m.rung]
    assert [(f.at - T0, f.mark.label) for f in firings] == expected


@settings(max_examples=80, deadline=None)
@given(policies(), st.integers(1, 200), st.integers(0, 3 * 3600), st.booleans())
def test_a_pause_after_marks_fell_due(policy, share, paused_for, taken_first) -> None:
    """A pause at `share` % of the budget, with or without the marks due by then taken first, then a
    resume: nothing is scheduled before the resume or with negative time left, and every mark fires
    exactly once, at its reference instant (a mark already due stays through the pause)."""
    clocks, firings = ClockSet(), []
    start(clocks, "c", policy, T0)
    at = T0 + policy.budget * share // 100
    if taken_first:
        firings += clocks.take_due(at)
    pause(clocks, "c", at)
    back = at + timedelta(seconds=paused_for)
    firings += clocks.take_due(back)
    resume(clocks, "c", back)  # asserts no negative time left, nothing before `back`
    wake = clocks.next_wake()
    assert wake is None or wake[0] >= back
    assert clocks["c"].status(back).consumed == at - T0
    firings += clocks.take_due(back + policy.budget + 3 * DAY)
    ref = Reference("c", policy, False, T0)
    ref.segments = [(T0, at), (back, None)]
    assert [(f.mark.label, f.at) for f in firings] == sorted(
        ((label, ref.instant(mark)) for label, mark in ref.marks.items()), key=lambda item: item[1])


@settings(max_examples=60, deadline=None)
@given(policies(), st.integers(1, 99), st.integers(0, 5 * 86400))
def test_stop_clears_the_schedule(policy, share, later) -> None:
    """Stopped part-way, a clock has nothing scheduled, no deadline, and never fires again."""
    clocks = ClockSet()
    start(clocks, "c", policy, T0)
    now = T0 + policy.budget * share // 100
    before = clocks.take_due(now)
    clocks.stop("c", now)
    assert clocks.next_wake() is None and clocks.deadlines() == {}
    assert not clocks.is_open("c") and not clocks.is_running("c") and not clocks.is_paused("c")
    assert clocks.take_due(now + timedelta(seconds=later) + 10 * DAY) == []
    status = clocks["c"].status(now + DAY)
    assert status.fired == [f.mark.label for f in before]
    assert (status.consumed, status.remaining) == (now - T0, T0 + policy.budget - now)
    assert not clocks.breached


@settings(max_examples=60, deadline=None)
@given(policies(window=True), policies())
def test_a_window_ends_without_a_breach(window_policy, sla_policy) -> None:
    """A window's end fires like a breach but never makes the set breached; an SLA clock's does;
    close() removes the window and refuses the SLA clock."""
    clocks = ClockSet()
    start(clocks, "window", window_policy, T0, window=True)
    start(clocks, "sla", sla_policy, T0 + 10 * 365 * DAY)  # far later: only the window can end now
    firings = clocks.take_due(T0 + window_policy.budget)
    assert firings[-1].mark.label == BREACH and firings[-1].at == T0 + window_policy.budget
    assert clocks.has_breached("window") and not clocks.breached
    with pytest.raises(AssertionError):
        clocks.close("sla")
    assert clocks.is_open("sla")
    clocks.close("window")
    assert not clocks.has_breached("window") and not clocks.is_open("window") and not clocks.is_running("window")
    assert [status.name for status in clocks.status(T0)] == ["sla"] and set(clocks.deadlines()) == {"sla"}
    clocks.take_due(T0 + 10 * 365 * DAY + sla_policy.budget)
    assert clocks.breached and clocks.has_breached("sla")


# ---- Fixed bugs, as the minimal examples the properties found ----

def _breach_at_one_hour(**fields) -> ClockPolicy:
    return ClockPolicy(source="test", budget=HOUR, warnings=[], **fields)


@pytest.mark.parametrize("paused_at", [HOUR, 90 * MINUTE])
def test_a_mark_due_before_a_pause_fires_at_its_instant(paused_at: timedelta) -> None:
    """The pause handled before the breach's timer (at its instant or later): the breach stays and
    fires at its own instant."""
    clocks = ClockSet()
    start(clocks, "c", _breach_at_one_hour(), T0)
    pause(clocks, "c", T0 + paused_at)  # the breach was due at T0 + 1 h, not yet taken
    firings = clocks.take_due(T0 + paused_at)
    assert [(f.mark.label, f.at) for f in firings] == [(BREACH, T0 + HOUR)]
    assert clocks.has_breached("c") and clocks.is_paused("c")


def test_before_the_patch_a_pause_dropped_a_due_mark() -> None:
    """keep_due=False (histories from before the due-marks-kept patch): the mark due before the
    pause fires at the resume instant, as it did, so those histories replay."""
    clocks = ClockSet()
    start(clocks, "c", _breach_at_one_hour(), T0)
    pause(clocks, "c", T0 + 90 * MINUTE, keep_due=False)
    assert clocks.take_due(T0 + 2 * HOUR) == []
    resume(clocks, "c", T0 + 2 * HOUR)
    assert [(f.mark.label, f.at) for f in clocks.take_due(T0 + 2 * HOUR)] == [(BREACH, T0 + 2 * HOUR)]


def test_take_due_orders_firings_across_clocks() -> None:
    """An escalation found after its clock's breach still comes before a later mark of another clock."""
    clocks = ClockSet()
    ladder = [Escalation(level=EscalationLevel.functional, to="tier-2", after_breach=ZERO)]
    start(clocks, "a", _breach_at_one_hour(escalations=ladder), T0)
    start(clocks, "b", ClockPolicy(source="test", budget=2 * HOUR, warnings=[]), T0)
    firings = clocks.take_due(T0 + 3 * HOUR)
    assert [(f.key, f.at) for f in firings] == [
        ("a:breach", T0 + HOUR), ("a:escalation-functional", T0 + HOUR), ("b:breach", T0 + 2 * HOUR)]


def test_a_stopped_clock_reports_the_time_it_ran() -> None:
    clocks = ClockSet()
    start(clocks, "c", ClockPolicy(source="test", budget=4 * HOUR, warnings=[]), T0)
    clocks.take_due(T0 + 3 * HOUR)
    clocks.stop("c", T0 + 3 * HOUR)  # e.g. a response clock when the first response comes, 3 h in
    status = clocks["c"].status(T0 + 5 * HOUR)
    assert (status.consumed, status.remaining) == (3 * HOUR, HOUR)


def test_a_ladder_may_repeat_a_level() -> None:
    """Tier 2, then tier 3: both functional, both escalated to, each at its own time."""
    clocks = ClockSet()
    ladder = [Escalation(level=EscalationLevel.functional, to="tier-2", after_breach=ZERO),
              Escalation(level=EscalationLevel.functional, to="tier-3", after_breach=HOUR)]
    start(clocks, "c", _breach_at_one_hour(escalations=ladder), T0)
    firings = clocks.take_due(T0 + 3 * HOUR)
    assert [(f.mark.label, f.mark.escalation.to, f.at) for f in firings if f.mark.escalation] == [
        ("escalation-functional", "tier-2", T0 + HOUR), ("escalation-functional-2", "tier-3", T0 + 2 * HOUR)]


# ---- Known bugs, as strict xfails (workflows/clocks.py is not changed here) ----

def test_a_breach_due_before_a_stop_is_recorded() -> None:
    clocks = ClockSet()
    start(clocks, "c", _breach_at_one_hour(), T0)
    clocks.stop("c", T0 + 90 * MINUTE)  # the breach was due at T0 + 1 h, not yet taken
    firings = clocks.take_due(T0 + 90 * MINUTE)
    assert [(f.mark.label, f.at) for f in firings] == [(BREACH, T0 + HOUR)]
    assert clocks.has_breached("c") and clocks.breached
