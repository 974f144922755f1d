"""Live sources into Kafka: capture threads that keep up, reconnect, and count what they drop.

Pure pieces (no I/O), with :mod:`~visiontrack.backoff` (reconnect delays):
:mod:`~producers.live.latest` (the drop-oldest queue), :mod:`~producers.live.throttle`
(target frame rate), :mod:`~producers.live.numbers` (frame numbers reserved in blocks) and
:mod:`~producers.live.figures` (counters, rates, rate-limited reports). The edges:
:mod:`~producers.live.stream` (one stream's capture and publish threads) and
:mod:`~producers.live.runner` (several streams in one process, registered in the database).
"""
