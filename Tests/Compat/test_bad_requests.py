"""Malformed requests sent through the raw gRPC stubs get the gRPC status the real server
returns, and the server keeps working afterwards (the last test runs a normal workflow).

Every rejection is printed as `REJECTED <what>: <STATUS> <message>`; `pytest -rP` shows them."""

import uuid
from datetime import timedelta
from typing import Any, Awaitable

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio import workflow
from temporalio.api.command.v1 import Command, ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import (
    ActivityType,
    Payload,
    Payloads,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.enums.v1 import CommandType, TaskQueueKind
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeNamespaceRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest,
    RegisterNamespaceRequest,
    RespondActivityTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from compat_helpers import NAMESPACE, connect, new_worker

IDENTITY = "compat-bad-requests"
# Not a protobuf message: 0x07 is field 0 with wire type 7, which does not exist.
GARBAGE = b"\x07\xff\xfenot-a-token\x00\x01"
# The real server's default blob-size error limit (limit.blobSize.error) is 2 MiB.
BLOB_SIZE_LIMIT = 2 * 1024 * 1024
# Bound on every raw call, so that a server that long-polls instead of rejecting fails the test
# instead of hanging it.
CALL_TIMEOUT = timedelta(seconds=15)


async def rejected(what: str, call: Awaitable[Any], status: RPCStatusCode) -> RPCError:
    """Awaits `call`, which must fail with `status`; returns the error."""
    try:
        response = await call
    except RPCError as error:
        print(f"REJECTED {what}: {error.status.name} {error.message!r}")
        assert (
            error.status == status
        ), f"{what}: expected {status.name}, got {error.status.name}: {error.message!r}"
        return error
    raise AssertionError(f"{what}: expected {status.name}, but it succeeded: {response}")


def unknown_namespace() -> str:
    return f"no-such-namespace-{uuid.uuid4().hex[:12]}"


def start_request(names, **overrides: Any) -> StartWorkflowExecutionRequest:
    fields: dict[str, Any] = dict(
        namespace=NAMESPACE,
        workflow_id=names.workflow_id(),
        workflow_type=WorkflowType(name="BadRequestsRawWorkflow"),
        task_queue=TaskQueue(name=names.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        workflow_run_timeout=Duration(seconds=120),
        identity=IDENTITY,
        request_id=str(uuid.uuid4()),
    )
    fields.update(overrides)
    return StartWorkflowExecutionRequest(**fields)


async def start_raw(client: Client, names, **overrides: Any) -> WorkflowExecution:
    """Starts a workflow no worker serves (its tasks are polled by hand)."""
    request = start_request(names, **overrides)
    response = await client.workflow_service.start_workflow_execution(request, timeout=CALL_TIMEOUT)
    return WorkflowExecution(workflow_id=request.workflow_id, run_id=response.run_id)


async def terminate_raw(client: Client, execution: WorkflowExecution) -> None:
    await client.workflow_service.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace=NAMESPACE, workflow_execution=execution, reason="test cleanup"
        ),
        timeout=CALL_TIMEOUT,
    )


async def poll_workflow_task(client: Client, task_queue: str):
    response = await client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(
            namespace=NAMESPACE,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            identity=IDENTITY,
        ),
        timeout=timedelta(seconds=30),
    )
    assert response.task_token, "the poll returned no workflow task"
    return response


# --- unknown namespace -------------------------------------------------------------------------


async def test_unknown_namespace(address, names):
    client = await connect(address)
    service = client.workflow_service
    namespace = unknown_namespace()
    await rejected(
        "StartWorkflowExecution in an unknown namespace",
        service.start_workflow_execution(
            start_request(names, namespace=namespace), timeout=CALL_TIMEOUT
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "DescribeWorkflowExecution in an unknown namespace",
        service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=namespace, execution=WorkflowExecution(workflow_id=names.workflow_id())
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "PollWorkflowTaskQueue in an unknown namespace",
        service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(
                    name=names.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL
                ),
                identity=IDENTITY,
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )


# --- StartWorkflowExecution argument checks ----------------------------------------------------


async def test_start_with_missing_fields(address, names):
    client = await connect(address)
    service = client.workflow_service
    for what, overrides in [
        ("empty workflow id", dict(workflow_id="")),
        ("empty workflow type", dict(workflow_type=WorkflowType(name=""))),
        ("no workflow type", dict(workflow_type=None)),
        ("empty task queue", dict(task_queue=TaskQueue(name=""))),
        ("no task queue", dict(task_queue=None)),
    ]:
        request = start_request(names, **overrides)
        await rejected(
            f"StartWorkflowExecution with {what}",
            service.start_workflow_execution(request, timeout=CALL_TIMEOUT),
            RPCStatusCode.INVALID_ARGUMENT,
        )
        if request.workflow_id:
            # Nothing was started under the id.
            await rejected(
                f"DescribeWorkflowExecution after the start with {what}",
                service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=NAMESPACE,
                        execution=WorkflowExecution(workflow_id=request.workflow_id),
                    ),
                    timeout=CALL_TIMEOUT,
                ),
                RPCStatusCode.NOT_FOUND,
            )


