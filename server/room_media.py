"""Room media wired into the hub: signalling events, placement, the page's config.

``install_media(services, hub)`` registers the media events on the hub and
hands the hub a ``HubMedia`` (the ``rooms.MediaRouter`` port), which turns
the hub's after-commit calls (moves, mutes, removals, a last disconnect)
into operations at the session's media owner. The owner is this process
without Redis, or whichever worker first took an offer for the session
(``server/media_relay.py``). See docs/media.md.

The signalling events write no transcript lines: the media work runs after
the hub's transaction (it must not hold the session's lock while aiortc
answers), and a failure still becomes an error acknowledgement
(``EventContext.refuse``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from rooms import (
    ALL_KINDS,
    ANYWHERE,
    MEDIATORS,
    NAMESPACE,
    SPEAKERS,
    Allow,
    EventContext,
    LineSpec,
    Payload,
    RoomDenied,
    RoomError,
    RoomHub,
    RoomInvalid,
    RoomTx,
)
from rooms.events import CLIENT_ID_PATTERN
from rooms.hub import participant_room
from server.db import Database
from server.media_owner import MediaOwner, media_config
from server.media_relay import LocalRelay, MediaRelay, RedisRelay
from server.models import Participant
from server.services import Services
from server.settings import MediaSettings

logger = logging.getLogger(__name__)

MAX_SDP_CHARS = 32_000
"""An offer with one camera, one microphone and a few tiles is 5–15 kB."""
FOCUS_PATTERN = r"^(joint|caucus-[a-z0-9][a-z0-9-]{0,30})$"
CLIENT_EVENTS = ("media.offer", "media.toggle", "media.focus", "media.report")
SERVER_EVENTS = ("media.slots", "media.audience", "media.state", "media.speaker")
COMMON_MEDIA_ERRORS = ("media_disabled", "media_unavailable")


class MediaPayload(Payload):
    """Media events are not stored; a client id is accepted and ignored."""

    client_id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN)


class MediaOffer(MediaPayload):
    """A WebRTC offer with its candidates, and what the sender sends right now."""

    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    type: Literal["offer"]
    audio: bool = True
    video: bool = True
    room: str | None = Field(default=None, pattern=FOCUS_PATTERN)


class MediaToggle(MediaPayload):
    """Your own microphone (audio) and camera (video): on or off."""

    audio: bool
    video: bool


class MediaFocus(MediaPayload):
    """A mediator's choice of the room whose audio and video they take part in."""

    room: str = Field(pattern=FOCUS_PATTERN)


class MediaReport(MediaPayload):
    """The client cannot use media at all and stays in the chat."""

    state: Literal["text-only"]
    reason: Literal["no-webrtc", "no-devices", "failed", "declined", "disabled"]


class HubMedia:
    """The hub's ``MediaRouter``: sends what the hub committed to the owner."""

    def __init__(self, relay: MediaRelay, db: Database) -> None:
        self.relay = relay
        self.db = db
        self._sessions: dict[int, int] = {}

    async def session_of(self, participant_id: int) -> int | None:
        """The session a seat belongs to (seats never change session)."""
        if participant_id not in self._sessions:
            async with self.db.read() as db:
                found = await db.scalar(
                    select(Participant.session_id).where(
                        Participant.id == participant_id
                    )
                )
            if found is None:
                return None
            self._sessions[participant_id] = int(found)
        return self._sessions[participant_id]

    async def _call(self, participant_id: int, op: str, **args: Any) -> None:
        session_id = await self.session_of(participant_id)
        if session_id is None:
            return
        await self.relay.call(
            session_id, op, {"participant_id": participant_id, **args}
        )

    async def handle_offer(
        self, participant_id: int, sdp: str, type: str
    ) -> tuple[str, str]:
        """Answer an offer at the owner (the ``media.offer`` event does this)."""
        session_id = await self.session_of(participant_id)
        if session_id is None:
            raise RoomDenied("No such seat.", code="removed")
        answer = await self.relay.call(
            session_id,
            "offer",
            {"participant_id": participant_id, "sdp": sdp, "type": type},
            claim=True,
        )
        return str(answer["sdp"]), str(answer["type"])

    async def set_placement(self, participant_id: int, room_key: str | None) -> None:
        """Re-route the session from its committed seats (the argument is a hint)."""
        session_id = await self.session_of(participant_id)
        if session_id is not None:
            await self.relay.call(session_id, "sync", {})

    async def set_muted(self, participant_id: int, audio: bool, video: bool) -> None:
        """The mediator's mute, enforced at the owner."""
        await self._call(participant_id, "mute", audio=audio, video=video)

    async def remove(self, participant_id: int) -> None:
        """Close a removed participant's media."""
        await self._call(participant_id, "remove")

    async def disconnected(self, participant_id: int) -> None:
        """Close the media of someone whose last socket closed."""
        await self._call(participant_id, "disconnected")


