"""``bot.service.Rerun``: a trigger while a job runs is neither lost nor doubled."""

from __future__ import annotations

import asyncio

import pytest
from apscheduler.util import iscoroutinefunction_partial

from bot.service import Rerun


@pytest.mark.parametrize(("triggers_while_running", "runs"), [(0, 1), (1, 2), (5, 2)])
async def test_rerun_runs_once_more_for_any_number_of_triggers(
        triggers_while_running: int, runs: int) -> None:
    gate = asyncio.Event()
    started = 0
    at_once = 0
    most = 0

    async def job() -> None:
        nonlocal started, at_once, most
        started += 1
        at_once += 1
        most = max(most, at_once)
        if started == 1:
            await gate.wait()
        at_once -= 1

    rerun = Rerun(job).run
    first = asyncio.create_task(rerun())
    await asyncio.sleep(0)
    for _ in range(triggers_while_running):
        await rerun()                 # returns at once: only marks "again"
    gate.set()
    await first
    assert (started, most) == (runs, 1)
    await rerun()                     # idle again: an ordinary single run
    assert started == runs + 1


async def test_rerun_lets_a_failure_through_and_recovers() -> None:
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")

    rerun = Rerun(job).run
    with pytest.raises(RuntimeError):
        await rerun()
    await rerun()
    assert calls == 2


def test_apscheduler_awaits_the_job_on_the_event_loop() -> None:
    """APScheduler's asyncio executor runs only coroutine functions on the loop; any
    other callable goes to a thread, where a coroutine would never be awaited."""
    async def job() -> None: ...

    assert iscoroutinefunction_partial(Rerun(job).run)
