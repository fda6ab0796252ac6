"""Prometheus metrics of the room hub: counts and timings, never message text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RoomMetrics:
    """The hub's metrics in their own registry (one per hub)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.connections = Gauge(
            "accord_room_connections",
            "Socket.IO connections open to the room namespace in this process.",
            registry=self.registry,
        )
        self.sessions = Gauge(
            "accord_room_sessions",
            "Sessions with at least one connection in this process.",
            registry=self.registry,
        )
        self.events = Counter(
            "accord_room_events",
            "Room events handled, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "accord_room_errors",
            "Room events refused, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.lines = Counter(
            "accord_room_lines",
            "Transcript lines written, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "accord_room_handler_seconds",
            "Time from receiving an event to its acknowledgement.",
            ["kind"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.write_batch = Histogram(
            "accord_room_write_batch_events",
            "Events written per session transaction (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.slow_disconnects = Counter(
            "accord_room_slow_consumer_disconnects",
            "Connections closed because they stopped reading.",
            registry=self.registry,
        )
