"""Keeping a live source at a target frame rate by skipping frames.

The capture thread still reads every frame (a camera that is not read fills its buffer and
serves stale frames); :class:`Throttle` decides which ones go on to be published.
"""

from __future__ import annotations

__all__ = ["Throttle"]


class Throttle:
    """Admits frames at most ``fps`` per second on average, on the caller's clock (seconds).

    Slots are ``1 / fps`` apart and advance by a whole period, so a 30 fps camera throttled
    to 10 fps passes every third frame even with jittery timestamps. A frame up to a quarter
    period early still takes its slot. After a stall the schedule restarts from the next
    frame instead of letting a burst through, as a live source should.
    ``fps=None`` admits every frame.
    """

    def __init__(self, fps: float | None) -> None:
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self._period = 0.0 if fps is None else 1.0 / fps
        self._tolerance = self._period / 4
        self._next_slot: float | None = None

    def admit(self, now: float) -> bool:
        """Whether the frame captured at ``now`` should be published."""
        if self.fps is None:
            return True
        slot = self._next_slot
        if slot is not None and now + self._tolerance < slot:
            return False
        if slot is None or now - slot > self._period:
            self._next_slot = now + self._period  # first frame, or after a stall
        else:
            self._next_slot = slot + self._period
        return True
