"""How a Temporal failure reaches the person: a refusal (4xx) or "try again" (503)."""

from __future__ import annotations

from google.protobuf.any_pb2 import Any as AnyDetail
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.service import RPCError, RPCStatusCode

from actions.temporal import domain_error
from duban.errors import Conflict, NotFound, Unavailable


def _rpc(status: RPCStatusCode, *details: AnyDetail) -> RPCError:
    raw = GrpcStatus(code=status.value, message="x", details=list(details)).SerializeToString()
    return RPCError("x", status, raw)


def test_a_workflow_not_ready_is_try_again_not_a_refusal():
    """The drill's phantom: after a server restart mid-Update the resend was told 409 and stopped."""
    detail = AnyDetail()
    detail.Pack(WorkflowNotReadyFailure())
    error = domain_error(_rpc(RPCStatusCode.FAILED_PRECONDITION, detail))
    assert isinstance(error, Unavailable) and error.status == 503


def test_other_failed_preconditions_stay_refusals():
    assert isinstance(domain_error(_rpc(RPCStatusCode.FAILED_PRECONDITION)), Conflict)
    bare = RPCError("x", RPCStatusCode.FAILED_PRECONDITION, b"\xff\xfe not a status")
    assert isinstance(domain_error(bare), Conflict)
    assert isinstance(domain_error(_rpc(RPCStatusCode.NOT_FOUND)), NotFound)
    assert isinstance(domain_error(_rpc(RPCStatusCode.UNAVAILABLE)), Unavailable)
