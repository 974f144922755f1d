"""Writers: MOT gt.txt round trip, YOLO labels, YOLO dataset layout, video with gt."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import cv2
import pytest

from producers.synthetic import (
    SceneConfig,
    SceneGenerator,
    mot_rows,
    read_mot,
    write_mot,
    write_video,
    write_yolo_dataset,
    yolo_label_lines,
)
from producers.synthetic.ground_truth import MotRow
from producers.synthetic.scene import GroundTruthObject

SMALL = SceneConfig(width=192, height=144, num_frames=7)


def test_mot_rows_round_trip(tmp_path: Path) -> None:
    truth = list(islice(SceneGenerator(0).ground_truth(), 20))
    rows = mot_rows(enumerate(truth))
    assert len(rows) == sum(len(t) for t in truth)
    path = tmp_path / "gt.txt"
    write_mot(path, rows)
    assert read_mot(path) == rows
    first = path.read_text().splitlines()[0].split(",")
    assert len(first) == 9
    assert first[0] == "1"
    assert first[6] == "1"


def test_mot_row_uses_top_left_and_size() -> None:
    obj = GroundTruthObject(4, 2, "bicycle", (10.0, 20.0, 40.0, 80.0), 0.5)
    assert mot_rows([(9, [obj])]) == [MotRow(10, 4, 10.0, 20.0, 30.0, 60.0, 1.0, 2, 0.5)]
    assert MotRow.from_line("10,4,10.00,20.00,30.00,60.00,1,2,0.5000").track_id == 4


@pytest.mark.parametrize("line", ["1,2,3", "a,1,0,0,1,1,1,0,1", ""])
def test_bad_mot_lines_are_rejected(line: str) -> None:
    with pytest.raises(ValueError):
        MotRow.from_line(line)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((0.0, 0.0, 640.0, 480.0), "1 0.500000 0.500000 1.000000 1.000000"),
        ((64.0, 48.0, 128.0, 144.0), "1 0.150000 0.200000 0.100000 0.200000"),
    ],
)
def test_yolo_label_line(box: tuple[float, float, float, float], expected: str) -> None:
    obj = GroundTruthObject(1, 1, "car", box, 1.0)
    assert yolo_label_lines([obj], 640, 480) == [expected]


def test_yolo_labels_of_a_scene_are_normalised_and_match_boxes() -> None:
    cfg = SceneConfig()
    for objects in islice(SceneGenerator(1).ground_truth(), 0, 60, 20):
        lines = yolo_label_lines(objects, cfg.width, cfg.height)
        assert len(lines) == len(objects)
        for line, o in zip(lines, objects, strict=True):
            cls, cx, cy, w, h = line.split()
            assert int(cls) == o.class_id
            values = [float(cx), float(cy), float(w), float(h)]
            assert all(0.0 <= v <= 1.0 for v in values)
            x1, y1, x2, y2 = o.xyxy
            assert float(cx) * cfg.width == pytest.approx((x1 + x2) / 2, abs=1e-3)
            assert float(h) * cfg.height == pytest.approx(y2 - y1, abs=1e-3)


def test_yolo_dataset_layout(tmp_path: Path) -> None:
    data = write_yolo_dataset(tmp_path / "ds", [0, 1], [2], stride=3, config=SMALL)
    root = tmp_path / "ds"
    assert data == root / "data.yaml"
    for split, count in (("train", 6), ("val", 3)):  # frames 0, 3, 6 of each seed
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == count
        assert [p.stem for p in images] == [p.stem for p in labels]
        image = cv2.imread(str(images[0]))
        assert image is not None
        assert image.shape == (144, 192, 3)
    assert (root / "images" / "train" / "s00001_f00003.jpg").is_file()
    text = data.read_text()
    assert f'path: "{root.resolve()}"' in text
    assert "train: images/train\nval: images/val\n" in text
    assert "names:\n  0: person\n  1: car\n  2: bicycle\n" in text


def test_video_and_gt_are_written_side_by_side(tmp_path: Path) -> None:
    scene = SceneGenerator(4, SMALL)
    gt = write_video(scene, tmp_path / "scene.mp4")
    assert gt == tmp_path / "scene.gt.txt"
    capture = cv2.VideoCapture(str(tmp_path / "scene.mp4"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == SMALL.num_frames
    assert read_mot(gt) == mot_rows(enumerate(scene.ground_truth()))
