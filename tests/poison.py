"""Malformed inputs, generated from a valid example and the model's JSON Schema, sent as a
non-Python service would send them (raw JSON bytes), so the corpus grows with the contract."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

HUGE = "垃" * 100_000


def raw_json(value: Any) -> RawValue:
    """The exact bytes a non-Python client would send (no client-side serialisation limits)."""
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode()))


NOT_UTF8 = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b'{"id": "\xff\xfe\xfa"}'))
NULL = RawValue(Payload(metadata={"encoding": b"binary/null"}))


def corpus(model: type[BaseModel], example: dict[str, Any]) -> list[tuple[str, RawValue]]:
    """Every malformed payload for `model`: JSON mutations plus non-UTF-8 and binary null."""
    return [(label, raw_json(value)) for label, value in mutations(model, example)] + [
        ("not UTF-8", NOT_UTF8), ("binary null", NULL)]


def kinds(entries: list[tuple[str, RawValue]]) -> list[tuple[str, RawValue]]:
    """The first entry of each kind of mistake ("missing", "wrong type", "huge string", "null", …):
    the refusal path a real engine has to show once per kind, not once per field."""
    first: dict[str, tuple[str, RawValue]] = {}
    for label, value in entries:
        first.setdefault("missing" if label.startswith("missing ") else label.rsplit(": ", 1)[-1], (label, value))
    return list(first.values())


def mutations(model: type[BaseModel], example: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, malformed value) pairs: each must be refused by `model`."""
    yield "null", None
    yield "a list", [example]
    yield "a string", "{}"
    yield "a number", 42
    yield "extra field", {**example, "x_unexpected": 1}
    yield "nested garbage", {**example, "x_nested": _deep(200)}
    yield from _fields(model.model_json_schema(), example, "")


def _fields(schema: dict[str, Any], example: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        spec = _resolve(spec, defs)
        path = f"{prefix}{name}"
        if name in required:
            yield f"missing {path}", _without(example, name)
        kinds = _types(spec, defs)
        if "object" in kinds and isinstance(example.get(name), dict):
            nested = _resolve(spec, defs)
            nested = {**nested, "$defs": defs}
            for label, value in _fields(nested, example[name], f"{path}."):
                yield label, {**example, name: value}
            yield f"{path}: nested garbage", {**example, name: _deep(300)}
            continue
        yield f"{path}: wrong type", {**example, name: {"$": [1, 2]} if "string" in kinds else "不是数字"}
        if "string" in kinds:
            yield f"{path}: huge string", {**example, name: HUGE}
            if "enum" in spec:
                yield f"{path}: bad enum", {**example, name: "no-such-value"}
            if spec.get("format") in ("date", "date-time"):
                yield f"{path}: impossible date", {**example, name: "2026-02-30" if spec["format"] == "date"
                                                   else "2026-13-01T25:00:00+08:00"}
            if spec.get("format") == "date-time":
                yield f"{path}: no offset", {**example, name: "2026-12-01T10:00:00"}
        if "integer" in kinds:
            yield f"{path}: fraction", {**example, name: 1.5}
            yield f"{path}: negative", {**example, name: -10**18}


def _resolve(spec: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in spec:
        return defs[spec["$ref"].rsplit("/", 1)[-1]]
    options = [o for o in spec.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        return {**spec, **_resolve(options[0], defs)}
    return spec


def _types(spec: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    if "type" in spec:
        return {spec["type"]} if isinstance(spec["type"], str) else set(spec["type"])
    if "enum" in spec:
        return {"string"}
    return set().union(*(_types(_resolve(o, defs), defs) for o in spec.get("anyOf", []))) if "anyOf" in spec else set()


def _without(example: dict[str, Any], name: str) -> dict[str, Any]:
    copied = copy.deepcopy(example)
    copied.pop(name, None)
    return copied


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value
