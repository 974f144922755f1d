"""``visiontrack``: the command line. Each subcommand is a thin edge over the packages."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from visiontrack.logging import configure_logging
from visiontrack.settings import Settings, SettingsError, get_settings

log = logging.getLogger("visiontrack")

Handler = Callable[[Settings, argparse.Namespace], int]


def _out(text: str = "") -> None:
    """User-facing output of the CLI."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# Stack control ---------------------------------------------------------------------------


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from infra.supervisor import Stack

    stack = Stack(settings)
    stack.install_signal_handlers()
    state = stack.start()
    _out(f"VisionTrack is up (Kafka {state.bootstrap}{' bundled' if state.bundled_broker else ''})")
    _out(f"  API        {state.api_url}  (docs: {state.api_url}/docs)")
    if state.dashboard_url:
        _out(f"  Dashboard  {state.dashboard_url}")
    _out(f"  Logs       {stack.logs_dir}")
    _out("Press Ctrl-C or run `visiontrack down` to stop.")
    code = stack.wait()
    stack.stop()
    _out("VisionTrack stopped.")
    return code


def cmd_down(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack.runtime import pid_alive, read_state

    state = read_state(settings)
    if state is None:
        _out(f"no stack runs from {settings.data_dir}")
        return 0
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [f"{n} ({p})" for n, p in state.children.items() if p and pid_alive(p)]
    if pid_alive(state.pid) or left:
        _out(f"stack did not stop within {args.timeout}s; still running: {left or state.pid}")
        return 1
    _out("stack stopped")
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack.runtime import pid_alive, read_state

    state = read_state(settings)
    report: dict[str, Any] = {"running": state is not None, "data_dir": str(settings.data_dir)}
    if state is not None:
        report |= {
            "pid": state.pid,
            "kafka": state.bootstrap,
            "bundled_broker": state.bundled_broker,
            "api_url": state.api_url,
            "dashboard_url": state.dashboard_url,
            "components": {n: pid_alive(p) for n, p in state.children.items()},
            "api_healthy": _api_health(state.api_url),
            "uptime_s": round(time.time() - state.started_at, 1),
        }
    if args.json:
        _out(json.dumps(report, indent=2))
    elif state is None:
        _out(f"not running (data dir {settings.data_dir})")
    else:
        _out(f"running since {report['uptime_s']}s, pid {state.pid}, Kafka {state.bootstrap}")
        for name, alive in report["components"].items():
            _out(f"  {name:<8} {'up' if alive else 'DOWN'}")
        health = "ok" if report["api_healthy"] else "FAILING"
        _out(f"  health   {health} {state.api_url}/health")
    return 0 if state is not None else 3


def _api_health(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=3) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


# Components ------------------------------------------------------------------------------


def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    from processors.worker import run_worker
    from visiontrack.runtime import resolve_bootstrap

    return run_worker(settings, resolve_bootstrap(settings))


def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from visiontrack.runtime import resolve_bootstrap

    bootstrap = resolve_bootstrap(settings) if settings.sink_in_api else None
    app = create_app(settings, bootstrap)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None)
    return 0


def cmd_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    from visiontrack.db import create_db_engine, migrate

    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(engine)
    engine.dispose()
    _out(f"database at head: {engine.url.render_as_string()}")
    return 0


def cmd_topics_create(settings: Settings, _: argparse.Namespace) -> int:
    from infra.topics import ensure_topics
    from visiontrack.runtime import resolve_bootstrap

    created = ensure_topics(settings, resolve_bootstrap(settings))
    _out(f"created: {', '.join(created) or 'none (all exist)'}")
    return 0


# Producers and jobs ----------------------------------------------------------------------


def cmd_produce_file(settings: Settings, args: argparse.Namespace) -> int:
    from producers.file_job import publish_file
    from visiontrack.db import create_db_engine, session_factory
    from visiontrack.runtime import resolve_bootstrap

    bootstrap = resolve_bootstrap(settings)
    engine = create_db_engine(settings.sqlalchemy_url)
    result = publish_file(
        settings, bootstrap, session_factory(engine), path=args.video, stream_id=args.stream_id
    )
    engine.dispose()
    if args.json:
        _out(
            json.dumps(
                {"job_id": result.job_id, "stream_id": result.stream_id, "frames": result.frames}
            )
        )
    else:
        _out(f"published {result.frames} frames of {args.video} on stream {result.stream_id}")
        _out(f"job {result.job_id}: follow with `visiontrack jobs show {result.job_id}`")
    return 0


def _job_dict(job: Any) -> dict[str, Any]:
    from api.models import JobOut

    return JobOut.model_validate(job).model_dump(mode="json")


