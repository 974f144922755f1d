"""Per-stream trackers that survive worker restarts and rebalances: snapshot plus journal.

After each batch a stream took part in, its tracker yields one :class:`StateWrite` for the
worker's tables:

* every ``snapshot_every`` frames, a :class:`TrackerSnapshot` (the exact tracker state,
  :mod:`~processors.tracking.tracker_state`) under the stream id;
* in between, a :class:`JournalSegment` (the tracker's inputs of the batch: boxes, scores,
  classes, embeddings) in the stream's next journal slot. Slots are reused after each
  snapshot, so a stream never holds more than ``snapshot_every`` of them.

A worker that gets a stream it has no current tracker for (restart, rebalance) loads the
snapshot and replays the chain of segments after it (each names the frame it follows), up to
the last frame the stream has applied: the tracker continues with the same track ids as if
nothing had happened. Everything here is pure; the Faust tables are the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
import numpy as np
import numpy.typing as npt

from processors.tracking.tracker import StreamTracker, TrackBox
from processors.tracking.tracker_state import TrackerStateError

__all__ = [
    "DurableTracker",
    "JournalSegment",
    "RestoreReport",
    "StateWrite",
    "StoredTracker",
    "TrackerInput",
    "TrackerSnapshot",
    "journal_key",
]

log = logging.getLogger(__name__)


def journal_key(stream_id: str, slot: int) -> str:
    """The journal-table key of a stream's slot (the slot is the text after the last '#')."""
    return f"{stream_id}#{slot}"


def _pack_array(values: npt.NDArray[Any]) -> list[Any]:
    return [values.dtype.str, list(values.shape), values.tobytes()]


def _unpack_array(packed: list[Any]) -> npt.NDArray[Any]:
    dtype, shape, data = packed
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)


@dataclass(frozen=True, slots=True)
class TrackerInput:
    """What one frame fed its stream's tracker: (N, 4) xyxy, (N,) scores and classes, and
    (N, D) embeddings."""

    frame_no: int
    xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int64]
    embeddings: npt.NDArray[np.float32]

    @classmethod
    def of(
        cls,
        frame_no: int,
        xyxy: npt.NDArray[np.float32],
        scores: npt.NDArray[np.float32],
        class_ids: npt.NDArray[np.int64],
        embeddings: Sequence[npt.NDArray[np.float32]],
    ) -> TrackerInput:
        stacked = np.stack(embeddings) if embeddings else np.zeros((0, 0), np.float32)
        return cls(frame_no, xyxy, scores, class_ids, stacked.astype(np.float32, copy=False))

    def apply(self, tracker: StreamTracker) -> list[TrackBox]:
        return tracker.update(self.xyxy, self.scores, self.class_ids, list(self.embeddings))

    def packed(self) -> list[Any]:
        arrays = (self.xyxy, self.scores, self.class_ids, self.embeddings)
        return [self.frame_no, *(_pack_array(a) for a in arrays)]

    @classmethod
    def unpacked(cls, packed: list[Any]) -> TrackerInput:
        frame_no, xyxy, scores, class_ids, embeddings = packed
        return cls(
            int(frame_no),
            _unpack_array(xyxy),
            _unpack_array(scores),
            _unpack_array(class_ids),
            _unpack_array(embeddings),
        )


