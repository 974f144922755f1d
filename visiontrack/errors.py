"""Errors that are the user's to fix: the CLI prints them without a traceback."""

from __future__ import annotations

from infra.broker import BrokerError
from infra.supervisor import StackError
from processors.detection.detector import ModelError
from processors.tracking.embedder import EmbedderError
from producers.frames import EncodeError
from producers.publisher import DeliveryError
from producers.video_file import SourceError
from visiontrack.db import SchemaBehindError
from visiontrack.runtime import NoKafkaError

USER_ERRORS: tuple[type[Exception], ...] = (
    BrokerError,
    DeliveryError,
    EmbedderError,
    EncodeError,
    ModelError,
    NoKafkaError,
    SchemaBehindError,
    SourceError,
    StackError,
)
