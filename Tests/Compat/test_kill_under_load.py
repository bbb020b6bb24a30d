"""SIGKILL under load: workflows run activities and timers while the server is killed at random
moments (seeded; the seed is printed) and restarted on the same data, several times. Every
workflow must complete with its exact result and a contiguous history: nothing acknowledged is
lost and nothing is applied twice. Needs ANNALS_COMPAT_KILL and ANNALS_COMPAT_RESTART."""

import asyncio
import os
import random
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

from compat_helpers import assert_contiguous, connect, history, new_worker

WORKFLOWS = 24
KILLS = 4


@activity.defn
async def add_one(n: int) -> int:
    await asyncio.sleep(0.05)
    return n + 1


@workflow.defn
class StepsWorkflow:
    @workflow.run
    async def run(self, start: int) -> int:
        value = start
        for _ in range(4):
            value = await workflow.execute_activity(
                add_one,
                value,
                start_to_close_timeout=timedelta(seconds=4),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
            )
            await asyncio.sleep(0.2)
        return value


async def shell(command: str) -> None:
    process = await asyncio.create_subprocess_shell(
        command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, f"`{command}` exited {process.returncode}:\n{out.decode()}"


@pytest.mark.restarts_server
@pytest.mark.timeout_seconds(240)
async def test_every_workflow_completes_through_repeated_kills(address, names):
    kill, restart = os.environ.get("ANNALS_COMPAT_KILL"), os.environ.get("ANNALS_COMPAT_RESTART")
    if not kill or not restart:
        pytest.skip("ANNALS_COMPAT_KILL / ANNALS_COMPAT_RESTART not set (tools/compat-test sets them)")
    seed = int(os.environ.get("ANNALS_TEST_SEED", random.randrange(1 << 30)))
    print(f"test_kill_under_load seed={seed} (ANNALS_TEST_SEED replays the kill times)")
    rng = random.Random(seed)
    client = await connect(address)
    async with new_worker(client, names.task_queue, [StepsWorkflow], activities=[add_one]):
        handles = [
            await client.start_workflow(
                StepsWorkflow.run, i * 100, id=names.workflow_id(f"steps{i}"), task_queue=names.task_queue
            )
            for i in range(WORKFLOWS)
        ]
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            await shell(kill)
            await shell(restart)
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=180)
    assert results == [i * 100 + 4 for i in range(WORKFLOWS)]
    for handle in handles:
        events = await history(handle)
        assert_contiguous(events)
        kinds = [e.event_type for e in events]
        # Four activities completed, each exactly once.
        assert sum(1 for e in events if e.HasField("activity_task_completed_event_attributes")) == 4, kinds
