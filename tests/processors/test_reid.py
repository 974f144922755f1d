"""The re-identification network, its crops, its training and the embedders the worker loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from processors.tracking.embedder import (
    EmbedderError,
    MobileNetEmbedder,
    ReidEmbedder,
    load_embedder,
)
from processors.tracking.reid.crops import CropPlan, CropSet, scene_crops
from processors.tracking.reid.network import (
    EMBEDDING_DIM,
    ReidNet,
    fused_for_inference,
    to_input,
)
from processors.tracking.reid.training import (
    SAMPLE_REID_WEIGHTS,
    ReidTrainPlan,
    reidentification_rank1,
    train_sample_reid,
)
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator

SHORT = CropPlan(frames=40, stride=4)


def test_network_gives_unit_vectors_for_crops_of_any_size() -> None:
    rng = np.random.default_rng(0)
    crops = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(1, 1), (70, 34), (46, 110)]
    ]
    net = ReidNet().eval()
    vectors = net(to_input(crops)).detach().numpy()
    assert vectors.shape == (3, EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_folding_the_batch_norms_keeps_the_embeddings() -> None:
    import torch

    rng = np.random.default_rng(1)
    net = ReidNet()
    net.load_state_dict(torch.load(SAMPLE_REID_WEIGHTS, weights_only=True))
    net.eval()
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(60, 30), (90, 41)]]
    fused = fused_for_inference(net)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in fused.modules())
    with torch.inference_mode():
        np.testing.assert_allclose(fused(to_input(crops)), net(to_input(crops)), atol=1e-5)
    # The network it was made from is left as it was, batch norms and all.
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 7


def test_crops_are_deterministic_and_one_per_visible_object() -> None:
    first, again = scene_crops([9000, 9001], SHORT), scene_crops([9000, 9001], SHORT)
    assert np.array_equal(first.images, again.images)
    assert np.array_equal(first.labels, again.labels)
    expected = 0
    labels_seen: set[tuple[int, int]] = set()
    for scene, seed in enumerate([9000, 9001]):
        for index, objects in enumerate(
            SceneGenerator(seed, SceneConfig(num_frames=SHORT.frames)).ground_truth()
        ):
            if index % SHORT.stride == 0:
                visible = [o for o in objects if o.visibility >= SHORT.min_visibility]
                expected += len(visible)
                labels_seen |= {(scene, o.track_id) for o in visible}
    assert len(first.labels) == expected
    # One label per object of a scene, numbered densely over both scenes.
    assert first.identities == len(labels_seen)
    for label in np.unique(first.labels):
        assert len(np.unique(first.scenes[first.labels == label])) == 1


def _toy_crops(labels: list[int], frames: list[int]) -> CropSet:
    n = len(labels)
    return CropSet(
        np.zeros((n, 48, 48, 3), np.uint8),
        np.asarray(labels, np.int64),
        np.zeros(n, np.int64),
        np.asarray(frames, np.int64),
        np.zeros(n, np.int64),
    )


def test_rank1_counts_nearest_crop_far_enough_in_time() -> None:
    crops = _toy_crops([0, 0, 1, 1], [0, 30, 0, 30])
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    perfect = np.stack([a, a, b, b]).astype(np.float32)
    swapped = np.stack([a, b, b, a]).astype(np.float32)
    assert reidentification_rank1(perfect, crops, min_gap_frames=20) == 1.0
    assert reidentification_rank1(swapped, crops, min_gap_frames=20) == 0.0
    # Crops closer in time than the gap are no gallery: nothing left to answer.
    assert np.isnan(reidentification_rank1(perfect, crops, min_gap_frames=31))


def test_training_writes_loadable_weights_and_a_card(tmp_path: Path) -> None:
    plan = ReidTrainPlan(train_seeds=(1000, 1001), val_seeds=(9000,), epochs=1, batch=32)
    out = tmp_path / "reid.pt"
    result = train_sample_reid(plan, SHORT, out=out)
    assert result.train_crops > 100 and result.identities > 5
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["command"] == "visiontrack model train-reid"
    assert card["plan"]["train_seeds"] == "1000..1001"
    assert 0.0 <= card["val_rank1"] <= 1.0
    embedder = load_embedder(str(out))
    assert isinstance(embedder, ReidEmbedder)
    crop = np.full((60, 30, 3), 127, np.uint8)
    assert embedder.embed([crop])[0].shape == (EMBEDDING_DIM,)


def test_bundled_network_reidentifies_better_than_mobilenet() -> None:
    """On scenes it never saw, the bundled network finds the same object again after 20+
    frames far more often than ImageNet MobileNetV2 features do."""
    crops = scene_crops([9000, 9001], CropPlan(frames=120, stride=4), rng_seed=1)
    crop_list = list(crops.images)
    sample = load_embedder(None)
    mobilenet = load_embedder("mobilenetv2")
    assert isinstance(mobilenet, MobileNetEmbedder)
    sample_rank1 = reidentification_rank1(np.stack(sample.embed(crop_list)), crops, 20)
    mobilenet_rank1 = reidentification_rank1(np.stack(mobilenet.embed(crop_list)), crops, 20)
    # Measured: 0.988 and 0.520.
    assert sample_rank1 >= 0.95
    assert sample_rank1 > mobilenet_rank1 + 0.3


def test_the_openvino_run_of_the_bundled_network_gives_torchs_vectors() -> None:
    """Compiled by OpenVINO (bf16 where the CPU has it), the bundled network gives unit
    vectors next to torch's and re-identifies as well."""
    crops = scene_crops([9000], CropPlan(frames=80, stride=4), rng_seed=2)
    crop_list = list(crops.images)
    torch_run = load_embedder(None)
    openvino_run = load_embedder("sample", "openvino")
    assert isinstance(openvino_run, ReidEmbedder) and openvino_run.embed([]) == []
    reference = np.stack(torch_run.embed(crop_list))
    vectors = np.stack(openvino_run.embed(crop_list))
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert (vectors * reference).sum(axis=1).min() >= 0.999
    rank1 = reidentification_rank1(vectors, crops, 20)
    assert rank1 >= reidentification_rank1(reference, crops, 20) - 0.01


def test_embedder_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="VISIONTRACK_EMBEDDER"):
        load_embedder(str(tmp_path / "missing.pt"))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a state dict")
    with pytest.raises(EmbedderError, match="cannot load"):
        load_embedder(str(garbage))
    assert SAMPLE_REID_WEIGHTS.is_file()
