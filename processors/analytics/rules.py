"""Per-stream analytics rules: counting lines and zones, stored as JSON in the stream config.

Rules are frozen and validated on construction, so a bad configuration fails loudly when it
is saved or loaded, never halfway through a frame. Coordinates are pixels of the source
frame (the same space as track boxes). ``from_dict`` rejects unknown keys by name, so a typo
such as ``"margin"`` for ``"margin_px"`` cannot silently fall back to the default. Rule ids
are unique across lines and zones, because events name their rule by id alone.

``classes`` limits a rule to tracks of those class names; None means every class.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.analytics.geometry import ANCHORS, Anchor, Point, validate_polygon

__all__ = ["LineRule", "StreamRules", "ZoneRule"]


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _integer(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _text(value: object, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise ValueError(f"{where} must be a {'' if empty else 'non-empty '}string")
    return value


def _point(value: object, where: str) -> Point:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{where} must be an [x, y] pair, got {value!r}")
    return (_number(value[0], f"{where}.x"), _number(value[1], f"{where}.y"))


def _anchor(value: object, where: str) -> Anchor:
    if value not in ANCHORS:
        raise ValueError(f"{where} must be one of {', '.join(ANCHORS)}, got {value!r}")
    return value


def _classes(value: object, where: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{where} must be a list of class names or null")
    names = frozenset(_text(name, f"{where} item") for name in value)
    if not names:
        raise ValueError(f"{where} must not be empty (use null for every class)")
    return names


def _fields(data: object, kind: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    """``data`` as keyword arguments, after checking its keys; errors name the rule."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{kind} must be an object, got {type(data).__name__}")
    where = f"{kind} {data['id']!r}" if "id" in data else kind
    unknown = sorted(map(str, set(data) - allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    missing = sorted(required - set(data))
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
    return dict(data)


@dataclass(frozen=True, slots=True)
class LineRule:
    """A directed counting segment start→end; see :mod:`processors.analytics.lines`."""

    id: str
    name: str
    start: Point
    end: Point
    margin_px: float = 8.0
    anchor: Anchor = "bottom_center"
    classes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        where = f"line {self.id!r}"
        _text(self.id, "line id")
        _text(self.name, f"{where} name", empty=True)
        object.__setattr__(self, "start", _point(self.start, f"{where} start"))
        object.__setattr__(self, "end", _point(self.end, f"{where} end"))
        if self.start == self.end:
            raise ValueError(f"{where}: start and end must differ")
        margin = _number(self.margin_px, f"{where} margin_px")
        if margin < 0:
            raise ValueError(f"{where}: margin_px must be ≥ 0, got {margin}")
        object.__setattr__(self, "margin_px", margin)
        _anchor(self.anchor, f"{where} anchor")
        object.__setattr__(self, "classes", _classes(self.classes, f"{where} classes"))

    def accepts(self, class_name: str) -> bool:
        return self.classes is None or class_name in self.classes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "start": list(self.start),
            "end": list(self.end),
            "margin_px": self.margin_px,
            "anchor": self.anchor,
            "classes": None if self.classes is None else sorted(self.classes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineRule:
        allowed = {"id", "name", "start", "end", "margin_px", "anchor", "classes"}
        return cls(**_fields(data, "line", allowed, {"id", "name", "start", "end"}))


@dataclass(frozen=True, slots=True)
class ZoneRule:
    """A polygon zone with enter/exit hysteresis; see :mod:`processors.analytics.zones`."""

    id: str
    name: str
    polygon: tuple[Point, ...]
    anchor: Anchor = "bottom_center"
    classes: frozenset[str] | None = None
    min_frames_in: int = 2
    min_frames_out: int = 2

    def __post_init__(self) -> None:
        where = f"zone {self.id!r}"
        _text(self.id, "zone id")
        _text(self.name, f"{where} name", empty=True)
        if not isinstance(self.polygon, list | tuple):
            raise ValueError(f"{where}: polygon must be a list of [x, y] points")
        points = tuple(_point(p, f"{where} polygon[{i}]") for i, p in enumerate(self.polygon))
        try:
            validate_polygon(points)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        object.__setattr__(self, "polygon", points)
        _anchor(self.anchor, f"{where} anchor")
        object.__setattr__(self, "classes", _classes(self.classes, f"{where} classes"))
        _integer(self.min_frames_in, f"{where} min_frames_in", 1)
        _integer(self.min_frames_out, f"{where} min_frames_out", 1)

    def accepts(self, class_name: str) -> bool:
        return self.classes is None or class_name in self.classes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "polygon": [list(p) for p in self.polygon],
            "anchor": self.anchor,
            "classes": None if self.classes is None else sorted(self.classes),
            "min_frames_in": self.min_frames_in,
            "min_frames_out": self.min_frames_out,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZoneRule:
        allowed = {"id", "name", "polygon", "anchor", "classes", "min_frames_in", "min_frames_out"}
        return cls(**_fields(data, "zone", allowed, {"id", "name", "polygon"}))


@dataclass(frozen=True, slots=True)
class StreamRules:
    """All rules of one stream, applied in this order (lines first, then zones)."""

    lines: tuple[LineRule, ...] = ()
    zones: tuple[ZoneRule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "zones", tuple(self.zones))
        if not all(isinstance(rule, LineRule) for rule in self.lines):
            raise ValueError("lines must be LineRule instances")
        if not all(isinstance(rule, ZoneRule) for rule in self.zones):
            raise ValueError("zones must be ZoneRule instances")
        every: tuple[LineRule | ZoneRule, ...] = (*self.lines, *self.zones)
        ids = [rule.id for rule in every]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule id(s): {', '.join(duplicates)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": [rule.to_dict() for rule in self.lines],
            "zones": [rule.to_dict() for rule in self.zones],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamRules:
        """Parse ``{"lines": [...], "zones": [...]}``; either list may be left out."""
        fields = _fields(data, "stream rules", {"lines", "zones"}, set())
        lines, zones = fields.get("lines", []), fields.get("zones", [])
        for key, value in (("lines", lines), ("zones", zones)):
            if not isinstance(value, list | tuple):
                raise ValueError(f"stream rules: {key} must be a list")
        return cls(
            lines=tuple(LineRule.from_dict(item) for item in lines),
            zones=tuple(ZoneRule.from_dict(item) for item in zones),
        )
