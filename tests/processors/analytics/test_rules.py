"""Rule configuration: validation with clear messages, and a lossless dict round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from processors.analytics import LineRule, StreamRules, ZoneRule


def _config() -> dict[str, Any]:
    return {
        "lines": [
            {"id": "door", "name": "Door", "start": [0, 100], "end": [200, 100]},
            {
                "id": "gate",
                "name": "Gate",
                "start": [5.5, 0],
                "end": [5.5, 50],
                "margin_px": 3,
                "anchor": "center",
                "classes": ["person", "car"],
            },
        ],
        "zones": [
            {
                "id": "lobby",
                "name": "Lobby",
                "polygon": [[0, 0], [10, 0], [10, 10]],
                "classes": None,
                "min_frames_in": 1,
                "min_frames_out": 5,
            }
        ],
    }


def test_from_dict_applies_defaults_and_normalises() -> None:
    rules = StreamRules.from_dict(_config())
    door, gate = rules.lines
    assert door == LineRule("door", "Door", (0.0, 100.0), (200.0, 100.0))
    assert door.margin_px == 8.0 and door.anchor == "bottom_center" and door.classes is None
    assert gate.classes == frozenset({"person", "car"})
    zone = rules.zones[0]
    assert zone.polygon == ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0))
    assert (zone.min_frames_in, zone.min_frames_out) == (1, 5)


def test_round_trip_through_json() -> None:
    rules = StreamRules.from_dict(_config())
    data = json.loads(json.dumps(rules.to_dict()))
    assert StreamRules.from_dict(data) == rules
    assert data["lines"][1]["classes"] == ["car", "person"]  # sorted, stable
    assert data["lines"][0]["margin_px"] == 8.0  # defaults are written out


def test_empty_config_means_no_rules() -> None:
    assert StreamRules.from_dict({}) == StreamRules()
    assert StreamRules().to_dict() == {"lines": [], "zones": []}


def test_direct_construction_accepts_lists() -> None:
    rule = ZoneRule("z", "Z", [[0, 0], [4, 0], [0, 4]], classes=["dog"])  # type: ignore[arg-type]
    assert rule.polygon == ((0.0, 0.0), (4.0, 0.0), (0.0, 4.0))
    assert rule.classes == frozenset({"dog"})


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as info:
        StreamRules.from_dict(config)
    return str(info.value)


def test_unknown_keys_are_named() -> None:
    config = _config()
    config["lines"][0]["margin"] = 4
    config["lines"][0]["colour"] = "red"
    assert _error(config) == "line 'door': unknown key(s) colour, margin"
    assert "unknown key(s) counters" in _error({"lines": [], "counters": []})


def test_missing_keys_are_named() -> None:
    config = _config()
    del config["zones"][0]["polygon"]
    assert _error(config) == "zone 'lobby': missing key(s) polygon"


def test_duplicate_ids_across_lines_and_zones() -> None:
    config = _config()
    config["zones"][0]["id"] = "door"
    config["lines"][1]["id"] = "door"
    assert _error(config) == "duplicate rule id(s): door"


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        ("lines", {"end": [0, 100]}, "start and end must differ"),
        ("lines", {"start": [0]}, r"start must be an \[x, y\] pair"),
        ("lines", {"start": [0, "1"]}, "start.y must be a finite number"),
        ("lines", {"start": [True, 1]}, "start.x must be a finite number"),
        ("lines", {"end": [1, float("inf")]}, "end.y must be a finite number"),
        ("lines", {"margin_px": -1}, "margin_px must be ≥ 0"),
        ("lines", {"anchor": "top"}, "anchor must be one of bottom_center, center"),
        ("lines", {"classes": []}, "classes must not be empty"),
        ("lines", {"classes": "person"}, "classes must be a list"),
        ("lines", {"id": ""}, "line id must be a non-empty string"),
        ("lines", {"name": None}, "name must be a string"),
        ("zones", {"polygon": [[0, 0], [1, 1]]}, "zone 'lobby': a polygon needs at least 3"),
        ("zones", {"polygon": [[0, 0], [1, 1], [2, 2]]}, "zero area"),
        ("zones", {"polygon": "square"}, "polygon must be a list"),
        ("zones", {"min_frames_in": 0}, "min_frames_in must be an integer ≥ 1"),
        ("zones", {"min_frames_out": 1.5}, "min_frames_out must be an integer ≥ 1"),
    ],
)
def test_invalid_values(kind: str, change: dict[str, Any], message: str) -> None:
    config = _config()
    config[kind][0].update(change)
    with pytest.raises(ValueError, match=message):
        StreamRules.from_dict(config)


@pytest.mark.parametrize("config", [{"lines": {}}, {"zones": [3]}, {"lines": ["door"]}])
def test_wrong_shapes(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        StreamRules.from_dict(config)
