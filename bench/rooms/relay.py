"""A bare python-socketio relay, the Python reference point of the benchmark.

Same protocol as bench/rooms/node/server.js: ``join(room)`` and
``chat({room, text})``, both acknowledged with ``"ok"``; a chat payload goes
unchanged to everyone else in the room. Served by uvicorn as a factory:

    uvicorn --factory bench.rooms.relay:create_default   # stock python-socketio
    uvicorn --factory bench.rooms.relay:create_tuned     # inline fan-out, eager

uvicorn's own options (loop, permessage-deflate) are chosen by the
orchestrator on the command line, as an operator would.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from rooms.fanout import SequentialFanoutManager, install_eager_task_factory

logger = logging.getLogger(__name__)


def _relay(manager: socketio.AsyncManager | None, eager: bool) -> Any:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        transports=["websocket"],
        logger=False,
        engineio_logger=False,
    )

    @sio.on("join")
    async def join(sid: str, room: Any) -> str:
        await sio.enter_room(sid, str(room))
        return "ok"

    @sio.on("chat")
    async def chat(sid: str, data: Any) -> str:
        if isinstance(data, dict) and isinstance(data.get("room"), str):
            await sio.emit("chat", data, room=data["room"], skip_sid=sid)
        return "ok"

    async def startup() -> None:
        if eager and install_eager_task_factory():
            logger.info("eager task factory installed")

    return socketio.ASGIApp(sio, on_startup=startup)


def create_default() -> Any:
    """The relay with python-socketio's stock client manager."""
    return _relay(None, eager=False)


def create_tuned() -> Any:
    """The relay with inline fan-out and, on Python 3.12+, eager tasks."""
    return _relay(SequentialFanoutManager(), eager=True)
