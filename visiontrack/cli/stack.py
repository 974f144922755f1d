"""Stack control and single components: up, down, status, worker, api, db, topics."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from typing import Any

from infra.supervisor import api_healthy
from visiontrack.cli._common import Add, out
from visiontrack.settings import Settings


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from infra.supervisor import Stack

    stack = Stack(settings)
    stack.install_signal_handlers()
    state = stack.start()
    out(f"VisionTrack is up (Kafka {state.bootstrap}{' bundled' if state.bundled_broker else ''})")
    out(f"  API        {state.api_url}  (docs: {state.api_url}/docs)")
    if state.dashboard_url:
        out(f"  Dashboard  {state.dashboard_url}")
    out(f"  Logs       {stack.logs_dir}")
    out("Press Ctrl-C or run `visiontrack down` to stop.")
    code = stack.wait()
    stack.stop()
    out("VisionTrack stopped.")
    return code


def cmd_down(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack.runtime import pid_alive, read_state

    state = read_state(settings)
    if state is None:
        out(f"no stack runs from {settings.data_dir}")
        return 0
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [f"{n} ({p})" for n, p in state.children.items() if p and pid_alive(p)]
    if pid_alive(state.pid) or left:
        out(f"stack did not stop within {args.timeout}s; still running: {left or state.pid}")
        return 1
    out("stack stopped")
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
            "api_healthy": api_healthy(state.api_url),
            "uptime_s": round(time.time() - state.started_at, 1),
        }
    if args.json:
        out(json.dumps(report, indent=2))
    elif state is None:
        out(f"not running (data dir {settings.data_dir})")
    else:
        out(f"running since {report['uptime_s']}s, pid {state.pid}, Kafka {state.bootstrap}")
        for name, alive in report["components"].items():
            out(f"  {name:<8} {'up' if alive else 'DOWN'}")
        health = "ok" if report["api_healthy"] else "FAILING"
        out(f"  health   {health} {state.api_url}/health")
    return 0 if state is not None else 3


def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    from processors.worker import run_worker
    from visiontrack.runtime import resolve_bootstrap

    return run_worker(settings, resolve_bootstrap(settings))


def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from visiontrack.db import refuse_a_schema_behind
    from visiontrack.runtime import resolve_bootstrap

    refuse_a_schema_behind(settings.sqlalchemy_url)
    bootstrap = resolve_bootstrap(settings) if settings.sink_in_api else None
    # A full collection of what the API, the dashboard and the sink load walks a quarter
    # of a million objects (110-140 ms on 2 cores), the sink's and the requests' threads stopped.
    app = create_app(settings, bootstrap, freeze_at_startup=True)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None)
    return 0


def cmd_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    from visiontrack.db import create_db_engine, migrate

    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(engine)
    engine.dispose()
    out(f"database at head: {engine.url.render_as_string()}")
    return 0


def cmd_topics_create(settings: Settings, _: argparse.Namespace) -> int:
    from infra.topics import ensure_topics
    from visiontrack.runtime import resolve_bootstrap

    created = ensure_topics(settings, resolve_bootstrap(settings))
    out(f"created: {', '.join(created) or 'none (all exist)'}")
    return 0


def register(sub: Any, add: Add) -> None:
    add("up", cmd_up, "start the stack in the foreground (broker, worker, API, dashboard)")
    add("down", cmd_down, "stop the running stack").add_argument(
        "--timeout", type=float, default=60
    )
    add("status", cmd_status, "tell what runs").add_argument("--json", action="store_true")
    add("worker", cmd_worker, "run one Faust worker")
    add("api", cmd_api, "run the API (with the analytics sink and dashboard when embedded)")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db)
    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="t", required=True)
    add("create", cmd_topics_create, "create the pipeline topics", topics)
