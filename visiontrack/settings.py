"""Process settings, read once from ``VISIONTRACK_*`` environment variables.

Every deployable (worker, API, producer, CLI) builds one :class:`Settings` through
:func:`get_settings` at start and passes it down; nothing reads the environment later.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "TopicNames", "get_settings"]

_BOOTSTRAP_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
_CLICKHOUSE_SCHEMES = ("chdb://", "http://", "https://")
_DATABASE_SCHEMES = ("sqlite", "postgresql")


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class TopicNames(BaseSettings):
    """Kafka topic names; every topic is keyed by stream id."""

    model_config = SettingsConfigDict(env_prefix="VISIONTRACK_TOPIC_", extra="forbid")

    frames: str = "visiontrack.frames"
    video_chunks: str = "visiontrack.video-chunks"
    tracks: str = "visiontrack.tracks"
    job_progress: str = "visiontrack.job-progress"
    dead_letter: str = "visiontrack.dead-letter"
    events: str = "visiontrack.events"


class Settings(BaseSettings):
    """All settings of a VisionTrack process. Environment prefix: ``VISIONTRACK_``."""

    model_config = SettingsConfigDict(env_prefix="VISIONTRACK_", extra="ignore")

    data_dir: Path = Field(default=Path(".visiontrack"))
    kafka_bootstrap_servers: str | None = None
    clickhouse_dsn: str | None = None
    clickhouse_database: str = "visiontrack"
    database_url: str | None = None

    model: str | None = None  # unset: the bundled sample detector
    # torch runs .pt weights as they are; onnx / openvino run an export of them, made once
    # under <data dir>/models (or VISIONTRACK_MODEL names an export directly).
    detector_backend: Literal["torch", "onnx", "openvino"] = "torch"
    # openvino only: run an INT8 export, calibrated on the val images of the YOLO dataset
    # detector_int8_data (unset: generated scenes, for the bundled sample detector only).
    detector_int8: bool = False
    detector_int8_data: Path | None = None
    model_confidence: float | None = Field(default=None, gt=0.0, le=1.0)
    model_imgsz: int | None = Field(default=None, ge=32, le=4096)  # unset: the model's own
    model_max_detections: int | None = Field(default=None, ge=1, le=1000)
    device: str = "cpu"
    tracker_min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)  # by model
    tracker_max_age: int = Field(default=30, ge=1)
    tracker_n_init: int = Field(default=3, ge=1)
    # "sample" (unset): the bundled re-id network; "mobilenetv2"; or a path to re-id weights.
    embedder: str | None = None
    # What runs "mobilenetv2": torch, or an export of it (onnx / openvino) made once under
    # <data dir>/models. The sample and trained re-id networks run in torch or, with
    # openvino, compiled by OpenVINO at the CPU's precision (bf16 where it has it); onnx
    # with them is refused at start.
    embedder_backend: Literal["torch", "onnx", "openvino"] = "torch"
    # openvino only, re-id networks only: run the network quantized to INT8 by NNCF on
    # generated scenes, made once under <data dir>/models.
    embedder_int8: bool = False
    tracker_max_cosine_distance: float | None = Field(default=None, gt=0.0, le=2.0)  # by embedder
    # Kalman gate on the box centre only: a box cut short by an occluder still matches its
    # track by appearance (validation scenes: ID switches 59 -> 41, IDF1 unchanged).
    tracker_gating_only_position: bool = True
    # Appearance samples kept per confirmed track (DeepSORT's nn_budget; its own default is
    # unbounded): bounds a long-lived track's memory, matching cost and snapshot. Target
    # set IDF1: 0.851 unbounded (= 300 there), 0.848 at 100, 0.840 at 30.
    tracker_gallery_budget: int = Field(default=300, ge=1, le=10_000)
    # Each stream's tracker is snapshotted to a Faust table at least this often (in frames);
    # the inputs of the frames in between are journaled, and replayed after a restore.
    tracker_snapshot_every_frames: int = Field(default=100, ge=1, le=10_000)
    # Streams tracked by motion alone (no appearance embeddings: cheaper, weaker through
    # occlusions), as comma-separated fnmatch patterns of stream ids ("lobby-*,door-2").
    tracker_motion_only_streams: str = ""

    topics: TopicNames = Field(default_factory=TopicNames)
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    topic_replication_factor: int = Field(default=1, ge=1)
    message_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024 * 1024)
    jpeg_quality: int = Field(default=90, ge=10, le=100)
    # A frame message, JPEG included, never exceeds this: larger frames are scaled down.
    frame_max_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    # Video chunks (`produce file|synthetic --chunks`): cut after this many seconds or once
    # this many bytes are encoded; x264 constant rate factor (lower is better and bigger).
    chunk_seconds: float = Field(default=2.0, gt=0, le=60)
    chunk_max_bytes: int = Field(default=2 * 1024 * 1024, ge=16 * 1024)
    chunk_crf: int = Field(default=23, ge=0, le=51)
    # Live sources: frames waiting between capture and publishing (oldest dropped when full),
    # frames a stream may have awaiting the broker's acknowledgement before publishing waits
    # (and capture drops), reconnect backoff, how often live figures are stored, how long a
    # read may block.
    live_queue_frames: int = Field(default=4, ge=1, le=1024)
    live_max_in_flight: int = Field(default=30, ge=1, le=100_000)
    live_reconnect_initial_s: float = Field(default=0.5, gt=0)
    live_reconnect_max_s: float = Field(default=30.0, gt=0)
    live_status_interval_s: float = Field(default=5.0, gt=0)
    live_read_timeout_s: float = Field(default=10.0, gt=0)
    # Prometheus /metrics of a live producer (`produce camera`); port 0 turns it off.
    live_metrics_host: str = "127.0.0.1"
    live_metrics_port: int = Field(default=9465, ge=0, le=65535)

    worker_id: str = "visiontrack-worker"
    # Prometheus /metrics of the worker; port 0 turns it off.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # How often the worker updates its consumer metrics (lag, records dropped and read again).
    worker_lag_interval_s: float = Field(default=5.0, gt=0)
    # Frames of all the worker's streams are detected together: up to this many at once,
    # waiting at most this long for a batch to fill (the latency a quiet stream pays).
    batch_max_frames: int = Field(default=8, ge=1, le=256)
    batch_max_wait_s: float = Field(default=0.02, gt=0, le=5)
    # Detector batches the frames agent takes from its stream at once. They run back to
    # back on the models thread while the event loop sends each one's tracks; the tracker
    # state is recorded and the frames acknowledged once per take, after all its tracks are
    # delivered. 1: a batch at a time, the models waiting for each batch's delivery.
    batches_per_take: int = Field(default=4, ge=1, le=64)
    # How often the worker reloads each stream's line and zone rules from the database.
    analytics_rules_refresh_s: float = Field(default=5.0, gt=0)
    # How long a consumer's fetch waits at the broker for records to arrive (worker and
    # sink). Apache Kafka answers as soon as a record arrives, so this only bounds idle
    # polls; the bundled broker answers only when the wait expires, so with it this is
    # the delay a quiet stream's frame waits before the worker sees it.
    consumer_fetch_max_wait_ms: int = Field(default=100, ge=1, le=30_000)
    broker_session_timeout_s: float = Field(default=10.0, gt=0)
    broker_heartbeat_interval_s: float = Field(default=2.0, gt=0)
    worker_producer_max_batch_size: int = Field(default=16384, ge=1)
    # How long the worker's producer holds a record for others to share its request: a
    # batch's tracks then go in one produce request instead of one request each.
    worker_producer_linger_s: float = Field(default=0.005, ge=0, le=1)

    sink_group_id: str = "visiontrack-analytics-sink"
    sink_batch_size: int = Field(default=1000, ge=1)
    sink_batch_interval_s: float = Field(default=0.5, gt=0)
    # A batch that cannot be stored is retried after this backoff (full jitter, doubling).
    sink_retry_initial_s: float = Field(default=0.5, gt=0)
    sink_retry_max_s: float = Field(default=30.0, gt=0)
    run_sink_in_api: bool | None = None

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    dashboard_port: int = Field(default=5006, ge=0, le=65535)
    dashboard_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        servers = [s.strip() for s in value.split(",") if s.strip()]
        bad = [s for s in servers if not _BOOTSTRAP_RE.match(s)]
        if bad:
            raise ValueError(f"expected host:port[,host:port...], got {', '.join(bad)!r}")
        return ",".join(servers)

    @field_validator("clickhouse_dsn")
    @classmethod
    def _check_clickhouse_dsn(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(_CLICKHOUSE_SCHEMES):
            raise ValueError(f"expected a chdb:///path, http:// or https:// DSN, got {value!r}")
        if value.startswith("chdb://") and not value.removeprefix("chdb://").startswith("/"):
            raise ValueError(f"a chdb DSN needs an absolute path (chdb:///abs/path), got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in _DATABASE_SCHEMES:
            raise ValueError(f"expected a sqlite:// or postgresql:// URL, got {value!r}")
        return value

    @field_validator("clickhouse_database")
    @classmethod
    def _check_identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"not a plain identifier: {value!r}")
        return value

    @model_validator(mode="after")
    def _check_int8(self) -> Settings:
        if self.detector_int8 and self.detector_backend != "openvino":
            raise ValueError(
                "VISIONTRACK_DETECTOR_INT8 needs VISIONTRACK_DETECTOR_BACKEND=openvino, "
                f"not {self.detector_backend}"
            )
        if self.embedder_int8 and self.embedder_backend != "openvino":
            raise ValueError(
                "VISIONTRACK_EMBEDDER_INT8 needs VISIONTRACK_EMBEDDER_BACKEND=openvino, "
                f"not {self.embedder_backend}"
            )
        return self

    @model_validator(mode="after")
    def _absolute_data_dir(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        return self

    # Derived values -------------------------------------------------------------------

    def motion_only(self, stream_id: str) -> bool:
        """Whether ``tracker_motion_only_streams`` names the stream."""
        patterns = [p.strip() for p in self.tracker_motion_only_streams.split(",") if p.strip()]
        return any(fnmatch.fnmatchcase(stream_id, p) for p in patterns)

    @property
    def analytics_dsn(self) -> str:
        """The ClickHouse DSN in force: the configured one or the embedded engine's."""
        return self.clickhouse_dsn or f"chdb://{self.data_dir / 'analytics'}"

    @property
    def analytics_embedded(self) -> bool:
        return self.analytics_dsn.startswith("chdb://")

    @property
    def sink_in_api(self) -> bool:
        """Whether the API process runs the analytics sink (forced when embedded)."""
        if self.analytics_embedded:
            return True
        return True if self.run_sink_in_api is None else self.run_sink_in_api

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'visiontrack.db'}"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    def to_env(self) -> dict[str, str]:
        """These settings as ``VISIONTRACK_*`` variables, to hand to a child process."""
        env = {
            f"VISIONTRACK_TOPIC_{name.upper()}": str(value)
            for name, value in self.topics.model_dump().items()
        }
        for name, value in self.model_dump(exclude={"topics"}).items():
            if value is not None:
                env[f"VISIONTRACK_{name.upper()}"] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
        return env


def _setting_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "topics":
        return "VISIONTRACK_TOPIC_" + "_".join(parts[1:]).upper()
    return "VISIONTRACK_" + "_".join(parts).upper()


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"{_setting_name(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()
