"""Bounds the per-connection send queue of engine.io (it has no limit of its own).

python-engineio queues every outgoing packet of a connection in an unbounded
``asyncio.Queue`` drained by a writer task; a client that stops reading lets it
grow without end (python-engineio issue #133). This wraps the server's
``send_packet`` so that a connection with more than ``limit`` packets waiting
is closed instead of queued to. It relies on two engine.io internals,
``AsyncServer.sockets`` and ``AsyncSocket.queue``; tests/rooms/test_backpressure.py
checks they still exist after an upgrade.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from rooms.metrics import RoomMetrics

logger = logging.getLogger(__name__)


def pending_packets(eio: Any, eio_sid: str) -> int | None:
    """Packets queued for one engine.io connection, or None if it is gone."""
    socket = eio.sockets.get(eio_sid)
    if socket is None or socket.closed:
        return None
    size: int = socket.queue.qsize()
    return size


def bound_send_queues(
    sio: socketio.AsyncServer, limit: int, metrics: RoomMetrics | None = None
) -> None:
    """Close any connection whose send queue holds ``limit`` packets already."""
    eio = sio.eio
    original = eio.send_packet

    async def send_packet(eio_sid: str, pkt: Any) -> None:
        waiting = pending_packets(eio, eio_sid)
        if waiting is not None and waiting >= limit:
            socket = eio.sockets.get(eio_sid)
            logger.warning(
                "closing connection %s: %d packets unread (limit %d)",
                eio_sid,
                waiting,
                limit,
            )
            if metrics is not None:
                metrics.slow_disconnects.inc()
            if socket is not None:
                await socket.close(wait=False, abort=True)
            return
        await original(eio_sid, pkt)

    eio.send_packet = send_packet
