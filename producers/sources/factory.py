"""The live source for a parsed camera spec."""

from __future__ import annotations

from producers.sources.camera import CameraKind, CameraSpec
from producers.sources.live import LiveSource
from producers.sources.opencv import OpenCVSource
from producers.sources.synthetic import SyntheticSource

__all__ = ["live_source"]


def live_source(spec: CameraSpec, *, read_timeout_s: float = 10.0) -> LiveSource:
    if spec.kind is CameraKind.SYNTHETIC:
        assert spec.seed is not None
        return SyntheticSource(spec.seed)
    return OpenCVSource(spec, open_timeout_s=read_timeout_s, read_timeout_s=read_timeout_s)
