"""Signals sent before any worker polls and after the workflow is idle; signal-with-start."""
from temporalio import workflow

from compat_helpers import WFT, checked_history, connect, events_of, new_worker, wait_first_task_completed


@workflow.defn
class CollectSignalsWorkflow:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self, wanted: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.received) >= wanted)
        return self.received

    @workflow.signal
    def add(self, value: str) -> None:
        self.received.append(value)


def signaled_values(events) -> list[str]:
    values = []
    for event in events_of(events, "WORKFLOW_EXECUTION_SIGNALED"):
        attributes = event.workflow_execution_signaled_event_attributes
        assert attributes.signal_name == "add"
        values.append(attributes.input.payloads[0].data.decode())
    return values


async def test_signals_before_the_worker_starts(address, names):
    client = await connect(address)
    handle = await client.start_workflow(
        CollectSignalsWorkflow.run, 2, id=names.workflow_id(), task_queue=names.task_queue)
    await handle.signal(CollectSignalsWorkflow.add, "one")
    await handle.signal(CollectSignalsWorkflow.add, "two")
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        assert await handle.result() == ["one", "two"]
    # Both signals land while the first workflow task is only scheduled: they join that task.
    events = await checked_history(handle, [
        "WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_COMPLETED"])
    assert signaled_values(events) == ['"one"', '"two"']


async def test_signal_after_the_workflow_is_idle(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        handle = await client.start_workflow(
            CollectSignalsWorkflow.run, 1, id=names.workflow_id(), task_queue=names.task_queue)
        await wait_first_task_completed(handle)
        await handle.signal(CollectSignalsWorkflow.add, "late")
        assert await handle.result() == ["late"]
    events = await checked_history(handle, [
        "WORKFLOW_EXECUTION_STARTED", *WFT, "WORKFLOW_EXECUTION_SIGNALED", *WFT,
        "WORKFLOW_EXECUTION_COMPLETED"])
    assert signaled_values(events) == ['"late"']


async def test_signal_with_start(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        handle = await client.start_workflow(
            CollectSignalsWorkflow.run, 2, id=workflow_id, task_queue=names.task_queue,
            start_signal="add", start_signal_args=["first"])
        await wait_first_task_completed(handle)
        # Signal-with-start on a running workflow only signals it (same run).
        again = await client.start_workflow(
            CollectSignalsWorkflow.run, 2, id=workflow_id, task_queue=names.task_queue,
            start_signal="add", start_signal_args=["second"])
        assert again.result_run_id == handle.result_run_id
        assert await handle.result() == ["first", "second"]
    events = await checked_history(handle, [
        "WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_SIGNALED", *WFT,
        "WORKFLOW_EXECUTION_SIGNALED", *WFT, "WORKFLOW_EXECUTION_COMPLETED"])
    assert signaled_values(events) == ['"first"', '"second"']
