"""The published examples (examples/): one per input, update argument and signal of the contract,
each valid against its JSON Schema in schemas/ and as the worker reads it (the strict converter)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from edge.converter import contract_data_converter
from edge.schemas import SCHEMA_DIR
from models.contract import CONTRACTS
from models.errors import Undecodable

from .examples import EXAMPLE_DIR, EXAMPLES, example_file


def contract_examples() -> dict[str, type[BaseModel]]:
    """File name → model, for every input, update argument and signal (queries take no argument)."""
    named: dict[str, type[BaseModel]] = {}
    for c in CONTRACTS:
        named[example_file(c.workflow_type, "input").name] = c.input
        for kind, models in (("update", c.updates), ("signal", c.signals)):
            for name, model in models.items():
                named[example_file(c.workflow_type, kind, name).name] = model
    return named


EXPECTED = contract_examples()


def test_every_contract_entry_has_its_example_and_every_example_its_entry():
    on_disk = {path.name for path in EXAMPLE_DIR.iterdir()}
    assert sorted(set(EXPECTED) - on_disk) == [], "contract entries without an example"
    assert sorted(on_disk - set(EXPECTED)) == [], "examples without a contract entry"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_valid_against_its_json_schema(name: str):
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert validate(json.loads((EXAMPLE_DIR / name).read_text(encoding="utf-8")), schema, schema) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_read_by_the_worker(name: str):
    """Read as the worker reads it: the strict contract converter, from the file's bytes."""
    model = EXPECTED[name]
    payload = Payload(metadata={"encoding": b"json/plain"}, data=(EXAMPLE_DIR / name).read_bytes())
    try:
        [value] = contract_data_converter.payload_converter.from_payloads([payload], [model])
    except ApplicationError as error:  # an update argument is refused on the spot
        pytest.fail(f"{name}: {error}")
    assert not isinstance(value, Undecodable), f"{name}: {value}"
    assert isinstance(value, model)


def test_the_known_good_cases_use_the_published_examples():
    """tests/examples.py reads examples/; only a service change's window is moved ten days ahead."""
    for workflow_type, example in EXAMPLES.items():
        published = json.loads(example_file(workflow_type, "input").read_text(encoding="utf-8"))
        moved = {"window_start", "window_end"} if workflow_type == "ServiceChange" else set()
        assert {k: v for k, v in example.input.items() if k not in moved} == \
               {k: v for k, v in published.items() if k not in moved}
        for name, argument in example.updates.items():
            assert argument == json.loads(example_file(workflow_type, "update", name).read_text(encoding="utf-8"))


# --- a JSON Schema check for the keywords pydantic writes; an unknown keyword fails the test ---------------

_ANNOTATIONS = {"title", "description", "default", "examples"}
_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                          "integer": int, "number": (int, float)}


def _formatted(value: str, form: str) -> bool:
    try:
        if form == "date":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(date.fromisoformat(value))
        if form == "date-time":
            return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
    raise AssertionError(f"format {form!r} is not checked here")


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$") -> list[str]:
    """The problems of `value` under `schema` (Draft 2020-12, the keywords pydantic's schemas use)."""
    unknown = set(schema) - _ANNOTATIONS - {"$defs", "$ref", "type", "properties", "required", "additionalProperties",
                                            "anyOf", "enum", "const", "format", "items", "minItems", "maxItems",
                                            "minLength", "maxLength", "pattern", "minimum", "maximum",
                                            "exclusiveMinimum", "exclusiveMaximum"}
    assert not unknown, f"{at}: the schema uses {sorted(unknown)}, which this check does not know"
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return validate(value, target, root, at)
    if "anyOf" in schema and not any(validate(value, option, root, at) == [] for option in schema["anyOf"]):
        return [f"{at}: matches none of anyOf"]
    problems: list[str] = []
    kind = schema.get("type")
    if kind is not None and (not isinstance(value, _TYPES[kind])
                             or (isinstance(value, bool) and kind in ("integer", "number"))):
        return [f"{at}: not of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at}: not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{at}: not {schema['const']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            problems.append(f"{at}: length out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{at}: does not match {schema['pattern']}")
        if "format" in schema and not _formatted(value, schema["format"]):
            problems.append(f"{at}: not a {schema['format']}")
    bounds = (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
              ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not all(
            within(value, schema[key]) for key, within in bounds if key in schema):
        problems.append(f"{at}: out of range")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{at}: number of items out of bounds")
        for n, item in enumerate(value):
            problems += validate(item, schema.get("items", {}), root, f"{at}[{n}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{at}: {name} is required" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in properties:
                problems += validate(item, properties[name], root, f"{at}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{at}: {name} is not allowed")
    return problems


def test_the_schema_check_refuses_what_the_schema_refuses():
    """The check above is only worth its passes if it fails: a few wrong copies of one example."""
    name = "ComplaintClosure.input.json"
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    good = json.loads((EXAMPLE_DIR / name).read_text(encoding="utf-8"))
    wrong = [{**good, "extra": 1}, {k: v for k, v in good.items() if k != "channel"}, {**good, "channel": "fax"},
             {**good, "event_date": "28/11/2026"}, {**good, "complaint_id": "has space"},
             {**good, "customer": {**good["customer"], "name": ""}}, {**good, "received_at": "2026-12-01T10:00:00"},
             {**good, "description": 5}]
    for value in wrong:
        assert validate(value, schema, schema) != [], value

