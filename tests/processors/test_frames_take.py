"""The frames agent's take: its frames handed to the models thread in detector batches all
at once, run back to back in order, tracked as batch after batch would be."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from processors.app import _submit_batches
from processors.worker import build_processor
from schemas.tracks import FrameTracks
from tests.processors.test_frame_batches import _interleaved, _summary
from visiontrack.settings import Settings


def test_a_take_is_queued_whole_and_tracked_like_batch_after_batch(tmp_path: Path) -> None:
    frames = _interleaved()[:20]  # two streams, alternating
    settings = Settings(data_dir=tmp_path, batch_max_frames=8)
    one_by_one = build_processor(settings.model_copy(update={"data_dir": tmp_path / "a"}))
    expected = [
        _summary(r)
        for i in range(0, len(frames), 8)
        for r in one_by_one.process_messages(frames[i : i + 8])
        if isinstance(r, FrameTracks)
    ]
    assert len(expected) == len(frames)
    taken = build_processor(settings.model_copy(update={"data_dir": tmp_path / "b"}))
    models = ThreadPoolExecutor(max_workers=1)
    busy = threading.Event()

    async def take() -> list[FrameTracks]:
        models.submit(busy.wait)  # the models thread is busy with an earlier batch
        fresh = [(None, frame) for frame in frames]
        submitted = _submit_batches(fresh, 8, taken, models)
        # Every batch is queued before the first can start: no batch waits for the event
        # loop to hand over the next.
        assert [len(batch) for batch, _ in submitted] == [8, 8, 4]
        assert not any(tracked.done() for _, tracked in submitted)
        assert [frame for batch, _ in submitted for _, frame in batch] == frames
        busy.set()
        results = []
        for _, tracked in submitted:
            for result in await tracked:
                assert isinstance(result, FrameTracks)
                results.append(result)
        return results

    try:
        results = asyncio.run(take())
    finally:
        busy.set()
        models.shutdown()
    assert [_summary(r) for r in results] == expected
