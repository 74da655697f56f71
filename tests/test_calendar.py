"""Tests for activities.calendar: SLA working-time arithmetic for mainland China."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.calendar import CalendarOverrides, WorkingCalendar, load_overrides

SH = ZoneInfo("Asia/Shanghai")
DAY = timedelta(hours=24)
CAL = WorkingCalendar()  # shared so the per-year holiday cache is reused


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar_overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


# holidays 0.109: 国庆 2026 is Oct 1-7; 调休 make-up days are Sun Sep 20 and Sat Oct 10.
def test_national_day_2026_and_make_up_days() -> None:
    assert all(not CAL.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, 调休
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday, 调休
    assert not CAL.is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert CAL.is_working_day(date(2026, 9, 30)) and CAL.is_working_day(date(2026, 10, 8))


def test_five_working_days_skip_national_day() -> None:
    # Sep 29 (14h) + Sep 30 + Oct 8 + Oct 9 + Sat Oct 10 + Oct 12 00:00-10:00 = 120h
    due = CAL.add_working_time(sh(2026, 9, 29, 10), 5 * DAY)
    assert due == datetime(2026, 10, 12, 2, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert due.astimezone(SH) == sh(2026, 10, 12, 10)


def test_deadline_crossing_new_year_2027() -> None:
    # 2027-01-01 (Fri) is a holiday, Jan 2-3 a weekend, no make-up day in the package.
    assert not CAL.is_working_day(date(2027, 1, 1))
    assert not CAL.is_working_day(date(2027, 1, 2)) and not CAL.is_working_day(date(2027, 1, 3))
    assert CAL.is_working_day(date(2026, 12, 31)) and CAL.is_working_day(date(2027, 1, 4))
    # Dec 28 (14h) + Dec 29-31 + Jan 4-8 + Jan 11 + Jan 12 00:00-10:00 = 240h
    due = CAL.add_working_time(sh(2026, 12, 28, 10), 10 * DAY)
    assert due == datetime(2027, 1, 12, 2, tzinfo=UTC)


def test_start_on_holiday_counts_from_next_working_midnight() -> None:
    assert CAL.add_working_time(sh(2026, 10, 3, 15), timedelta(hours=1)) == sh(2026, 10, 8, 1)
    assert CAL.add_working_time(sh(2026, 10, 3, 15), timedelta(0)) == sh(2026, 10, 3, 15)
    assert CAL.add_working_time(sh(2026, 9, 30, 20), timedelta(hours=4)) == sh(2026, 10, 1)


def test_override_holiday_delays_by_one_working_day(tmp_path: Path) -> None:
    cal = WorkingCalendar(overrides=load_overrides(write(tmp_path, 'holidays = [2026-10-09]\n')))
    assert not cal.is_working_day(date(2026, 10, 9))
    assert cal.add_working_time(sh(2026, 9, 29, 10), 5 * DAY) == sh(2026, 10, 13, 10)


def test_override_working_sunday_moves_due_earlier(tmp_path: Path) -> None:
    overrides = load_overrides(write(tmp_path, 'working_days = ["2026-10-11"]\n'))
    assert overrides == CalendarOverrides(working_days=frozenset({date(2026, 10, 11)}))
    cal = WorkingCalendar(overrides=overrides)
    assert cal.add_working_time(sh(2026, 9, 29, 10), 5 * DAY) == sh(2026, 10, 11, 10)


def test_override_file_example_format(tmp_path: Path) -> None:
    text = "# comment\nholidays = [2027-02-10, 2027-02-11]\nworking_days = [2027-02-07]\n"
    overrides = load_overrides(write(tmp_path, text))
    assert overrides.holidays == {date(2027, 2, 10), date(2027, 2, 11)}
    assert overrides.working_days == {date(2027, 2, 7)}
    assert WorkingCalendar(overrides=overrides).is_working_day(date(2027, 2, 7))


def test_day_in_both_lists_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "holidays = [2027-02-10]\nworking_days = [2027-02-10]\n")
    with pytest.raises(ValueError, match=r"both.*2027-02-10") as exc:
        load_overrides(path)
    assert str(path) in str(exc.value)


def test_unknown_key_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "holidays = []\nworkdays = [2027-02-07]\n")
    with pytest.raises(ValueError, match="unknown key 'workdays'") as exc:
        load_overrides(path)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("bad", ['"2027/02/10"', '"20270210"', "2027-02-10T00:00:00", "5"])
def test_bad_date_value_is_error(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid date"):
        load_overrides(write(tmp_path, f"holidays = [{bad}]\n"))


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_time(datetime(2026, 9, 29, 10), DAY)  # noqa: DTZ001  (naive on purpose)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_time_between(sh(2026, 9, 29), datetime(2026, 10, 9))  # noqa: DTZ001  (naive on purpose)


def test_negative_amount_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(sh(2026, 9, 29), -DAY)


@pytest.mark.parametrize(
    ("start", "amount"),
    [
        (sh(2026, 9, 29, 10), 5 * DAY),
        (sh(2026, 12, 28, 10), 10 * DAY),
        (sh(2026, 10, 3, 15), timedelta(hours=1, microseconds=1)),
        (datetime(2026, 2, 13, 23, 30, tzinfo=UTC), 30 * DAY + timedelta(minutes=7)),
    ],
)
def test_between_inverts_add(start: datetime, amount: timedelta) -> None:
    assert CAL.working_time_between(start, CAL.add_working_time(start, amount)) == amount


def test_between_edge_cases() -> None:
    assert CAL.working_time_between(sh(2026, 10, 12), sh(2026, 10, 9)) == timedelta(0)
    assert CAL.working_time_between(sh(2026, 10, 1), sh(2026, 10, 8)) == timedelta(0)
    assert CAL.working_time_between(sh(2026, 9, 30, 12), sh(2026, 10, 8, 6)) == timedelta(hours=18)


def test_dst_zone_uses_local_midnights() -> None:
    # US DST starts Sun 2026-03-08: that local day is 23h long, but it's a China weekend anyway;
    # Mon Mar 9 00:00 New York is 04:00 UTC (EDT) while Fri Mar 6 00:00 is 05:00 UTC (EST).
    ny = ZoneInfo("America/New_York")
    cal = WorkingCalendar(tz="America/New_York")
    due = cal.add_working_time(datetime(2026, 3, 6, 12, tzinfo=ny), timedelta(hours=13))
    assert due == datetime(2026, 3, 9, 1, tzinfo=ny) == datetime(2026, 3, 9, 5, tzinfo=UTC)


_LO, _HI = datetime(2025, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
instants = st.builds(  # cheaper than st.datetimes(timezones=...), same coverage for our purpose
    lambda us, tz: (_LO + timedelta(microseconds=us)).astimezone(tz),
    st.integers(0, (_HI - _LO) // timedelta(microseconds=1) - 1),
    st.sampled_from([SH, UTC, ZoneInfo("America/New_York")]),
)
budgets = st.timedeltas(min_value=timedelta(0), max_value=60 * DAY)
small = st.timedeltas(min_value=timedelta(0), max_value=DAY)


@settings(max_examples=200, deadline=None, database=None)
@given(start=instants, a=budgets, b=st.one_of(small, budgets))
def test_properties(start: datetime, a: timedelta, b: timedelta) -> None:
    due_a = CAL.add_working_time(start, a)
    due_ab = CAL.add_working_time(start, a + b)
    assert due_a >= start and due_a.tzinfo is UTC
    assert due_ab >= due_a  # monotonic in the budget
    assert CAL.working_time_between(start, due_a) == a
    assert CAL.working_time_between(start, due_ab) == a + b
