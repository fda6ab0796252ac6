"""The media owner: runs the room media of the sessions this process owns.

One ``MediaRouter`` (recording/) serves every session the process owns.
Participant ids are the seats' database ids (unique across sessions), and
room keys are scoped ``"<session_id>:<placement>"``, so two sessions never
share a room. What each participant receives is decided here, from the seats
committed in the database (placement, admission, removal, the mediator's
mute) and from what the participant says about their own camera and
microphone; never from what a client claims about others.

The router's callbacks become live-only Socket.IO events to the
participants concerned (``media.slots``, ``media.audience``, ``media.state``,
``media.speaker``); they are never transcript lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from rooms import JOINT, Presence, RoomDenied, RoomInvalid, RoomStore, Seat, SeatKind
from rooms.hub import participant_room
from server.db import Database
from server.errors import ConfigurationError
from server.models import TranscriptLine
from server.settings import MediaSettings

if TYPE_CHECKING:
    from recording import MediaConfig, MediaRouter, MediaState, ParticipantStats

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any], list[str]], Awaitable[None]]
"""``emit(event, data, socketio_rooms)``: a live event to those connections."""

OFFER_TIMEOUT_S = 15.0
"""Longest an answer may take (ICE gathering against slow STUN/TURN servers)."""
RESYNC_S = 5.0
"""Seconds between re-reads of every owned session's seats (a safety net for a
placement notice lost on the way, say during a Redis outage)."""


def media_config(settings: MediaSettings) -> MediaConfig:
    """The router's configuration from the settings.

    Raises:
        ConfigurationError: the ICE servers or caps are unusable (say, TURN
            URLs without credentials).
    """
    from recording import MediaConfig, RecordingError

    try:
        return MediaConfig(
            stun_urls=settings.stun_urls,
            turn_urls=settings.turn_urls,
            turn_username=settings.turn_username,
            turn_password=settings.turn_password,
            max_bitrate_kbps=settings.max_bitrate_kbps,
            max_width=settings.max_width,
            max_height=settings.max_height,
            max_frame_rate=settings.max_frame_rate,
        )
    except RecordingError as exc:
        raise ConfigurationError(str(exc)) from None


def room_key(session_id: int, room: str) -> str:
    """The router's room key: placements are scoped by session."""
    return f"{session_id}:{room}"


def split_room_key(key: str) -> tuple[int, str]:
    """The session id and placement of a router room key."""
    session, _, room = key.partition(":")
    return int(session), room


@dataclass
class Member:
    """One participant whose media connection this process holds."""

    participant_id: int
    session_id: int
    kind: SeatKind
    room: str | None = None  # placement, or None for the lobby
    focus: str = JOINT  # the room a mediator takes part in
    mediator_mute: tuple[bool, bool] = (False, False)  # audio, video
    sending: tuple[bool, bool] = (True, True)  # the person's own toggles
    state: str = "connecting"
    sent: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked(self) -> tuple[bool, bool]:
        """What the router must not forward: the mediator's mute or one's own."""
        audio = self.mediator_mute[0] or not self.sending[0]
        video = self.mediator_mute[1] or not self.sending[1]
        return audio, video


@dataclass
class OwnedSession:
    """The media of one session run by this process."""

    session_id: int
    members: dict[int, Member] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refresh_pending: bool = False


