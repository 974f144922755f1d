"""Following jobs: jobs show, jobs list."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from visiontrack.cli._common import Add, out
from visiontrack.settings import Settings


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
        out(json.dumps(doc, indent=2))
    else:
        total = doc["total_frames"] if doc["total_frames"] is not None else "?"
        out(
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
        out(json.dumps(docs, indent=2))
    for d in [] if args.json else docs:
        out(
            f"{d['id']}  {d['state']:<8} {d['stream_id']:<16} "
            f"{d['frames_processed']}/{d['total_frames']}"
        )
    return 0


def register(sub: Any, add: Add) -> None:
    jobs = sub.add_parser("jobs", help="jobs").add_subparsers(dest="jobs", required=True)
    show = add("show", cmd_jobs_show, "show one job", jobs)
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    lst = add("list", cmd_jobs_list, "list recent jobs", jobs)
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--json", action="store_true")
