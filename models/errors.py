"""The machine-readable refusal every part of the contract answers with: a non-retryable
`ApplicationError` whose type names the kind of problem and whose details list each problem by field
path: `[{"problems": [{"field": "customer.phone", "problem": "..."}]}]`. Messages and details name
fields and problems, never the values (they may be personal data)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

VALIDATION_ERROR, UNDECRYPTABLE = "ValidationError", "UndecryptablePayload"
MAX_PROBLEMS = 20
NOT_JSON = ("not UTF-8 JSON (send UTF-8 without a byte-order mark; a lone surrogate escape such as \\ud800 "
            "is not text)")


class Undecodable:
    """Stands in for a workflow input or signal argument that could not be read."""

    __slots__ = ("error",)

    def __init__(self, error: ApplicationError) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Undecodable({self.error.type}: {self.error.message})"


def refusal(message: str, problems: Sequence[dict[str, str]] = (), type: str = VALIDATION_ERROR) -> ApplicationError:
    return ApplicationError(message, {"problems": list(problems)}, type=type, non_retryable=True)


def invalid(error: ValidationError, what: str) -> ApplicationError:
    """Field path and message of each problem, never the input value; a bounded list."""
    if any(e["type"] == "json_invalid" for e in error.errors()):
        return refusal(f"{what}: {NOT_JSON}: {error.errors()[0]['msg']}")
    problems = [{"field": ".".join(str(part)[:64] for part in e["loc"]) or "(input)", "problem": e["msg"]}
                for e in error.errors(include_url=False, include_input=False, include_context=False)]
    shown = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return refusal(f"{what}: {shown}{more}", problems[:MAX_PROBLEMS])
