"""A workflow that fails on purpose (ApplicationError): the result raises WorkflowFailureError
carrying the failure; the run is FAILED and its history ends with WorkflowExecutionFailed."""

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from compat_helpers import WFT, checked_history, connect, events_of, new_worker


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self, reason: str) -> str:
        raise ApplicationError(reason, {"code": 42}, type="Deliberate", non_retryable=True)


async def test_workflow_failure(address, names):
    client = await connect(address)
    async with new_worker(client, names.task_queue, [FailingWorkflow]):
        handle = await client.start_workflow(
            FailingWorkflow.run, "no good", id=names.workflow_id(), task_queue=names.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type, cause.non_retryable) == ("no good", "Deliberate", True)
    assert list(cause.details) == [{"code": 42}]
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    events = await checked_history(
        handle, ["WORKFLOW_EXECUTION_STARTED", *WFT, "WORKFLOW_EXECUTION_FAILED"]
    )
    failed = events_of(events, "WORKFLOW_EXECUTION_FAILED")[
        0
    ].workflow_execution_failed_event_attributes
    assert failed.failure.message == "no good"
    assert failed.workflow_task_completed_event_id == 4
    assert not failed.new_execution_run_id
