"""Continue-as-new: each run closes as ContinuedAsNew and its successor starts in the same batch;
the client follows new_execution_run_id to the last run's result."""

from temporalio import workflow

from compat_helpers import WFT, connect, history, new_worker, type_names, assert_contiguous


@workflow.defn
class CountdownWorkflow:
    @workflow.run
    async def run(self, remaining: int, total: int) -> str:
        if remaining > 0:
            workflow.continue_as_new(args=[remaining - 1, total + remaining])
        return f"total {total}"


async def test_continue_as_new_chain(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CountdownWorkflow]):
        handle = await client.start_workflow(
            CountdownWorkflow.run, args=[3, 0], id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.result() == "total 6"
        # A started handle has no run id (it follows the chain): ask for the first run by id.
        first = await history(client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id))
        assert_contiguous(first)
        assert type_names(first) == [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
        ]
        new_run = first[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        assert new_run and new_run != handle.first_execution_run_id
        # The workflow id now resolves to the last run, which completed.
        latest = client.get_workflow_handle(handle.id)
        description = await latest.describe()
        assert description.run_id != handle.first_execution_run_id
        assert description.status.name == "COMPLETED"
        second = await history(client.get_workflow_handle(handle.id, run_id=new_run))
        started = second[0].workflow_execution_started_event_attributes
        assert started.continued_execution_run_id == handle.first_execution_run_id
        assert started.first_execution_run_id == handle.first_execution_run_id
