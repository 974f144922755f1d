"""OpenVINO models that Ultralytics runs static: one compiled model per input shape, kept.

On CPUs with AMX, OpenVINO's CPU plugin can crash running an INT8 model with a dynamic
input shape (openvinotoolkit/openvino#37577). Ultralytics (8.4) therefore runs an INT8
export there as a static model: it letterboxes every image to the full square, and
whenever a batch's shape differs from the last one's it reads the model again, reshapes it
and compiles it, keeping only that one. On the Intel host (AMX) each compile took
0.6 s, so batches of 8 and 5 frames in turn ran at 57-59 ms a frame against 12 for
batches of 8 alone, and the square letterbox of a 640x480 frame (416x416) costs a third
more pixels than the rectangle a dynamic export runs (320x416).

:func:`keep_compiled_shapes`, an ``on_predict_start`` callback, keeps the static compiles
that avoid the crash but compiles each shape once and keeps it, splits a batch into parts
of power-of-two sizes (8 -> 8, 7 -> 4 + 2 + 1) so that a letterbox shape needs at most
four compiled models for batches of up to 8, and letterboxes to rectangles again. The INT8
detector then took 6.4-6.8 ms a frame at batch 8 (7.6-8.1 with batches of 8 and 5 in turn)
where OpenVINO f32 took 6.2-6.5 (three alternating rounds, 640x480 frames). Where
Ultralytics runs the export dynamic (every other CPU, every f32 export) nothing changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CompiledShapes", "keep_compiled_shapes", "power_of_two_parts"]

log = logging.getLogger(__name__)

Shape = tuple[int, ...]


def power_of_two_parts(count: int) -> list[tuple[int, int]]:
    """``(start, size)`` of the parts a batch of ``count`` splits into: one per set bit of
    ``count``, largest first, so 13 frames run as 8 + 4 + 1."""
    if count < 1:
        raise ValueError(f"a batch has at least one frame, not {count}")
    parts = []
    start = 0
    for bit in reversed(range(count.bit_length())):
        size = 1 << bit
        if count & size:
            parts.append((start, size))
            start += size
    return parts


class CompiledShapes:
    """The ``forward`` of an Ultralytics ``OpenVINOBackend`` in its static mode: batches
    split into power-of-two parts, each run by the model compiled for its shape.

    At most ``capacity`` compiled models are kept (the least recently used goes first):
    each holds its own activation memory, 65-90 MB at 320x416 for batches of 1 to 8.
    """

    def __init__(self, backend: Any, capacity: int = 8) -> None:
        self._read_model = backend.read_model
        self._compile_model = backend.compile_model
        self._capacity = capacity
        self._compiled: OrderedDict[Shape, Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def shapes(self) -> list[Shape]:
        """The input shapes compiled and kept, least recently used first."""
        return list(self._compiled)

    def __call__(self, im: Any) -> list[npt.NDArray[Any]]:
        batch = im.cpu().numpy().astype(np.float32, copy=False)
        outputs = [self._infer(batch[s : s + n]) for s, n in power_of_two_parts(len(batch))]
        if len(outputs) == 1:
            return outputs[0]
        return [np.concatenate(parts) for parts in zip(*outputs, strict=True)]

    def _infer(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[Any]]:
        compiled = self._compiled_for(batch.shape)
        return [np.asarray(out) for out in compiled(batch).values()]

    def _compiled_for(self, shape: Shape) -> Any:
        with self._lock:
            compiled = self._compiled.get(shape)
            if compiled is not None:
                self._compiled.move_to_end(shape)
                return compiled
            started = time.perf_counter()
            model = self._read_model()
            model.reshape(list(shape))
            compiled = self._compile_model(model)
            self._compiled[shape] = compiled
            if len(self._compiled) > self._capacity:
                self._compiled.popitem(last=False)
        log.info(
            "compiled the OpenVINO detector for input %s in %.2f s",
            "x".join(map(str, shape)),
            time.perf_counter() - started,
        )
        return compiled


def keep_compiled_shapes(predictor: Any) -> None:
    """Ultralytics ``on_predict_start`` callback: give an OpenVINO backend that Ultralytics
    runs static (``read_model`` set) a :class:`CompiledShapes` forward, and let it run
    letterbox rectangles, before the predictor's first batch. Runs at every predict; does
    nothing once done or for any other backend."""
    backend: Any = getattr(predictor.model, "backend", None)
    if getattr(backend, "read_model", None) is None or isinstance(backend.forward, CompiledShapes):
        return
    backend.forward = CompiledShapes(backend)
    backend.ov_compiled_model = None  # Ultralytics' square compile: its memory is not needed
    backend.dynamic = True  # every shape runs: letterbox to rectangles, as a dynamic export
    log.info("OpenVINO detector runs static: compiling each input shape once and keeping it")
