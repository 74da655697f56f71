"""What a case takes in, checked the same way for every process: exactly one input of its model,
signals that are recorded when malformed, and update, signal and query names the contract lacks
answered by name. `workflows.boundary` (outside the sandbox) fails a refused input before `run`."""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.contract import CONTRACTS
    from models.errors import Undecodable, refusal

if TYPE_CHECKING:
    from .book import CaseBook

REFUSED_INPUT = "_refused_input"


def case_input(init: Callable[[Any, Any], None]) -> Callable[..., None]:
    """`@workflow.init` for a case: exactly one input of the declared model, or the case fails at
    once with a named, non-retryable error (`workflows.boundary`), and `status` answers with it.
    Without this, a missing, extra or undecodable input fails the workflow task again and again."""
    expected = next(iter(typing.get_type_hints(init).values()))

    @functools.wraps(init)  # keeps the signature the SDK compares with `run` and reads types from
    def checked(self: Any, *args: Any) -> None:
        try:
            value = _one(args, expected, "input")
        except ApplicationError as error:
            # Not raised here: an error in __init__ would also fail every later query's activation;
            # workflows.boundary fails the case with it.
            setattr(self, REFUSED_INPUT, error)
            return
        init(self, value)

    return workflow.init(checked)


def case_signal(name: str, description: str) -> Callable[[Callable[[Any, Any], None]], Callable[..., Awaitable[None]]]:
    """`@workflow.signal` for a fact from another system. A signal cannot be refused to its sender,
    so one that is malformed is written to the case's event log (ops see it), not only logged;
    the case goes on."""

    def decorate(handler: Callable[[Any, Any], None]) -> Callable[..., Awaitable[None]]:
        expected = next(iter(typing.get_type_hints(handler).values()))

        @functools.wraps(handler)
        async def checked(self: Any, *args: Any) -> None:
            try:
                value = _one(args, expected, f"signal {name}")
            except ApplicationError as error:
                await self.book.refuse_signal(name, error)
                return
            handler(self, value)

        return workflow.signal(name=name, description=description)(checked)

    return decorate


def _one(args: Sequence[Any], expected: type, what: str) -> Any:
    if len(args) != 1:
        raise refusal(f"{len(args)} values for the {what}: send exactly one JSON object ({expected.__name__})")
    if isinstance(args[0], Undecodable):
        raise args[0].error
    if not isinstance(args[0], expected):
        raise refusal(f"the {what} is not a {expected.__name__} JSON object")
    return args[0]


class UnknownNames:
    """Base of every case workflow: an update, signal or query name the contract does not have is
    answered by name, with the ones it has — an update or query refused as non-retryable (the SDK
    would say RuntimeError, retryable), a signal written to the event log (the SDK would drop it
    without a word, and a payment would be lost)."""

    book: CaseBook

    @workflow.update(dynamic=True, description="Refuses update names the contract does not have.")
    async def unknown_update(self, name: str, args: Sequence[RawValue]) -> None:
        raise _unknown("update", name)

    @unknown_update.validator
    def _refuse_unknown_update(self, name: str, args: Sequence[RawValue]) -> None:
        raise _unknown("update", name)

    @workflow.signal(dynamic=True, description="Records signal names the contract does not have.")
    async def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        await self.book.refuse_signal(name, _unknown("signal", name))

    @workflow.query(dynamic=True, description="Refuses query names the contract does not have.")
    def unknown_query(self, name: str, args: Sequence[RawValue]) -> None:
        raise _unknown("query", name)


def _unknown(kind: str, name: str) -> ApplicationError:
    contract = next(c for c in CONTRACTS if c.workflow_type == workflow.info().workflow_type)
    plural, known = {"update": ("updates", contract.updates), "signal": ("signals", contract.signals),
                     "query": ("queries", contract.queries)}[kind]
    return refusal(f"{workflow.info().workflow_type} has no {kind} {name[:64]!r}; its {plural}: "
                   f"{', '.join(known) or 'none'}", type=f"Unknown{kind.title()}")


