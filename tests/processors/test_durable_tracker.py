"""Tracker snapshots and journals: a restored tracker continues exactly as the original.

The scene is a few objects moving on crossing paths, appearing, disappearing and hidden for a
few frames, with noisy appearance vectors: enough for tentative, confirmed and lost tracks and
a growing gallery at every split point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from processors.tracking.durable import (
    DurableTracker,
    JournalSegment,
    StoredTracker,
    TrackerInput,
    journal_key,
)
from processors.tracking.tracker import StreamTracker, TrackBox
from processors.tracking.tracker_state import TrackerStateError

FRAMES = 120


@dataclass(frozen=True)
class _Object:
    born: int
    dies: int
    start: np.ndarray
    velocity: np.ndarray
    size: np.ndarray
    feature: np.ndarray
    hidden_from: int  # from this frame on, hidden 4 frames in every 9
    class_id: int

    def seen(self, t: int) -> bool:
        return self.born <= t < self.dies and not (t >= self.hidden_from and t % 9 < 4)


def _scene(seed: int = 0, frames: int = FRAMES) -> list[TrackerInput]:
    rng = np.random.default_rng(seed)
    objects = []
    for _ in range(7):
        born = int(rng.integers(0, frames // 2))
        objects.append(
            _Object(
                born=born,
                dies=born + int(rng.integers(25, frames)),
                start=rng.uniform([0, 0], [500, 300]),
                velocity=rng.uniform(-4, 4, 2),
                size=rng.uniform([30, 60], [60, 120]),
                feature=rng.normal(size=128),
                hidden_from=int(rng.integers(0, frames)) if rng.random() < 0.3 else frames,
                class_id=int(rng.integers(0, 3)),
            )
        )
    inputs = []
    for t in range(frames):
        boxes, scores, classes, feats = [], [], [], []
        for o in (o for o in objects if o.seen(t)):
            x, y = o.start + o.velocity * (t - o.born) + rng.normal(0, 1.5, 2)
            w, h = o.size
            boxes.append([x, y, x + w, y + h])
            scores.append(rng.uniform(0.4, 0.95))
            classes.append(o.class_id)
            f = o.feature + rng.normal(0, 0.35, 128)
            feats.append((f / np.linalg.norm(f)).astype(np.float32))
        inputs.append(
            TrackerInput.of(
                t,
                np.array(boxes, np.float32).reshape(-1, 4),
                np.array(scores, np.float32),
                np.array(classes, np.int64),
                feats,
            )
        )
    return inputs


def _tracker() -> StreamTracker:
    return StreamTracker(max_age=10, n_init=3, max_cosine_distance=0.3, gallery_budget=8)


def _run(tracker: StreamTracker, inputs: list[TrackerInput]) -> list[list[TrackBox]]:
    return [frame.apply(tracker) for frame in inputs]


SCENE = _scene()


def test_the_scene_exercises_new_confirmed_and_lost_tracks() -> None:
    out = _run(_tracker(), SCENE)
    ids = {box.track_id for frame in out for box in frame}
    assert len(ids) >= 6
    lengths = [sum(1 for frame in out if any(b.track_id == i for b in frame)) for i in ids]
    assert max(lengths) > 30


@pytest.mark.parametrize("split", [0, 1, 2, 3, 11, 29, 47, 64, 90, 119])
def test_a_restored_snapshot_continues_exactly(split: int) -> None:
    original = _tracker()
    _run(original, SCENE[:split])
    restored = _tracker()
    restored.restore(original.snapshot())

    assert _run(restored, SCENE[split:]) == _run(original, SCENE[split:])
    assert restored.snapshot() == original.snapshot()


def test_a_snapshot_is_not_a_fresh_tracker() -> None:
    """The restore does something: a fresh tracker continues differently (new ids)."""
    original = _tracker()
    _run(original, SCENE[:60])
    assert _run(_tracker(), SCENE[60:]) != _run(original, SCENE[60:])


def test_unreadable_snapshots_are_refused() -> None:
    for data in (b"", b"\x00\x01", b"\x81\xa6format\x09"):
        with pytest.raises(TrackerStateError):
            _tracker().restore(data)
    with pytest.raises(TrackerStateError):
        JournalSegment.from_bytes(b"\x93\x01")


class _Tables:
    """Worker tables as dicts: the snapshot table and the journal table."""

    def __init__(self) -> None:
        self.snapshots: dict[str, bytes] = {}
        self.journal: dict[str, bytes] = {}

    def apply(self, durable: DurableTracker, stream: str, through: int) -> None:
        write = durable.checkpoint(stream, through)
        table = self.snapshots if write.table == "snapshots" else self.journal
        table[write.key] = write.value

    def stored(self, stream: str) -> StoredTracker:
        return StoredTracker.read(stream, self.snapshots.get, self.journal.get, slots=10)

    def copy(self) -> _Tables:
        other = _Tables()
        other.snapshots, other.journal = dict(self.snapshots), dict(self.journal)
        return other


def _batches(seed: int) -> list[list[TrackerInput]]:
    """The scene cut into batches of 1 to 6 frames."""
    rng = np.random.default_rng(seed)
    out, start = [], 0
    while start < FRAMES:
        size = int(rng.integers(1, 7))
        out.append(SCENE[start : start + size])
        start += size
    return out


def _durable(tables: _Tables | None = None, applied: int = -1) -> DurableTracker:
    if tables is None:
        return DurableTracker(_tracker(), snapshot_every=10)
    durable, _ = DurableTracker.restore(
        _tracker(), tables.stored("cam"), applied, snapshot_every=10
    )
    return durable


def test_a_stream_restored_at_any_batch_continues_with_the_same_tracks() -> None:
    batches = _batches(seed=0)
    tables = _Tables()
    live = _durable()
    uninterrupted = []
    crashes = []
    for batch in batches:
        uninterrupted.append([live.update(frame) for frame in batch])
        tables.apply(live, "cam", batch[-1].frame_no)
        crashes.append(tables.copy())
    assert tables.snapshots and tables.journal
    # Snapshots bound the journal: never more slots than frames between snapshots.
    assert len(tables.journal) <= 10

    for i, crashed in enumerate(crashes[:-1]):
        restored = _durable(crashed, applied=batches[i][-1].frame_no)
        after = [[restored.update(frame) for frame in batch] for batch in batches[i + 1 :]]
        assert after == uninterrupted[i + 1 :], f"restored after batch {i}"


def test_a_new_stream_restores_from_its_journal_alone() -> None:
    tables = _Tables()
    live = _durable()
    for batch in (SCENE[0:3], SCENE[3:5]):
        for frame in batch:
            live.update(frame)
        tables.apply(live, "cam", batch[-1].frame_no)
    assert not tables.snapshots

    restored, report = DurableTracker.restore(
        _tracker(), tables.stored("cam"), 4, snapshot_every=10
    )
    assert (report.snapshot_through, report.replayed, report.through) == (-1, 5, 4)
    assert report.missing == 0
    assert _run(restored.tracker, SCENE[5:40]) == _run(live.tracker, SCENE[5:40])


def test_frames_journaled_but_not_applied_are_not_replayed() -> None:
    """A crash between the journal write and the applied-frames write: the frames come again,
    so the restored tracker must stop at the last frame marked applied."""
    tables = _Tables()
    live = _durable()
    for frame in SCENE[:6]:
        live.update(frame)
    tables.apply(live, "cam", 5)

    restored, report = DurableTracker.restore(
        _tracker(), tables.stored("cam"), 3, snapshot_every=10
    )
    assert (report.replayed, report.through) == (4, 3)
    reference = _tracker()
    _run(reference, SCENE[:4])
    assert _run(restored.tracker, SCENE[4:50]) == _run(reference, SCENE[4:50])


def test_a_lost_segment_is_reported_and_older_chains_are_ignored() -> None:
    tables = _Tables()
    live = _durable()
    for start in range(0, 26, 2):  # snapshots through 9 and 19; slots reused after each
        for frame in SCENE[start : start + 2]:
            live.update(frame)
        tables.apply(live, "cam", start + 1)
    # Slots 0-2 follow the snapshot through 19; slot 3 is left from the chain after 9.
    assert JournalSegment.from_bytes(tables.journal[journal_key("cam", 3)]).after == 15

    def restore(applied: int) -> tuple[int, int, int]:
        restored, report = DurableTracker.restore(
            _tracker(), tables.stored("cam"), applied, snapshot_every=10
        )
        assert restored.through == applied
        assert restored.checkpoint("cam", applied + 1).table == "snapshots"  # a new chain
        return report.snapshot_through, report.through, report.missing

    assert restore(25) == (19, 25, 0)
    # Frames 26-27 applied but their segment lost: the stale slot 3 does not stand in for it.
    assert restore(27) == (19, 25, 2)
    del tables.journal[journal_key("cam", 1)]
    assert restore(25) == (19, 21, 4)


def test_a_tracker_never_checkpointed_keeps_a_bounded_journal() -> None:
    """Direct use (benchmarks, evaluation) never writes: the inputs kept stay bounded."""
    live = _durable()
    for frame in SCENE:
        live.update(frame)
        assert live.journaled_frames <= 10
    assert live.checkpoint("cam", FRAMES - 1).table == "snapshots"
