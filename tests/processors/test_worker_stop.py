"""Against the real broker: a worker stops when asked, also once its broker is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import faust
import pytest

from infra.broker import BundledBroker
from processors.app import _faust_app
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration

# Long enough after the broker went for the client's fetches to be trying again (every
# 100 ms), as they are whenever the broker has been gone a while.
_FETCH_RETRIES_UNDER_WAY_S = 3.0


async def _seconds_to_stop_without_the_broker(settings: Settings, broker: BundledBroker) -> float:
    app = _faust_app(settings, broker.bootstrap_servers)
    source = app.topic(settings.topics.frames, key_type=bytes, value_type=bytes)

    @app.agent(source)
    async def take(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            pass

    await app.start()
    try:
        async with asyncio.timeout(60):
            while not app.consumer.assignment() or app.rebalancing:
                await asyncio.sleep(0.2)
    except BaseException:
        await app.stop()
        raise
    broker.stop()
    await asyncio.sleep(_FETCH_RETRIES_UNDER_WAY_S)
    started = time.monotonic()
    async with asyncio.timeout(60):
        await app.stop()
    return time.monotonic() - started


def test_a_worker_whose_broker_is_gone_stops_when_asked(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # The Kafka client's consumer, closing, awaits the fetches it cancelled and raises the
    # cancellation of one waiting to try again: the consumer thread ended without saying
    # it had, and the worker waited for it for good (SIGTERM did nothing).
    settings = make_settings()
    settings.data_dir.mkdir(parents=True)
    with BundledBroker(log_file=tmp_path / "broker.log") as broker:
        seconds = asyncio.run(_seconds_to_stop_without_the_broker(settings, broker))
    assert seconds < 30