class MediaOwner:
    """Holds the router and the state of every session whose media it owns."""

    def __init__(
        self,
        settings: MediaSettings,
        store: RoomStore,
        db: Database,
        presence: Presence,
        emit: Emit,
        *,
        on_empty: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.db = db
        self.presence = presence
        self.emit = emit
        self.on_empty = on_empty
        self.sessions: dict[int, OwnedSession] = {}
        self._router: MediaRouter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._session_of: dict[int, int] = {}  # participant -> owned session

    # -- the router -----------------------------------------------------------

    @property
    def router(self) -> MediaRouter:
        """The process's router, built on first use (it starts background work)."""
        if self._router is None:
            self._router = self._build_router()
        return self._router

    def _build_router(self) -> MediaRouter:
        from recording import MediaRouter, UnsupportedAiortc

        config = media_config(self.settings)
        callbacks: dict[str, Any] = {
            "on_state": self._on_state,
            "on_slots": self._on_slots,
            "on_active_speaker": self._on_speaker,
        }
        try:
            return MediaRouter(config, **callbacks)
        except UnsupportedAiortc as exc:
            # aiortc's own decode/re-encode path still works, at a CPU cost
            logger.error("media forwarding off, transcoding instead: %s", exc)
            from dataclasses import replace

            return MediaRouter(replace(config, forward_encoded=False), **callbacks)

    async def close(self) -> None:
        """Close every media connection."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._router is not None:
            await self._router.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.sessions.clear()

    # -- operations (called locally or relayed from another worker) ---------

    async def dispatch(
        self, session_id: int, op: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Run one operation by name; the relay's entry point."""
        pid = int(args.get("participant_id", 0))
        if op == "offer":
            return await self.offer(
                session_id,
                pid,
                str(args["sdp"]),
                sending=(bool(args.get("audio", True)), bool(args.get("video", True))),
                focus=args.get("focus"),
            )
        if op == "sync":
            await self.sync(session_id)
        elif op == "mute":
            await self.mute(session_id, pid, bool(args["audio"]), bool(args["video"]))
        elif op == "send":
            await self.send(session_id, pid, bool(args["audio"]), bool(args["video"]))
        elif op == "focus":
            await self.focus(session_id, pid, str(args["room"]))
        elif op == "remove":
            await self.remove(session_id, pid)
        elif op == "disconnected":
            await self.disconnected(session_id, pid)
        else:
            raise RoomInvalid(f"No media operation {op!r}.", code="invalid_input")
        return {}

    async def offer(
        self,
        session_id: int,
        participant_id: int,
        sdp: str,
        *,
        sending: tuple[bool, bool] = (True, True),
        focus: str | None = None,
    ) -> dict[str, Any]:
        """Answer a participant's offer and route their media by their seat."""
        self._watch()
        owned = self.sessions.setdefault(session_id, OwnedSession(session_id))
        try:
            return await self._offer(owned, participant_id, sdp, sending, focus)
        finally:
            await self._release_if_empty(session_id)

    async def _offer(
        self,
        owned: OwnedSession,
        participant_id: int,
        sdp: str,
        sending: tuple[bool, bool],
        focus: str | None,
    ) -> dict[str, Any]:
        from recording import InvalidOffer, receive_only

        session_id = owned.session_id
        async with owned.lock:
            session, seats = await self.store.load(session_id)
            seat = next((s for s in seats if s.id == participant_id), None)
            if seat is None or seat.removed or seat.denied:
                raise RoomDenied("You are no longer in this session.", code="removed")
            if not session.is_open:
                raise RoomDenied(
                    f"The session is {session.status}, not open.",
                    code="session_not_open",
                )
            member = owned.members.get(participant_id)
            if member is None:
                member = Member(participant_id, session_id, seat.kind)
                member.mediator_mute = await self._last_mute(session_id, seat)
            member.sending = sending
            if focus and seat.is_mediator:
                member.focus = focus
            if seat.kind == SeatKind.OBSERVER:
                # observers see and hear the joint room but are never heard
                sdp = receive_only(sdp)

            try:
                answer, kind = await asyncio.wait_for(
                    self.router.handle_offer(str(participant_id), sdp, "offer"),
                    OFFER_TIMEOUT_S,
                )
            except InvalidOffer as exc:
                raise RoomInvalid(str(exc), code=exc.code, field="sdp") from None
            except TimeoutError:
                raise RoomDenied(
                    f"No media answer within {OFFER_TIMEOUT_S:.0f} s.",
                    code="media_unavailable",
                ) from None
            owned.members[participant_id] = member
            self._session_of[participant_id] = session_id
            member.state = "connecting"
            member.sent.clear()  # a new connection gets the full picture again
            await self._apply(member, seat)
        logger.info(
            "participant %s: media offer answered in session %s (room %s)",
            participant_id,
            session_id,
            member.room,
        )
        self._schedule_refresh(session_id)
        return {"sdp": answer, "type": kind}

    async def sync(self, session_id: int) -> None:
        """Re-read the session's seats and route everyone's media by them."""
        owned = self.sessions.get(session_id)
        if owned is None:
            return
        async with owned.lock:
            session, seats = await self.store.load(session_id)
            by_id = {seat.id: seat for seat in seats}
            for pid, member in list(owned.members.items()):
                seat = by_id.get(pid)
                if seat is None or seat.removed or seat.denied or not session.is_open:
                    await self._drop(owned, pid, "seat gone or session closed")
                    continue
                await self._apply(member, seat)
        self._schedule_refresh(session_id)
        await self._release_if_empty(session_id)

    async def mute(
        self, session_id: int, participant_id: int, audio: bool, video: bool
    ) -> None:
        """The mediator's mute, enforced here whatever the client sends."""
        member = self._member(session_id, participant_id)
        if member is None:
            return  # no media yet: the offer reads the mute from the transcript
        member.mediator_mute = (audio, video)
        await self._apply_mute(member)
        self._schedule_refresh(session_id)

    async def send(
        self, session_id: int, participant_id: int, audio: bool, video: bool
    ) -> None:
        """A participant's own camera and microphone switches."""
        member = self._member(session_id, participant_id)
        if member is None:
            return  # the next offer carries them
        member.sending = (audio, video)
        await self._apply_mute(member)
        self._schedule_refresh(session_id)

    async def focus(self, session_id: int, participant_id: int, room: str) -> None:
        """Where a mediator takes part in media: the joint room or one caucus."""
        owned = self.sessions.get(session_id)
        member = self._member(session_id, participant_id)
        if owned is None or member is None:
            return
        async with owned.lock:
            member.focus = room
            member.room = room
            await self.router.set_placement(
                str(participant_id), room_key(session_id, room)
            )
        self._schedule_refresh(session_id)

    async def remove(self, session_id: int, participant_id: int) -> None:
        """Tear down a participant's media (removed, denied, session over)."""
        owned = self.sessions.get(session_id)
        if owned is None or participant_id not in owned.members:
            return
        async with owned.lock:
            await self._drop(owned, participant_id, "removed")
        self._schedule_refresh(session_id)
        await self._release_if_empty(session_id)

    async def disconnected(self, session_id: int, participant_id: int) -> None:
        """A participant's last socket closed; tear down unless they are back."""
        if await self.presence.connections(session_id, participant_id):
            return
        await self.remove(session_id, participant_id)

    async def abandon(self, session_id: int) -> None:
        """Close a session's media here: another process owns it now."""
        owned = self.sessions.pop(session_id, None)
        if owned is None:
            return
        async with owned.lock:
            for pid in list(owned.members):
                await self._drop(owned, pid, "ownership lost")

    def snapshot(self, session_id: int) -> dict[int, Member]:
        """The members of an owned session (for tests and the console)."""
        owned = self.sessions.get(session_id)
        return dict(owned.members) if owned else {}

    def _watch(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._resync(), name="media-resync")

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_S)
            for session_id in list(self.sessions):
                try:
                    await self.sync(session_id)
                except Exception:
                    logger.exception("session %s: media re-sync failed", session_id)

    # -- applying state to the router ----------------------------------------

    def _member(self, session_id: int, participant_id: int) -> Member | None:
        owned = self.sessions.get(session_id)
        return owned.members.get(participant_id) if owned else None

    async def _apply(self, member: Member, seat: Seat) -> None:
        """Mute first, then placement, so nothing is forwarded it should not be."""
        audio_muted = seat.muted
        member.mediator_mute = (audio_muted, member.mediator_mute[1])
        await self._apply_mute(member)
        if seat.is_mediator:
            room: str | None = member.focus
        else:
            room = seat.placement if seat.in_room else None
        member.room = room
        key = room_key(member.session_id, room) if room is not None else None
        await self.router.set_placement(str(member.participant_id), key)

    async def _apply_mute(self, member: Member) -> None:
        audio, video = member.blocked
        await self.router.set_muted(str(member.participant_id), audio, video)

    async def _drop(self, owned: OwnedSession, participant_id: int, why: str) -> None:
        member = owned.members.pop(participant_id, None)
        self._session_of.pop(participant_id, None)
        await self.router.remove(str(participant_id))
        if member is not None:
            to = {participant_room(participant_id)}
            to.update(
                participant_room(m.participant_id)
                for m in owned.members.values()
                if m.kind == SeatKind.MEDIATOR
            )
            closed = {"participant": participant_id, "state": "closed", "room": None}
            self._spawn(self.emit("media.state", closed, sorted(to)))
        logger.info(
            "participant %s: media closed in session %s (%s)",
            participant_id,
            owned.session_id,
            why,
        )

    async def _release_if_empty(self, session_id: int) -> None:
        owned = self.sessions.get(session_id)
        if owned is None or owned.members:
            return
        del self.sessions[session_id]
        if self.on_empty is not None:
            await self.on_empty(session_id)

    async def _last_mute(self, session_id: int, seat: Seat) -> tuple[bool, bool]:
        """The mediator's last mute of this seat, from the transcript."""
        async with self.db.read() as db:
            content = await db.scalar(
                select(TranscriptLine.content)
                .where(
                    TranscriptLine.session_id == session_id,
                    TranscriptLine.kind == "room.mute",
                    TranscriptLine.visibility == f"participant:{seat.id}",
                )
                .order_by(TranscriptLine.seq.desc())
                .limit(1)
            )
        if not isinstance(content, dict):
            return seat.muted, False
        return seat.muted, bool(content.get("video", False))

    # -- router callbacks -> live events ---------------------------------------

    def _find(self, participant_id: str) -> Member | None:
        pid = int(participant_id)
        session_id = self._session_of.get(pid)
        return self._member(session_id, pid) if session_id is not None else None

    def _on_state(self, participant_id: str, state: MediaState) -> None:
        member = self._find(participant_id)
        if member is None:
            return
        member.state = str(state)
        self._schedule_refresh(member.session_id)

    def _on_slots(
        self, participant_id: str, publishers: tuple[str | None, ...]
    ) -> None:
        member = self._find(participant_id)
        if member is not None:
            self._schedule_refresh(member.session_id)

    def _on_speaker(self, key: str, participant_id: str | None) -> None:
        session_id, room = split_room_key(key)
        owned = self.sessions.get(session_id)
        if owned is None:
            return
        to = [
            participant_room(m.participant_id)
            for m in owned.members.values()
            if m.room == room
        ]
        speaker = int(participant_id) if participant_id is not None else None
        if to:
            self._spawn(self.emit("media.speaker", {"participant": speaker}, to))

    # -- pushing what changed ----------------------------------------------------

    def _schedule_refresh(self, session_id: int) -> None:
        owned = self.sessions.get(session_id)
        if owned is None or owned.refresh_pending:
            return
        owned.refresh_pending = True
        self._spawn(self._refresh(session_id))

    async def _refresh(self, session_id: int) -> None:
        """Tell each member what they now see, who sees them, and their state."""
        from recording import UnknownParticipant

        await asyncio.sleep(0)  # coalesce the callbacks of one routing change
        owned = self.sessions.get(session_id)
        if owned is None:
            return
        owned.refresh_pending = False
        router = self.router
        members = owned.members
        mediators = [
            participant_room(m.participant_id)
            for m in members.values()
            if m.kind == SeatKind.MEDIATOR
        ]
        stats = {}
        for pid in members:
            try:
                stats[pid] = router.stats(str(pid))
            except UnknownParticipant:
                continue
        # what each member really sends on: published, and not blocked
        sends = {pid: self._sends(members[pid], found) for pid, found in stats.items()}
        for pid, member in list(members.items()):
            if pid not in stats:
                continue
            slots: list[dict[str, Any] | None] = []
            for publisher in stats[pid].slots:
                other = int(publisher) if publisher else None
                if other is None or other not in sends:
                    slots.append(None)
                    continue
                audio, video = sends[other]
                slots.append(
                    {
                        "participant": other,
                        "audio": audio,
                        "video": video,
                        "state": members[other].state,
                    }
                )
            audience = router.audience(str(pid))
            audio, video = sends.get(pid, (False, False))
            if not audio:
                audience["audio"] = ()
            if not video:
                audience["video"] = ()
            payloads: dict[str, dict[str, Any]] = {
                "media.slots": {"slots": slots},
                "media.audience": {
                    "room": member.room,
                    "audio": sorted(int(p) for p in audience["audio"]),
                    "video": sorted(int(p) for p in audience["video"]),
                },
                "media.state": {
                    "participant": pid,
                    "state": member.state,
                    "room": member.room,
                    "muted": {
                        "audio": member.mediator_mute[0],
                        "video": member.mediator_mute[1],
                    },
                    "sending": {"audio": member.sending[0], "video": member.sending[1]},
                },
            }
            for event, data in payloads.items():
                if member.sent.get(event) == data:
                    continue
                member.sent[event] = data
                to = [participant_room(pid)]
                if event == "media.state":
                    to = sorted({*to, *mediators})
                await self.emit(event, data, to)

    @staticmethod
    def _sends(member: Member, stats: ParticipantStats) -> tuple[bool, bool]:
        """Whether a member's audio and video reach anyone at all."""
        blocked_audio, blocked_video = member.blocked
        state = member.state
        audio = stats.audio_codec is not None and state != "receive-only"
        video = stats.video_codec is not None and state not in (
            "audio-only",
            "receive-only",
        )
        return audio and not blocked_audio, video and not blocked_video

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a media event push failed", exc_info=task.exception())
