"""ListWorkflowExecutions / CountWorkflowExecutions filtered by WorkflowType, WorkflowId and
ExecutionStatus. Visibility may lag behind on the real server, so results are polled for a
bounded time (10 s)."""

import uuid
from collections.abc import Sequence

from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import RawValue

from compat_helpers import connect, eventually, new_worker


@workflow.defn(dynamic=True)
class AnyTypeWorkflow:
    """Serves any workflow type name, so each test can list by a type name of its own."""

    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> str:
        await workflow.wait_condition(lambda: self.released)
        return workflow.info().workflow_type

    @workflow.signal
    def release(self) -> None:
        self.released = True


async def listed_ids(client, query: str) -> set[str]:
    return {execution.id async for execution in client.list_workflows(query)}


async def test_list_and_count(address, names):
    client = await connect(address)
    type_name = f"Listed_{uuid.uuid4().hex[:10]}"
    async with new_worker(client, names.task_queue, [AnyTypeWorkflow]):
        handles = [
            await client.start_workflow(
                type_name, id=names.workflow_id(), task_queue=names.task_queue
            )
            for _ in range(3)
        ]
        ids = {h.id for h in handles}
        by_type = f"WorkflowType='{type_name}'"

        await eventually(
            lambda: _equal(listed_ids(client, by_type), ids),
            what=f"list {by_type} returns the 3 workflows",
        )
        await eventually(lambda: _count_is(client, by_type, 3), what=f"count {by_type} == 3")
        by_id = f"WorkflowId='{handles[0].id}'"
        await eventually(
            lambda: _equal(listed_ids(client, by_id), {handles[0].id}), what=f"list {by_id}"
        )
        await eventually(lambda: _count_is(client, by_id, 1), what=f"count {by_id} == 1")

        # Close one; the status filter then splits them.
        await handles[0].signal("release")
        assert await handles[0].result() == type_name
        completed = f"{by_type} AND ExecutionStatus='Completed'"
        running = f"{by_type} AND ExecutionStatus='Running'"
        await eventually(
            lambda: _equal(listed_ids(client, completed), {handles[0].id}), what=f"list {completed}"
        )
        await eventually(
            lambda: _equal(listed_ids(client, running), ids - {handles[0].id}),
            what=f"list {running}",
        )
        await eventually(lambda: _count_is(client, running, 2), what=f"count {running} == 2")

        async for execution in client.list_workflows(by_type):
            assert execution.workflow_type == type_name
            assert execution.task_queue == names.task_queue
            expected = (
                WorkflowExecutionStatus.COMPLETED
                if execution.id == handles[0].id
                else WorkflowExecutionStatus.RUNNING
            )
            assert execution.status == expected
        for handle in handles[1:]:
            await handle.terminate(reason="test over")


async def _equal(found, expected) -> bool:
    return (await found) == expected


async def _count_is(client, query: str, expected: int) -> bool:
    return (await client.count_workflows(query)).count == expected
