"""Training the offline sample detector: a small YOLO on generated scenes, on the CPU.

No package ships COCO weights and nothing can be downloaded, so the project makes its own
detector for the demo and the tests: ``visiontrack model train-sample`` renders scenes with
exact labels (:mod:`producers.synthetic`), trains ``yolov8n`` from its .yaml, validates on
scenes from seeds it never saw, and writes the weights with a model card beside them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from processors.detection.detector import SAMPLE_WEIGHTS
from processors.detection.ultralytics_env import configure_ultralytics
from producers.synthetic.ground_truth import write_yolo_dataset

__all__ = ["SAMPLE_WEIGHTS", "TrainPlan", "TrainResult", "train_sample_detector"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainPlan:
    """What the sample detector is trained on and how. Seeds of train and val never overlap."""

    train_seeds: tuple[int, ...] = tuple(range(1000, 1050))
    val_seeds: tuple[int, ...] = tuple(range(9000, 9004))
    stride: int = 10
    epochs: int = 12
    imgsz: int = 416
    batch: int = 16
    seed: int = 0
    base: str = "yolov8n.yaml"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.train_seeds) & set(self.val_seeds):
            raise ValueError("train and validation seeds overlap")


@dataclass(frozen=True, slots=True)
class TrainResult:
    weights: Path
    map50: float
    map50_95: float
    train_images: int
    val_images: int
    duration_s: float


def _count(directory: Path) -> int:
    return sum(1 for _ in directory.glob("*.jpg"))


def train_sample_detector(
    plan: TrainPlan, work_dir: Path, out: Path = SAMPLE_WEIGHTS
) -> TrainResult:
    """Generate the dataset, train, validate, and copy the best weights to ``out``."""
    started = time.monotonic()
    configure_ultralytics(work_dir / "ultralytics")
    from ultralytics import YOLO

    data = write_yolo_dataset(
        work_dir / "dataset", plan.train_seeds, plan.val_seeds, stride=plan.stride
    )
    train_images = _count(data.parent / "images" / "train")
    val_images = _count(data.parent / "images" / "val")
    log.info("dataset written", extra={"train_images": train_images, "val_images": val_images})

    model = YOLO(plan.base, task="detect")
    model.train(
        data=str(data),
        epochs=plan.epochs,
        imgsz=plan.imgsz,
        batch=plan.batch,
        seed=plan.seed,
        deterministic=True,
        device="cpu",
        workers=0,
        amp=False,
        plots=False,
        val=False,  # validate once, after the last epoch
        close_mosaic=max(1, plan.epochs // 5),
        project=str(work_dir / "runs"),
        name="sample",
        exist_ok=True,
        verbose=False,
        **plan.extra,
    )
    trained = work_dir / "runs" / "sample" / "weights" / "last.pt"
    metrics = YOLO(str(trained)).val(
        data=str(data),
        imgsz=plan.imgsz,
        batch=plan.batch,
        device="cpu",
        workers=0,
        plots=False,
        verbose=False,
        project=str(work_dir / "runs"),
        name="val",
        exist_ok=True,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(trained, out)
    result = TrainResult(
        weights=out,
        map50=float(metrics.box.map50),
        map50_95=float(metrics.box.map),
        train_images=train_images,
        val_images=val_images,
        duration_s=time.monotonic() - started,
    )
    _write_card(plan, result)
    return result


def _write_card(plan: TrainPlan, result: TrainResult) -> None:
    """A model card beside the weights: how they were made and how well they detect."""
    plan_doc = asdict(plan)
    plan_doc["train_seeds"] = f"{plan.train_seeds[0]}..{plan.train_seeds[-1]}"
    plan_doc["val_seeds"] = f"{plan.val_seeds[0]}..{plan.val_seeds[-1]}"
    card = result.weights.with_suffix(".json")
    card.write_text(
        json.dumps(
            {
                "command": "visiontrack model train-sample",
                "plan": plan_doc,
                "val_map50": round(result.map50, 4),
                "val_map50_95": round(result.map50_95, 4),
                "train_images": result.train_images,
                "val_images": result.val_images,
                "duration_s": round(result.duration_s, 1),
                "size_bytes": result.weights.stat().st_size,
            },
            indent=2,
        )
        + "\n"
    )
