"""Workflow updates: a synchronous update returns its result and is recorded as
UpdateAccepted/UpdateCompleted; a validator's rejection reaches the caller and writes nothing;
an update started with wait-for-accepted is polled to its result."""

from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from compat_helpers import connect, history, new_worker, type_names, assert_contiguous


@workflow.defn
class CounterWorkflow:
    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.update
    async def add(self, n: int) -> int:
        self.total += n
        return self.total

    @add.validator
    def check_add(self, n: int) -> None:
        if n < 0:
            raise ValueError("only positive numbers")

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total


async def test_updates(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CounterWorkflow]):
        handle = await client.start_workflow(
            CounterWorkflow.run, id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.execute_update(CounterWorkflow.add, 5) == 5
        try:
            await handle.execute_update(CounterWorkflow.add, -1)
            raise AssertionError("the validator should have rejected -1")
        except WorkflowUpdateFailedError as err:
            assert "only positive numbers" in str(err.cause)
        later = await handle.start_update(
            CounterWorkflow.add, 7, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        assert await later.result() == 12
        await handle.signal(CounterWorkflow.finish)
        assert await handle.result() == 12
        events = await history(handle)
        assert_contiguous(events)
        kinds = type_names(events)
        assert kinds.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 2
        assert kinds.count("WORKFLOW_EXECUTION_UPDATE_COMPLETED") == 2