async def test_start_with_oversized_input(address, names):
    """An input over the 2 MiB blob-size limit (but under gRPC's 4 MiB message limit) is refused,
    and nothing is started."""
    client = await connect(address)
    service = client.workflow_service
    payload = Payload(
        metadata={"encoding": b"binary/plain"}, data=b"x" * (BLOB_SIZE_LIMIT + 64 * 1024)
    )
    request = start_request(names, input=Payloads(payloads=[payload]))
    assert BLOB_SIZE_LIMIT < request.input.ByteSize() < 4 * 1024 * 1024 - 64 * 1024
    await rejected(
        "StartWorkflowExecution with a 2 MiB + 64 KiB input",
        service.start_workflow_execution(request, timeout=CALL_TIMEOUT),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    await rejected(
        "DescribeWorkflowExecution after the oversized start",
        service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=request.workflow_id)
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )


def payloads_of_size(size: int) -> Payloads:
    """A Payloads message whose encoded size is exactly `size` bytes."""
    payload = Payload(metadata={"encoding": b"binary/plain"}, data=b"")
    overhead = Payloads(payloads=[payload]).ByteSize()
    data_size = size - overhead
    while True:
        payloads = Payloads(payloads=[Payload(metadata=payload.metadata, data=b"x" * data_size)])
        if payloads.ByteSize() == size:
            return payloads
        data_size -= payloads.ByteSize() - size


async def test_start_input_at_the_size_limit(address, names):
    """The limit is on the encoded Payloads: exactly 2 MiB is accepted, one byte more is not."""
    client = await connect(address)
    service = client.workflow_service
    over = start_request(names, input=payloads_of_size(BLOB_SIZE_LIMIT + 1))
    await rejected(
        "StartWorkflowExecution with an input of 2 MiB + 1 byte",
        service.start_workflow_execution(over, timeout=CALL_TIMEOUT),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    execution = await start_raw(client, names, input=payloads_of_size(BLOB_SIZE_LIMIT))
    history = await service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=execution),
        timeout=CALL_TIMEOUT,
    )
    started = history.history.events[0].workflow_execution_started_event_attributes
    assert started.input.ByteSize() == BLOB_SIZE_LIMIT
    await terminate_raw(client, execution)


