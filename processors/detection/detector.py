"""Object detection with Ultralytics YOLO (torch weights, ONNX or OpenVINO exports)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from processors.detection.openvino_shapes import keep_compiled_shapes

if TYPE_CHECKING:
    from ultralytics import YOLO

__all__ = [
    "DetectionDefaults",
    "Detections",
    "ModelError",
    "YoloDetector",
    "check_model_ref",
    "detection_defaults",
    "load_yolo",
    "resolve_model_ref",
]

log = logging.getLogger(__name__)

_MODEL_SUFFIXES = (".pt", ".onnx", ".yaml", ".yml")
SAMPLE_WEIGHTS = Path(__file__).resolve().parent / "weights" / "visiontrack-sample-yolov8n.pt"


@dataclass(frozen=True, slots=True)
class DetectionDefaults:
    """Thresholds used when the settings leave them unset.

    ``confidence`` is the detector's floor: every detection above it is kept and stored
    (analytics and mAP see the whole precision-recall curve). ``track_confidence`` is what
    the tracker is fed: only detections at or above it start and extend tracks.
    """

    confidence: float
    max_detections: int
    track_confidence: float


# DeepSORT confirms and keeps tracks on every detection it gets: unsure boxes cost more in
# false tracks than they win in recall. The sample detector with the sample re-id network on
# validation scenes 9000-9003 (300 frames each), fed from 0.35 / 0.40 / 0.45:
# MOTA 0.838 / 0.835 / 0.824, IDF1 0.835 / 0.875 / 0.869.
TRAINED_DEFAULTS = DetectionDefaults(confidence=0.05, max_detections=100, track_confidence=0.4)
# A model built from its .yaml has random weights and scores below 1e-3: it serves the
# plumbing only, with a tiny threshold and a few boxes per frame.
UNTRAINED_DEFAULTS = DetectionDefaults(confidence=1e-4, max_detections=5, track_confidence=0.0)


def detection_defaults(ref: str) -> DetectionDefaults:
    return UNTRAINED_DEFAULTS if ref.endswith((".yaml", ".yml")) else TRAINED_DEFAULTS


class ModelError(RuntimeError):
    """The configured model is missing or cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Detections:
    """Detections of one image.

    ``xyxy`` (N, 4) float32 pixels, ``scores`` (N,) float32, ``class_ids`` (N,) int64.
    """

    xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64)
        )


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or ref.endswith("_openvino_model") or Path(ref).exists()


def resolve_model_ref(ref: str | None) -> str:
    """The model to load: the configured one, or the bundled sample detector."""
    if ref:
        return ref
    if not SAMPLE_WEIGHTS.is_file():
        raise ModelError(
            f"no model configured (VISIONTRACK_MODEL) and the sample detector {SAMPLE_WEIGHTS} "
            "is missing: train it with `visiontrack model train-sample`"
        )
    return str(SAMPLE_WEIGHTS)


def check_model_ref(ref: str) -> None:
    """Cheap checks of a model reference, without loading it; raises :class:`ModelError`."""
    if _looks_like_path(ref) and not Path(ref).exists():
        raise ModelError(f"model file not found: {ref} (setting VISIONTRACK_MODEL)")
    if not ref.endswith(_MODEL_SUFFIXES) and not Path(ref).is_dir():
        raise ModelError(
            f"unsupported model {ref!r} (setting VISIONTRACK_MODEL): expected a .pt, .onnx, "
            "OpenVINO model directory, or model .yaml"
        )


def load_yolo(ref: str, seed: int = 0) -> YOLO:
    """Load ``ref``: a local .pt/.onnx/OpenVINO directory, a model .yaml, or a hub name.

    A model built from a .yaml has random weights; ``seed`` makes them reproducible.
    """
    import torch
    from ultralytics import YOLO

    check_model_ref(ref)
    torch.manual_seed(seed)
    try:
        return YOLO(ref, task="detect")
    except Exception as exc:  # Ultralytics raises many types for unreadable models
        raise ModelError(f"cannot load model {ref!r} (setting VISIONTRACK_MODEL): {exc}") from exc


class YoloDetector:
    """Runs a YOLO model on BGR images and returns :class:`Detections` per image."""

    def __init__(
        self,
        model: YOLO,
        *,
        confidence: float,
        imgsz: int | None,
        max_detections: int,
        device: str = "cpu",
    ) -> None:
        self._model = model
        self._confidence = confidence
        self._imgsz = imgsz
        self._max_det = max_detections
        self._device = device
        model.add_callback("on_predict_start", keep_compiled_shapes)
        self.names: dict[int, str] = {int(k): str(v) for k, v in model.names.items()}

    def class_name(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))

    def detect(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
        """Detect objects in a batch of BGR images (H, W, 3) uint8."""
        if not images:
            return []
        size = {} if self._imgsz is None else {"imgsz": self._imgsz}
        results = self._model.predict(
            list(images),
            conf=self._confidence,
            **size,
            max_det=self._max_det,
            device=self._device,
            verbose=False,
        )
        out = []
        for result in results:
            boxes = result.boxes
            if boxes is None or len(boxes) == 0:
                out.append(Detections.empty())
                continue
            out.append(
                Detections(
                    boxes.xyxy.cpu().numpy().astype(np.float32),
                    boxes.conf.cpu().numpy().astype(np.float32),
                    boxes.cls.cpu().numpy().astype(np.int64),
                )
            )
        return out
