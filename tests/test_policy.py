"""The policy object: defaults carry their sources, the example files load, bad files fail clearly."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from activities.calendar import load_overrides
from models.policy import ClockPolicy, Policy

CONFIG = Path(__file__).resolve().parent.parent / "config"


def test_example_policy_file_loads_and_overrides_only_what_it_names():
    policy = Policy.from_toml(CONFIG / "policy.example.toml")
    assert policy.version == "2027.1-example"
    assert policy.complaint.reply.budget == timedelta(days=15)
    assert [w.label for w in policy.complaint.reply.warnings] == ["warning-P10D", "warning-P13D"]
    assert policy.complaint.confirmation == Policy().complaint.confirmation


def test_example_calendar_file_loads():
    overrides = load_overrides(CONFIG / "calendar.example.toml")
    assert date(2027, 2, 10) in overrides.holidays and date(2027, 2, 7) in overrides.working_days


def test_every_clock_names_its_source():
    def clocks(model):
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, ClockPolicy):
                yield value
            elif isinstance(value, BaseModel):
                yield from clocks(value)
    found = list(clocks(Policy()))
    assert found and all(clock.source.strip() for clock in found)


@pytest.mark.parametrize("bad, field", [
    ({"complaint": {"max_reopenings": -1}}, "max_reopenings"),
    ({"complaint": {"reply": {"source": "x", "budget": "P15D", "warnings": [{"after": "P16D"}]}}}, "inside the budget"),
    ({"complaint": {"reply": {"source": "x", "budget": "P15D", "warnings": [{"percent": 50, "after": "P1D"}]}}},
     "exactly one"),
    ({"complaint": {"reply_days": 15}}, "reply_days"),
])
def test_a_bad_policy_is_refused_naming_the_problem(tmp_path, bad, field):
    with pytest.raises(ValidationError, match=field):
        Policy.model_validate(bad)
