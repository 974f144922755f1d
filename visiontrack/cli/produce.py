"""Publishing sources: ``produce file|images|synthetic`` (jobs) and ``produce camera`` (live).

Jobs show a progress bar on a terminal; cameras show a status line of each stream's rate,
drops and state. SIGTERM or Ctrl-C stops cleanly: capture ends and what was queued is
flushed (a second signal aborts).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiontrack.cli._common import Add, out
from visiontrack.cli.scenes import scene_arguments
from visiontrack.settings import Settings

if TYPE_CHECKING:
    from producers.jobs import JobResult
    from producers.live.figures import StreamStatus

EXIT_STOPPED = 130


@contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """An ``on_frame(count)`` callback drawing a progress bar on a terminal's stderr."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    bar = tqdm(total=total, unit="frame", desc=label, file=sys.stderr, disable=None)

    def on_frame(count: int) -> None:
        bar.update(count - bar.n)

    try:
        yield on_frame
    finally:
        bar.close()


def _report(result: JobResult, source: str, as_json: bool) -> None:
    if as_json:
        doc = {"job_id": result.job_id, "stream_id": result.stream_id, "frames": result.frames}
        out(json.dumps(doc))
        return
    out(f"published {result.frames} frames of {source} on stream {result.stream_id}")
    out(f"job {result.job_id}: follow with `visiontrack jobs show {result.job_id}`")


CHUNKS_HELP = "send H.264 video chunks (topic video-chunks) instead of JPEG frames"
COPY_HELP = (
    "send the file's own encoded video as video chunks cut at its key frames, neither "
    "decoded nor re-encoded (the default; JPEG frames when it cannot be cut so, and the "
    "log says why)"
)
JPEG_HELP = "send JPEG frames (topic frames) instead of the file's own video"


def _run_job(
    settings: Settings,
    args: argparse.Namespace,
    publish: Callable[..., JobResult],
    *,
    label: str,
    total: int | None,
    source: dict[str, Any],
) -> int:
    """Publish one job with a progress bar, stopping cleanly on SIGTERM/SIGINT."""
    from producers.jobs import StopRequestedError
    from producers.shutdown import stop_on_signals
    from visiontrack.db import create_db_engine, session_factory
    from visiontrack.runtime import resolve_bootstrap

    bootstrap = resolve_bootstrap(settings)
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with (
            stop_on_signals(threading.Event()) as stop,
            _progress(total, args.stream_id) as on_frame,
        ):
            result = publish(
                settings,
                bootstrap,
                session_factory(engine),
                stream_id=args.stream_id,
                on_frame=on_frame,
                stop=stop,
                **source,
            )
    except StopRequestedError as exc:
        sys.stderr.write(f"visiontrack: {exc}; the job is marked failed\n")
        return EXIT_STOPPED
    finally:
        engine.dispose()
    _report(result, label, args.json)
    return 0


def cmd_produce_file(settings: Settings, args: argparse.Namespace) -> int:
    from producers.jobs import FileEncoding, publish_file
    from producers.video_file import SourceError, video_frame_count

    try:
        total = video_frame_count(args.video)
    except SourceError:
        total = None  # publishing fails the job with the reason
    source = {"path": args.video, "encoding": FileEncoding(args.encoding)}
    return _run_job(settings, args, publish_file, label=str(args.video), total=total, source=source)


def cmd_produce_images(settings: Settings, args: argparse.Namespace) -> int:
    from producers.jobs import publish_images
    from producers.sources.images import image_paths

    paths = image_paths(args.images)
    source = {"spec": args.images, "paths": paths}
    return _run_job(
        settings, args, publish_images, label=args.images, total=len(paths), source=source
    )


def cmd_produce_synthetic(settings: Settings, args: argparse.Namespace) -> int:
    from producers.synthetic import SceneConfig
    from producers.synthetic_job import publish_scene

    config = SceneConfig(width=args.width, height=args.height, num_frames=args.frames)
    args.json = True  # this command has always answered in JSON
    source = {"seed": args.seed, "config": config, "live": args.live, "chunks": args.chunks}
    return _run_job(
        settings,
        args,
        publish_scene,
        label=f"scene {args.seed}",
        total=config.num_frames,
        source=source,
    )


