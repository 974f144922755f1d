"""``/metrics`` over HTTP for the processes with no web server of their own (the worker, a
live producer)."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

__all__ = ["serve_metrics"]

log = logging.getLogger(__name__)


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> WSGIServer | None:
    """Serve ``registry`` on ``host:port`` from a daemon thread; None if the port is 0 or
    taken (logged, not fatal: the process's work matters more than its figures)."""
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("metrics not served on %s:%d: %s", host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
