"""The checked-in JSON Schemas are the published contract: they must match the models."""

from edge.schemas import SCHEMA_DIR, render, schemas


def test_checked_in_schemas_are_current():
    expected = {name: render(schema) for name, schema in schemas().items()}
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk.keys() == expected.keys(), "run: python -m edge.schemas"
    stale = [name for name in expected if on_disk[name] != expected[name]]
    assert not stale, f"stale schemas {stale}: run python -m edge.schemas"
