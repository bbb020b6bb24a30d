"""Queries of an idle workflow: answered from workflow state; a failing handler raises
WorkflowQueryFailedError in the client."""

import pytest
from temporalio import workflow
from temporalio.client import WorkflowQueryFailedError

from compat_helpers import WFT, checked_history, connect, new_worker, wait_first_task_completed


@workflow.defn
class CounterWorkflow:
    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count

    @workflow.signal
    def bump(self, by: int) -> None:
        self.count += by

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def current(self) -> int:
        return self.count

    @workflow.query
    def described(self, label: str) -> str:
        return f"{label}={self.count}"

    @workflow.query
    def broken(self) -> int:
        raise ValueError("this query handler always fails")


async def test_query_idle_workflow(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CounterWorkflow]):
        handle = await client.start_workflow(
            CounterWorkflow.run, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        assert await handle.query(CounterWorkflow.current) == 0
        await handle.signal(CounterWorkflow.bump, 5)
        # The query after a signal sees the signal (the server orders it after that task).
        assert await handle.query(CounterWorkflow.current) == 5
        assert await handle.query(CounterWorkflow.described, "count") == "count=5"
        await handle.signal(CounterWorkflow.finish)
        assert await handle.result() == 5
        # A closed workflow can still be queried while a worker for it is running.
        assert await handle.query(CounterWorkflow.current) == 5
    # Queries leave no trace in history.
    await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )


async def test_failing_query_handler(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CounterWorkflow]):
        handle = await client.start_workflow(
            CounterWorkflow.run, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        with pytest.raises(WorkflowQueryFailedError) as failure:
            await handle.query(CounterWorkflow.broken)
        assert "this query handler always fails" in str(failure.value)
        with pytest.raises(WorkflowQueryFailedError) as unknown:
            await handle.query("no_such_query")
        assert "no_such_query" in str(unknown.value)
        # A failed query does not hurt the workflow.
        assert await handle.query(CounterWorkflow.current) == 0
        await handle.signal(CounterWorkflow.finish)
        assert await handle.result() == 0
    await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
