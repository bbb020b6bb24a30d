"""Starting a workflow id that is already in use, with the default id reuse and conflict
policies, and with REJECT_DUPLICATE after the first run closed."""

import pytest
from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from compat_helpers import connect, new_worker


@workflow.defn
class WaitForReleaseWorkflow:
    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, tag: str) -> str:
        await workflow.wait_condition(lambda: self.released)
        return tag

    @workflow.signal
    def release(self) -> None:
        self.released = True


async def test_start_same_id_twice(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [WaitForReleaseWorkflow]):
        first = await client.start_workflow(
            WaitForReleaseWorkflow.run, "first", id=workflow_id, task_queue=names.task_queue
        )
        with pytest.raises(WorkflowAlreadyStartedError) as duplicate:
            await client.start_workflow(
                WaitForReleaseWorkflow.run, "second", id=workflow_id, task_queue=names.task_queue
            )
        # The SDK builds this error from the ALREADY_EXISTS details.
        assert duplicate.value.workflow_id == workflow_id
        assert duplicate.value.workflow_type == "WaitForReleaseWorkflow"
        assert duplicate.value.run_id == first.result_run_id

        await first.signal(WaitForReleaseWorkflow.release)
        assert await first.result() == "first"

        # The default reuse policy (ALLOW_DUPLICATE) lets a closed id start again: a new run.
        second = await client.start_workflow(
            WaitForReleaseWorkflow.run, "second", id=workflow_id, task_queue=names.task_queue
        )
        assert second.result_run_id != first.result_run_id
        await second.signal(WaitForReleaseWorkflow.release)
        assert await second.result() == "second"

        # REJECT_DUPLICATE refuses any earlier run of the id, even a closed one.
        with pytest.raises(WorkflowAlreadyStartedError):
            await client.start_workflow(
                WaitForReleaseWorkflow.run,
                "third",
                id=workflow_id,
                task_queue=names.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )

    # The id's latest run is the second one; the first is still readable by run id.
    latest = await client.get_workflow_handle(workflow_id).describe()
    assert latest.run_id == second.result_run_id
    assert (
        await client.get_workflow_handle(workflow_id, run_id=first.result_run_id).result()
        == "first"
    )
