"""The media router: who receives whose audio and video, decided by the server.

Each participant has one peer connection with the server. Its first sending
audio and video transceivers carry what it publishes; every audio and video
transceiver it offers is also an outbound *slot* the server fills with another
participant's media. A participant receives media only from participants
placed in the same room; the lobby (placement ``None``) receives nothing and
is heard by nobody. Frames are forwarded encoded (see ``forwarding.py``);
aiortc's decode/re-encode path is the fallback when codecs differ.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recording import forwarding
from recording.config import MediaConfig
from recording.errors import InvalidOffer, UnknownParticipant
from recording.sdp import (
    add_bandwidth_limit,
    first_codecs,
    prefer_forwardable_codecs,
)
from recording.slots import DecodedFrame, EncodedFrame, OutboundSlot
from recording.speakers import SILENCE_DBOV, ActiveSpeaker, AudioLevelMeter

logger = logging.getLogger(__name__)


class MediaState(enum.StrEnum):
    """Where a participant's media connection stands, as the room should show it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"  # publishes audio and video
    AUDIO_ONLY = "audio-only"  # video failed or was not offered
    RECEIVE_ONLY = "receive-only"  # publishes nothing, still sees and hears
    FAILED = "failed"  # no media: the participant stays in the room's text chat
    CLOSED = "closed"


StateCallback = Callable[[str, MediaState], None]
"""``on_state(participant_id, state)``."""
SlotsCallback = Callable[[str, tuple[str | None, ...]], None]
"""``on_slots(participant_id, publishers)``: publisher shown in each slot index."""
SpeakerCallback = Callable[[str, str | None], None]
"""``on_active_speaker(room_key, participant_id or None)``."""


@dataclass
class ParticipantStats:
    """Counters for one participant's media, for the console and metrics."""

    participant_id: str
    room_key: str | None
    state: MediaState | None
    audio_codec: str | None = None
    video_codec: str | None = None
    forwarding: bool = True
    frames_received: dict[str, int] = field(default_factory=dict)
    frames_sent: dict[str, int] = field(default_factory=dict)
    frames_dropped: int = 0
    keyframes_requested: int = 0
    video_size: tuple[int, int] | None = None
    audio_level_dbov: float = SILENCE_DBOV
    slots: tuple[str | None, ...] = ()


@dataclass
class _Peer:
    participant_id: str
    pc: RTCPeerConnection
    audio_slots: list[OutboundSlot] = field(default_factory=list)
    video_slots: list[OutboundSlot] = field(default_factory=list)
    publishing: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    codecs: dict[str, str] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    state: MediaState = MediaState.CONNECTING
    meter: AudioLevelMeter | None = None
    frames_received: dict[str, int] = field(default_factory=dict)
    keyframes_requested: int = 0
    last_keyframe_request: float = 0.0
    keyframe_pending: bool = False
    video_size: tuple[int, int] | None = None
    video_ended: bool = False
    audio_ended: bool = False

    def slot_count(self) -> int:
        return max(len(self.audio_slots), len(self.video_slots))