def cmd_jobs_show(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack import repository
    from visiontrack.db import create_db_engine, session_factory

    engine = create_db_engine(settings.sqlalchemy_url)
    with session_factory(engine)() as session:
        job = repository.get_job(session, args.job_id)
        doc = _job_dict(job) if job is not None else None
    engine.dispose()
    if doc is None:
        sys.stderr.write(f"no job {args.job_id!r}\n")
        return 1
    if args.json:
        _out(json.dumps(doc, indent=2))
    else:
        total = doc["total_frames"] if doc["total_frames"] is not None else "?"
        _out(
            f"job {doc['id']} [{doc['state']}] stream {doc['stream_id']}: "
            f"{doc['frames_processed']}/{total} frames processed"
        )
    return 0


def cmd_jobs_list(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack import repository
    from visiontrack.db import create_db_engine, session_factory

    engine = create_db_engine(settings.sqlalchemy_url)
    with session_factory(engine)() as session:
        docs = [_job_dict(j) for j in repository.list_jobs(session, args.limit)]
    engine.dispose()
    if args.json:
        _out(json.dumps(docs, indent=2))
    for d in [] if args.json else docs:
        _out(
            f"{d['id']}  {d['state']:<8} {d['stream_id']:<16} "
            f"{d['frames_processed']}/{d['total_frames']}"
        )
    return 0


def cmd_model_train_sample(settings: Settings, args: argparse.Namespace) -> int:
    from processors.detection.training import SAMPLE_WEIGHTS, TrainPlan, train_sample_detector

    plan = TrainPlan(
        train_seeds=tuple(range(args.first_seed, args.first_seed + args.scenes)),
        epochs=args.epochs,
        imgsz=args.imgsz,
        stride=args.stride,
        seed=args.seed,
    )
    work_dir = args.work_dir or settings.data_dir / "training"
    result = train_sample_detector(plan, work_dir, args.out or SAMPLE_WEIGHTS)
    _out(
        f"trained on {result.train_images} images in {result.duration_s / 60:.1f} min; "
        f"validation mAP50 {result.map50:.3f}, mAP50-95 {result.map50_95:.3f}"
    )
    _out(f"weights: {result.weights} ({result.weights.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack.demo import run_demo

    return run_demo(settings, args.video, args.stream_id, serve=not args.no_serve)


# Parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visiontrack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, help_: str, into: Any = sub) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = into.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    add("up", cmd_up, "start the stack in the foreground (broker, worker, API, dashboard)")
    add("down", cmd_down, "stop the running stack").add_argument(
        "--timeout", type=float, default=60
    )
    add("status", cmd_status, "tell what runs").add_argument("--json", action="store_true")
    add("worker", cmd_worker, "run one Faust worker")
    add("api", cmd_api, "run the API (with the analytics sink and dashboard when embedded)")

    demo = add("demo", cmd_demo, "run a sample video through the stack and keep serving")
    demo.add_argument("--video", type=Path, default=None, help="default: bikes.mp4")
    demo.add_argument("--stream-id", default="demo-bikes")
    demo.add_argument("--no-serve", action="store_true", help="stop after the summary")

    model = sub.add_parser("model", help="detection models").add_subparsers(
        dest="model", required=True
    )
    train = add("train-sample", cmd_model_train_sample, "train the offline sample detector", model)
    train.add_argument("--scenes", type=int, default=50, help="training scenes (seeds)")
    train.add_argument("--first-seed", type=int, default=1000)
    train.add_argument("--stride", type=int, default=10, help="keep every N-th frame")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--imgsz", type=int, default=320)
    train.add_argument("--seed", type=int, default=0, help="training seed")
    train.add_argument("--work-dir", type=Path, default=None)
    train.add_argument("--out", type=Path, default=None, help="default: the bundled weights")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db)
    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="t", required=True)
    add("create", cmd_topics_create, "create the pipeline topics", topics)

    produce = sub.add_parser("produce", help="publish a source").add_subparsers(
        dest="source", required=True
    )
    pf = add("file", cmd_produce_file, "publish every frame of a video file as a job", produce)
    pf.add_argument("video", type=Path)
    pf.add_argument("--stream-id", required=True)
    pf.add_argument("--json", action="store_true")

    jobs = sub.add_parser("jobs", help="jobs").add_subparsers(dest="jobs", required=True)
    show = add("show", cmd_jobs_show, "show one job", jobs)
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    lst = add("list", cmd_jobs_list, "list recent jobs", jobs)
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        sys.stderr.write(f"visiontrack: {exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    handler: Handler = args.handler
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from visiontrack.errors import USER_ERRORS

        if isinstance(exc, USER_ERRORS):
            sys.stderr.write(f"visiontrack: {exc}\n")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
