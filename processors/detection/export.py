"""Detector backends: YOLO weights exported by Ultralytics to ONNX Runtime or OpenVINO.

``VISIONTRACK_DETECTOR_BACKEND`` picks how the worker runs the detector. With ``onnx`` or
``openvino`` and ``.pt`` weights, the worker uses an export of those weights kept under
``<data dir>/models``, made once (seconds) and remade when the weights change: a card next to
each export records the weights' SHA-256. ``visiontrack model export`` makes one ahead of
time, for images that must not export at start-up. A model setting that already names an
export (``.onnx``, ``*_openvino_model/``) is used as it is.

Exports take a dynamic batch dimension, so frames of several streams are detected in one
call, at a fixed square input size: the size the weights were trained at unless given.

An OpenVINO export can be quantized to INT8 (``VISIONTRACK_DETECTOR_INT8``): Ultralytics'
post-training quantization through NNCF, calibrated on images of the scenes the model is
for (``VISIONTRACK_DETECTOR_INT8_DATA``, a YOLO ``data.yaml`` whose ``val`` images are
used). The bundled sample detector needs none: it is calibrated on generated scenes it was
neither trained nor validated on. The sample detector at 416 on these 2 cores: 6.5–7.5 ms a
frame against 9.4–10.1 ms in f32, mAP50 0.960 against 0.961 on its validation scenes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from processors.detection.detector import SAMPLE_WEIGHTS, ModelError, load_yolo
from processors.export_files import (
    file_sha256,
    is_current,
    nncf_warnings_only,
    put_in_place,
    write_card,
)
from producers.synthetic.ground_truth import write_yolo_dataset
from visiontrack.settings import Settings

__all__ = [
    "CALIBRATION_SEEDS",
    "DetectorBackend",
    "ExportCard",
    "Int8Calibration",
    "RunnableModel",
    "backend_of",
    "export_detector",
    "export_path",
    "exported_detector",
]

log = logging.getLogger(__name__)

DEFAULT_IMGSZ = 640
# Scenes the sample detector is calibrated on: none of its training (1000..1049) or
# validation (9000..9003) seeds.
CALIBRATION_SEEDS = tuple(range(8000, 8004))
_OPENVINO_SUFFIX = "_openvino_model"  # how Ultralytics recognises an OpenVINO directory


class DetectorBackend(StrEnum):
    TORCH = "torch"
    ONNX = "onnx"
    OPENVINO = "openvino"


def backend_of(ref: str) -> DetectorBackend:
    """The backend a model reference is run with, from its name."""
    name = ref.rstrip("/")
    if name.endswith(".onnx"):
        return DetectorBackend.ONNX
    if name.endswith(_OPENVINO_SUFFIX):
        return DetectorBackend.OPENVINO
    return DetectorBackend.TORCH


@dataclass(frozen=True, slots=True)
class Int8Calibration:
    """INT8 quantization of an OpenVINO export, calibrated on the ``val`` images of the
    YOLO dataset ``data`` (None: generated scenes, for the bundled sample detector only)."""

    data: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> Int8Calibration | None:
        """What the settings ask for: None unless ``detector_int8``."""
        return cls(settings.detector_int8_data) if settings.detector_int8 else None

    def dataset(self, source: Path, scratch: Path) -> Path:
        """The ``data.yaml`` to calibrate ``source`` on, generated in ``scratch`` if need be."""
        if self.data is not None:
            if not self.data.is_file():
                raise ModelError(
                    f"INT8 calibration data {self.data} does not exist "
                    "(setting VISIONTRACK_DETECTOR_INT8_DATA)"
                )
            return self.data
        if source.resolve() != SAMPLE_WEIGHTS.resolve():
            raise ModelError(
                f"INT8 needs calibration images of the scenes {source.name} is for: set "
                "VISIONTRACK_DETECTOR_INT8_DATA to a YOLO data.yaml (its val images are used)"
            )
        return write_yolo_dataset(scratch / "calibration", [], CALIBRATION_SEEDS)

    def describe(self) -> str:
        if self.data is not None:
            return str(self.data.resolve())
        return f"generated scenes {CALIBRATION_SEEDS[0]}..{CALIBRATION_SEEDS[-1]}"


@dataclass(frozen=True, slots=True)
class ExportCard:
    """What an export was made from and how; stored as ``<export>.json``."""

    source: str
    source_sha256: str
    backend: str
    imgsz: int
    dynamic_batch: bool
    ultralytics: str
    duration_s: float
    int8_calibration: str | None = None


def export_path(
    source: Path, backend: DetectorBackend, imgsz: int, out_dir: Path, *, int8: bool = False
) -> Path:
    """Where the export of ``source`` for ``backend`` at ``imgsz`` (INT8 or not) lives."""
    if backend is DetectorBackend.TORCH:
        raise ValueError("torch weights are not exported")
    if int8 and backend is not DetectorBackend.OPENVINO:
        raise ValueError("only OpenVINO exports are quantized to INT8")
    stem = f"{source.stem}-{imgsz}" + ("-int8" if int8 else "")
    return out_dir / (
        f"{stem}.onnx" if backend is DetectorBackend.ONNX else stem + _OPENVINO_SUFFIX
    )


def _trained_imgsz(source: Path) -> int:
    imgsz = load_yolo(str(source)).overrides.get("imgsz", DEFAULT_IMGSZ)
    return int(imgsz[0] if isinstance(imgsz, list | tuple) else imgsz)


def _torch_source(ref: str) -> Path:
    source = Path(ref)
    if source.suffix != ".pt" or not source.is_file():
        raise ModelError(
            f"only local .pt weights can be exported, not {ref!r} (setting VISIONTRACK_MODEL)"
        )
    return source


def export_detector(
    ref: str,
    backend: DetectorBackend,
    out_dir: Path,
    imgsz: int | None = None,
    *,
    int8: Int8Calibration | None = None,
) -> Path:
    """Export the ``.pt`` weights ``ref`` for ``backend`` (quantized to INT8 when ``int8``
    says how to calibrate it); returns the export's path.

    The export is written beside a copy of the weights in a scratch directory (Ultralytics
    writes next to its input) and moved into ``out_dir`` with its card, replacing an older one.
    """
    from ultralytics import __version__ as ultralytics_version

    source = _torch_source(ref)
    size = imgsz or _trained_imgsz(source)
    target = export_path(source, backend, size, out_dir, int8=int8 is not None)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as scratch:
        copy = Path(scratch) / f"{source.stem}-{size}.pt"
        shutil.copyfile(source, copy)
        options: dict[str, object] = {"imgsz": size, "dynamic": True, "device": "cpu"}
        if backend is DetectorBackend.ONNX:
            options["simplify"] = True
        if int8 is not None:
            options |= {"int8": True, "data": str(int8.dataset(source, Path(scratch)))}
            nncf_warnings_only()
        try:
            made = Path(str(load_yolo(str(copy)).export(format=backend.value, **options)))
        except Exception as exc:  # Ultralytics raises many types from its exporters
            raise ModelError(f"exporting {ref} to {backend.value} failed: {exc}") from exc
        put_in_place(made, target)
    card = ExportCard(
        source=str(source.resolve()),
        source_sha256=file_sha256(source),
        backend=backend.value,
        imgsz=size,
        dynamic_batch=True,
        ultralytics=ultralytics_version,
        duration_s=round(time.perf_counter() - started, 2),
        int8_calibration=None if int8 is None else int8.describe(),
    )
    write_card(target, asdict(card))
    log.info(
        "exported %s to %s in %.1fs", source, target, card.duration_s, extra={"backend": backend}
    )
    return target


@dataclass(frozen=True, slots=True)
class RunnableModel:
    """A model reference to load and the input size to run it at (None: its own)."""

    ref: str
    imgsz: int | None


def exported_detector(
    ref: str,
    backend: DetectorBackend,
    out_dir: Path,
    imgsz: int | None = None,
    *,
    int8: Int8Calibration | None = None,
) -> RunnableModel:
    """What to run for ``backend``: ``ref`` itself when it already is one, else the export of
    ``ref`` in ``out_dir`` (INT8 when ``int8`` is given), made (or remade, if the weights
    changed) at ``imgsz`` or the size the weights were trained at."""
    have = backend_of(ref)
    if have is backend:
        return RunnableModel(ref, imgsz)
    if have is not DetectorBackend.TORCH:
        raise ModelError(
            f"model {ref!r} is a {have.value} export but VISIONTRACK_DETECTOR_BACKEND is "
            f"{backend.value}: point VISIONTRACK_MODEL at .pt weights or change the backend"
        )
    source = _torch_source(ref)
    size = imgsz or _trained_imgsz(source)
    target = export_path(source, backend, size, out_dir, int8=int8 is not None)
    calibration = None if int8 is None else int8.describe()
    if is_current(target, source, {"int8_calibration": calibration}):
        return RunnableModel(str(target), size)
    return RunnableModel(str(export_detector(ref, backend, out_dir, size, int8=int8)), size)
