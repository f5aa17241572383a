"""Appends in doubt (incidents_shared.inflight): a retry waits for the earlier send, never sends a second copy."""

import asyncio
import uuid

import pytest

from incidents_shared.inflight import InFlight, StillInDoubt


async def test_a_retry_while_the_first_send_is_pending_waits_and_sends_nothing_once_it_landed() -> None:
    inflight, keys = InFlight(), [uuid.uuid4(), uuid.uuid4()]
    first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    inflight.watch(keys, first)
    retry = asyncio.create_task(inflight.still_to_send(keys, timeout_s=5))
    await asyncio.sleep(0.01)
    assert not retry.done()
    first.set_result(None)
    assert await retry == []
    assert all(inflight.landed(k) for k in keys)


async def test_a_retry_grouped_differently_sends_only_what_did_not_land() -> None:
    """The escalator groups one incident's due timers per tick: the next tick may carry one more event."""
    inflight, earlier, later = InFlight(), uuid.uuid4(), uuid.uuid4()
    first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    inflight.watch([earlier], first)
    first.set_result(None)
    await asyncio.sleep(0)
    assert await inflight.still_to_send([earlier, later], timeout_s=1) == [later]


async def test_a_retry_after_the_first_send_failed_sends_again() -> None:
    inflight, key = InFlight(), uuid.uuid4()
    first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    inflight.watch([key], first)
    first.set_exception(OSError("broker gone"))
    assert await inflight.still_to_send([key], timeout_s=1) == [key]
    assert not inflight.landed(key)


async def test_a_send_still_pending_past_the_deadline_stays_in_doubt() -> None:
    inflight, key = InFlight(), uuid.uuid4()
    inflight.watch([key], asyncio.get_running_loop().create_future())
    with pytest.raises(StillInDoubt):
        await inflight.still_to_send([key], timeout_s=0.01)


async def test_nothing_pending_means_send_everything() -> None:
    keys = [uuid.uuid4()]
    assert await InFlight().still_to_send(keys, timeout_s=1) == keys


def test_only_the_most_recent_landed_ids_are_kept() -> None:
    inflight = InFlight(keep=2)
    keys = [uuid.uuid4() for _ in range(3)]
    inflight.remember_all(keys)
    assert [inflight.landed(k) for k in keys] == [False, True, True]
