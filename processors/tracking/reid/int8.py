"""The re-identification network quantized to INT8 for OpenVINO (``VISIONTRACK_EMBEDDER_INT8``).

NNCF's post-training quantization of the network with its batch norms folded, calibrated on
crops of generated scenes that neither ``visiontrack model train-reid`` nor the evaluation
uses. The quantized network is kept under ``<data dir>/models`` as OpenVINO IR, with a card
beside it recording the weights' SHA-256 and the calibration, as the detector's exports are:
made by ``visiontrack model quantize-reid`` or at a worker's first start (5–8 s on 2 cores,
half of it generating the scenes), and made again when the weights or the calibration
change.

On the AVX2 host, the embed stage of the worker's loop (the crops of a batch of 8 frames,
about 84, in one call): 3.5–4.5 against 5.5–6.8 ms a frame in f32. Cosine to the f32
vectors on crops of other scenes: median 0.996, least 0.976; the distances between crops of
one identity and of two are unchanged (medians 0.158 and 0.987 against 0.153 and 0.987).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from processors.export_files import (
    file_sha256,
    is_current,
    nncf_warnings_only,
    put_in_place,
    write_card,
)
from processors.tracking.embedder import EmbedderError
from processors.tracking.reid.crops import CropPlan, scene_crops
from processors.tracking.reid.network import ReidNet, batch_tensor, openvino_model

__all__ = [
    "CALIBRATION_PLAN",
    "CALIBRATION_SEEDS",
    "Int8ReidCard",
    "int8_reid_model",
    "int8_reid_path",
]

log = logging.getLogger(__name__)

# None of train-reid's training (1000..1079) or validation (9000..9003) scenes, nor the
# evaluation's (0 upwards): the detector's INT8 calibration scenes.
CALIBRATION_SEEDS: Final = tuple(range(8000, 8004))
CALIBRATION_PLAN: Final = CropPlan(frames=60, stride=6)  # about 420 crops
_SUBSET: Final = 300  # crops NNCF collects its statistics on
_OPENVINO_XML: Final = "model.xml"


@dataclass(frozen=True, slots=True)
class Int8ReidCard:
    """What an INT8 re-id network was made from and how; stored as ``<export>.json``."""

    source: str
    source_sha256: str
    calibration: str
    exporter: str  # library versions that made it
    duration_s: float


def _calibration() -> str:
    seeds = f"{CALIBRATION_SEEDS[0]}..{CALIBRATION_SEEDS[-1]}"
    plan = CALIBRATION_PLAN
    return f"generated scenes {seeds}, {plan.frames} frames, every {plan.stride}th, {_SUBSET} crops"


def int8_reid_path(weights: Path, models_dir: Path) -> Path:
    """Where the INT8 network of ``weights`` lives: a directory holding OpenVINO's
    ``model.xml`` and ``model.bin`` (moved into place as one)."""
    return models_dir / f"{weights.stem}-int8_openvino_model"


def int8_reid_model(net: ReidNet, weights: Path, models_dir: Path) -> Path:
    """The OpenVINO IR (``model.xml``) of ``net``, the network of ``weights`` with its batch
    norms folded, quantized to INT8: the one in ``models_dir`` if its card matches the
    weights and the calibration, else a new one."""
    target = int8_reid_path(weights, models_dir)
    if not is_current(target, weights, {"calibration": _calibration()}):
        _quantize(net, weights, target)
    return target / _OPENVINO_XML


def _quantize(net: ReidNet, weights: Path, target: Path) -> None:
    """Quantize ``net`` into ``target``, built in a scratch directory and moved into place
    before its card is written, so a half-made export never has a card."""
    import nncf  # type: ignore[import-untyped]
    import openvino as ov  # type: ignore[import-untyped]

    started = time.perf_counter()
    nncf_warnings_only()
    crops = scene_crops(CALIBRATION_SEEDS, CALIBRATION_PLAN).images
    inputs: list[Any] = [batch_tensor(crops[i : i + 1]).numpy() for i in range(len(crops))]
    try:
        subset = min(_SUBSET, len(inputs))
        quantized = nncf.quantize(openvino_model(net), nncf.Dataset(inputs), subset_size=subset)
    except Exception as exc:  # the converter and NNCF raise many types
        raise EmbedderError(
            f"quantizing the re-id network {weights} to INT8 failed (setting "
            f"VISIONTRACK_EMBEDDER_INT8): {exc}"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        made = Path(scratch) / target.name
        ov.save_model(quantized, str(made / _OPENVINO_XML), compress_to_fp16=False)
        put_in_place(made, target)
    card = Int8ReidCard(
        source=str(weights.resolve()),
        source_sha256=file_sha256(weights),
        calibration=_calibration(),
        exporter=f"nncf {nncf.__version__}, openvino {ov.__version__}",
        duration_s=round(time.perf_counter() - started, 2),
    )
    write_card(target, asdict(card))
    log.info(
        "quantized the re-id network %s to INT8 in %.1fs: %s", weights, card.duration_s, target
    )
