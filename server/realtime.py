"""Wires the live room hub (rooms/) onto the Socket.IO server."""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from rooms import MemoryPresence, Presence, RoomHub, RoomLimits, RoomMetrics
from server.room_negotiation import install_negotiation
from server.roomstore import SqlRoomStore
from server.roomtokens import RoomTokens
from server.services import Services

logger = logging.getLogger(__name__)


def install_realtime(services: Services) -> RoomHub:
    """Build the room hub on ``services.sio`` and register it in ``services.extras``."""
    settings = services.settings
    rooms = settings.rooms
    presence: Presence
    if services.redis is not None:
        from server.presence import RedisPresence

        presence = RedisPresence(
            services.redis, prefix=f"{rooms.redis_prefix}:presence"
        )
    else:
        presence = MemoryPresence()
    tokens = RoomTokens(services.signer, services.db, rooms.token_ttl_s)
    limits = RoomLimits(
        max_message_chars=rooms.max_message_chars,
        events_per_10s=rooms.events_per_10s,
        correction_window_s=rooms.correction_window_s,
        max_participants=rooms.max_participants,
        max_pending_packets=rooms.max_pending_packets,
    )
    hook = None
    if rooms.test_crash_after_commit:
        crash_on = rooms.test_crash_after_commit

        def hook(kind: str) -> None:
            if kind == crash_on:
                logger.warning("test seam: exiting after commit of %s", kind)
                os._exit(137)

    hub = RoomHub(
        services.sio,
        SqlRoomStore(services.db),
        tokens,
        presence,
        limits=limits,
        metrics=RoomMetrics(),
        after_commit_hook=hook,
    )
    hub.install()
    install_negotiation(services, hub)
    from server.room_translation import install_translation

    install_translation(services, hub)
    from server.room_media import install_media

    install_media(services, hub)
    from rooms.backpressure import bound_send_queues

    bound_send_queues(services.sio, limits.max_pending_packets, hub.metrics)
    services.extras["room_hub"] = hub
    services.extras["room_tokens"] = tokens
    services.on_stop.append(hub.stop)
    return hub


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics of the room hub (counts and timings only)."""
    services: Services = request.app.state.services
    hub: RoomHub = services.extras["room_hub"]
    return Response(
        generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
