"""Our search attributes (models.search.ALL) on a Temporal server's namespace: `telecom setup-server`
registers them with the CLI's connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key
from temporalio.envconfig). Idempotent: an attribute already there with our type is left alone; one
there with another type is a conflict, reported and not changed."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.service import RPCError, RPCStatusCode

from models.search import ALL


class SearchAttributeConflict(Exception):
    """An attribute of ours is registered with another type; the server's is not changed."""


def type_name(value_type: SearchAttributeIndexedValueType | int) -> str:
    """The type as the `temporal` CLI and the Web UI spell it: Keyword, Datetime, Bool, KeywordList."""
    return SearchAttributeIndexedValueType(value_type).name.title().replace("_", "")


WANTED = {key.name: key.indexed_value_type for key in ALL}
"""Name → type of every attribute of ours."""


async def register(client: Client) -> dict[str, list[str]]:
    """Registers what the client's namespace lacks: {"registered": [...], "present": [...]} (names)."""
    namespace = client.namespace
    try:
        present = dict((await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace))).custom_attributes)
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        return await _register_unlisted(client)  # the time-skipping test server
    conflicts = [f"{name} is a {type_name(present[name])}, ours is a {type_name(wanted)}"
                 for name, wanted in WANTED.items() if name in present and present[name] != wanted.value]
    if conflicts:
        raise SearchAttributeConflict(
            f"namespace {namespace}: {'; '.join(conflicts)}. A search attribute's type cannot change: "
            "remove it (temporal operator search-attribute remove) if nothing uses it, or use another namespace")
    missing = [name for name in WANTED if name not in present]
    if missing:
        await _add(client, missing)
    return {"registered": missing, "present": [name for name in WANTED if name in present]}


async def _register_unlisted(client: Client) -> dict[str, list[str]]:
    """One by one, on a server that cannot list them: "already exists" means present."""
    done: dict[str, list[str]] = {"registered": [], "present": []}
    for name in WANTED:
        try:
            await _add(client, [name])
            done["registered"].append(name)
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
            done["present"].append(name)
    return done


async def _add(client: Client, names: list[str]) -> None:
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={name: IndexedValueType.ValueType(WANTED[name]) for name in names}))


def readme_table() -> str:
    """The README's table of our search attributes: name and type."""
    return "| Search attribute | Type |\n|---|---|\n" + "".join(
        f"| `{name}` | {type_name(value_type)} |\n" for name, value_type in WANTED.items())
