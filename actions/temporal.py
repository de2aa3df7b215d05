"""Temporal client and the typed helpers the web uses to act on assignment workflows."""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import PydanticUserError, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from duban.errors import Conflict, DomainError, Invalid, NotFound, Unavailable
from duban.settings import Settings
from workflows.assignment import (
    ActionInput,
    ActionResult,
    AssignmentStatus,
    AssignmentWorkflow,
    ExtensionDecisionInput,
    ExtensionRequestInput,
    ReviewInput,
    SetDueInput,
    SignOffInput,
    SubmitInput,
    UrgeInput,
)

DEFAULT_ADDRESS = "127.0.0.1:7233"
UNAVAILABLE_MESSAGE = "工作流服务暂时不可用，请稍后重试"
# RPC statuses that refuse this request; every other failure means Temporal is unavailable.
REFUSALS = frozenset(
    {
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.ALREADY_EXISTS,
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.OUT_OF_RANGE,
    }
)
T = TypeVar("T")
# The worker builds a payload converter per workflow run; the stock pydantic one would start
# each run with an empty TypeAdapter cache and rebuild the schemas of every input (about a
# third of a workflow task's time at 1,000 starts). One shared JSON converter keeps them.
_SHARED_JSON = PydanticJSONPlainPayloadConverter(max_cached_type_adapters=None)


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """The pydantic payload converter, with one TypeAdapter cache for the whole process."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _SHARED_JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


def warm_converter(*owners: type | Callable[..., Any]) -> set[object]:
    """Build the TypeAdapter of every type that the workflow classes' methods and the activity
    callables take or return, once, before the worker polls; return those types.

    Otherwise the first workflow task to see a type builds its schema inside the SDK's 2 s
    deadlock timer, and the first tasks of a fresh worker all build it at once (the cache has
    no lock): in a full bench run a workflow task failed on that timer while building a run
    input's schema (63 ms for all of duban's types when nothing else runs).
    """
    functions: list[Callable[..., Any]] = []
    for owner in owners:
        if isinstance(owner, type):
            functions += [f for _, f in inspect.getmembers(owner, inspect.isfunction)]
        else:
            functions.append(owner)
    hints: set[object] = set()
    for fn in functions:
        try:
            hints.update(typing.get_type_hints(fn).values())
        except (NameError, TypeError):  # a hint that does not resolve carries no payload
            continue
    empty = Payload(metadata={"encoding": b"json/plain"}, data=b"null")
    for hint in hints:
        # Built and cached (`null` is not a value of this type), or no payload type at all (a
        # helper's coroutine or callable).
        with contextlib.suppress(ValidationError, PydanticUserError):
            _SHARED_JSON.from_payload(empty, typing.cast(type, hint))
    return hints


# Workflow inputs carry timedelta offsets, which the default JSON converter cannot encode;
# every client, worker and replayer of duban must use this converter.
DATA_CONVERTER = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect to TEMPORAL_ADDRESS (or the local default) in the configured namespace.

    With tracing configured the client (and any worker built on it) carries the tracing
    interceptor; `runtime` (duban/sdk_metrics.py) makes the SDK export its metrics.
    """
    from duban.tracing import temporal_interceptors, tracer_provider

    return await Client.connect(
        settings.temporal_address or DEFAULT_ADDRESS,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        interceptors=temporal_interceptors(tracer_provider(settings)),
        runtime=runtime,
    )


def _not_ready(exc: BaseException) -> bool:
    """Tell a "workflow not ready" refusal (FAILED_PRECONDITION with that detail): transient."""
    if not isinstance(exc, RPCError) or exc.status != RPCStatusCode.FAILED_PRECONDITION:
        return False
    try:
        details = exc.grpc_status.details
    except Exception:
        return False
    return any(d.Is(WorkflowNotReadyFailure.DESCRIPTOR) for d in details)


def domain_error(exc: BaseException) -> DomainError:
    """Turn a Temporal failure into the DomainError the web shows, keeping the Chinese message."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError):
        if cause.type == "invalid":
            return Invalid(cause.message)
        return Conflict(cause.message, code=cause.type or "conflict")
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        return NotFound("督办任务不存在或已结束")
    if _not_ready(exc):
        # The workflow's task failed or was lost (a server restart mid-Update): the server says
        # a retry resolves it. A 409 here would stop a careful client from sending it again.
        return Unavailable(UNAVAILABLE_MESSAGE)
    if isinstance(exc, RPCError) and exc.status in REFUSALS:
        return Conflict("督办任务当前不接受该操作", code="not_accepted")
    if isinstance(exc, WorkflowUpdateFailedError):
        return Conflict("督办任务未能办理该操作", code="not_accepted")
    # Anything else is the service, not the request: unreachable, overloaded, timed out.
    return Unavailable(UNAVAILABLE_MESSAGE)


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (
        WorkflowUpdateFailedError,
        WorkflowQueryFailedError,
        WorkflowQueryRejectedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
        RPCError,
    ) as exc:
        raise domain_error(exc) from exc


async def _update(client: Client, workflow_id: str, update: Any, arg: Any) -> ActionResult:
    handle = client.get_workflow_handle_for(AssignmentWorkflow.run, workflow_id)
    result: ActionResult = await _guarded(lambda: handle.execute_update(update, arg, id=arg.key))
    return result


async def acknowledge(client: Client, workflow_id: str, inp: ActionInput) -> ActionResult:
    """签收 an assignment."""
    return await _update(client, workflow_id, AssignmentWorkflow.acknowledge, inp)


async def submit(client: Client, workflow_id: str, inp: SubmitInput) -> ActionResult:
    """Submit a progress report for the current period."""
    return await _update(client, workflow_id, AssignmentWorkflow.submit, inp)


async def sign_off(client: Client, workflow_id: str, inp: SignOffInput) -> ActionResult:
    """The head signs off (or returns) a member's report held for sign-off."""
    return await _update(client, workflow_id, AssignmentWorkflow.sign_off, inp)


async def review(client: Client, workflow_id: str, inp: ReviewInput) -> ActionResult:
    """Approve or return the pending submission."""
    return await _update(client, workflow_id, AssignmentWorkflow.review, inp)


async def request_extension(
    client: Client, workflow_id: str, inp: ExtensionRequestInput
) -> ActionResult:
    """Ask for a later due date."""
    return await _update(client, workflow_id, AssignmentWorkflow.request_extension, inp)


async def decide_extension(
    client: Client, workflow_id: str, inp: ExtensionDecisionInput
) -> ActionResult:
    """Grant or refuse a pending extension request."""
    return await _update(client, workflow_id, AssignmentWorkflow.decide_extension, inp)


async def set_due(client: Client, workflow_id: str, inp: SetDueInput) -> ActionResult:
    """Move the current due date."""
    return await _update(client, workflow_id, AssignmentWorkflow.set_due, inp)


async def urge(client: Client, workflow_id: str, inp: UrgeInput) -> None:
    """催办: signal the assignment to remind its department now."""
    handle = client.get_workflow_handle_for(AssignmentWorkflow.run, workflow_id)
    await _guarded(lambda: handle.signal(AssignmentWorkflow.urge, inp))


async def query_state(client: Client, workflow_id: str) -> AssignmentStatus:
    """Return the assignment's current state from its workflow."""
    handle = client.get_workflow_handle_for(AssignmentWorkflow.run, workflow_id)
    status: AssignmentStatus = await _guarded(lambda: handle.query(AssignmentWorkflow.state))
    return status
