"""Detector backends: the sample weights exported to ONNX and OpenVINO detect like torch."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from processors.detection import export
from processors.detection.detector import (
    Detections,
    ModelError,
    YoloDetector,
    load_yolo,
    resolve_model_ref,
)
from processors.detection.export import (
    DetectorBackend,
    Int8Calibration,
    RunnableModel,
    backend_of,
    export_path,
    exported_detector,
)
from producers.synthetic.config import SceneConfig
from producers.synthetic.ground_truth import write_yolo_dataset
from producers.synthetic.scene import SceneGenerator
from tests.cli import run_cli
from visiontrack.settings import Settings

SAMPLE = resolve_model_ref(None)
EXPORTED = (DetectorBackend.ONNX, DetectorBackend.OPENVINO)


def test_the_backend_follows_from_the_model_reference() -> None:
    assert backend_of("weights/best.pt") is DetectorBackend.TORCH
    assert backend_of("yolov8n.yaml") is DetectorBackend.TORCH
    assert backend_of("/m/best-416.onnx") is DetectorBackend.ONNX
    assert backend_of("/m/best-416_openvino_model/") is DetectorBackend.OPENVINO
    source = Path("/w/best.pt")
    assert export_path(source, DetectorBackend.ONNX, 416, Path("/o")) == Path("/o/best-416.onnx")
    assert export_path(source, DetectorBackend.OPENVINO, 320, Path("/o")).name == (
        "best-320_openvino_model"
    )
    with pytest.raises(ValueError):
        export_path(source, DetectorBackend.TORCH, 416, Path("/o"))
    int8 = export_path(source, DetectorBackend.OPENVINO, 416, Path("/o"), int8=True)
    assert int8.name == "best-416-int8_openvino_model"
    assert backend_of(str(int8)) is DetectorBackend.OPENVINO
    with pytest.raises(ValueError, match="only OpenVINO"):
        export_path(source, DetectorBackend.ONNX, 416, Path("/o"), int8=True)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    config = SceneConfig(width=640, height=480, num_frames=3)
    return [f.image for f in SceneGenerator(21, config).frames()]


def _detect(ref: str, imgsz: int | None, frames: list[np.ndarray]) -> list[Detections]:
    detector = YoloDetector(
        load_yolo(ref), confidence=0.25, imgsz=imgsz, max_detections=100, device="cpu"
    )
    return detector.detect(frames)  # all frames in one batch


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter))


@pytest.mark.parametrize("backend", EXPORTED, ids=lambda b: b.value)
def test_an_export_detects_what_the_torch_weights_detect(
    backend: DetectorBackend, models: Path, frames: list[np.ndarray]
) -> None:
    runnable = exported_detector(SAMPLE, backend, models)
    assert backend_of(runnable.ref) is backend and runnable.imgsz == 416  # the trained size
    card = json.loads(Path(runnable.ref + ".json").read_text())
    assert (card["backend"], card["imgsz"], card["dynamic_batch"]) == (backend.value, 416, True)

    reference = _detect(SAMPLE, 416, frames)
    exported = _detect(runnable.ref, runnable.imgsz, frames)
    assert sum(len(d) for d in reference) >= 20
    for ref, got in zip(reference, exported, strict=True):
        confident = ref.scores >= 0.35  # boxes near the threshold may come and go (bf16)
        iou = _iou(ref.xyxy[confident], got.xyxy)
        assert (iou.max(axis=1) >= 0.9).all(), iou.max(axis=1)
        assert abs(len(ref) - len(got)) <= 1


@pytest.mark.parametrize("backend", EXPORTED, ids=lambda b: b.value)
def test_an_export_is_reused_until_the_weights_change(
    backend: DetectorBackend, models: Path
) -> None:
    first = exported_detector(SAMPLE, backend, models)
    made = Path(first.ref).stat().st_mtime_ns
    assert exported_detector(SAMPLE, backend, models) == first
    assert Path(first.ref).stat().st_mtime_ns == made  # not exported again

    card = Path(first.ref + ".json")
    card.write_text(json.dumps(json.loads(card.read_text()) | {"source_sha256": "0" * 64}))
    assert exported_detector(SAMPLE, backend, models) == first
    assert Path(first.ref).stat().st_mtime_ns != made  # weights "changed": made again


def _map50(ref: str, data: Path, project: Path) -> float:
    metrics = load_yolo(ref).val(
        data=str(data),
        imgsz=416,
        batch=8,
        device="cpu",
        workers=0,
        plots=False,
        verbose=False,
        project=str(project),
        name=Path(ref).name,
        exist_ok=True,
    )
    return float(metrics.box.map50)


def test_an_int8_export_is_quantized_and_keeps_the_sample_detectors_accuracy(
    models: Path, tmp_path: Path
) -> None:
    import openvino as ov  # type: ignore[import-untyped]

    int8 = exported_detector(SAMPLE, DetectorBackend.OPENVINO, models, int8=Int8Calibration())
    assert int8.ref.endswith("visiontrack-sample-yolov8n-416-int8_openvino_model")
    card = json.loads(Path(int8.ref + ".json").read_text())
    assert card["int8_calibration"] == "generated scenes 8000..8003"
    xml = next(Path(int8.ref).glob("*.xml"))
    ops = {op.get_type_name() for op in ov.Core().read_model(xml).get_ops()}
    assert "FakeQuantize" in ops  # activations quantized, not only weights

    made = Path(int8.ref).stat().st_mtime_ns
    again = exported_detector(SAMPLE, DetectorBackend.OPENVINO, models, int8=Int8Calibration())
    assert again == int8 and Path(int8.ref).stat().st_mtime_ns == made

    # On the sample's own validation scenes (it was calibrated on others).
    data = write_yolo_dataset(tmp_path / "val", [], (9000, 9001))
    f32 = exported_detector(SAMPLE, DetectorBackend.OPENVINO, models)
    f32_map, int8_map = _map50(f32.ref, data, tmp_path), _map50(int8.ref, data, tmp_path)
    assert f32_map >= 0.9
    assert int8_map >= f32_map - 0.02, (int8_map, f32_map)


def test_an_int8_export_calibrated_on_other_data_is_made_again(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision only (a real re-export replacing an old one is tested above): a copy of
    the INT8 export's card, its calibration changed, and the exporter recorded, not run."""
    int8 = exported_detector(SAMPLE, DetectorBackend.OPENVINO, models, int8=Int8Calibration())
    copy = tmp_path / Path(int8.ref).name
    copy.mkdir()
    card = json.loads(Path(int8.ref + ".json").read_text())
    Path(f"{copy}.json").write_text(json.dumps(card))
    exports: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def record(*args: object, **options: object) -> Path:
        exports.append((args, options))
        return copy

    monkeypatch.setattr(export, "export_detector", record)
    calibration = Int8Calibration()
    assert exported_detector(SAMPLE, DetectorBackend.OPENVINO, tmp_path, int8=calibration).ref == (
        str(copy)
    )
    assert exports == []  # the same calibration: the copy is current
    Path(f"{copy}.json").write_text(json.dumps(card | {"int8_calibration": "/elsewhere/d.yaml"}))
    exported_detector(SAMPLE, DetectorBackend.OPENVINO, tmp_path, int8=calibration)
    assert exports == [((SAMPLE, DetectorBackend.OPENVINO, tmp_path, 416), {"int8": calibration})]


