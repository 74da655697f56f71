"""The JSON Schemas of the public contract (`models.contract`), one file per input, update argument,
signal and query result under schemas/: what integrators in any language validate against. A test
fails when they are stale; `python -m edge.schemas` writes them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from models.contract import CONTRACTS

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for every input, update argument, signal and query result."""
    result = {}
    for c in CONTRACTS:
        result[f"{c.workflow_type}.input.json"] = c.input.model_json_schema()
        kinds: tuple[tuple[str, dict[str, type[BaseModel]], Literal["validation", "serialization"]], ...] = (
            ("update", c.updates, "validation"), ("signal", c.signals, "validation"),
            ("query", c.queries, "serialization"))
        for kind, models, mode in kinds:
            for name, model in models.items():
                result[f"{c.workflow_type}.{kind}.{name}.json"] = model.model_json_schema(mode=mode)
    return result


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("*.json"):
        stale.unlink()
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge.schemas",
                                     description="Write the JSON Schemas of the public contract (one file each).")
    parser.add_argument("directory", nargs="?", type=Path, default=SCHEMA_DIR, help="default: schemas/")
    for path in write(parser.parse_args().directory):
        print(path)


if __name__ == "__main__":
    main()
