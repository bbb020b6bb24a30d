"""Durability across a crash: workflows wait on a timer, on a slow activity and on a signal that
was acknowledged just before the server is SIGKILLed; after a restart on the same data every
workflow completes with the right result. Needs ANNALS_COMPAT_KILL and ANNALS_COMPAT_RESTART
(shell commands; tools/compat-test provides them)."""

import asyncio
import os
import time
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import TimeoutType

from compat_helpers import (
    checked_history,
    cli_binary,
    connect,
    events_of,
    eventually,
    history,
    new_worker,
    type_names,
    wait_first_task_completed,
)

TIMER_SECONDS = 8
# Activity ids (workflow id) that have started at least once, in this process.
STARTED_ACTIVITIES: set[str] = set()


@activity.defn
async def slow_square(n: int) -> int:
    STARTED_ACTIVITIES.add(activity.info().workflow_id)
    await asyncio.sleep(3)
    return n * n


@activity.defn
async def hangs_on_first_attempt(n: int) -> str:
    """Attempt 1 never finishes (as if its worker died); the server must time it out
    (start-to-close) across the restart and hand out attempt 2."""
    if activity.info().attempt == 1:
        STARTED_ACTIVITIES.add(activity.info().workflow_id)
        await asyncio.sleep(120)  # canceled when the worker shuts down
    return f"attempt {activity.info().attempt} for {n}"


@workflow.defn
class TimerThroughRestartWorkflow:
    @workflow.run
    async def run(self, n: int) -> str:
        await asyncio.sleep(TIMER_SECONDS)
        return f"timer {n} fired"


@workflow.defn
class ActivityThroughRestartWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(
            slow_square, n, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class TimedOutActivityThroughRestartWorkflow:
    @workflow.run
    async def run(self, n: int) -> str:
        return await workflow.execute_activity(
            hangs_on_first_attempt,
            n,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )


@workflow.defn
class SignalThroughRestartWorkflow:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        return f"got {self.value}"

    @workflow.signal
    def deliver(self, value: str) -> None:
        self.value = value


async def shell(command: str, timeout: float) -> None:
    process = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
    assert process.returncode == 0, f"`{command}` exited {process.returncode}:\n{out.decode()}"


@pytest.mark.restarts_server
@pytest.mark.timeout_seconds(180)
async def test_workflows_complete_after_kill_and_restart(address, names):
    kill, restart = os.environ.get("ANNALS_COMPAT_KILL"), os.environ.get("ANNALS_COMPAT_RESTART")
    if not kill or not restart:
        pytest.skip(
            "ANNALS_COMPAT_KILL / ANNALS_COMPAT_RESTART not set (tools/compat-test sets them)"
        )

    client = await connect(address)
    async with new_worker(
        client,
        names.task_queue,
        [
            TimerThroughRestartWorkflow,
            ActivityThroughRestartWorkflow,
            TimedOutActivityThroughRestartWorkflow,
            SignalThroughRestartWorkflow,
        ],
        [slow_square, hangs_on_first_attempt],
    ):
        timers = [
            await client.start_workflow(
                TimerThroughRestartWorkflow.run,
                n,
                id=names.workflow_id("timer"),
                task_queue=names.task_queue,
            )
            for n in range(3)
        ]
        activities = [
            await client.start_workflow(
                ActivityThroughRestartWorkflow.run,
                n,
                id=names.workflow_id("activity"),
                task_queue=names.task_queue,
            )
            for n in range(2, 5)
        ]
        timed_out = await client.start_workflow(
            TimedOutActivityThroughRestartWorkflow.run,
            7,
            id=names.workflow_id("activity-timeout"),
            task_queue=names.task_queue,
        )
        signaled = await client.start_workflow(
            SignalThroughRestartWorkflow.run,
            id=names.workflow_id("signal"),
            task_queue=names.task_queue,
        )

        # Everything is in flight: timers started, activities running, the signal acknowledged.
        for handle in timers:

            async def timer_started(handle=handle):
                return "TIMER_STARTED" in type_names(await history(handle))

            await eventually(timer_started, what=f"timer started in {handle.id}")
        await eventually(
            lambda: _all_started(h.id for h in [*activities, timed_out]),
            what="all slow activities started",
        )
        await wait_first_task_completed(signaled)
        await signaled.signal(SignalThroughRestartWorkflow.deliver, "before-the-crash")

        await shell(kill, timeout=30)
        down = time.monotonic()
        assert not await answers_health_check(address), "the server still answers after the kill"
        await shell(restart, timeout=120)
        print(f"server answered again {time.monotonic() - down:.1f} s after the kill")

        results = await asyncio.wait_for(
            asyncio.gather(
                *(h.result() for h in timers),
                *(h.result() for h in activities),
                timed_out.result(),
                signaled.result(),
            ),
            timeout=90,
        )

    assert results == [
        "timer 0 fired",
        "timer 1 fired",
        "timer 2 fired",
        4,
        9,
        16,
        "attempt 2 for 7",
        "got before-the-crash",
    ]
    for handle in timers:
        events = await checked_history(handle)
        started, fired = events_of(events, "TIMER_STARTED")[0], events_of(events, "TIMER_FIRED")
        assert len(fired) == 1
        waited = (
            fired[0].event_time.ToDatetime() - started.event_time.ToDatetime()
        ).total_seconds()
        assert waited >= TIMER_SECONDS - 0.01, f"{handle.id}: timer fired after {waited:.2f} s"
        assert type_names(events)[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    for handle in activities:
        events = await checked_history(handle)
        assert len(events_of(events, "ACTIVITY_TASK_SCHEDULED")) == 1
        assert len(events_of(events, "ACTIVITY_TASK_COMPLETED")) == 1
        assert type_names(events)[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    events = await checked_history(timed_out)
    started = events_of(events, "ACTIVITY_TASK_STARTED")[0].activity_task_started_event_attributes
    assert started.attempt == 2
    assert (
        started.last_failure.timeout_failure_info.timeout_type == TimeoutType.START_TO_CLOSE.value
    )
    events = await checked_history(signaled)
    assert len(events_of(events, "WORKFLOW_EXECUTION_SIGNALED")) == 1


async def answers_health_check(address: str) -> bool:
    process = await asyncio.create_subprocess_exec(
        cli_binary(),
        "operator",
        "cluster",
        "health",
        "--address",
        address,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30) == 0


async def _all_started(ids) -> bool:
    return all(i in STARTED_ACTIVITIES for i in ids)