def test_int8_calibration_follows_the_settings(tmp_path: Path) -> None:
    assert Int8Calibration.of(Settings(data_dir=tmp_path)) is None
    data = tmp_path / "data.yaml"
    int8 = Settings(
        data_dir=tmp_path, detector_backend="openvino", detector_int8=True, detector_int8_data=data
    )
    assert Int8Calibration.of(int8) == Int8Calibration(data)


def test_int8_without_calibration_images_is_refused(models: Path, tmp_path: Path) -> None:
    other = tmp_path / "mine.pt"
    shutil.copyfile(SAMPLE, other)
    with pytest.raises(ModelError, match="VISIONTRACK_DETECTOR_INT8_DATA"):
        exported_detector(str(other), DetectorBackend.OPENVINO, models, int8=Int8Calibration())
    missing = Int8Calibration(tmp_path / "missing.yaml")
    with pytest.raises(ModelError, match=r"missing\.yaml does not exist"):
        exported_detector(str(other), DetectorBackend.OPENVINO, models, int8=missing)


def test_exports_and_backends_that_do_not_fit_are_refused(models: Path) -> None:
    with pytest.raises(ModelError, match="VISIONTRACK_DETECTOR_BACKEND is openvino"):
        exported_detector("/m/best-416.onnx", DetectorBackend.OPENVINO, models)
    with pytest.raises(ModelError, match=r"only local \.pt weights"):
        exported_detector("yolov8n.yaml", DetectorBackend.ONNX, models)
    onnx = RunnableModel("/m/best-416.onnx", None)
    assert exported_detector(onnx.ref, DetectorBackend.ONNX, models) == onnx


def test_the_cli_exports_and_says_how_to_run_it(tmp_path: Path) -> None:
    env = os.environ | {"VISIONTRACK_DATA_DIR": str(tmp_path)}
    done = run_cli("model", "export", "--format", "onnx", env=env)
    assert done.returncode == 0, done.stderr
    made = tmp_path / "models" / "visiontrack-sample-yolov8n-416.onnx"
    assert made.is_file() and made.with_name(made.name + ".json").is_file()
    assert "VISIONTRACK_DETECTOR_BACKEND=onnx" in done.stdout
    bad = run_cli(
        "model", "export", "--format", "onnx", "--model", str(tmp_path / "missing.pt"), env=env
    )
    assert bad.returncode == 1 and "missing.pt" in bad.stderr and "Traceback" not in bad.stderr
    onnx_int8 = run_cli("model", "export", "--format", "onnx", "--int8", env=env)
    assert onnx_int8.returncode == 1 and "--int8 needs --format openvino" in onnx_int8.stderr
