"""The engine.io internals the send-queue bound relies on still exist."""

from __future__ import annotations

import asyncio

import engineio
import socketio
from engineio.async_socket import AsyncSocket

from rooms.backpressure import bound_send_queues, pending_packets


async def test_engineio_internals_the_bound_relies_on_are_present() -> None:
    sio = socketio.AsyncServer(async_mode="asgi")
    assert isinstance(sio.eio.sockets, dict)
    socket = AsyncSocket(sio.eio, "abc")
    assert isinstance(socket.queue, asyncio.Queue)
    sio.eio.sockets["abc"] = socket
    assert pending_packets(sio.eio, "abc") == 0


async def test_a_connection_over_the_limit_is_closed_not_queued_to() -> None:
    sio = socketio.AsyncServer(async_mode="asgi")
    socket = AsyncSocket(sio.eio, "abc")
    socket.connected = True
    sio.eio.sockets["abc"] = socket
    bound_send_queues(sio, 4)
    for _ in range(10):
        await sio.eio.send_packet(
            "abc", engineio.packet.Packet(engineio.packet.MESSAGE, "x")
        )
    # four queued, then the connection was closed instead of growing
    assert socket.closed
    assert socket.queue.qsize() <= 5
