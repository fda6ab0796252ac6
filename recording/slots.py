"""Outbound slots: one track per subscriber transceiver whose source can switch.

A subscriber's peer connection is negotiated once, with a fixed number of
audio and video transceivers. Each one carries an ``OutboundSlot``; the router
points a slot at a publisher (or at nobody) and the slot keeps the outgoing
stream continuous across those switches: the sender numbers RTP packets and
VP8 picture ids itself, and the slot rewrites timestamps so that they keep
advancing with wall-clock time (RFC 3550 section 5.1) whoever the source is.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from recording.forwarding import decoder_for

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 60
"""Frames a slot may hold before it flushes and waits for a fresh keyframe."""


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One publisher's encoded frame, as the forwarding receiver produced it."""

    publisher_id: str
    codec_name: str
    clock_rate: int
    data: bytes
    ticks: int
    keyframe: bool


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A frame aiortc decoded (publishers whose codec cannot be forwarded)."""

    publisher_id: str
    frame: av.AudioFrame | av.VideoFrame


SlotItem = EncodedFrame | DecodedFrame


class OutboundSlot(MediaStreamTrack):
    """The track behind one sending transceiver of a subscriber's connection."""

    def __init__(
        self,
        kind: str,
        index: int,
        subscriber_id: str,
        need_keyframe: Callable[[str], None],
        max_size: tuple[int, int],
    ) -> None:
        super().__init__()
        self.kind = kind
        self.index = index
        self.subscriber_id = subscriber_id
        self.codec_name: str | None = None
        self.source: str | None = None
        self.frames_sent = 0
        self.frames_dropped = 0
        self._need_keyframe = need_keyframe
        self._max_size = max_size
        self._queue: asyncio.Queue[tuple[int, SlotItem] | None] = asyncio.Queue()
        self._generation = 0
        self._awaiting_keyframe = kind == "video"
        self._clock_rate = 90000 if kind == "video" else 48000
        self._step = 3000 if kind == "video" else 960  # one frame at 30 fps / 20 ms
        self._offset: int | None = None
        self._last_out: int | None = None
        self._last_wall = 0.0
        self._decoder: Any = None
        self._decoder_codec: str | None = None
        self._decoded: deque[av.AudioFrame | av.VideoFrame] = deque()

    def switch(self, source: str | None) -> bool:
        """Point the slot at another publisher; False if it already was."""
        if source == self.source:
            return False
        logger.debug(
            "slot %s/%s/%d: source %s -> %s",
            self.subscriber_id,
            self.kind,
            self.index,
            self.source,
            source,
        )
        self.source = source
        self.flush()
        # the next frame comes from another encoder: start a new timestamp run
        self._offset = None
        self._decoder = None
        return True

    def flush(self) -> None:
        """Drop everything queued; a video slot then waits for a keyframe."""
        self._generation += 1
        while not self._queue.empty():
            self._queue.get_nowait()
        self._decoded.clear()
        self._awaiting_keyframe = self.kind == "video"

    def push(self, item: SlotItem) -> None:
        """Queue a frame from the current source (frames from others are dropped)."""
        if item.publisher_id != self.source or self.readyState != "live":
            return
        if self._queue.qsize() >= QUEUE_LIMIT:
            # a subscriber that cannot keep up: start again from a keyframe
            logger.debug("slot %s/%s overflow", self.subscriber_id, self.kind)
            self.frames_dropped += self._queue.qsize()
            self.flush()
            self._need_keyframe(item.publisher_id)
        self._queue.put_nowait((self._generation, item))

    def stop(self) -> None:
        """End the track; the sender's loop then finishes."""
        if self.readyState == "live":
            self._queue.put_nowait(None)
        super().stop()

    async def recv(self) -> Any:
        """The next frame for the sender: an ``av.Packet`` to forward, or a frame."""
        while True:
            if self._decoded:
                return self._decoded.popleft()
            if self.readyState != "live":
                raise MediaStreamError
            entry = await self._queue.get()
            if entry is None:
                raise MediaStreamError
            generation, item = entry
            # the privacy check: nothing queued before a switch goes out after it
            if generation != self._generation or item.publisher_id != self.source:
                continue

            if isinstance(item, DecodedFrame):
                self.frames_sent += 1
                return item.frame

            if self._awaiting_keyframe and not item.keyframe:
                self.frames_dropped += 1
                self._need_keyframe(item.publisher_id)
                continue
            self._awaiting_keyframe = False

            ticks = self._rewrite(item.ticks * self._clock_rate // item.clock_rate)
            if self.codec_name is None or item.codec_name == self.codec_name.lower():
                packet = av.Packet(item.data)
                packet.pts = ticks
                packet.time_base = fractions.Fraction(1, self._clock_rate)
                self.frames_sent += 1
                return packet

            # codecs differ on the two legs: decode here and let aiortc re-encode
            await self._decode(item, ticks, generation)

    def subscriber_lost_picture(self) -> None:
        """The subscriber sent PLI or FIR: ask the current source for a keyframe."""
        if self.source is not None:
            self._need_keyframe(self.source)

    def _rewrite(self, ticks: int) -> int:
        now = time.monotonic()
        if self._offset is None:
            if self._last_out is None:
                self._offset = -ticks
            else:
                gap = int((now - self._last_wall) * self._clock_rate)
                self._offset = self._last_out + max(self._step, gap) - ticks
        out = ticks + self._offset
        self._last_out = out
        self._last_wall = now
        return out

    async def _decode(self, item: EncodedFrame, ticks: int, generation: int) -> None:
        if self._decoder is None or self._decoder_codec != item.codec_name:
            codec = RTCRtpCodecParameters(
                mimeType=f"{self.kind}/{item.codec_name}",
                clockRate=item.clock_rate,
                channels=2 if self.kind == "audio" else None,
                payloadType=0,
            )
            self._decoder = decoder_for(codec)
            self._decoder_codec = item.codec_name
            logger.info(
                "slot %s/%s/%d: transcoding %s for this subscriber (%s)",
                self.subscriber_id,
                self.kind,
                self.index,
                item.codec_name,
                self.codec_name,
            )
        frames = await asyncio.get_running_loop().run_in_executor(
            None, self._decoder.decode, JitterFrame(data=item.data, timestamp=0)
        )
        if generation != self._generation:
            return
        width, height = self._max_size
        for frame in frames:
            if isinstance(frame, av.VideoFrame) and (
                frame.width > width or frame.height > height
            ):
                frame = frame.reformat(width=width, height=height)
            frame.pts = ticks
            frame.time_base = fractions.Fraction(1, self._clock_rate)
            self._decoded.append(frame)
            self.frames_sent += 1