@dataclass(frozen=True, slots=True)
class JournalSegment:
    """The tracker inputs of frames ``after`` + 1 … ``through`` of a stream (frames that gave
    the tracker nothing, such as undecodable ones, have no input but are covered)."""

    after: int
    through: int
    inputs: tuple[TrackerInput, ...]

    def to_bytes(self) -> bytes:
        body = [self.after, self.through, [i.packed() for i in self.inputs]]
        packed: bytes = msgpack.packb(body, use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> JournalSegment:
        try:
            after, through, inputs = msgpack.unpackb(data, raw=False)
            return cls(int(after), int(through), tuple(TrackerInput.unpacked(i) for i in inputs))
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            raise TrackerStateError(f"unreadable journal segment: {exc}") from exc


@dataclass(frozen=True, slots=True)
class TrackerSnapshot:
    """A stream's tracker state once it had applied frames up to ``through``."""

    through: int
    state: bytes

    def to_bytes(self) -> bytes:
        packed: bytes = msgpack.packb([self.through, self.state], use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> TrackerSnapshot:
        try:
            through, state = msgpack.unpackb(data, raw=False)
            return cls(int(through), bytes(state))
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            raise TrackerStateError(f"unreadable tracker snapshot: {exc}") from exc


@dataclass(frozen=True, slots=True)
class StateWrite:
    """One entry for a worker table: a snapshot under the stream id, or a journal slot."""

    table: Literal["snapshots", "journal"]
    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class StoredTracker:
    """What the tables hold for a stream: its snapshot and journal slots 0, 1, … in order up
    to the first empty one (slots after a chain's end hold older segments; they are ignored)."""

    snapshot: bytes | None
    segments: tuple[bytes, ...]

    @classmethod
    def read(
        cls,
        stream_id: str,
        snapshots: Callable[[str], bytes | None],
        journal: Callable[[str], bytes | None],
        slots: int,
    ) -> StoredTracker:
        """A stream's entries, looked up with the tables' ``get``; at most ``slots`` slots."""
        segments = []
        for slot in range(slots):
            raw = journal(journal_key(stream_id, slot))
            if raw is None:
                break
            segments.append(raw)
        return cls(snapshots(stream_id), tuple(segments))


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """How a restore went: the snapshot's frame (-1 if none), the frames replayed from the
    journal, the last frame the state covers, and the frames the stream applied that the
    stored state did not reach (lost, for instance when a write never reached the broker)."""

    snapshot_through: int
    replayed: int
    through: int
    missing: int


class DurableTracker:
    """A stream's tracker that knows the last frame it covers and what to write for it."""

    def __init__(
        self,
        tracker: StreamTracker,
        *,
        snapshot_every: int,
        through: int = -1,
        snapshot_through: int = -1,
        next_slot: int = 0,
        snapshot_due: bool = False,
    ) -> None:
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1")
        self.tracker = tracker
        self.through = through  # the last frame covered by what was written
        self._snapshot_every = snapshot_every
        self._snapshot_through = snapshot_through
        self._next_slot = next_slot
        self._snapshot_due = snapshot_due
        self._pending: list[TrackerInput] = []

    @property
    def journaled_frames(self) -> int:
        """The frames whose inputs wait for the next journal segment."""
        return len(self._pending)

    def update(self, frame: TrackerInput) -> list[TrackBox]:
        """Advance the tracker by one frame, remembering its input for the journal."""
        boxes = frame.apply(self.tracker)
        if self._needs_snapshot(frame.frame_no):
            self._pending.clear()  # the next write is a snapshot: the inputs are not needed
        else:
            self._pending.append(frame)
        return boxes

    def _needs_snapshot(self, through: int) -> bool:
        return (
            self._snapshot_due
            or through - self._snapshot_through >= self._snapshot_every
            or self._next_slot >= self._snapshot_every
        )

    def checkpoint(self, stream_id: str, through: int) -> StateWrite:
        """What to store now that the stream has applied every frame up to ``through``."""
        if through <= self.through:
            raise ValueError(f"checkpoint through {through} does not pass {self.through}")
        if self._needs_snapshot(through):
            snapshot = TrackerSnapshot(through, self.tracker.snapshot())
            write = StateWrite("snapshots", stream_id, snapshot.to_bytes())
            self._snapshot_through, self._next_slot, self._snapshot_due = through, 0, False
        else:
            segment = JournalSegment(self.through, through, tuple(self._pending))
            key = journal_key(stream_id, self._next_slot)
            write = StateWrite("journal", key, segment.to_bytes())
            self._next_slot += 1
        self._pending = []
        self.through = through
        return write

    @classmethod
    def restore(
        cls,
        tracker: StreamTracker,
        stored: StoredTracker,
        applied: int,
        *,
        snapshot_every: int,
    ) -> tuple[DurableTracker, RestoreReport]:
        """``tracker`` (fresh) brought to frame ``applied`` from ``stored``.

        Raises :class:`TrackerStateError` if the snapshot or a segment is unreadable. The next
        write is always a snapshot, which starts a new journal chain.
        """
        snapshot_through = -1
        if stored.snapshot is not None:
            snapshot = TrackerSnapshot.from_bytes(stored.snapshot)
            tracker.restore(snapshot.state)
            snapshot_through = snapshot.through
        covered = snapshot_through
        replayed = 0
        for raw in stored.segments:
            if covered >= applied:
                break
            segment = JournalSegment.from_bytes(raw)
            if segment.after != covered:
                break  # an older chain's segment: this chain ends here
            for frame in segment.inputs:
                if frame.frame_no > applied:
                    break  # written before the crash, but the frame was never marked applied
                frame.apply(tracker)
                replayed += 1
            covered = min(segment.through, applied)
        durable = cls(
            tracker,
            snapshot_every=snapshot_every,
            through=applied,
            snapshot_through=snapshot_through,
            snapshot_due=True,
        )
        report = RestoreReport(snapshot_through, replayed, covered, max(applied - covered, 0))
        return durable, report
