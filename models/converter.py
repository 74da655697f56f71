"""The payload converter every client, worker, test and replayer uses: pydantic JSON, plus a check
that a payload meant for a contract model really is one (a `null` or raw-bytes payload decodes to
None or bytes without ever meeting pydantic, and would otherwise crash the workflow task)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter


class ContractPayloadConverter(PydanticPayloadConverter):
    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        values = super().from_payloads(payloads, type_hints)
        for value, hint in zip(values, type_hints or ()):
            if isinstance(hint, type) and issubclass(hint, BaseModel) and not isinstance(value, hint):
                hint.model_validate(value)  # raises the ValidationError that names what was expected
        return values


contract_data_converter = DataConverter(payload_converter_class=ContractPayloadConverter)
