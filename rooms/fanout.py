"""Room fan-out without a task per recipient, and the eager task factory.

python-socketio's ``AsyncManager.emit`` encodes a broadcast once and then
creates one asyncio task per recipient just to put the packet on that
recipient's engine.io queue. That put never blocks (the queue is unbounded),
so the tasks buy no concurrency and cost about a fifth of the server's CPU
per delivery under a burst (shared/notes/fanout.md). The managers here send
to each recipient inline, in membership order, through the public
``AsyncServer.eio.send_packet``.

They plug in through the documented extension point, ``AsyncServer(
client_manager=...)``. Every name this module relies on that python-socketio
or python-engineio does not document as public is listed in
``RELIED_ON`` and checked by tests/rooms/test_fanout.py, so an upgrade that
moves one fails that test instead of silently slowing or breaking delivery.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

logger = logging.getLogger(__name__)

DEFAULT_CHANNEL = "accord-socketio"

# What the managers below use beyond the documented API, for the upgrade test.
RELIED_ON = (
    "socketio.AsyncManager.emit(event, data, namespace, room, skip_sid, "
    "callback, to, **kwargs) is the one local delivery path",
    "socketio.AsyncPubSubManager.emit and ._handle_emit reach local delivery "
    "through super().emit, so a class later in the MRO intercepts it",
    "AsyncServer.packet_class(EVENT, namespace=, data=).encode() gives the wire "
    "form (str, or a list for binary attachments)",
    "AsyncServer.eio.send_packet(eio_sid, engineio.packet.Packet) queues one "
    "packet and ignores unknown sids",
    "BaseManager.get_participants(namespace, room) yields (sid, eio_sid) pairs "
    "from a snapshot of the room",
)


class SequentialFanoutManager(socketio.AsyncManager):  # type: ignore[misc]
    """An in-process client manager that fans a broadcast out inline."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        """Deliver an event to a room (or one sid), encoding it only once."""
        if callback is not None:
            # each recipient needs its own ack id, hence its own encoding
            await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
        target = to or room
        skipped = _skipped(skip_sid)
        recipients = [
            eio_sid
            for sid, eio_sid in self.get_participants(namespace, target)
            if sid not in skipped
        ]
        if not recipients:
            return
        packets = self._encode(event, data, namespace)

        # one recipient failing (gone, closed mid-send) must not starve the rest
        send = self.server.eio.send_packet
        for eio_sid in recipients:
            try:
                for pkt in packets:
                    await send(eio_sid, pkt)
            except Exception:
                logger.exception("fan-out to engine.io sid %s failed", eio_sid)

    def _encode(self, event: str, data: Any, namespace: str) -> list[Any]:
        """The engine.io packets carrying one event, built once per broadcast."""
        if isinstance(data, tuple):
            args = list(data)
        elif data is None:
            args = []
        else:
            args = [data]
        pkt = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        )
        encoded = pkt.encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]


class SequentialFanoutRedisManager(
    socketio.AsyncRedisManager,  # type: ignore[misc]
    SequentialFanoutManager,
):
    """The Redis pub/sub manager with inline local fan-out on every node."""

    # SequentialFanoutManager sits after AsyncPubSubManager in the MRO, so the
    # pub/sub layer's super().emit (local delivery) lands on the inline path.

    async def aclose(self) -> None:
        """Stop the listener and release the Redis connections (at shutdown)."""
        # python-socketio's manager has no close of its own
        listener = getattr(self, "thread", None)
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        for client in (getattr(self, "pubsub", None), getattr(self, "redis", None)):
            if client is not None:
                await client.aclose()


def _skipped(skip_sid: Any) -> frozenset[Any]:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, str) or not isinstance(skip_sid, Iterable):
        return frozenset((skip_sid,))
    return frozenset(skip_sid)


def make_client_manager(
    redis_url: str | None,
    logger: logging.Logger | None,
    *,
    channel: str = DEFAULT_CHANNEL,
) -> socketio.AsyncManager:
    """The Socket.IO client manager for this process: Redis when configured."""
    if redis_url:
        return SequentialFanoutRedisManager(redis_url, channel=channel, logger=logger)
    return SequentialFanoutManager()


def install_eager_task_factory(
    loop: asyncio.AbstractEventLoop | None = None,
) -> bool:
    """Make new tasks start eagerly on Python 3.12+; a no-op on 3.11."""
    if sys.version_info < (3, 12):
        return False
    target = loop or asyncio.get_running_loop()
    # eager tasks let engine.io's reader drain a burst before writers wake
    target.set_task_factory(_eager_task)
    return True


def _eager_task(
    loop: asyncio.AbstractEventLoop,
    coro: Any,
    *,
    name: str | None = None,
    context: Any = None,
    eager_start: bool | None = None,
) -> asyncio.Task[Any]:
    # not asyncio.eager_task_factory itself: uvloop on Python 3.13 passes
    # eager_start=None to every task factory, which CPython 3.13.0's rejects
    return asyncio.Task(  # type: ignore[call-arg,unused-ignore]
        coro,
        loop=loop,
        name=name,
        context=context,
        eager_start=True if eager_start is None else eager_start,
    )
