"""Images as a source: one file, a folder, a glob; undecodable files reported and skipped."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from producers.sources.images import image_paths, natural_key, read_images
from producers.video_file import SourceError


def _write(path: Path, value: int, size: tuple[int, int] = (32, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))
    return path


def test_natural_order_compares_numbers_as_numbers() -> None:
    names = ["img10.png", "img2.png", "img1.png", "a.png", "img1b.png"]
    ordered = sorted((Path(n) for n in names), key=natural_key)
    assert [p.name for p in ordered] == ["a.png", "img1.png", "img1b.png", "img2.png", "img10.png"]


def test_a_folder_gives_its_images_in_natural_order_and_ignores_other_files(
    tmp_path: Path,
) -> None:
    for i in (10, 2, 1):
        _write(tmp_path / f"frame{i}.jpg", i)
    _write(tmp_path / "upper.PNG", 50)
    (tmp_path / "notes.txt").write_text("not an image")
    _write(tmp_path / "nested" / "frame3.jpg", 3)
    paths = image_paths(tmp_path)
    assert [p.name for p in paths] == ["frame1.jpg", "frame2.jpg", "frame10.jpg", "upper.PNG"]


def test_a_glob_and_a_single_file(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "x1.png", 1)
    _write(tmp_path / "b" / "x2.png", 2)
    _write(tmp_path / "b" / "y.png", 3)
    assert [p.name for p in image_paths(str(tmp_path / "**" / "x*.png"))] == ["x1.png", "x2.png"]
    assert image_paths(tmp_path / "b" / "y.png") == [tmp_path / "b" / "y.png"]


@pytest.mark.parametrize("spec", ["missing-folder", "empty", "nothing-*.png"])
def test_nothing_to_read_is_an_error(tmp_path: Path, spec: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no image|no such"):
        image_paths(str(tmp_path / spec))


def test_an_undecodable_image_is_reported_by_name_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = [
        _write(tmp_path / "1.png", 10),
        tmp_path / "2.jpg",
        _write(tmp_path / "3.png", 30, size=(20, 24)),
        tmp_path / "4.png",
    ]
    paths[1].write_bytes(b"this is not a jpeg")
    paths[3].write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        frames = list(read_images(paths))
    assert [f.index for f in frames] == [0, 1]
    assert [f.is_last for f in frames] == [False, True]
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 30]
    assert frames[1].image.shape == (20, 24, 3)
    assert frames[0].source == str(paths[0].resolve())
    skipped = [r.getMessage() for r in caplog.records]
    assert any("2.jpg" in m and "not a decodable image" in m for m in skipped)
    assert any("4.png" in m for m in skipped)


def test_no_decodable_image_at_all_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    skipped: list[Path] = []
    with pytest.raises(SourceError, match="none of the 1 files"):
        list(read_images([bad], on_skip=lambda path, reason: skipped.append(path)))
    assert skipped == [bad]
