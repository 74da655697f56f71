"""The payload converter every client, worker, test and replayer uses: strict pydantic JSON.

Strict means what a client in any language sends is read as sent, never coerced: a string is a
string, a boolean is `true`/`false`, a number is not a timestamp. Whatever cannot be read becomes
a named, non-retryable `ApplicationError` — never an SDK error that would fail the workflow task
again and again:

- an update argument, query argument or activity value is refused on the spot (the update is
  refused, the case goes on);
- a workflow input or signal argument comes through as `Undecodable`, so the workflow decides
  what it means (`workflows.case`: the case fails at once; a refused signal is recorded).

Error messages name the fields and the problem, never the values (they may be personal data);
the same list is in the error's details: `[{"problems": [{"field": "customer.phone", "problem": …}]}]`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import pydantic_core
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from models.errors import NOT_JSON, UNDECRYPTABLE, VALIDATION_ERROR, Undecodable, invalid, refusal

MAX_PAYLOAD_BYTES = 256 * 1024
"""One input or argument; the largest valid one (50 materials, 4 000-character texts) is far below."""
JSON, NULL, ENCRYPTED = b"json/plain", b"binary/null", b"binary/encrypted"
REFUSED = b"telecom/refused"
"""Set by the codec (edge.codec) on a payload it will not open, with the reason; only this
converter reads it, so the refusal reaches the workflow as a typed error, not as a task failure."""
REFUSAL_TYPE = "refusal-type"


def refused_payload(error_type: str, message: str) -> Payload:
    """What the codec hands on in place of a payload it will not open."""
    return Payload(metadata={"encoding": REFUSED, REFUSAL_TYPE: error_type.encode()}, data=message.encode())


@functools.cache
def _contract_models() -> tuple[frozenset[type], frozenset[type]]:
    """(what a client sends, the part of it the workflow takes undecoded: inputs and signals).
    Imported when a typed value is first read: a client reading untyped JSON (the CLI) needs none."""
    from models.contract import CONTRACTS
    deferred = frozenset([c.input for c in CONTRACTS] + [m for c in CONTRACTS for m in c.signals.values()])
    return deferred | {m for c in CONTRACTS for m in c.updates.values()}, deferred


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    for position, name in enumerate(names):
        if name in names[:position]:
            raise ValueError(f"the key {name[:64]!r} appears twice in one object: which one is meant?")
    return dict(pairs)


def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else "value"


class StrictJsonConverter(PydanticJSONPlainPayloadConverter):
    """pydantic JSON, read in strict mode."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        return self._type_adapter(type_hint).validate_json(payload.data, strict=True)


class ContractPayloadConverter(PydanticPayloadConverter):
    _strict = StrictJsonConverter()

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        hints: list[Any] = list(type_hints or [])
        hints += [None] * (len(payloads) - len(hints))
        values = []
        for payload, hint in zip(payloads, hints, strict=False):  # extra hints (more than payloads) are unused
            try:
                values.append(self._read(payload, hint))
            except ApplicationError as error:
                # An SDK that drops type hints (an input count that does not match) passes None.
                if hint is None or hint in _contract_models()[1]:
                    values.append(Undecodable(error))
                else:
                    raise
        return values

    def _read(self, payload: Payload, hint: Any) -> Any:
        if hint is RawValue:
            return RawValue(payload)
        encoding = payload.metadata.get("encoding", b"")
        if encoding == REFUSED:
            raise refusal(payload.data.decode(errors="replace"),
                          type=payload.metadata.get(REFUSAL_TYPE, b"").decode() or VALIDATION_ERROR)
        name = _hint_name(hint)
        if encoding == ENCRYPTED:  # the codec (edge.codec) would have opened it
            raise refusal(f"{name}: the payload is encrypted and this process has no key ring (set "
                          "TELECOM_CODEC_KEYS or TELECOM_CODEC_KEY_FILE)", type=UNDECRYPTABLE)
        if encoding not in (JSON, NULL):
            raise refusal(f"{name}: payload encoding {encoding.decode(errors='replace')[:40]!r} is not accepted; "
                          "send JSON (encoding json/plain)")
        if len(payload.data) > MAX_PAYLOAD_BYTES:
            raise refusal(f"{name}: {len(payload.data)} bytes; at most {MAX_PAYLOAD_BYTES} are accepted")
        data = b"null" if encoding == NULL else payload.data
        try:
            if hint is None or hint is Any:
                return pydantic_core.from_json(data)
            value = self._strict.from_payload(Payload(data=data), hint)
        except ValidationError as error:
            raise invalid(error, name) from None
        except ValueError as error:  # not JSON at all (pydantic_core.from_json)
            raise refusal(f"{name}: {NOT_JSON}: {str(error)[:80]}") from None
        if hint in _contract_models()[0]:
            # pydantic keeps the last of two equal keys; a client that sent both meant one of them.
            # Checked once the model has read it: the nesting is then as shallow as the contract's.
            try:
                json.loads(data, object_pairs_hook=_no_duplicate_keys)
            except ValueError as error:
                raise refusal(f"{name}: {error}") from None
        return value



contract_data_converter = DataConverter(payload_converter_class=ContractPayloadConverter)
