"""Schema tests run on both engines the project supports."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, then a Postgres database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vt.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
