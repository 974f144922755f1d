"""Training the sample re-identification network on crops of generated scenes, on the CPU.

``visiontrack model train-reid`` cuts identity-labelled crops from scenes of training seeds
(:mod:`processors.tracking.reid.crops`), trains :class:`ReidNet` with a cosine-margin
softmax over identities (CosFace), measures how well it re-identifies objects of scenes it
never saw, and writes the weights with a model card beside them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional

from processors.tracking.reid.crops import CropPlan, CropSet, scene_crops
from processors.tracking.reid.network import (
    EMBEDDING_DIM,
    INPUT_SIZE,
    SAMPLE_REID_WEIGHTS,
    ReidNet,
    batch_tensor,
)

__all__ = [
    "SAMPLE_REID_WEIGHTS",
    "ReidTrainPlan",
    "ReidTrainResult",
    "embed_crops",
    "reidentification_rank1",
    "train_sample_reid",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReidTrainPlan:
    """What the re-identification network is trained on and how. Training seeds never
    overlap the validation seeds (the detector's) or the evaluation's (0 upwards)."""

    train_seeds: tuple[int, ...] = tuple(range(1000, 1080))
    val_seeds: tuple[int, ...] = tuple(range(9000, 9004))
    epochs: int = 8
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    scale: float = 16.0
    margin: float = 0.2
    seed: int = 0
    min_gap_frames: int = 20

    def __post_init__(self) -> None:
        if set(self.train_seeds) & set(self.val_seeds):
            raise ValueError("train and validation seeds overlap")


@dataclass(frozen=True, slots=True)
class ReidTrainResult:
    weights: Path
    val_rank1: float
    train_crops: int
    identities: int
    val_crops: int
    duration_s: float


class CosFace(nn.Module):
    """Logits ``scale * (cos θ - margin [target])`` over identity prototypes."""

    def __init__(self, dim: int, classes: int, scale: float, margin: float) -> None:
        super().__init__()
        self.prototypes = nn.Parameter(torch.randn(classes, dim) * 0.01)
        self.scale, self.margin = scale, margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine = embeddings @ functional.normalize(self.prototypes, dim=1).T
        margin = functional.one_hot(labels, cosine.shape[1]).to(cosine.dtype) * self.margin
        return functional.cross_entropy(self.scale * (cosine - margin), labels)


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror half of the crops, shift them by up to 4 px and vary brightness by ±8 %."""
    n = batch.shape[0]
    flip = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
    padded = functional.pad(batch, (4, 4, 4, 4), mode="replicate")
    dx, dy = torch.randint(0, 9, (2,), generator=generator).tolist()
    batch = padded[:, :, dy : dy + INPUT_SIZE, dx : dx + INPUT_SIZE]
    gain = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) - 0.5) * 0.16
    return (batch * gain).clamp_(0.0, 1.0)


@torch.inference_mode()
def embed_crops(
    model: ReidNet, images: npt.NDArray[np.uint8], batch: int = 512
) -> npt.NDArray[np.float32]:
    """(N, 128) embeddings of (N, 48, 48, 3) BGR crops, in evaluation mode."""
    model.eval()
    parts = [
        model(batch_tensor(images[i : i + batch])).numpy() for i in range(0, len(images), batch)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, EMBEDDING_DIM), np.float32)


def reidentification_rank1(
    embeddings: npt.NDArray[np.float32], crops: CropSet, min_gap_frames: int
) -> float:
    """Share of crops whose nearest crop (cosine) of the same scene and class, taken at least
    ``min_gap_frames`` frames apart, shows the same object. Crops with no such crop of their
    own object are left out. Chance is about 1 / objects of the class in the scene."""
    hits = total = 0
    for scene in np.unique(crops.scenes):
        idx = np.flatnonzero(crops.scenes == scene)
        e = embeddings[idx]
        similarity = e @ e.T
        frames, classes, labels = crops.frames[idx], crops.classes[idx], crops.labels[idx]
        allowed = (np.abs(frames[:, None] - frames[None, :]) >= min_gap_frames) & (
            classes[:, None] == classes[None, :]
        )
        similarity[~allowed] = -np.inf
        answerable = (allowed & (labels[:, None] == labels[None, :])).any(axis=1)
        best = similarity.argmax(axis=1)
        hits += int((labels[best] == labels)[answerable].sum())
        total += int(answerable.sum())
    return hits / total if total else math.nan


def train_on_crops(
    plan: ReidTrainPlan, train: CropSet, val: CropSet
) -> tuple[ReidNet, list[float]]:
    """Train a fresh network; returns it and the validation rank-1 after each epoch."""
    torch.manual_seed(plan.seed)
    generator = torch.Generator().manual_seed(plan.seed)
    model = ReidNet()
    loss_head = CosFace(EMBEDDING_DIM, train.identities, plan.scale, plan.margin)
    params = list(model.parameters()) + list(loss_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=plan.lr, weight_decay=plan.weight_decay)
    steps_per_epoch = max(1, len(train.labels) // plan.batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=plan.lr, total_steps=plan.epochs * steps_per_epoch, pct_start=0.15
    )
    labels = torch.from_numpy(train.labels)
    history = []
    for epoch in range(plan.epochs):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        running = 0.0
        for step in range(steps_per_epoch):
            pick = order[step * plan.batch : (step + 1) * plan.batch].numpy()
            batch = _augment(batch_tensor(train.images[pick]), generator)
            loss = loss_head(model(batch), labels[pick])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
        rank1 = reidentification_rank1(embed_crops(model, val.images), val, plan.min_gap_frames)
        history.append(rank1)
        log.info(
            "re-id epoch done",
            extra={
                "epoch": epoch + 1,
                "loss": round(running / steps_per_epoch, 4),
                "val_rank1": round(rank1, 4),
            },
        )
    return model, history


def train_sample_reid(
    plan: ReidTrainPlan, crop_plan: CropPlan | None = None, out: Path = SAMPLE_REID_WEIGHTS
) -> ReidTrainResult:
    """Cut the crops, train, validate, and save the weights (state dict) to ``out``."""
    started = time.monotonic()
    crop_plan = crop_plan or CropPlan()
    train = scene_crops(plan.train_seeds, crop_plan, rng_seed=plan.seed)
    val = scene_crops(plan.val_seeds, crop_plan, rng_seed=plan.seed + 1)
    log.info(
        "re-id crops cut",
        extra={
            "train_crops": len(train.labels),
            "identities": train.identities,
            "val_crops": len(val.labels),
        },
    )
    model, history = train_on_crops(plan, train, val)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    result = ReidTrainResult(
        weights=out,
        val_rank1=history[-1],
        train_crops=len(train.labels),
        identities=train.identities,
        val_crops=len(val.labels),
        duration_s=time.monotonic() - started,
    )
    _write_card(plan, crop_plan, result)
    return result


def _write_card(plan: ReidTrainPlan, crop_plan: CropPlan, result: ReidTrainResult) -> None:
    plan_doc = asdict(plan)
    plan_doc["train_seeds"] = f"{plan.train_seeds[0]}..{plan.train_seeds[-1]}"
    plan_doc["val_seeds"] = f"{plan.val_seeds[0]}..{plan.val_seeds[-1]}"
    card = {
        "command": "visiontrack model train-reid",
        "plan": plan_doc,
        "crops": asdict(crop_plan),
        "val_rank1": round(result.val_rank1, 4),
        "train_crops": result.train_crops,
        "identities": result.identities,
        "val_crops": result.val_crops,
        "duration_s": round(result.duration_s, 1),
        "size_bytes": result.weights.stat().st_size,
    }
    result.weights.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
