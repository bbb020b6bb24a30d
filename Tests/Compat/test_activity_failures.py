"""Activity failure paths: server-side retries, non-retryable failures, heartbeat timeouts."""

import asyncio
from collections import defaultdict
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

from compat_helpers import WFT, checked_history, connect, events_of, new_worker

# Attempts seen by the activities below, by workflow id (the worker runs in this process).
ATTEMPTS: dict[str, list[int]] = defaultdict(list)
FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=1),
)


@activity.defn
async def fails_twice() -> str:
    info = activity.info()
    ATTEMPTS[info.workflow_id].append(info.attempt)
    if info.attempt < 3:
        raise RuntimeError(f"attempt {info.attempt} fails on purpose")
    return f"succeeded on attempt {info.attempt}"


@activity.defn
async def fails_for_good() -> str:
    ATTEMPTS[activity.info().workflow_id].append(activity.info().attempt)
    raise ApplicationError("bad input, do not retry", "detail", type="BadInput", non_retryable=True)


@activity.defn
async def stops_heartbeating() -> str:
    """Heartbeats once, then hangs without heartbeating on the first attempt."""
    info = activity.info()
    ATTEMPTS[info.workflow_id].append(info.attempt)
    activity.heartbeat("alive")
    if info.attempt == 1:
        await asyncio.sleep(60)  # canceled when the worker shuts down
    return f"finished on attempt {info.attempt}"


@workflow.defn
class RetriedActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            fails_twice, start_to_close_timeout=timedelta(seconds=10), retry_policy=FAST_RETRY
        )


@workflow.defn
class NonRetryableActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                fails_for_good,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=FAST_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return f"{type(err).__name__}/{cause.type}/{cause.message}/{cause.non_retryable}"
        return "no error?"


@workflow.defn
class HeartbeatTimeoutWorkflow:
    @workflow.run
    async def run(self, max_attempts: int) -> str:
        try:
            return await workflow.execute_activity(
                stops_heartbeating,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=200), maximum_attempts=max_attempts
                ),
            )
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, TimeoutError)
            return f"timed out: {TimeoutType(cause.type).name}"


async def test_activity_retried_until_it_succeeds(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [RetriedActivityWorkflow], [fails_twice]):
        handle = await client.start_workflow(
            RetriedActivityWorkflow.run, id=workflow_id, task_queue=names.task_queue
        )
        assert await handle.result() == "succeeded on attempt 3"
    assert ATTEMPTS[workflow_id] == [1, 2, 3]
    # Failed attempts that were retried leave no events; Started carries the last attempt.
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "ACTIVITY_TASK_SCHEDULED",
            "ACTIVITY_TASK_STARTED",
            "ACTIVITY_TASK_COMPLETED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    started = events_of(events, "ACTIVITY_TASK_STARTED")[0].activity_task_started_event_attributes
    assert started.attempt == 3
    assert "attempt 2 fails on purpose" in started.last_failure.message


async def test_non_retryable_activity_failure(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(
        client, names.task_queue, [NonRetryableActivityWorkflow], [fails_for_good]
    ):
        result = await client.execute_workflow(
            NonRetryableActivityWorkflow.run, id=workflow_id, task_queue=names.task_queue
        )
    assert result == "ActivityError/BadInput/bad input, do not retry/True"
    assert ATTEMPTS[workflow_id] == [1]
    handle = client.get_workflow_handle(workflow_id)
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "ACTIVITY_TASK_SCHEDULED",
            "ACTIVITY_TASK_STARTED",
            "ACTIVITY_TASK_FAILED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    failed = events_of(events, "ACTIVITY_TASK_FAILED")[0].activity_task_failed_event_attributes
    assert failed.failure.message == "bad input, do not retry"
    assert failed.failure.application_failure_info.type == "BadInput"
    assert failed.failure.application_failure_info.non_retryable


async def test_heartbeat_timeout_then_retry(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(
        client, names.task_queue, [HeartbeatTimeoutWorkflow], [stops_heartbeating]
    ):
        handle = await client.start_workflow(
            HeartbeatTimeoutWorkflow.run, 0, id=workflow_id, task_queue=names.task_queue
        )
        assert await handle.result() == "finished on attempt 2"
    assert ATTEMPTS[workflow_id] == [1, 2]
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "ACTIVITY_TASK_SCHEDULED",
            "ACTIVITY_TASK_STARTED",
            "ACTIVITY_TASK_COMPLETED",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    started = events_of(events, "ACTIVITY_TASK_STARTED")[0].activity_task_started_event_attributes
    assert started.attempt == 2
    assert started.last_failure.timeout_failure_info.timeout_type == TimeoutType.HEARTBEAT.value


async def test_heartbeat_timeout_without_retries(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(
        client, names.task_queue, [HeartbeatTimeoutWorkflow], [stops_heartbeating]
    ):
        handle = await client.start_workflow(
            HeartbeatTimeoutWorkflow.run, 1, id=workflow_id, task_queue=names.task_queue
        )
        assert await handle.result() == "timed out: HEARTBEAT"
    assert ATTEMPTS[workflow_id] == [1]
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            *WFT,
            "ACTIVITY_TASK_SCHEDULED",
            "ACTIVITY_TASK_STARTED",
            "ACTIVITY_TASK_TIMED_OUT",
            *WFT,
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    timed_out = events_of(events, "ACTIVITY_TASK_TIMED_OUT")[
        0
    ].activity_task_timed_out_event_attributes
    assert timed_out.failure.timeout_failure_info.timeout_type == TimeoutType.HEARTBEAT.value
    # The last heartbeat's details travel with the timeout.
    assert (
        timed_out.failure.timeout_failure_info.last_heartbeat_details.payloads[0].data == b'"alive"'
    )
