"""Images as a finite source: one image, a folder of images, or a glob pattern.

Files are taken in natural order (``frame2`` before ``frame10``). In a folder, only files
with an image extension are read; a file that has one but does not decode is reported
through ``on_skip`` and skipped, and the others are published.
"""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from producers.frames import SourceFrame, with_last
from producers.video_file import SourceError

__all__ = ["IMAGE_SUFFIXES", "image_paths", "natural_key", "read_images"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
_GLOB_CHARS = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")

SkipHandler = Callable[[Path, str], None]


def natural_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key comparing runs of digits as numbers: ``img2`` < ``img10``."""
    parts = _DIGITS.split(str(path))
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_paths(spec: str | Path) -> list[Path]:
    """The image files ``spec`` names, in natural order.

    ``spec`` is an image file, a folder (its image files, not recursive) or a glob pattern
    (``**`` recurses). Raises :class:`SourceError` if nothing matches.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        paths = [p for p in path.iterdir() if p.is_file() and _is_image_name(p)]
        ignored = sum(1 for p in path.iterdir() if p.is_file()) - len(paths)
        if ignored:
            log.info("ignoring %d files without an image extension in %s", ignored, path)
    elif _GLOB_CHARS.search(text):
        paths = [Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()]
    else:
        raise SourceError(f"no such image, folder or pattern: {text}")
    if not paths:
        raise SourceError(f"no image files in {text}")
    return sorted(paths, key=natural_key)


def read_image(path: Path) -> npt.NDArray[np.uint8] | None:
    """``path`` decoded as (H, W, 3) uint8 BGR, or None if it is not a decodable image."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        return None
    return np.asarray(image, dtype=np.uint8)


def _decoded(
    paths: Sequence[Path], on_skip: SkipHandler
) -> Iterator[tuple[Path, npt.NDArray[np.uint8]]]:
    for path in paths:
        try:
            image = read_image(path)
        except OSError as exc:
            on_skip(path, f"cannot be read: {exc}")
            continue
        if image is None:
            on_skip(path, "is not a decodable image")
            continue
        yield path, image


def _log_skip(path: Path, reason: str) -> None:
    log.warning("skipping %s: %s", path, reason, extra={"path": str(path)})


def read_images(paths: Sequence[Path], on_skip: SkipHandler = _log_skip) -> Iterator[SourceFrame]:
    """The decodable images of ``paths`` as frames; each frame's source is its file.

    Raises :class:`SourceError` if none could be decoded.
    """
    produced = False
    for index, ((path, image), last) in enumerate(with_last(_decoded(paths, on_skip))):
        produced = True
        yield SourceFrame(index, image, is_last=last, source=str(path.resolve()))
    if not produced:
        raise SourceError(f"none of the {len(paths)} files could be decoded as an image")
