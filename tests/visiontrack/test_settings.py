from __future__ import annotations

from pathlib import Path

import pytest

from visiontrack.settings import SettingsError, load_settings


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONTRACK_DATA_DIR", str(tmp_path))
    s = load_settings()
    assert s.kafka_bootstrap_servers is None
    assert s.analytics_dsn == f"chdb://{tmp_path}/analytics"
    assert s.analytics_embedded and s.sink_in_api
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path}/visiontrack.db"


def test_server_dsns_are_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    monkeypatch.setenv("VISIONTRACK_CLICKHOUSE_DSN", "https://user:pw@ch.example:8443/db")
    monkeypatch.setenv("VISIONTRACK_DATABASE_URL", "postgresql+psycopg2://u@db:5432/vt")
    s = load_settings()
    assert s.kafka_bootstrap_servers == "k1:9092,k2:9093"
    assert not s.analytics_embedded
    assert s.sqlalchemy_url.startswith("postgresql")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS", "no-port-here"),
        ("VISIONTRACK_CLICKHOUSE_DSN", "mysql://x"),
        ("VISIONTRACK_CLICKHOUSE_DSN", "chdb://relative/path"),
        ("VISIONTRACK_DATABASE_URL", "mongodb://x"),
        ("VISIONTRACK_DATABASE_URL", "::not a url::"),
        ("VISIONTRACK_MODEL_CONFIDENCE", "1.5"),
        ("VISIONTRACK_TOPIC_PARTITIONS", "zero"),
        ("VISIONTRACK_CLICKHOUSE_DATABASE", "drop table;"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_int8_is_refused_with_a_backend_other_than_openvino(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VISIONTRACK_DETECTOR_INT8", "true")
    monkeypatch.setenv("VISIONTRACK_DETECTOR_BACKEND", "onnx")
    with pytest.raises(SettingsError, match="VISIONTRACK_DETECTOR_INT8 needs"):
        load_settings()
    monkeypatch.setenv("VISIONTRACK_DETECTOR_BACKEND", "openvino")
    assert load_settings().detector_int8
