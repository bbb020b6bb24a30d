"""`annals bench` (the load generator, with its own frame-level gRPC client) against the server
under test: every workload completes every workflow with the scripted result and no errors.
Run against the real Temporal dev server too, this checks the client against grpc-go."""

import asyncio
import json
import os

import pytest

from compat_helpers import NAMESPACE

WORKFLOWS = 12
CONCURRENCY = 4


async def bench(address: str, workload: str, *extra: str) -> dict:
    binary = os.environ.get("ANNALS_COMPAT_BENCH", "")
    assert os.access(binary, os.X_OK), f"ANNALS_COMPAT_BENCH={binary!r} is not an executable (set by tools/compat-test)"
    command = [
        binary, "bench", "--target", address, "--namespace", NAMESPACE, "--workload", workload,
        "--workflows", str(WORKFLOWS), "--concurrency", str(CONCURRENCY), "--warmup", "2", "--json", *extra,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=100)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"timed out: {' '.join(command)}")
    assert process.returncode == 0, f"exit {process.returncode}: {' '.join(command)}\n{err.decode()[-2000:]}"
    return json.loads(out)


@pytest.mark.timeout_seconds(110)
@pytest.mark.parametrize("workload", ["empty", "activity", "activities10", "timer", "signal"])
async def test_every_workload_completes(address, workload):
    report = await bench(address, workload)
    assert report["completed"] == WORKFLOWS, report
    assert report["errors"] == 0, report["errorSamples"]
    assert report["workflowsPerSecond"] > 0


@pytest.mark.timeout_seconds(110)
async def test_without_sticky_or_eager_activities(address):
    # Every workflow task then carries the whole history, and activities come from polls.
    report = await bench(address, "activities10", "--no-sticky", "--no-eager-activities")
    assert report["completed"] == WORKFLOWS, report
    assert report["errors"] == 0, report["errorSamples"]
    assert report["eagerActivityTasks"] == 0, report
