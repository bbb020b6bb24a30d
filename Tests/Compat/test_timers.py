"""Durable timers: a short sleep fires; a timer cut short by asyncio.wait_for is canceled."""

import asyncio
import time

from temporalio import workflow

from compat_helpers import WFT, checked_history, connect, events_of, new_worker, type_names


@workflow.defn
class SleepWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        before = workflow.now()
        await asyncio.sleep(seconds)
        return f"slept {(workflow.now() - before).total_seconds():.1f}"


@workflow.defn
class TimeoutWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await asyncio.wait_for(asyncio.sleep(300), timeout=0.5)
        except asyncio.TimeoutError:
            return "timed out"
        return "slept 300 s?"


def timeout_of(timer_started) -> float:
    return (
        timer_started.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
    )


async def test_durable_timer_fires(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [SleepWorkflow]):
        began = time.monotonic()
        handle = await client.start_workflow(
            SleepWorkflow.run, 1.5, id=names.workflow_id(), task_queue=names.task_queue
        )
        result = await handle.result()
        elapsed = time.monotonic() - began
    assert result.startswith("slept ")
    assert float(result.split()[1]) >= 1.5
    assert 1.5 <= elapsed < 15, elapsed
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "TIMER_STARTED",
            "TIMER_FIRED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    started = events_of(events, "TIMER_STARTED")[0]
    assert timeout_of(started) == 1.5
    fired = events_of(events, "TIMER_FIRED")[0].timer_fired_event_attributes
    assert fired.started_event_id == started.event_id
    assert fired.timer_id == started.timer_started_event_attributes.timer_id
    # The timer fired no earlier than it was due.
    assert (
        events_of(events, "TIMER_FIRED")[0].event_time.ToDatetime()
        - started.event_time.ToDatetime()
    ).total_seconds() >= 1.5


async def test_timer_canceled_by_wait_for_timeout(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [TimeoutWorkflow]):
        handle = await client.start_workflow(
            TimeoutWorkflow.run, id=names.workflow_id(), task_queue=names.task_queue
        )
        assert await handle.result() == "timed out"
    events = await checked_history(handle)
    # wait_for starts two timers (the 300 s sleep and the 0.5 s timeout); the short one fires and
    # the long one is canceled in the same workflow task that completes the workflow.
    started = {
        e.timer_started_event_attributes.timer_id: e for e in events_of(events, "TIMER_STARTED")
    }
    assert len(started) == 2
    fired = events_of(events, "TIMER_FIRED")
    canceled = events_of(events, "TIMER_CANCELED")
    assert len(fired) == 1 and len(canceled) == 1
    fired_timer = started[fired[0].timer_fired_event_attributes.timer_id]
    canceled_timer = started[canceled[0].timer_canceled_event_attributes.timer_id]
    assert timeout_of(fired_timer) == 0.5
    assert timeout_of(canceled_timer) == 300
    assert canceled[0].timer_canceled_event_attributes.started_event_id == canceled_timer.event_id
    assert type_names(events[-3:]) == [
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_CANCELED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
