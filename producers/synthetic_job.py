"""A generated scene as a job: published as fast as possible, or paced like a camera."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session, sessionmaker

from producers.frames import SourceFrame, flag_last
from producers.jobs import JobResult, publish_job
from producers.synthetic import SceneConfig, SceneGenerator, paced
from visiontrack.settings import Settings

__all__ = ["publish_scene", "scene_source"]


def scene_source(seed: int) -> str:
    return f"synthetic://seed/{seed}"


def scene_frames(scene: SceneGenerator, live: bool) -> Iterator[SourceFrame]:
    images = (f.image for f in scene.frames())
    return flag_last(paced(images, scene.config.fps) if live else images)


def publish_scene(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    seed: int,
    stream_id: str,
    config: SceneConfig | None = None,
    live: bool = False,
    on_frame: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    chunks: bool = False,
) -> JobResult:
    """Publish the scene of ``seed`` on ``stream_id``; ``live`` paces it at the scene's fps;
    ``chunks`` sends H.264 chunks instead of JPEG frames."""
    scene = SceneGenerator(seed, config)
    return publish_job(
        settings,
        bootstrap,
        sessions,
        stream_id=stream_id,
        kind="synthetic",
        source=scene_source(seed),
        frames=scene_frames(scene, live),
        on_frame=on_frame,
        stop=stop,
        chunk_fps=scene.config.fps if chunks else None,
    )
