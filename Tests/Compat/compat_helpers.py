"""Helpers shared by the compatibility tests: connecting, in-process workers, reading history,
bounded polling and running the `temporal` CLI."""

import asyncio
import json
import os
import shutil
import time
from typing import Any, Awaitable, Callable, Iterable, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

NAMESPACE = "default"

# Event type names without the EVENT_TYPE_ prefix, for readable assertions.
WFT = ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"]


async def connect(address: str) -> Client:
    return await Client.connect(address, namespace=NAMESPACE)


def new_worker(
    client: Client,
    task_queue: str,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    **options: Any,
) -> Worker:
    """A worker running in this process. The workflow sandbox is off: some tests keep
    module-level state (attempt counters) that must survive across workflow-task attempts."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        workflow_runner=UnsandboxedWorkflowRunner(),
        **options,
    )


async def history(handle: WorkflowHandle) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def type_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def type_names(events: Iterable[HistoryEvent]) -> list[str]:
    return [type_name(e) for e in events]


def assert_contiguous(events: Sequence[HistoryEvent]) -> None:
    ids = [e.event_id for e in events]
    assert ids == list(range(1, len(ids) + 1)), f"event ids are not 1..n: {ids}"


def events_of(events: Iterable[HistoryEvent], name: str) -> list[HistoryEvent]:
    return [e for e in events if type_name(e) == name]


async def checked_history(
    handle: WorkflowHandle, expected: Sequence[str] | None = None
) -> list[HistoryEvent]:
    """The run's history, checked for contiguous ids and, if given, the exact event types."""
    events = await history(handle)
    assert_contiguous(events)
    if expected is not None:
        assert type_names(events) == list(expected)
    return events


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    timeout: float = 10.0,
    interval: float = 0.2,
    what: str = "condition",
) -> Any:
    """Calls `probe` until it returns something truthy, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s (last: {last!r})")
        await asyncio.sleep(interval)


async def wait_first_task_completed(handle: WorkflowHandle, timeout: float = 10.0) -> None:
    """Waits until the run has completed a workflow task, i.e. the worker has seen it and the
    workflow is idle waiting for something."""

    async def probe():
        return "WORKFLOW_TASK_COMPLETED" in type_names(await history(handle))

    await eventually(probe, timeout=timeout, what="first workflow task completed")


# --- the temporal CLI -------------------------------------------------------------------------


def cli_binary() -> str:
    binary = os.environ.get("ANNALS_COMPAT_TEMPORAL_CLI") or shutil.which("temporal")
    if not binary:
        raise AssertionError("no temporal CLI: set ANNALS_COMPAT_TEMPORAL_CLI")
    return binary


async def cli(address: str, *args: str, timeout: float = 30.0) -> str:
    """Runs `temporal ARGS --address ADDRESS`, asserts exit code 0 and returns stdout."""
    command = [cli_binary(), *args, "--address", address, "--namespace", NAMESPACE]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"timed out after {timeout:.0f} s: {' '.join(command)}")
    stdout, stderr = out.decode(), err.decode()
    assert (
        process.returncode == 0
    ), f"exit {process.returncode}: {' '.join(command)}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    return stdout


async def cli_json(address: str, *args: str, timeout: float = 30.0) -> Any:
    return json.loads(await cli(address, *args, "--output", "json", timeout=timeout))
