"""Signals sent before any worker polls and after the workflow is idle; signal-with-start."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.enums.v1 import WorkflowTaskFailedCause

from compat_helpers import (
    WFT,
    checked_history,
    connect,
    eventually,
    events_of,
    new_worker,
    wait_first_task_completed,
)

# Workflow ids whose local activity has begun (it runs in this process, inside the open task).
PAUSING: set[str] = set()


@activity.defn
async def pause(seconds: float) -> str:
    PAUSING.add(activity.info().workflow_id)
    await asyncio.sleep(seconds)
    return "paused"


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


@workflow.defn
class SignalDuringTaskWorkflow:
    """Its first workflow task stays open for ~2 s (a local activity runs inside it), so a signal
    sent then arrives while the task is started: the server must buffer it and deliver it in a
    later task, not lose it and not write it into the middle of the task."""

    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self, wait_for_signal: bool) -> list[str]:
        await workflow.execute_local_activity(
            pause, 2.0, start_to_close_timeout=timedelta(seconds=10)
        )
        if wait_for_signal:
            await workflow.wait_condition(lambda: len(self.received) > 0)
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
        CollectSignalsWorkflow.run, 2, id=names.workflow_id(), task_queue=names.task_queue
    )
    await handle.signal(CollectSignalsWorkflow.add, "one")
    await handle.signal(CollectSignalsWorkflow.add, "two")
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        assert await handle.result() == ["one", "two"]
    # Both signals land while the first workflow task is only scheduled: they join that task.
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_EXECUTION_SIGNALED",
            "WORKFLOW_EXECUTION_SIGNALED",
            "WORKFLOW_TASK_STARTED",
            "WORKFLOW_TASK_COMPLETED",
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    assert signaled_values(events) == ['"one"', '"two"']


async def test_signal_after_the_workflow_is_idle(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        handle = await client.start_workflow(
            CollectSignalsWorkflow.run, 1, id=names.workflow_id(), task_queue=names.task_queue
        )
        await wait_first_task_completed(handle)
        await handle.signal(CollectSignalsWorkflow.add, "late")
        assert await handle.result() == ["late"]
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    assert signaled_values(events) == ['"late"']


async def test_signal_with_start(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [CollectSignalsWorkflow]):
        handle = await client.start_workflow(
            CollectSignalsWorkflow.run,
            2,
            id=workflow_id,
            task_queue=names.task_queue,
            start_signal="add",
            start_signal_args=["first"],
        )
        await wait_first_task_completed(handle)
        # Signal-with-start on a running workflow only signals it (same run).
        again = await client.start_workflow(
            CollectSignalsWorkflow.run,
            2,
            id=workflow_id,
            task_queue=names.task_queue,
            start_signal="add",
            start_signal_args=["second"],
        )
        assert again.result_run_id == handle.result_run_id
        assert await handle.result() == ["first", "second"]
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    assert signaled_values(events) == ['"first"', '"second"']


async def run_with_signal_during_first_task(client, names, wait_for_signal: bool):
    async with new_worker(client, names.task_queue, [SignalDuringTaskWorkflow], [pause]):
        handle = await client.start_workflow(
            SignalDuringTaskWorkflow.run,
            wait_for_signal,
            id=names.workflow_id(),
            task_queue=names.task_queue,
        )

        async def pausing():
            return handle.id in PAUSING

        await eventually(pausing, interval=0.05, what="local activity running in the first task")
        await asyncio.sleep(0.3)
        await handle.signal(SignalDuringTaskWorkflow.add, "during")
        assert await handle.result() == ["during"]
    return handle


async def test_signal_buffered_while_a_workflow_task_runs(address, names):
    """The task completes with a command (the local activity's marker) and no closing command:
    the buffered signal is written after the task's command events, then a new task runs."""
    client = await connect(address)
    handle = await run_with_signal_during_first_task(client, names, wait_for_signal=True)
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "MARKER_RECORDED",
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    assert signaled_values(events) == ['"during"']


async def test_completion_rejected_when_a_signal_is_buffered(address, names):
    """The task tries to complete the workflow while a signal is buffered: the server rejects the
    completion (UnhandledCommand), writes the signal, and the retried task sees it."""
    client = await connect(address)
    handle = await run_with_signal_during_first_task(client, names, wait_for_signal=False)
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
            "WORKFLOW_TASK_FAILED",
            "WORKFLOW_EXECUTION_SIGNALED",
            *WFT,
            "MARKER_RECORDED",
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    failed = events_of(events, "WORKFLOW_TASK_FAILED")[0].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    assert signaled_values(events) == ['"during"']
