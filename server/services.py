"""The services one process holds, built once and handed to every subsystem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.auth import Signer
from server.db import Database
from server.settings import Settings

if TYPE_CHECKING:
    import socketio
    from redis.asyncio import Redis

Hook = Callable[[], Awaitable[None]]


@dataclass
class Services:
    """Settings, database, signer, optional Redis and the Socket.IO server."""

    settings: Settings
    db: Database
    signer: Signer
    sio: socketio.AsyncServer
    redis: Redis | None = None
    # subsystems register start and stop steps; run in order, stopped reversed
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    # subsystem objects by name (the room hub, the mailer, the media router)
    extras: dict[str, Any] = field(default_factory=dict)
