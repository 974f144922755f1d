"""Analytics rules through the API: stored normalized, validated with useful 422s, cleared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.models import LineRuleOut, ZoneRuleOut
from api.services import ApiServices
from processors.analytics.rules import LineRule, ZoneRule
from visiontrack import repository
from visiontrack.analytics_store import AnalyticsStore
from visiontrack.db import create_db_engine, migrate, session_factory, session_scope
from visiontrack.settings import Settings

LINE = {"id": "door", "name": "Door", "start": [100, 400], "end": [540, 400]}
ZONE = {
    "id": "queue",
    "name": "Queue",
    "polygon": [[600, 300], [900, 300], [900, 700]],
    "classes": ["person", "bag"],
    "min_frames_in": 3,
}


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'vt.db'}")
    migrate(engine)
    factory = session_factory(engine)
    with session_scope(factory) as s:
        repository.register_stream(s, "cam", "camera", "rtsp://x/1")
        repository.register_stream(s, "other", "camera", "rtsp://x/2")
    yield factory
    engine.dispose()


@pytest.fixture
def api(
    sessions: sessionmaker[Session],
    make_settings: Callable[..., Settings],
    analytics_store: AnalyticsStore,
) -> Iterator[TestClient]:
    settings = make_settings()
    services = ApiServices(settings, sessions.kw["bind"], sessions, analytics_store, None)
    with TestClient(create_app(settings, None, services)) as client:
        yield client


def _put(api: TestClient, rules: dict[str, Any], stream_id: str = "cam") -> Any:
    return api.put(f"/v1/streams/{stream_id}/rules", json=rules)


def test_a_line_and_a_zone_round_trip_normalized(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    assert api.get("/v1/streams/cam/rules").json() == {"lines": [], "zones": []}
    resp = _put(api, {"lines": [LINE], "zones": [ZONE]})
    assert resp.status_code == 200, resp.text
    expected = {
        "lines": [
            {
                "id": "door",
                "name": "Door",
                "start": [100.0, 400.0],
                "end": [540.0, 400.0],
                "margin_px": 8.0,
                "anchor": "bottom_center",
                "classes": None,
            }
        ],
        "zones": [
            {
                "id": "queue",
                "name": "Queue",
                "polygon": [[600.0, 300.0], [900.0, 300.0], [900.0, 700.0]],
                "anchor": "bottom_center",
                "classes": ["bag", "person"],
                "min_frames_in": 3,
                "min_frames_out": 2,
            }
        ],
    }
    assert resp.json() == expected
    assert api.get("/v1/streams/cam/rules").json() == expected
    with session_scope(sessions) as s:
        assert repository.analytics_rules(s) == {"cam": expected}  # what the worker reads
    stream = api.get("/v1/streams/cam").json()
    assert stream["has_rules"] is True and stream["rules_updated_at"] is not None
    assert api.get("/v1/streams/other").json()["has_rules"] is False


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"zones": [{"id": "z", "name": "", "polygon": [[0, 0], [5, 5]]}]},
            "zone 'z': a polygon needs at least 3 points, got 2",
        ),
        ({"lines": [LINE | {"margin": 4}]}, "line 'door': unknown key(s) margin"),
        ({"lines": [LINE], "zone": []}, "stream rules: unknown key(s) zone"),
        ({"lines": [LINE], "zones": [ZONE | {"id": "door"}]}, "duplicate rule id(s): door"),
    ],
)
def test_an_invalid_configuration_is_a_422_saying_why_and_keeps_the_rules(
    api: TestClient, rules: dict[str, Any], message: str
) -> None:
    assert _put(api, {"lines": [LINE]}).status_code == 200
    resp = _put(api, rules)
    assert resp.status_code == 422
    assert resp.json() == {"detail": message}
    assert [line["id"] for line in api.get("/v1/streams/cam/rules").json()["lines"]] == ["door"]


def test_an_unknown_stream_is_a_404_naming_it(api: TestClient) -> None:
    for resp in (
        api.get("/v1/streams/nope/rules"),
        _put(api, {"lines": [LINE]}, stream_id="nope"),
        api.delete("/v1/streams/nope/rules"),
    ):
        assert resp.status_code == 404
        assert resp.json() == {"detail": "no stream 'nope'"}


def test_delete_and_empty_rules_clear_them(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    _put(api, {"lines": [LINE]})
    _put(api, {"zones": [ZONE]}, stream_id="other")
    resp = api.delete("/v1/streams/cam/rules")
    assert resp.status_code == 204 and resp.content == b""
    assert api.get("/v1/streams/cam/rules").json() == {"lines": [], "zones": []}
    with session_scope(sessions) as s:
        assert set(repository.analytics_rules(s)) == {"other"}
    assert _put(api, {"lines": [], "zones": []}, stream_id="other").status_code == 200
    with session_scope(sessions) as s:
        assert repository.analytics_rules(s) == {}
    assert api.get("/v1/streams/other").json()["has_rules"] is False


def test_the_response_models_show_every_field_the_rules_store() -> None:
    """The response models drop what they do not declare: they must follow ``to_dict``."""
    line = LineRule.from_dict(LINE)
    zone = ZoneRule.from_dict(ZONE)
    assert set(LineRuleOut.model_fields) == set(line.to_dict())
    assert set(ZoneRuleOut.model_fields) == set(zone.to_dict())


def test_the_rules_endpoints_are_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    rules = paths["/v1/streams/{stream_id}/rules"]
    assert set(rules) == {"get", "put", "delete"}
    assert '"in"' in rules["put"]["description"] and "left" in rules["put"]["description"]