class MediaRouter:
    """Routes room audio and video between participants' peer connections.

    The room hub calls it; it never calls the hub except through the three
    callbacks. No method raises for a peer's failure: that is reported through
    ``on_state`` and the participant keeps everything but media.

    Args:
        config: ICE servers and caps (see ``MediaConfig``).
        on_state: called with (participant_id, MediaState) on every change.
        on_slots: called with (participant_id, publishers per slot index)
            whenever the set of people a participant sees and hears changes,
            so the client can label its tiles.
        on_active_speaker: called with (room_key, participant_id or None)
            when a room's loudest participant changes.
    """

    def __init__(
        self,
        config: MediaConfig,
        *,
        on_state: StateCallback | None = None,
        on_slots: SlotsCallback | None = None,
        on_active_speaker: SpeakerCallback | None = None,
    ) -> None:
        if config.forward_encoded:
            forwarding.install()
        self._config = config
        self._on_state = on_state
        self._on_slots = on_slots
        self._on_active_speaker = on_active_speaker
        self._peers: dict[str, _Peer] = {}
        self._placement: dict[str, str | None] = {}
        self._room_order: dict[str, list[str]] = {}
        self._muted: dict[str, tuple[bool, bool]] = {}
        self._assignment: dict[str, list[str | None]] = {}
        self._routes: dict[tuple[str, str], list[OutboundSlot]] = {}
        self._speakers: dict[str, ActiveSpeaker] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._speaker_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- the interface the room hub calls ------------------------------------

    async def handle_offer(
        self, participant_id: str, sdp: str, type: str
    ) -> tuple[str, str]:
        """Answer a participant's offer, replacing any earlier connection.

        Args:
            participant_id: the room participant the offer came from.
            sdp: the offer SDP, complete with candidates (no trickle).
            type: must be ``"offer"``.

        Returns:
            ``(answer_sdp, "answer")`` to send back over the room socket.

        Raises:
            InvalidOffer: the offer is malformed or has no audio or video; the
                router's state is unchanged.
        """
        if type != "offer":
            raise InvalidOffer(f"expected an SDP of type 'offer', got {type!r}")
        offer = prefer_forwardable_codecs(sdp)
        self._start_speaker_task()

        pc = RTCPeerConnection(self._config.rtc_configuration())
        peer = _Peer(participant_id=participant_id, pc=pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # aiortc starts the receiver only after this event, so this is the
            # moment to switch it to encoded output
            if not self._config.forward_encoded:
                return
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    forwarding.forward_encoded(transceiver.receiver)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type=type))
            self._attach_slots(peer)
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as exc:
            await pc.close()
            logger.info("participant %s: offer refused: %s", participant_id, exc)
            raise InvalidOffer(
                f"expected an SDP offer with audio or video aiortc can answer, "
                f"got one it refused: {exc}"
            ) from exc

        # only a good offer replaces an earlier connection (a reconnect)
        previous = self._peers.pop(participant_id, None)
        if previous is not None:
            await self._close_peer(previous)
        self._placement.setdefault(participant_id, None)
        self._assignment.pop(participant_id, None)

        local_sdp = pc.localDescription.sdp
        self._note_codecs(peer, local_sdp)
        self._peers[participant_id] = peer
        pc.on("connectionstatechange", lambda: self._connection_changed(peer))
        for kind, transceiver in peer.publishing.items():
            track = transceiver.receiver.track
            peer.tasks.append(
                asyncio.create_task(self._pump(peer, kind, track), name=f"pump-{kind}")
            )
        self._set_state(peer, MediaState.CONNECTING)
        self._reroute()
        logger.info(
            "participant %s: media offer answered (publishes %s, %d slots)",
            participant_id,
            ", ".join(f"{k}/{c}" for k, c in peer.codecs.items()) or "nothing",
            peer.slot_count(),
        )
        answer_sdp = add_bandwidth_limit(local_sdp, self._config.max_bitrate_kbps)
        return answer_sdp, "answer"

    async def set_placement(self, participant_id: str, room_key: str | None) -> None:
        """Place a participant in a room (joint session, caucus) or the lobby (None).

        Routing changes before this returns: nothing queued from a publisher
        outside the new room is sent afterwards, and every new source is
        asked for a keyframe.
        """
        old = self._placement.get(participant_id)
        if old == room_key and participant_id in self._placement:
            return
        self._placement[participant_id] = room_key
        if old is not None and participant_id in self._room_order.get(old, []):
            self._room_order[old].remove(participant_id)
        if room_key is not None:
            self._room_order.setdefault(room_key, []).append(participant_id)
        logger.info(
            "participant %s: media placement %s -> %s", participant_id, old, room_key
        )
        self._reroute()

    async def set_muted(self, participant_id: str, audio: bool, video: bool) -> None:
        """Stop (True) or resume (False) forwarding a participant's audio and video.

        This is enforced at the server: whatever the client sends, a muted
        kind reaches nobody.
        """
        old_audio, old_video = self._muted.get(participant_id, (False, False))
        self._muted[participant_id] = (audio, video)
        for kind, muted, was in (
            ("audio", audio, old_audio),
            ("video", video, old_video),
        ):
            if muted == was:
                continue
            for slot in self._routes.get((participant_id, kind), []):
                slot.flush()
            if not muted and kind == "video":
                self._request_keyframe(participant_id)
        logger.info(
            "participant %s: muted audio=%s video=%s", participant_id, audio, video
        )

    async def remove(self, participant_id: str) -> None:
        """Forget a participant: close its connection and stop routing its media."""
        peer = self._peers.pop(participant_id, None)
        room = self._placement.pop(participant_id, None)
        if room is not None and participant_id in self._room_order.get(room, []):
            self._room_order[room].remove(participant_id)
        self._muted.pop(participant_id, None)
        self._assignment.pop(participant_id, None)
        self._reroute()
        if peer is not None:
            await self._close_peer(peer)
            self._set_state(peer, MediaState.CLOSED)
        logger.info(
            "participant %s: removed from media (room %s)", participant_id, room
        )

    async def close(self) -> None:
        """Close every connection and stop the router's background work."""
        self._closed = True
        for participant_id in list(self._placement.keys() | self._peers.keys()):
            await self.remove(participant_id)
        if self._speaker_task is not None:
            self._speaker_task.cancel()
            await asyncio.gather(self._speaker_task, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def stats(self, participant_id: str) -> ParticipantStats:
        """Counters for one participant.

        Raises:
            UnknownParticipant: the router has never seen this participant.
        """
        if participant_id not in self._placement and participant_id not in self._peers:
            raise UnknownParticipant(
                f"expected a participant known to the media router, got "
                f"{participant_id!r}"
            )
        peer = self._peers.get(participant_id)
        stats = ParticipantStats(
            participant_id=participant_id,
            room_key=self._placement.get(participant_id),
            state=peer.state if peer else None,
            forwarding=self._config.forward_encoded,
            slots=tuple(self._assignment.get(participant_id, ())),
        )
        if peer is None:
            return stats
        stats.audio_codec = peer.codecs.get("audio")
        stats.video_codec = peer.codecs.get("video")
        stats.frames_received = dict(peer.frames_received)
        for slot in peer.audio_slots + peer.video_slots:
            stats.frames_sent[slot.kind] = (
                stats.frames_sent.get(slot.kind, 0) + slot.frames_sent
            )
            stats.frames_dropped += slot.frames_dropped
        stats.keyframes_requested = peer.keyframes_requested
        stats.video_size = peer.video_size
        stats.audio_level_dbov = peer.meter.level if peer.meter else SILENCE_DBOV
        return stats

    def audience(self, participant_id: str) -> dict[str, tuple[str, ...]]:
        """Who receives this participant's media right now, per kind."""
        result: dict[str, tuple[str, ...]] = {}
        for kind in ("audio", "video"):
            slots = self._routes.get((participant_id, kind), [])
            muted = self._is_muted(participant_id, kind)
            result[kind] = () if muted else tuple(s.subscriber_id for s in slots)
        return result

    # -- negotiation ----------------------------------------------------------

    def _attach_slots(self, peer: _Peer) -> None:
        """Give every offered audio/video transceiver an outbound slot."""
        max_size = (self._config.max_width, self._config.max_height)
        for transceiver in peer.pc.getTransceivers():
            kind = transceiver.kind
            slots = peer.audio_slots if kind == "audio" else peer.video_slots
            slot = OutboundSlot(
                kind, len(slots), peer.participant_id, self._request_keyframe, max_size
            )
            slots.append(slot)
            transceiver.sender.replaceTrack(slot)
            forwarding.on_keyframe_request(
                transceiver.sender, slot.subscriber_lost_picture
            )
            # the first transceiver of a kind on which the client sends is
            # what it publishes; the server only sends on the others
            if kind not in peer.publishing and transceiver.receiver.track is not None:
                peer.publishing[kind] = transceiver
                transceiver.direction = "sendrecv"
            else:
                transceiver.direction = "sendonly"
        if not peer.audio_slots and not peer.video_slots:
            raise ValueError("the offer has no audio or video section")

    def _note_codecs(self, peer: _Peer, answer_sdp: str) -> None:
        """Record the codec each transceiver will send and receive."""
        by_mid = first_codecs(answer_sdp)
        for transceiver in peer.pc.getTransceivers():
            codec = by_mid.get(transceiver.mid or "")
            slots = (
                peer.audio_slots if transceiver.kind == "audio" else peer.video_slots
            )
            for slot in slots:
                if slot.index == self._kind_index(peer, transceiver):
                    slot.codec_name = codec
            if peer.publishing.get(transceiver.kind) is transceiver and codec:
                peer.codecs[transceiver.kind] = codec.lower()

    @staticmethod
    def _kind_index(peer: _Peer, transceiver: RTCRtpTransceiver) -> int:
        same_kind = [t for t in peer.pc.getTransceivers() if t.kind == transceiver.kind]
        return same_kind.index(transceiver)

    # -- routing --------------------------------------------------------------

    def _reroute(self) -> None:
        """Recompute every subscriber's slots; synchronous, so it is atomic."""
        routes: dict[tuple[str, str], list[OutboundSlot]] = {}
        for subscriber_id, peer in self._peers.items():
            room = self._placement.get(subscriber_id)
            members = self._room_order.get(room, []) if room is not None else []
            # only those who publish something take a slot
            wanted = [
                p
                for p in members
                if p != subscriber_id and p in self._peers and self._peers[p].publishing
            ]
            current = self._assignment.get(subscriber_id, [])
            assigned: list[str | None] = [None] * peer.slot_count()
            for index, publisher in enumerate(current[: len(assigned)]):
                if publisher in wanted:
                    assigned[index] = publisher
            for publisher in wanted:
                if publisher in assigned:
                    continue
                if None not in assigned:
                    logger.warning(
                        "participant %s: no free slot for %s in room %s",
                        subscriber_id,
                        publisher,
                        room,
                    )
                    break
                assigned[assigned.index(None)] = publisher

            changed = assigned != current
            self._assignment[subscriber_id] = assigned
            for index, publisher in enumerate(assigned):
                for kind, slots in (
                    ("audio", peer.audio_slots),
                    ("video", peer.video_slots),
                ):
                    if index >= len(slots):
                        continue
                    if slots[index].switch(publisher) and publisher and kind == "video":
                        self._request_keyframe(publisher)
                    if publisher is not None:
                        routes.setdefault((publisher, kind), []).append(slots[index])
            if changed:
                logger.debug("participant %s: slots %s", subscriber_id, assigned)
                self._notify(self._on_slots, subscriber_id, tuple(assigned))
        self._routes = routes

    def _is_muted(self, participant_id: str, kind: str) -> bool:
        audio, video = self._muted.get(participant_id, (False, False))
        return audio if kind == "audio" else video

    async def _pump(self, peer: _Peer, kind: str, track: MediaStreamTrack) -> None:
        """Read one published track and hand each frame to the slots routed to it."""
        pid = peer.participant_id
        codec = peer.codecs.get(kind, "")
        clock_rate = 90000 if kind == "video" else 48000
        meter = AudioLevelMeter() if kind == "audio" and codec == "opus" else None
        peer.meter = meter or peer.meter
        cap = (self._config.max_width, self._config.max_height)
        try:
            while True:
                received = await track.recv()
                peer.frames_received[kind] = peer.frames_received.get(kind, 0) + 1

                item: EncodedFrame | DecodedFrame
                if isinstance(received, av.Packet):
                    data = bytes(received)
                    item = EncodedFrame(
                        pid,
                        codec,
                        clock_rate,
                        data,
                        received.pts or 0,
                        bool(received.is_keyframe),
                    )
                    if meter is not None:
                        meter.feed(data)
                    if kind == "video" and item.keyframe and codec == "vp8":
                        self._check_size(peer, forwarding.vp8_dimensions(data), cap)
                elif isinstance(received, av.AudioFrame | av.VideoFrame):
                    item = DecodedFrame(pid, received)
                else:
                    continue

                if self._is_muted(pid, kind):
                    continue
                for slot in self._routes.get((pid, kind), ()):
                    slot.push(item)
        except MediaStreamError:
            logger.info("participant %s: %s track ended", pid, kind)
        except Exception:
            logger.exception("participant %s: %s forwarding failed", pid, kind)
        if kind == "video":
            peer.video_ended = True
        else:
            peer.audio_ended = True
        if peer.state in (MediaState.CONNECTED, MediaState.AUDIO_ONLY):
            self._set_state(peer, self._published_state(peer))

    def _check_size(
        self, peer: _Peer, size: tuple[int, int] | None, cap: tuple[int, int]
    ) -> None:
        if size is None or size == peer.video_size:
            return
        peer.video_size = size
        if size[0] > cap[0] or size[1] > cap[1]:
            logger.warning(
                "participant %s: video %dx%d exceeds the %dx%d cap",
                peer.participant_id,
                *size,
                *cap,
            )

    # -- keyframes --------------------------------------------------------------

    def _request_keyframe(self, publisher_id: str) -> None:
        """Ask a publisher for a keyframe, at most once per keyframe_interval."""
        peer = self._peers.get(publisher_id)
        if peer is None or "video" not in peer.publishing or peer.keyframe_pending:
            return
        wait = peer.last_keyframe_request + self._config.keyframe_interval
        wait -= time.monotonic()
        peer.keyframe_pending = True
        self._spawn(self._send_keyframe_request(peer, max(wait, 0.0)))

    async def _send_keyframe_request(self, peer: _Peer, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        peer.keyframe_pending = False
        peer.last_keyframe_request = time.monotonic()
        receiver = peer.publishing["video"].receiver
        if await forwarding.request_keyframe(receiver):
            peer.keyframes_requested += 1
            logger.debug("participant %s: keyframe requested", peer.participant_id)

    # -- connection state -------------------------------------------------------

    def _connection_changed(self, peer: _Peer) -> None:
        if self._peers.get(peer.participant_id) is not peer:
            return
        state = peer.pc.connectionState
        if state == "connected":
            self._set_state(peer, self._published_state(peer))
        elif state == "failed":
            logger.warning(
                "participant %s: media connection failed (room %s)",
                peer.participant_id,
                self._placement.get(peer.participant_id),
            )
            self._set_state(peer, MediaState.FAILED)
            self._spawn(self._close_peer(peer))

    @staticmethod
    def _published_state(peer: _Peer) -> MediaState:
        video = "video" in peer.publishing and not peer.video_ended
        audio = "audio" in peer.publishing and not peer.audio_ended
        if video:
            return MediaState.CONNECTED
        if audio:
            return MediaState.AUDIO_ONLY
        return MediaState.RECEIVE_ONLY

    def _set_state(self, peer: _Peer, state: MediaState) -> None:
        if peer.state == state and state != MediaState.CONNECTING:
            return
        peer.state = state
        logger.info("participant %s: media %s", peer.participant_id, state)
        self._notify(self._on_state, peer.participant_id, state)

    async def _close_peer(self, peer: _Peer) -> None:
        for slot in peer.audio_slots + peer.video_slots:
            slot.stop()
        for task in peer.tasks:
            task.cancel()
        try:
            await peer.pc.close()
        except Exception:
            logger.exception(
                "participant %s: closing media failed", peer.participant_id
            )
        await asyncio.gather(*peer.tasks, return_exceptions=True)

    # -- active speaker -----------------------------------------------------------

    def _start_speaker_task(self) -> None:
        if self._speaker_task is None and self._on_active_speaker is not None:
            self._speaker_task = asyncio.create_task(self._watch_speakers())

    async def _watch_speakers(self) -> None:
        while True:
            await asyncio.sleep(self._config.speaker_interval)
            for room, members in list(self._room_order.items()):
                levels = {}
                for pid in members:
                    peer = self._peers.get(pid)
                    if peer and peer.meter and not self._is_muted(pid, "audio"):
                        levels[pid] = peer.meter.level
                tracker = self._speakers.setdefault(
                    room, ActiveSpeaker(self._config.speaker_threshold_dbov)
                )
                if tracker.update(levels):
                    logger.debug("room %s: active speaker %s", room, tracker.current)
                    self._notify(self._on_active_speaker, room, tracker.current)

    # -- helpers --------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def _notify(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("media router callback %r failed", callback)
