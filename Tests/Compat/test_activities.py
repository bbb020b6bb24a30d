"""Workflows that run activities: one activity, several in sequence, start + result."""

from datetime import timedelta

from temporalio import activity, workflow

from compat_helpers import WFT, checked_history, connect, events_of, new_worker


@activity.defn
async def shout(text: str) -> str:
    return text.upper() + "!"


@activity.defn
async def add(pair: list[int]) -> int:
    return pair[0] + pair[1]


@workflow.defn
class OneActivityWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(
            shout, text, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class SequentialActivitiesWorkflow:
    @workflow.run
    async def run(self, count: int) -> int:
        total = 0
        for i in range(count):
            total = await workflow.execute_activity(
                add, [total, i + 1], start_to_close_timeout=timedelta(seconds=10)
            )
        return total


ACTIVITY_ROUND = [
    "ACTIVITY_TASK_SCHEDULED",
    "ACTIVITY_TASK_STARTED",
    "ACTIVITY_TASK_COMPLETED",
    *WFT,
]


async def test_workflow_with_one_activity(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [OneActivityWorkflow], [shout]):
        handle = await client.start_workflow(
            OneActivityWorkflow.run, "hello", id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.result() == "HELLO!"
    events = await checked_history(
        handle,
        ["WORKFLOW_EXECUTION_STARTED", *WFT, *ACTIVITY_ROUND, "WORKFLOW_EXECUTION_COMPLETED"],
    )
    scheduled = events_of(events, "ACTIVITY_TASK_SCHEDULED")[0]
    assert scheduled.activity_task_scheduled_event_attributes.activity_type.name == "shout"
    started = events_of(events, "ACTIVITY_TASK_STARTED")[0]
    assert started.activity_task_started_event_attributes.scheduled_event_id == scheduled.event_id
    assert started.activity_task_started_event_attributes.attempt == 1
    completed = events_of(events, "ACTIVITY_TASK_COMPLETED")[0]
    assert (
        completed.activity_task_completed_event_attributes.scheduled_event_id == scheduled.event_id
    )
    assert completed.activity_task_completed_event_attributes.started_event_id == started.event_id


async def test_sequential_activities(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [SequentialActivitiesWorkflow], [add]):
        handle = await client.start_workflow(
            SequentialActivitiesWorkflow.run, 4, id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.result() == 1 + 2 + 3 + 4
    await checked_history(
        handle,
        ["WORKFLOW_EXECUTION_STARTED", *WFT, *(ACTIVITY_ROUND * 4), "WORKFLOW_EXECUTION_COMPLETED"],
    )


async def test_start_then_result_from_a_new_handle(address, names):
    """start_workflow returns at once; a handle made later from the id alone gets the result."""
    client = await connect(address)
    workflow_id = names.workflow_id()
    handle = await client.start_workflow(
        OneActivityWorkflow.run, "later", id=workflow_id, task_queue=names.task_queue
    )
    assert handle.result_run_id
    async with new_worker(client, names.task_queue, [OneActivityWorkflow], [shout]):
        other = client.get_workflow_handle(workflow_id)
        assert await other.result() == "LATER!"
    description = await handle.describe()
    assert description.run_id == handle.result_run_id
    assert description.workflow_type == "OneActivityWorkflow"
