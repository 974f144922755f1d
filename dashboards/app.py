"""Panel dashboard: jobs and per-stream analytics, refreshed every few seconds.

In embedded mode it runs inside the API process, which owns the analytics store.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import panel as pn

from api.services import ApiServices
from visiontrack import repository

__all__ = ["build_dashboard", "serve_dashboard"]

log = logging.getLogger(__name__)
_JOB_COLUMNS = ["id", "stream_id", "state", "frames_processed", "total_frames", "created_at"]


def _jobs_frame(services: ApiServices) -> pd.DataFrame:
    with services.sessions() as session:
        jobs = repository.list_jobs(session, 100)
        rows = [{c: getattr(j, c) for c in _JOB_COLUMNS} for j in jobs]
    return pd.DataFrame(rows, columns=_JOB_COLUMNS)


def _streams_frame(services: ApiServices) -> pd.DataFrame:
    rows = []
    for stream_id in services.store.stream_ids():
        s = services.store.stream_summary(stream_id)
        counts = ", ".join(f"{k}: {v}" for k, v in s.class_counts.items())
        rows.append(
            {"stream": stream_id, "frames": s.frames, "tracks": s.tracks, "classes": counts}
        )
    return pd.DataFrame(rows, columns=["stream", "frames", "tracks", "classes"])


def build_dashboard(services: ApiServices) -> pn.viewable.Viewable:
    jobs = pn.widgets.Tabulator(_jobs_frame(services), disabled=True, show_index=False)
    streams = pn.widgets.Tabulator(_streams_frame(services), disabled=True, show_index=False)

    def refresh() -> None:
        jobs.value = _jobs_frame(services)
        streams.value = _streams_frame(services)

    pn.state.add_periodic_callback(refresh, period=2000)
    return pn.Column(
        "# VisionTrack",
        "## Streams",
        streams,
        "## Jobs",
        jobs,
        sizing_mode="stretch_width",
    )


def serve_dashboard(services: ApiServices, host: str, port: int) -> Any:
    """Serve the dashboard on a background thread; returns the server thread (``.stop()``)."""
    pn.extension("tabulator")
    return pn.serve(
        {"dashboard": lambda: build_dashboard(services)},
        address=host,
        port=port,
        allow_websocket_origin=[f"{host}:{port}", f"localhost:{port}"],
        show=False,
        threaded=True,
        title="VisionTrack",
    )
