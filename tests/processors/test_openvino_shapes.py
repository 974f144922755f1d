"""An OpenVINO export that Ultralytics runs static compiles each shape once and keeps it."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from processors.detection.detector import Detections, YoloDetector, load_yolo, resolve_model_ref
from processors.detection.export import DetectorBackend, exported_detector
from processors.detection.openvino_shapes import CompiledShapes, power_of_two_parts
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator
from producers.synthetic.stats import box_iou


@pytest.mark.parametrize(
    ("count", "parts"),
    [
        (1, [(0, 1)]),
        (2, [(0, 2)]),
        (5, [(0, 4), (4, 1)]),
        (7, [(0, 4), (4, 2), (6, 1)]),
        (8, [(0, 8)]),
        (13, [(0, 8), (8, 4), (12, 1)]),
    ],
)
def test_a_batch_splits_into_power_of_two_parts(count: int, parts: list[tuple[int, int]]) -> None:
    assert power_of_two_parts(count) == parts


def test_an_empty_batch_has_no_parts() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        power_of_two_parts(0)


class _Model:
    """Stands in for an ``ov.Model``: remembers the shape it is reshaped to."""

    def __init__(self) -> None:
        self.shape: list[int] = []

    def reshape(self, shape: list[int]) -> None:
        self.shape = shape


def _compile(compiled: list[tuple[int, ...]], model: _Model) -> Any:
    shape = tuple(model.shape)
    compiled.append(shape)

    def infer(batch: np.ndarray) -> dict[str, np.ndarray]:
        assert batch.shape == shape, "a compiled model runs its own shape only"
        return {"boxes": batch[:, 0, 0, :2] * 2, "count": np.full((len(batch), 1), len(batch))}

    return infer


def test_parts_run_on_their_compiled_models_and_join_in_order() -> None:
    compiled: list[tuple[int, ...]] = []
    backend = type(
        "Backend", (), {"read_model": _Model, "compile_model": partial(_compile, compiled)}
    )()
    forward = CompiledShapes(backend, capacity=3)

    batch = torch.arange(7 * 3 * 2 * 2, dtype=torch.float32).reshape(7, 3, 2, 2)
    boxes, counts = forward(batch)
    np.testing.assert_array_equal(boxes, batch[:, 0, 0, :2].numpy() * 2)
    assert counts[:, 0].tolist() == [4, 4, 4, 4, 2, 2, 1]  # 7 = 4 + 2 + 1, in order
    assert compiled == [(4, 3, 2, 2), (2, 3, 2, 2), (1, 3, 2, 2)]

    forward(batch[:4])
    forward(batch[:1])
    assert len(compiled) == 3  # each shape compiled once
    forward(torch.cat([batch, batch[:1]]))  # a fourth shape: the least recently used goes
    assert forward.shapes == [(4, 3, 2, 2), (1, 3, 2, 2), (8, 3, 2, 2)]
    forward(batch[:2])
    assert compiled[-1] == (2, 3, 2, 2) and len(compiled) == 5  # evicted, so compiled again


@pytest.fixture(scope="module")
def openvino_export(models: Path) -> str:
    return exported_detector(resolve_model_ref(None), DetectorBackend.OPENVINO, models).ref


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    config = SceneConfig(width=640, height=480, num_frames=8)
    return [f.image for f in SceneGenerator(22, config).frames()]


def _detector(ref: str) -> YoloDetector:
    return YoloDetector(load_yolo(ref), confidence=0.25, imgsz=416, max_detections=100)


def _run_static_as_ultralytics_does_on_amx(detector: YoloDetector, ref: str) -> list[object]:
    """Put the detector's OpenVINO backend in the state Ultralytics leaves an INT8 export
    in on a CPU with AMX (its ``OpenVINOBackend.load_model``): ``read_model`` set, not
    dynamic. Returns the list that records each compile from then on."""
    import openvino as ov  # type: ignore[import-untyped]

    backend = detector._model.predictor.model.backend
    xml = next(Path(ref).glob("*.xml"))
    backend.read_model = partial(
        ov.Core().read_model, model=str(xml), weights=xml.with_suffix(".bin")
    )
    backend.dynamic = False
    compiles: list[object] = []
    compile_model = backend.compile_model

    def counted(model: object) -> object:
        compiles.append(model)
        return compile_model(model)

    backend.compile_model = counted
    return compiles


def _same_boxes(expected: list[Detections], got: list[Detections]) -> None:
    """The same boxes within the drift of the CPU's precision (bf16 where it has it)."""
    assert sum(len(d) for d in expected) >= 20
    for want, have in zip(expected, got, strict=True):
        assert abs(len(want) - len(have)) <= 1  # boxes at the threshold may come and go
        for box in want.xyxy[want.scores >= 0.35]:
            assert max(box_iou(tuple(box), tuple(other)) for other in have.xyxy) >= 0.95


def test_a_static_openvino_export_compiles_each_shape_once_and_runs_rectangles(
    openvino_export: str, frames: list[np.ndarray]
) -> None:
    dynamic = _detector(openvino_export)
    static = _detector(openvino_export)
    static.detect(frames[:1])  # Ultralytics sets up its backend on the first call
    compiles = _run_static_as_ultralytics_does_on_amx(static, openvino_export)

    batches = [frames[:8], frames[:5], frames[5:8], frames[:8], frames[3:8]]
    for batch in batches:
        _same_boxes(dynamic.detect(batch), static.detect(batch))

    backend = static._model.predictor.model.backend
    assert isinstance(backend.forward, CompiledShapes)
    assert backend.ov_compiled_model is None  # Ultralytics' own compile is let go
    # 640x480 letterboxed to a rectangle, not the 416x416 square; 8, 4 + 1, 2 + 1
    assert sorted(backend.forward.shapes) == [(n, 3, 320, 416) for n in (1, 2, 4, 8)]
    assert len(compiles) == 4  # batches of 8 and 5 again: nothing compiled again


def test_a_dynamic_openvino_export_is_left_as_ultralytics_runs_it(
    openvino_export: str, frames: list[np.ndarray]
) -> None:
    detector = _detector(openvino_export)
    detector.detect(frames[:5])
    detector.detect(frames[:3])
    backend = detector._model.predictor.model.backend
    assert not isinstance(backend.forward, CompiledShapes)
    assert backend.read_model is None
    assert str(backend.ov_compiled_model.input().get_partial_shape()) == "[?,3,?,?]"