class RoomMedia:
    """The media events of the room; disabled when the settings or install say so."""

    def __init__(
        self,
        settings: MediaSettings,
        hub: RoomHub,
        relay: MediaRelay | None,
        *,
        unavailable: str | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.relay = relay
        # why media is off: "media_disabled" (settings) or "media_unavailable"
        self.off_reason = unavailable or (
            None if settings.enabled else "media_disabled"
        )

    @property
    def enabled(self) -> bool:
        return self.relay is not None and self.off_reason is None

    def _require(self) -> MediaRelay:
        if self.off_reason == "media_disabled":
            raise RoomDenied(
                "Audio and video are turned off on this server.",
                code="media_disabled",
            )
        if self.relay is None or self.off_reason is not None:
            raise RoomDenied(
                "Audio and video are not available on this server.",
                code="media_unavailable",
            )
        return self.relay

    def register(self) -> None:
        """Add the media events to the hub."""
        common = COMMON_MEDIA_ERRORS
        self.hub.register(
            "media.offer",
            schema=MediaOffer,
            allowed=Allow(ALL_KINDS, ANYWHERE),
            handler=self.offer,
            summary="Offer your WebRTC connection; the answer is in the ack.",
            errors=(*common, "media_invalid_offer"),
        )
        self.hub.register(
            "media.toggle",
            schema=MediaToggle,
            allowed=Allow(SPEAKERS, ANYWHERE),
            handler=self.toggle,
            summary="Turn your own microphone or camera on or off.",
            errors=common,
        )
        self.hub.register(
            "media.focus",
            schema=MediaFocus,
            allowed=Allow(MEDIATORS, ANYWHERE),
            handler=self.focus,
            summary="Choose the room whose audio and video a mediator joins.",
            errors=common,
        )
        self.hub.register(
            "media.report",
            schema=MediaReport,
            allowed=Allow(ALL_KINDS, ANYWHERE),
            handler=self.report,
            summary="Say that you take part by text only.",
        )

    # -- handlers (inside the hub's transaction: check only, work after) -----

    async def offer(
        self, ctx: EventContext, body: MediaOffer, tx: RoomTx
    ) -> list[LineSpec]:
        """Check the offer's shape; answer it at the owner after the commit."""
        relay = self._require()
        sdp = body.sdp
        if not sdp.startswith("v=0") or not any(
            f"\nm={kind} " in sdp for kind in ("audio", "video")
        ):
            raise RoomInvalid(
                "expected an SDP offer starting with 'v=0' with an audio or video "
                f"section, got {sdp[:20]!r}",
                code="media_invalid_offer",
                field="sdp",
            )
        # the camera and microphone plus one audio/video pair per further tile
        sections = sdp.count("\nm=")
        if sections > 2 * self.settings.slots:
            raise RoomInvalid(
                f"expected at most {2 * self.settings.slots} media sections "
                f"(ACCORD_MEDIA_SLOTS={self.settings.slots}), got {sections}",
                code="media_invalid_offer",
                field="sdp",
            )
        session_id, pid = ctx.session.id, ctx.seat.id
        args = {
            "participant_id": pid,
            "sdp": sdp,
            "type": body.type,
            "audio": body.audio,
            "video": body.video,
            "focus": body.room,
        }

        async def answer() -> None:
            try:
                ctx.result["answer"] = await relay.call(
                    session_id, "offer", args, claim=True
                )
            except RoomError as exc:
                ctx.refuse(exc)

        ctx.after_commit(answer)
        return []

    async def toggle(
        self, ctx: EventContext, body: MediaToggle, tx: RoomTx
    ) -> list[LineSpec]:
        """Your own switches: the owner stops forwarding what you turned off."""
        relay = self._require()
        session_id, pid = ctx.session.id, ctx.seat.id
        ctx.after_commit(
            self._relayed(
                ctx,
                relay,
                session_id,
                "send",
                {"participant_id": pid, "audio": body.audio, "video": body.video},
            )
        )
        return []

    async def focus(
        self, ctx: EventContext, body: MediaFocus, tx: RoomTx
    ) -> list[LineSpec]:
        """A mediator joins one room's audio and video (and leaves the last one)."""
        relay = self._require()
        session_id, pid = ctx.session.id, ctx.seat.id
        ctx.after_commit(
            self._relayed(
                ctx,
                relay,
                session_id,
                "focus",
                {"participant_id": pid, "room": body.room},
            )
        )
        return []

    async def report(
        self, ctx: EventContext, body: MediaReport, tx: RoomTx
    ) -> list[LineSpec]:
        """Tell you and the mediators that you take part by text only."""
        seats = await tx.seats()
        to = sorted(
            {participant_room(ctx.seat.id)}
            | {participant_room(s.id) for s in seats if s.is_mediator}
        )
        data = {
            "participant": ctx.seat.id,
            "state": body.state,
            "reason": body.reason,
            "room": None,
        }
        hub = self.hub

        async def tell() -> None:
            await hub.sio.emit("media.state", data, to=to, namespace=NAMESPACE)

        ctx.after_commit(tell)
        logger.info(
            "participant %s: text only in session %s (%s)",
            ctx.seat.id,
            ctx.session.id,
            body.reason,
        )
        return []

    @staticmethod
    def _relayed(
        ctx: EventContext,
        relay: MediaRelay,
        session_id: int,
        op: str,
        args: dict[str, Any],
    ) -> Any:
        async def run() -> None:
            try:
                await relay.call(session_id, op, args)
            except RoomError as exc:
                ctx.refuse(exc)

        return run


def client_config(settings: MediaSettings, media: RoomMedia | None) -> dict[str, Any]:
    """What the room page needs to start media (embedded in its page data)."""
    if media is None or not media.enabled:
        reason = media.off_reason if media is not None else "media_disabled"
        return {"enabled": False, "reason": reason}
    ice: list[dict[str, Any]] = [{"urls": url} for url in settings.stun_urls]
    ice += [
        {
            "urls": url,
            "username": settings.turn_username,
            "credential": settings.turn_password,
        }
        for url in settings.turn_urls
    ]
    return {
        "enabled": True,
        "iceServers": ice,
        "slots": settings.slots,
        "maxBitrateKbps": settings.max_bitrate_kbps,
        "constraints": {
            "audio": True,
            "video": {
                "width": {"ideal": settings.max_width, "max": settings.max_width},
                "height": {"ideal": settings.max_height, "max": settings.max_height},
                "frameRate": {"max": settings.max_frame_rate},
            },
        },
    }


def install_media(services: Services, hub: RoomHub) -> RoomMedia:
    """Register the media events and give the hub its media port."""
    settings = services.settings.media
    relay: MediaRelay | None = None
    unavailable: str | None = None
    if settings.enabled:
        try:
            import recording  # noqa: F401  (imports aiortc and PyAV)
        except ImportError as exc:
            logger.warning(
                "room media is off: %s; install it with: pip install 'accord[media]'",
                exc,
            )
            unavailable = "media_unavailable"
    if settings.enabled and unavailable is None:

        async def emit(event: str, data: dict[str, Any], to: list[str]) -> None:
            await services.sio.emit(event, data, to=to, namespace=hub.namespace)

        media_config(settings)  # a bad ICE or cap setting stops start-up here
        owner = MediaOwner(settings, hub.store, services.db, hub.presence, emit)
        if services.redis is not None:
            prefix = services.settings.rooms.redis_prefix
            relay = RedisRelay(services.redis, owner, prefix)
        else:
            relay = LocalRelay(owner)
        hub.media = HubMedia(relay, services.db)
        services.on_start.append(relay.start)
        services.on_stop.append(relay.stop)
        services.extras["media_owner"] = owner
        services.extras["media_relay"] = relay

    media = RoomMedia(settings, hub, relay, unavailable=unavailable)
    media.register()
    services.extras["room_media"] = media
    services.extras["media_page"] = client_config(settings, media)
    logger.info(
        "room media %s",
        "on" if media.enabled else f"off ({media.off_reason})",
    )
    return media
