"""Exact, compact snapshots of a deep-sort-realtime tracker.

A snapshot holds what a :class:`~deep_sort_realtime.deep_sort.tracker.Tracker` changes as it
runs: the next track id, each track's Kalman mean and covariance, counters, state, class and
pending appearance features, and the appearance gallery of the confirmed tracks (bounded by
the tracker's ``nn_budget``). What settings decide (ages, gates, budget) is not in it: the
tracker a snapshot is loaded into is built from the same settings. Arrays are stored as raw
bytes of their own dtype, so a loaded tracker continues exactly as the dumped one would.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.tracker import Tracker

__all__ = ["TrackerStateError", "dump_tracker", "load_tracker"]

FORMAT = 1


class TrackerStateError(ValueError):
    """Bytes that are not a tracker snapshot of this format."""


def _pack_rows(rows: list[npt.NDArray[Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    stacked = np.stack(rows)
    return {"dtype": stacked.dtype.str, "shape": list(stacked.shape), "data": stacked.tobytes()}


def _unpack_rows(packed: dict[str, Any] | None) -> list[npt.NDArray[Any]]:
    if packed is None:
        return []
    stacked = np.frombuffer(packed["data"], dtype=np.dtype(packed["dtype"]))
    return list(stacked.reshape(packed["shape"]).copy())


def _array(values: npt.NDArray[Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {"dtype": values.dtype.str, "shape": list(values.shape), "data": values.tobytes()}


def _from_array(packed: dict[str, Any] | None) -> npt.NDArray[Any] | None:
    if packed is None:
        return None
    values = np.frombuffer(packed["data"], dtype=np.dtype(packed["dtype"]))
    return values.reshape(packed["shape"]).copy()


def dump_tracker(tracker: Tracker) -> bytes:
    """The snapshot of ``tracker``'s state."""
    tracks = [
        {
            "id": track.track_id,
            "mean": _array(track.mean),
            "covariance": _array(track.covariance),
            "hits": track.hits,
            "age": track.age,
            "time_since_update": track.time_since_update,
            "state": track.state,
            "features": _pack_rows(track.features),
            "ltwh": _array(track.original_ltwh),
            "class": track.det_class,
            "confidence": track.det_conf,
        }
        for track in tracker.tracks
    ]
    samples = tracker.metric.samples
    gallery = {str(target): _pack_rows(list(rows)) for target, rows in samples.items()}
    state = {
        "format": FORMAT,
        "next_id": tracker._next_id,
        "today": None if tracker.today is None else tracker.today.isoformat(),
        "tracks": tracks,
        "gallery": gallery,
    }
    packed: bytes = msgpack.packb(state, use_bin_type=True)
    return packed


def load_tracker(tracker: Tracker, snapshot: bytes) -> None:
    """Put the state of ``snapshot`` into ``tracker`` (fresh, built with the same settings).

    Raises :class:`TrackerStateError` if the bytes are not a snapshot of this format.
    """
    try:
        state = msgpack.unpackb(snapshot, raw=False, strict_map_key=False)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise TrackerStateError(f"not a tracker snapshot of format {FORMAT}")
        tracks = []
        for saved in state["tracks"]:
            track = tracker.track_class(
                _from_array(saved["mean"]),
                _from_array(saved["covariance"]),
                saved["id"],
                tracker.n_init,
                tracker.max_age,
                original_ltwh=_from_array(saved["ltwh"]),
                det_class=saved["class"],
                det_conf=saved["confidence"],
            )
            track.hits = saved["hits"]
            track.age = saved["age"]
            track.time_since_update = saved["time_since_update"]
            track.state = saved["state"]
            track.features = _unpack_rows(saved["features"])
            tracks.append(track)
        samples = {target: _unpack_rows(rows) for target, rows in state["gallery"].items()}
        next_id = int(state["next_id"])
        if state["today"] is not None:
            raise TrackerStateError("snapshots of trackers naming ids by date are not supported")
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
        if isinstance(exc, TrackerStateError):
            raise
        raise TrackerStateError(f"unreadable tracker snapshot: {exc}") from exc
    tracker.tracks = tracks
    tracker.metric.samples = samples
    tracker._next_id = next_id