# --- task tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [b"", GARBAGE], ids=["empty", "garbage"])
async def test_malformed_task_tokens(address, names, token):
    client = await connect(address)
    service = client.workflow_service
    label = "an empty" if not token else "a garbage"
    await rejected(
        f"RespondWorkflowTaskCompleted with {label} task token",
        service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(
                namespace=NAMESPACE, task_token=token, identity=IDENTITY
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    await rejected(
        f"RespondActivityTaskCompleted with {label} task token",
        service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(
                namespace=NAMESPACE, task_token=token, identity=IDENTITY
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    await rejected(
        f"RecordActivityTaskHeartbeat with {label} task token",
        service.record_activity_task_heartbeat(
            RecordActivityTaskHeartbeatRequest(
                namespace=NAMESPACE, task_token=token, identity=IDENTITY
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )


async def test_stale_workflow_task_token(address, names):
    """Completing the same workflow task twice: the second completion is NOT_FOUND."""
    client = await connect(address)
    service = client.workflow_service
    execution = await start_raw(client, names)
    task = await poll_workflow_task(client, names.task_queue)
    assert task.workflow_execution.workflow_id == execution.workflow_id
    completion = RespondWorkflowTaskCompletedRequest(
        namespace=NAMESPACE, task_token=task.task_token, identity=IDENTITY
    )
    await service.respond_workflow_task_completed(completion, timeout=CALL_TIMEOUT)
    await rejected(
        "RespondWorkflowTaskCompleted with an already completed task's token",
        service.respond_workflow_task_completed(completion, timeout=CALL_TIMEOUT),
        RPCStatusCode.NOT_FOUND,
    )
    await terminate_raw(client, execution)


async def test_stale_activity_task_token(address, names):
    """Completing the same activity task twice, or heartbeating it after completion: NOT_FOUND."""
    client = await connect(address)
    service = client.workflow_service
    execution = await start_raw(client, names)
    task = await poll_workflow_task(client, names.task_queue)
    schedule = Command(
        command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
            activity_id="1",
            activity_type=ActivityType(name="raw-activity"),
            task_queue=TaskQueue(name=names.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            start_to_close_timeout=Duration(seconds=60),
        ),
    )
    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE, task_token=task.task_token, identity=IDENTITY, commands=[schedule]
        ),
        timeout=CALL_TIMEOUT,
    )
    activity_task = await service.poll_activity_task_queue(
        PollActivityTaskQueueRequest(
            namespace=NAMESPACE,
            task_queue=TaskQueue(name=names.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            identity=IDENTITY,
        ),
        timeout=timedelta(seconds=30),
    )
    assert activity_task.task_token and activity_task.activity_id == "1"
    completion = RespondActivityTaskCompletedRequest(
        namespace=NAMESPACE, task_token=activity_task.task_token, identity=IDENTITY
    )
    await service.respond_activity_task_completed(completion, timeout=CALL_TIMEOUT)
    await rejected(
        "RespondActivityTaskCompleted with an already completed activity's token",
        service.respond_activity_task_completed(completion, timeout=CALL_TIMEOUT),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "RecordActivityTaskHeartbeat with an already completed activity's token",
        service.record_activity_task_heartbeat(
            RecordActivityTaskHeartbeatRequest(
                namespace=NAMESPACE, task_token=activity_task.task_token, identity=IDENTITY
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await terminate_raw(client, execution)


# --- unknown workflow ids ----------------------------------------------------------------------


async def test_unknown_workflow_id(address, names):
    client = await connect(address)
    service = client.workflow_service
    execution = WorkflowExecution(workflow_id=names.workflow_id("never-started"))
    await rejected(
        "DescribeWorkflowExecution of an unknown id",
        service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=NAMESPACE, execution=execution),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "SignalWorkflowExecution of an unknown id",
        service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=execution,
                signal_name="anything",
                identity=IDENTITY,
                request_id=str(uuid.uuid4()),
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "TerminateWorkflowExecution of an unknown id",
        service.terminate_workflow_execution(
            TerminateWorkflowExecutionRequest(
                namespace=NAMESPACE, workflow_execution=execution, reason="x", identity=IDENTITY
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )
    await rejected(
        "GetWorkflowExecutionHistory of an unknown id",
        service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=execution),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.NOT_FOUND,
    )


# --- history paging and visibility queries -----------------------------------------------------


async def test_history_with_garbage_page_token(address, names):
    client = await connect(address)
    service = client.workflow_service
    execution = await start_raw(client, names)
    await rejected(
        "GetWorkflowExecutionHistory with a garbage next_page_token",
        service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=NAMESPACE, execution=execution, next_page_token=GARBAGE
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    # The same request without the token still works.
    history = await service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=execution),
        timeout=CALL_TIMEOUT,
    )
    assert len(history.history.events) >= 2
    await terminate_raw(client, execution)


@pytest.mark.parametrize(
    "query",
    ["WorkflowType = ", "WorkflowType = 'a' AND", "ExecutionStatus = 'NotAStatus'", "(((", "= 1"],
)
async def test_malformed_visibility_query(address, names, query):
    client = await connect(address)
    service = client.workflow_service
    await rejected(
        f"ListWorkflowExecutions with query {query!r}",
        service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace=NAMESPACE, query=query, page_size=10),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    await rejected(
        f"CountWorkflowExecutions with query {query!r}",
        service.count_workflow_executions(
            CountWorkflowExecutionsRequest(namespace=NAMESPACE, query=query),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )


# --- namespaces --------------------------------------------------------------------------------


async def test_register_existing_namespace(address, names):
    client = await connect(address)
    await rejected(
        f"RegisterNamespace of the existing namespace {NAMESPACE!r}",
        client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=NAMESPACE, workflow_execution_retention_period=Duration(seconds=86400)
            ),
            timeout=CALL_TIMEOUT,
        ),
        RPCStatusCode.ALREADY_EXISTS,
    )
    # The namespace is unchanged and still served.
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=NAMESPACE), timeout=CALL_TIMEOUT
    )
    assert described.namespace_info.name == NAMESPACE


# --- the server still works --------------------------------------------------------------------


@workflow.defn
class StillWorkingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"still working, {name}"


async def test_server_still_works_afterwards(address, names):
    """Runs last in this file: after all the rejected requests, a normal workflow completes and
    the operator service answers."""
    client = await connect(address)
    attributes = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=NAMESPACE), timeout=CALL_TIMEOUT
    )
    assert "WorkflowType" in attributes.system_attributes
    async with new_worker(client, names.task_queue, [StillWorkingWorkflow]):
        result = await client.execute_workflow(
            StillWorkingWorkflow.run,
            "after bad requests",
            id=names.workflow_id(),
            task_queue=names.task_queue,
        )
    assert result == "still working, after bad requests"
