"""Child workflows and requests to other workflows: a child's result and failure reach the
parent; a parent signals and cancels other runs through their external handles."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from compat_helpers import connect, history, new_worker, type_names, assert_contiguous


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, x: int) -> int:
        if x < 0:
            raise ApplicationError("negative input", non_retryable=True)
        return x * 2


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, x: int) -> str:
        doubled = await workflow.execute_child_workflow(
            ChildWorkflow.run, x, id=f"{workflow.info().workflow_id}-child"
        )
        try:
            await workflow.execute_child_workflow(
                ChildWorkflow.run,
                -1,
                id=f"{workflow.info().workflow_id}-bad-child",
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ChildWorkflowError as err:
            return f"{doubled} then {type(err.cause).__name__}: {err.cause}"
        return f"{doubled} then no error?"


@workflow.defn
class WaiterWorkflow:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def poke(self, value: str) -> None:
        self.got.append(value)

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: len(self.got) > 0)
            await asyncio.sleep(300)
        except asyncio.CancelledError:
            return f"canceled after {self.got}"
        return "not canceled"


@workflow.defn
class SenderWorkflow:
    @workflow.run
    async def run(self, target: str) -> str:
        handle = workflow.get_external_workflow_handle(target)
        await handle.signal(WaiterWorkflow.poke, "hello")
        await asyncio.sleep(0.5)
        await handle.cancel()
        return "sent"


async def test_child_result_and_failure_reach_the_parent(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [ParentWorkflow, ChildWorkflow]):
        handle = await client.start_workflow(
            ParentWorkflow.run, 21, id=names.workflow_id(), task_queue=names.task_queue
        )
        result = await handle.result()
        assert result == "42 then ApplicationError: negative input", result
        events = await history(handle)
        assert_contiguous(events)
        kinds = type_names(events)
        assert kinds.count("START_CHILD_WORKFLOW_EXECUTION_INITIATED") == 2
        assert kinds.count("CHILD_WORKFLOW_EXECUTION_STARTED") == 2
        assert "CHILD_WORKFLOW_EXECUTION_COMPLETED" in kinds
        assert "CHILD_WORKFLOW_EXECUTION_FAILED" in kinds
        child = client.get_workflow_handle(f"{handle.id}-child")
        described = await child.describe()
        assert described.parent_id == handle.id
        assert await child.result() == 42


async def test_external_signal_and_cancel(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [WaiterWorkflow, SenderWorkflow]):
        waiter = await client.start_workflow(
            WaiterWorkflow.run, id=names.workflow_id("waiter"), task_queue=names.task_queue
        )
        sender = await client.start_workflow(
            SenderWorkflow.run, waiter.id, id=names.workflow_id("sender"), task_queue=names.task_queue
        )
        assert await sender.result() == "sent"
        assert await waiter.result() == "canceled after ['hello']"
        kinds = type_names(await history(sender))
        assert "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED" in kinds
        assert "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED" in kinds
