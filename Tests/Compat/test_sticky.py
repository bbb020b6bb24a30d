"""Sticky execution: after the first workflow task the server sends the run's next tasks to the
worker's sticky queue; when that worker shuts down, the next task goes to the normal queue at
once (ShutdownWorker) and a new worker finishes the run from full history."""

import asyncio
import time

from temporalio import workflow

from compat_helpers import connect, events_of, history, new_worker, wait_first_task_completed


@workflow.defn
class TwoStepWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"


async def test_next_tasks_go_to_the_sticky_queue(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [TwoStepWorkflow]):
        handle = await client.start_workflow(
            TwoStepWorkflow.run, 0.5, id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.result() == "done"
    scheduled = events_of(await history(handle), "WORKFLOW_TASK_SCHEDULED")
    assert len(scheduled) == 2
    first, second = (e.workflow_task_scheduled_event_attributes.task_queue for e in scheduled)
    assert first.name == names.task_queue
    assert second.kind == 2, second  # TASK_QUEUE_KIND_STICKY
    assert second.normal_name == names.task_queue


async def test_a_shut_down_workers_runs_move_to_the_normal_queue(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [TwoStepWorkflow]):
        handle = await client.start_workflow(
            TwoStepWorkflow.run, 2.0, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
    # The first worker has shut down (and told the server); a second one takes over.
    began = time.monotonic()
    async with new_worker(client, names.task_queue, [TwoStepWorkflow]):
        assert await handle.result() == "done"
    elapsed = time.monotonic() - began
    # Well under the 10 s sticky schedule-to-start timeout: no waiting on the dead sticky queue.
    assert elapsed < 8, elapsed
