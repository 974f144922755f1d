"""Fixtures shared by the processors' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from processors.detection.ultralytics_env import configure_ultralytics


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where a module's detector exports go, with Ultralytics kept in a scratch folder."""
    configure_ultralytics(tmp_path_factory.mktemp("ultralytics"))
    yield tmp_path_factory.mktemp("models")
