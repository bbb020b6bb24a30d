"""Workflow-task failures: a bug in workflow code fails the task (reported on attempt 1, left to
time out on later attempts); the server retries the task and the workflow then completes."""

from collections import Counter
from datetime import timedelta

from temporalio import workflow
from temporalio.api.enums.v1 import WorkflowTaskFailedCause

from compat_helpers import checked_history, connect, events_of, new_worker, type_names

# Runs of the workflow code, by workflow id. Module-level, so it survives the replay of a failed
# task (the suite's workers run without the workflow sandbox).
RUNS: Counter = Counter()


@workflow.defn
class FlakyCodeWorkflow:
    @workflow.run
    async def run(self, failing_runs: int) -> str:
        workflow_id = workflow.info().workflow_id
        RUNS[workflow_id] += 1
        if RUNS[workflow_id] <= failing_runs:
            raise RuntimeError(f"bug in workflow code (run {RUNS[workflow_id]})")
        return f"completed after {RUNS[workflow_id]} runs"


async def test_workflow_task_failure_then_retry(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [FlakyCodeWorkflow]):
        handle = await client.start_workflow(
            FlakyCodeWorkflow.run, 1, id=workflow_id, task_queue=names.task_queue
        )
        assert await handle.result() == "completed after 2 runs"
    events = await checked_history(
        handle,
        [
            "WORKFLOW_EXECUTION_STARTED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
            "WORKFLOW_TASK_FAILED",
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_TASK_STARTED",
            "WORKFLOW_TASK_COMPLETED",
            "WORKFLOW_EXECUTION_COMPLETED",
        ],
    )
    failed = events_of(events, "WORKFLOW_TASK_FAILED")[0].workflow_task_failed_event_attributes
    assert (
        failed.cause
        == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
    )
    assert "bug in workflow code (run 1)" in failed.failure.message
    assert failed.scheduled_event_id == 2 and failed.started_event_id == 3
    scheduled = events_of(events, "WORKFLOW_TASK_SCHEDULED")
    assert [e.workflow_task_scheduled_event_attributes.attempt for e in scheduled] == [1, 2]


async def test_workflow_task_timeout_after_repeated_failure(address, names):
    """The SDK reports only the first failure of a task; the second attempt is left to time out
    (workflow task timeout 2 s here), so the server must time it out and try a third time."""
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [FlakyCodeWorkflow]):
        handle = await client.start_workflow(
            FlakyCodeWorkflow.run,
            2,
            id=workflow_id,
            task_queue=names.task_queue,
            task_timeout=timedelta(seconds=2),
        )
        assert await handle.result() == "completed after 3 runs"
    events = await checked_history(handle)
    kinds = type_names(events)
    assert kinds[:4] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
    ]
    assert kinds[-4:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    # The real server does not persist the events of the timed-out retry (a transient task);
    # a server that does must write a WorkflowTaskTimedOut for it.
    middle = kinds[4:-4]
    assert middle in (
        [],
        ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_TIMED_OUT"],
    ), kinds
    last_scheduled = events_of(events, "WORKFLOW_TASK_SCHEDULED")[
        -1
    ].workflow_task_scheduled_event_attributes
    assert last_scheduled.attempt == 3
    # The third attempt came only after the second one's 2 s timeout.
    failed_at = events_of(events, "WORKFLOW_TASK_FAILED")[0].event_time.ToDatetime()
    retried_at = events_of(events, "WORKFLOW_TASK_SCHEDULED")[-1].event_time.ToDatetime()
    assert (retried_at - failed_at).total_seconds() >= 1.5
