"""RequestCancel (the workflow handles CancelledError, then returns or re-raises) and
Terminate (result raises TerminatedError)."""

import asyncio

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError, TerminatedError
from temporalio.service import RPCError, RPCStatusCode

from compat_helpers import (
    WFT,
    checked_history,
    connect,
    events_of,
    new_worker,
    wait_first_task_completed,
)


@workflow.defn
class CancellableWorkflow:
    @workflow.run
    async def run(self, swallow: bool) -> str:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            if swallow:
                return "cleaned up after cancel"
            raise
        return "unreachable"


async def test_cancel_handled_and_returned(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CancellableWorkflow]):
        handle = await client.start_workflow(
            CancellableWorkflow.run, True, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        await handle.cancel()
        assert await handle.result() == "cleaned up after cancel"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )


async def test_cancel_reraised(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CancellableWorkflow]):
        handle = await client.start_workflow(
            CancellableWorkflow.run, False, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
            *WFT,
            "WORKFLOW_EXECUTION_CANCELED",
        ],
    )


async def test_terminate(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CancellableWorkflow]):
        handle = await client.start_workflow(
            CancellableWorkflow.run, True, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        await handle.terminate("detail-1", reason="enough")
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, TerminatedError)
    assert str(failure.value.cause) == "enough"
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    events = await checked_history(
        handle, ["WORKFLOW_EXECUTION_STARTED", *WFT, "WORKFLOW_EXECUTION_TERMINATED"]
    )
    attributes = events_of(events, "WORKFLOW_EXECUTION_TERMINATED")[
        0
    ].workflow_execution_terminated_event_attributes
    assert attributes.reason == "enough"
    assert attributes.details.payloads[0].data == b'"detail-1"'


async def test_terminate_before_any_worker(address, names):
    """Terminating a workflow whose first task was never picked up; a terminated run can no
    longer be signaled."""
    client = await connect(address)
    handle = await client.start_workflow(
        CancellableWorkflow.run, True, id=names.workflow_id(), task_queue=names.task_queue
    )
    await handle.terminate(reason="never ran")
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, TerminatedError)
    await checked_history(
        handle,
        ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_EXECUTION_TERMINATED"],
    )
    with pytest.raises(RPCError) as rejected:
        await handle.signal("anything")
    assert rejected.value.status == RPCStatusCode.NOT_FOUND