def status_line(statuses: Sequence[StreamStatus]) -> str:
    """``cam1 live 14.9 fps 0 dropped | cam2 reconnecting - fps 3 dropped``."""
    parts = []
    for s in statuses:
        fps = "-" if s.fps is None else f"{s.fps:.1f}"
        parts.append(
            f"{s.stream_id} {s.figures.state.value} {fps} fps "
            f"{s.figures.published} sent {s.figures.dropped} dropped"
        )
    return " | ".join(parts)


def _tty_status(statuses: Sequence[StreamStatus]) -> None:
    sys.stderr.write("\r\x1b[K" + status_line(statuses))
    sys.stderr.flush()


def cmd_produce_camera(settings: Settings, args: argparse.Namespace) -> int:
    from producers.live.runner import LiveSpec, run_live
    from producers.shutdown import stop_on_signals
    from producers.sources.camera import assign_stream_ids
    from producers.sources.factory import live_source
    from visiontrack.db import create_db_engine, session_factory
    from visiontrack.runtime import resolve_bootstrap

    try:
        named = assign_stream_ids(args.sources + args.source, args.stream_id)
    except ValueError as exc:
        sys.stderr.write(f"visiontrack produce camera: {exc}\n")
        return 2
    specs = [
        LiveSpec(sid, live_source(spec, read_timeout_s=settings.live_read_timeout_s))
        for sid, spec in named
    ]
    bootstrap = resolve_bootstrap(settings)
    engine = create_db_engine(settings.sqlalchemy_url)
    on_tick = _tty_status if sys.stderr.isatty() and not args.quiet else None
    try:
        with stop_on_signals(threading.Event()) as stop:
            code = run_live(
                settings,
                bootstrap,
                session_factory(engine),
                specs,
                stop,
                target_fps=args.fps,
                chunks=args.chunks,
                on_tick=on_tick,
            )
    finally:
        engine.dispose()
        if on_tick is not None:
            sys.stderr.write("\n")
    out(f"stopped {len(specs)} stream(s): {', '.join(s.stream_id for s in specs)}")
    return code


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(sub: Any, add: Add) -> None:
    produce = sub.add_parser("produce", help="publish a source").add_subparsers(
        dest="source", required=True
    )
    pf = add("file", cmd_produce_file, "publish every frame of a video file as a job", produce)
    pf.add_argument("video", type=Path)
    pf.add_argument("--stream-id", required=True)
    pf.add_argument("--json", action="store_true")
    encodings = pf.add_mutually_exclusive_group()
    encodings.add_argument(
        "--copy", dest="encoding", action="store_const", const="copy", help=COPY_HELP
    )
    encodings.add_argument(
        "--jpeg", dest="encoding", action="store_const", const="jpeg", help=JPEG_HELP
    )
    encodings.add_argument(
        "--chunks",
        dest="encoding",
        action="store_const",
        const="h264",
        help="re-encode the file into H.264 video chunks (topic video-chunks)",
    )
    pf.set_defaults(encoding="copy")

    pi = add("images", cmd_produce_images, "publish an image, a folder or a glob as a job", produce)
    pi.add_argument("images", help="an image file, a folder of images, or a quoted glob")
    pi.add_argument("--stream-id", required=True)
    pi.add_argument("--json", action="store_true")

    ps = add("synthetic", cmd_produce_synthetic, "publish a generated scene as a job", produce)
    scene_arguments(ps)
    ps.add_argument("--stream-id", required=True)
    ps.add_argument("--live", action="store_true", help="pace frames at the scene's fps")
    ps.add_argument("--chunks", action="store_true", help=CHUNKS_HELP)

    pc = add(
        "camera",
        cmd_produce_camera,
        "stream live sources until stopped (drops the oldest frames to keep up, reconnects)",
        produce,
    )
    source_help = (
        "[ID=]SOURCE: an rtsp:// or http(s):// URL (MJPEG too), a device index or "
        "/dev/videoN, or synthetic://seed/N"
    )
    pc.add_argument("sources", nargs="*", metavar="SOURCE", help=source_help)
    pc.add_argument("--source", action="append", default=[], help=source_help + " (repeatable)")
    pc.add_argument("--stream-id", help="the stream id of a single source")
    pc.add_argument("--fps", type=_positive, help="publish at most this many frames per second")
    pc.add_argument("--quiet", action="store_true", help="no status line")
    pc.add_argument(
        "--chunks",
        action="store_true",
        help=CHUNKS_HELP + ", cut by capture time (frames leave up to a chunk late)",
    )
