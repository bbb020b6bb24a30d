#!/usr/bin/env python3
"""A Temporal Python SDK (temporalio) worker for the `annals bench` workloads.

`tools/bench-vs-temporal --sdk-worker` runs this instead of the load generator's scripted worker:
`annals bench --external-worker --task-queue Q` starts the workflows and checks their results,
and this process runs them. The workflows mirror the scripted ones (docs/load-generator.md):
same workflow type names, inputs, activity inputs and results, signal name and payload, so the
starter's result check is the same in both modes.

    bench-sdk-worker.py --target 127.0.0.1:7233 --task-queue Q [--namespace default]

Prints "ready" on stdout once the worker is polling, then runs until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import os
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

ACTIVITY_NAME = "annals-bench-activity"
SIGNAL_NAME = "annals-bench-signal"
ACTIVITY_START_TO_CLOSE = timedelta(seconds=10)
# The scripted worker sets schedule-to-close to the bench's workflow timeout (default 60 s).
ACTIVITY_SCHEDULE_TO_CLOSE = timedelta(seconds=60)
TIMER = timedelta(seconds=1)


@activity.defn(name=ACTIVITY_NAME)
async def bench_activity(value: str) -> str:
    return f"done:{value}"


def _check_input(value: str) -> str:
    workflow_id = workflow.info().workflow_id
    expected = f"input:{workflow_id}"
    if value != expected:
        raise ApplicationError(
            f"workflow input mismatch: expected {expected}, got {value}", non_retryable=True
        )
    return workflow_id


async def _run_activities(workflow_id: str, count: int) -> str:
    result = ""
    for step in range(1, count + 1):
        value = f"{workflow_id}/step-{step}"
        result = await workflow.execute_activity(
            ACTIVITY_NAME,
            value,
            start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
            schedule_to_close_timeout=ACTIVITY_SCHEDULE_TO_CLOSE,
            retry_policy=RetryPolicy(maximum_attempts=1),
            result_type=str,
        )
        if result != f"done:{value}":
            raise ApplicationError(
                f"activity {step} result mismatch: got {result}", non_retryable=True
            )
    return result


@workflow.defn(name="annals-bench-empty", sandboxed=False)
class EmptyWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return f"empty:ok:{_check_input(value)}"


@workflow.defn(name="annals-bench-activity", sandboxed=False)
class ActivityWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return f"activity:ok:{await _run_activities(_check_input(value), 1)}"


@workflow.defn(name="annals-bench-activities10", sandboxed=False)
class Activities10Workflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return f"activities10:ok:{await _run_activities(_check_input(value), 10)}"


@workflow.defn(name="annals-bench-timer", sandboxed=False)
class TimerWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        workflow_id = _check_input(value)
        await asyncio.sleep(TIMER.total_seconds())
        return f"timer:ok:{workflow_id}"


@workflow.defn(name="annals-bench-signal", sandboxed=False)
class SignalWorkflow:
    def __init__(self) -> None:
        self.payload: str | None = None

    @workflow.signal(name=SIGNAL_NAME)
    def on_signal(self, payload: str) -> None:
        if self.payload is None:
            self.payload = payload

    @workflow.run
    async def run(self, value: str) -> str:
        workflow_id = _check_input(value)
        await workflow.wait_condition(lambda: self.payload is not None)
        expected = f"signal:{workflow_id}"
        if self.payload != expected:
            raise ApplicationError(
                f"unexpected signal payload {self.payload}, expected {expected}", non_retryable=True
            )
        return f"signal:ok:{self.payload}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT of the server")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()

    client = await Client.connect(args.target, namespace=args.namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[EmptyWorkflow, ActivityWorkflow, Activities10Workflow, TimerWorkflow, SignalWorkflow],
        activities=[bench_activity],
    )
    async with worker:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
    # The worker has shut down cleanly; skip interpreter finalization, where the SDK's native
    # runtime threads can abort the process (PyGILState_Release during finalizing).
    sys.stdout.flush()
    os._exit(0)
