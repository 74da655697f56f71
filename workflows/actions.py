"""What a process declares to the outside: its workflow type (`process`), its human actions as updates
(`Actions`), its refusals (`invalid_input`, `refuse`) and its calls to outside systems (`call`).
`workflows.case` is the rest of the framework."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.workflow import UpdateMethodMultiParam

with workflow.unsafe.imports_passed_through():
    from activities.heartbeats import HEARTBEAT_TIMEOUT

if TYPE_CHECKING:
    from .case import Case

INVALID_INPUT = "InvalidInput"
INVALID_ACTION = "InvalidAction"
TIMEOUT = timedelta(seconds=30)
ADAPTER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                            maximum_interval=timedelta(minutes=1))
"""Outside systems being down is retried without limit (the case waits); their refusals are final."""

A = TypeVar("A")
C = TypeVar("C", bound="Case")
R = TypeVar("R")
S = TypeVar("S")


def invalid_input(field: str, problem: str) -> ApplicationError:
    """A well-formed input that cannot be a case. Its details are those of a `ValidationError`
    (`edge.converter`), so a program reads both the same way."""
    return ApplicationError(f"{field}: {problem}", {"problems": [{"field": field, "problem": problem}]},
                            type=INVALID_INPUT, non_retryable=True)


def refuse(message: str) -> ApplicationError:
    """A human action that does not fit the case's current state: the update fails, the case goes on.
    `Actions` adds the action and the state to its details."""
    return ApplicationError(message, type=INVALID_ACTION, non_retryable=True)


def process(workflow_type: str) -> Callable[[type[C]], type[C]]:
    """`@workflow.defn` of a process: a malformed input or update argument fails that case or update
    (a `ValidationError`), never the workflow task again and again."""
    return workflow.defn(name=workflow_type, failure_exception_types=[ValidationError])


@overload
async def call(activity: Callable[[Any, A], Awaitable[R]], arg: A, summary: str, *,
               retry: RetryPolicy = ADAPTER_RETRY, timeout: timedelta = TIMEOUT) -> R: ...


@overload
async def call(activity: Callable[[Any, A], R], arg: A, summary: str, *, retry: RetryPolicy = ADAPTER_RETRY,
               timeout: timedelta = TIMEOUT) -> R: ...


async def call(activity: Callable[[Any, A], Any], arg: A, summary: str, *, retry: RetryPolicy = ADAPTER_RETRY,
               timeout: timedelta = TIMEOUT) -> Any:
    """An outside system's activity (sync or async), with the options every case uses for them, or a long
    one of our own (`timeout`, the archive purge's pages, the month's report): it beats while it runs
    (activities.heartbeats), so a call whose worker died is retried after 10 s, not after `timeout`."""
    return await workflow.execute_activity_method(activity, arg, start_to_close_timeout=timeout,
                                                  heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=retry,
                                                  summary=summary)


class Actions(Generic[S]):
    """`Actions(Status)`: the `action` decorator of a process whose human actions answer with its
    `status` model."""

    def __init__(self, status: type[S]) -> None:
        self.answer = status

    def __call__(self, description: str, *, allowed: Collection[Any] = (), refusal: str = "",
                 check: Callable[[Any, Any], None] | None = None
                 ) -> Callable[[Callable[[C, A], Awaitable[None]]], UpdateMethodMultiParam[[C, A], S]]:
        """A human action as an update, taken only in the `allowed` states (else refused with
        `refusal`) and where `check` passes. Both are the update's validator (a refusal never reaches
        history) and run again under the case's lock: another action may have moved the case meanwhile.
        The update answers with the case's status."""
        name = ""

        def validate(self: Case, request: Any) -> None:
            try:
                if allowed and self.state not in allowed:
                    raise refuse(f"{self.NOUN} is {self.state}: {refusal}")
                if check is not None:
                    check(self, request)
            except ApplicationError as refused:  # what a program reads beside the message
                raise ApplicationError(refused.message, {"action": name, "state": str(self.state)},
                                       type=refused.type, non_retryable=True) from None

        def decorate(apply: Callable[[C, A], Awaitable[None]]) -> UpdateMethodMultiParam[[C, A], S]:
            nonlocal name
            name = apply.__name__
            validate.__signature__ = inspect.signature(apply)  # type: ignore[attr-defined]  # the SDK compares them

            @functools.wraps(apply)  # the update's name and argument type are the action's
            async def handler(self: C, request: A) -> S:
                async with self.book.acting():
                    validate(self, request)
                    await apply(self, request)
                    answer: S = self.status()
                    return answer

            handler.__annotations__ = {**apply.__annotations__, "return": self.answer}  # what typed clients read
            update = workflow.update(description=description)(handler)
            update.validator(validate)
            return cast(UpdateMethodMultiParam[[C, A], S], update)  # what `workflow.update(handler)` is typed

        return decorate
