"""The interface of live sources: open a connection, read frames until it fails."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["LiveCapture", "LiveSource"]


class LiveCapture(Protocol):
    """One open connection to a live source."""

    def read(self) -> npt.NDArray[np.uint8]:
        """The next frame, (H, W, 3) uint8 BGR; raises ``SourceError`` when the connection
        fails or ends (a live source has no normal end)."""
        ...

    def close(self) -> None: ...


class LiveSource(Protocol):
    """A camera or stream that can be (re)opened any number of times."""

    @property
    def description(self) -> str:
        """What to show in logs and store in the database (credentials removed)."""
        ...

    def open(self) -> LiveCapture:
        """Connect; raises ``SourceError`` if the source cannot be opened now."""
        ...
