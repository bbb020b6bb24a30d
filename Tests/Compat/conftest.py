"""pytest glue for the compatibility suite.

The suite talks to a server that is already running (tools/compat-test starts one); its address
comes from ANNALS_COMPAT_ADDRESS. Tests are plain `async def` functions: the hook below runs each
one in its own event loop with asyncio.run, bounded by a per-test timeout (default 60 s, or the
value of `@pytest.mark.timeout_seconds(N)`).
"""

import asyncio
import inspect
import os
import re
import uuid

import pytest

DEFAULT_TEST_TIMEOUT_SECONDS = 60.0


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_seconds(n): wall-clock limit of one async test")
    config.addinivalue_line("markers", "restarts_server: kills and restarts the server (run last)")
    if not os.environ.get("ANNALS_COMPAT_ADDRESS"):
        raise pytest.UsageError(
            "ANNALS_COMPAT_ADDRESS (host:port of the server under test) is not set; "
            "run the suite through tools/compat-test"
        )


def pytest_collection_modifyitems(config, items):
    # Tests that kill the server run last, so a server that fails to come back cannot take the
    # rest of the suite down with it.
    items.sort(key=lambda item: item.get_closest_marker("restarts_server") is not None)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    marker = pyfuncitem.get_closest_marker("timeout_seconds")
    limit = float(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_SECONDS
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def bounded():
        try:
            await asyncio.wait_for(pyfuncitem.obj(**kwargs), timeout=limit)
        except asyncio.TimeoutError:
            pytest.fail(f"test did not finish within {limit:.0f} s")

    asyncio.run(bounded())
    return True


@pytest.fixture(scope="session")
def address() -> str:
    return os.environ["ANNALS_COMPAT_ADDRESS"]


class Names:
    """Unique workflow ids and a task queue of its own for one test."""

    def __init__(self, test_name: str):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", test_name).strip("-")[:40]
        self.prefix = f"{slug}-{uuid.uuid4().hex[:8]}"
        self.task_queue = f"tq-{self.prefix}"
        self._count = 0

    def workflow_id(self, label: str = "wf") -> str:
        self._count += 1
        return f"{self.prefix}-{label}-{self._count}"


@pytest.fixture
def names(request) -> Names:
    return Names(request.node.name)
