"""Ultralytics set-up for machines without internet: no downloads, no telemetry, all cores."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["configure_ultralytics"]


def configure_ultralytics(config_dir: Path, threads: int | None = None) -> None:
    """Must run before ``ultralytics`` is imported: it reads these at import time.

    Ultralytics pins torch to ``cpu_count - 1`` threads whenever it selects the CPU (one
    thread on a 2-core machine, half its speed); ``threads`` is used instead, else
    ``OMP_NUM_THREADS`` if set (as for several workers on one host), else every core.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    from_env = os.environ.get("OMP_NUM_THREADS", "")
    threads = threads or (int(from_env) if from_env.isdigit() else 0) or os.cpu_count() or 1
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    from ultralytics import settings
    from ultralytics.utils import torch_utils

    settings.update({"sync": False})
    torch_utils.NUM_THREADS = threads  # read by select_device(); no public setting exists
