"""The re-id network quantized to INT8 for OpenVINO: near the f32 vectors, made once, remade
when its weights change, and refused where it cannot run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from processors.tracking.embedder import EmbedderError, ReidEmbedder, load_embedder
from processors.tracking.reid.crops import CropPlan, scene_crops
from processors.tracking.reid.int8 import CALIBRATION_SEEDS, int8_reid_path
from processors.tracking.reid.network import SAMPLE_REID_WEIGHTS
from processors.tracking.reid.training import ReidTrainPlan, reidentification_rank1
from tests.cli import run_cli
from visiontrack.settings import Settings


def test_the_int8_network_embeds_near_f32_is_kept_and_remade_for_new_weights(
    tmp_path: Path,
) -> None:
    weights = tmp_path / "reid.pt"
    shutil.copyfile(SAMPLE_REID_WEIGHTS, weights)
    data_dir = tmp_path / "data"
    crops = scene_crops([9001], CropPlan(frames=80, stride=4), rng_seed=3)
    crop_list = list(crops.images)

    int8 = load_embedder(str(weights), "openvino", data_dir, int8=True)
    assert isinstance(int8, ReidEmbedder) and int8.embed([]) == []
    made = int8_reid_path(weights, data_dir / "models")
    model, card_file = made / "model.xml", made.with_name(made.name + ".json")
    written = model.stat().st_mtime_ns
    vectors = np.stack(int8.embed(crop_list))
    reference = np.stack(load_embedder(str(weights), "openvino").embed(crop_list))
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    # Measured: median 0.996, least 0.986; rank-1 1.0 for both.
    assert np.median(cosine) >= 0.99 and cosine.min() >= 0.95
    assert cosine.min() < 0.9999, "as close as f32 itself: not the quantized network"
    rank1 = reidentification_rank1(vectors, crops, 20)
    assert rank1 >= reidentification_rank1(reference, crops, 20) - 0.02

    # Kept: a second worker start loads it as it is.
    card = json.loads(card_file.read_text())
    assert f"{CALIBRATION_SEEDS[0]}..{CALIBRATION_SEEDS[-1]}" in card["calibration"]
    load_embedder(str(weights), "openvino", data_dir, int8=True)
    assert model.stat().st_mtime_ns == written

    # New weights under the same name: quantized again.
    state = torch.load(weights, weights_only=True)
    torch.save({k: v * 1.01 if v.is_floating_point() else v for k, v in state.items()}, weights)
    load_embedder(str(weights), "openvino", data_dir, int8=True)
    assert model.stat().st_mtime_ns != written
    assert json.loads(card_file.read_text())["source_sha256"] != card["source_sha256"]


def test_int8_is_refused_where_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="VISIONTRACK_EMBEDDER_INT8"):
        load_embedder("sample", "torch", tmp_path, int8=True)
    with pytest.raises(EmbedderError, match="VISIONTRACK_EMBEDDER_INT8"):
        load_embedder("mobilenetv2", "openvino", tmp_path, int8=True)
    with pytest.raises(ValidationError, match="VISIONTRACK_EMBEDDER_BACKEND=openvino"):
        Settings(embedder_int8=True, embedder_backend="torch")
    assert not (tmp_path / "models").exists()


def test_calibration_scenes_are_none_the_network_is_trained_or_validated_on() -> None:
    plan = ReidTrainPlan()
    assert not set(CALIBRATION_SEEDS) & (set(plan.train_seeds) | set(plan.val_seeds))


def _quantize_reid(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "model", "quantize-reid", env=os.environ | {"VISIONTRACK_DATA_DIR": str(data_dir)} | env
    )


def test_the_cli_quantizes_ahead_of_time_and_says_how_to_run_it(tmp_path: Path) -> None:
    done = _quantize_reid(tmp_path)
    assert done.returncode == 0, done.stderr
    made = int8_reid_path(SAMPLE_REID_WEIGHTS, tmp_path / "models")
    assert (made / "model.xml").is_file() and made.with_name(made.name + ".json").is_file()
    assert str(made) in done.stdout
    assert "VISIONTRACK_EMBEDDER_BACKEND=openvino VISIONTRACK_EMBEDDER_INT8=true" in done.stdout
    refused = _quantize_reid(tmp_path / "other", VISIONTRACK_EMBEDDER="mobilenetv2")
    assert refused.returncode == 1
    assert "VISIONTRACK_EMBEDDER_INT8 runs the re-id networks" in refused.stderr
    assert "Traceback" not in refused.stderr
