"""DescribeWorkflowExecution: id, run, type, task queue and status of a running and a closed run;
NOT_FOUND for an id that was never started."""

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from compat_helpers import connect, new_worker, wait_first_task_completed


@workflow.defn
class DescribedWorkflow:
    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.released)
        return "released"

    @workflow.signal
    def release(self) -> None:
        self.released = True


async def test_describe(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [DescribedWorkflow]):
        handle = await client.start_workflow(
            DescribedWorkflow.run, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        running = await handle.describe()
        assert running.id == handle.id
        assert running.run_id == handle.result_run_id
        assert running.workflow_type == "DescribedWorkflow"
        assert running.task_queue == names.task_queue
        assert running.status == WorkflowExecutionStatus.RUNNING
        assert running.close_time is None
        assert running.history_length >= 4

        await handle.signal(DescribedWorkflow.release)
        assert await handle.result() == "released"
    closed = await handle.describe()
    assert closed.status == WorkflowExecutionStatus.COMPLETED
    assert closed.close_time is not None and closed.close_time >= closed.start_time
    assert closed.history_length == len((await handle.fetch_history()).events)


async def test_describe_unknown_workflow(address, names):
    client = await connect(address)
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle(names.workflow_id("never-started")).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
