"""Real aiortc test peers with tagged synthetic media, for the media router tests.

Each publisher paints its video a flat luma level and plays a sine tone at its
own frequency, so a subscriber can tell from the decoded media alone whose
frames it got, without trusting anything the router reports.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recording import MediaRouter, forwarding

WIDTH, HEIGHT = 160, 120
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_RATE = 48000
SAMPLES = 960  # 20 ms

Signal = Callable[[str], Awaitable[tuple[str, str]]]
"""Hands an offer SDP to the server and returns its (sdp, type) answer."""

# sha256 of every encoded frame a PreEncoded track produced -> publisher tag,
# so an encoded-mode subscriber can tell whose frame it got without decoding
DIGEST_TAGS: dict[str, int] = {}
AMBIGUOUS = -1


# sha256 -> when the publisher encoded it (monotonic seconds), so a check can
# ask "was this frame made after the move?" whatever the receiver's delays
ENCODED_AT: dict[str, float] = {}


def _register(digest: str, tag: int) -> None:
    if DIGEST_TAGS.setdefault(digest, tag) != tag:
        DIGEST_TAGS[digest] = AMBIGUOUS
    # the test tracks make every frame unique; a repeat keeps its first time
    ENCODED_AT.setdefault(digest, time.monotonic())


def forget_frames() -> None:
    """Clear the frame registries between tests."""
    DIGEST_TAGS.clear()
    ENCODED_AT.clear()


def tag_luma(tag: int) -> int:
    """The flat luma level publisher number ``tag`` paints (1..5)."""
    return 20 + 40 * tag


def tag_frequency(tag: int) -> float:
    """The tone frequency publisher number ``tag`` plays (1..5)."""
    return 500.0 * tag


class TaggedVideo(MediaStreamTrack):
    """Flat-colour 160x120 frames (30 fps) whose luma identifies the publisher."""

    kind = "video"

    def __init__(self, tag: int, fps: int = 30) -> None:
        super().__init__()
        self.fps = fps
        planes = numpy.full((HEIGHT * 3 // 2, WIDTH), 128, dtype=numpy.uint8)
        # tags above 5 (encoded mode only) reuse a luma; their noise differs
        planes[:HEIGHT] = tag_luma((tag - 1) % 5 + 1)
        self.tag = tag
        self._planes = planes
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        self._count += 1
        delay = self._start + self._count / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # fresh noise in one corner macroblock makes every encoded frame unique
        # (a flat picture's P-frames are otherwise byte-identical); it moves
        # the mean luma by about one level
        planes = self._planes.copy()
        noise = numpy.random.default_rng([self.tag, self._count])
        noise = noise.integers(0, 256, (16, 16))
        planes[0:16, 0:16] = noise.astype(numpy.uint8)
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = self._count * 90000 // self.fps
        frame.time_base = VIDEO_TIME_BASE
        return frame


class TaggedAudio(MediaStreamTrack):
    """A 20 ms mono s16 sine tone whose frequency identifies the publisher."""

    kind = "audio"

    def __init__(self, tag: int, amplitude: float = 8000.0, ms: int = 20) -> None:
        super().__init__()
        self.samples = AUDIO_RATE * ms // 1000
        self.frequency = tag_frequency(tag)
        self.tag = tag
        self.amplitude = amplitude
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        size = self.samples
        delay = self._start + self._count * size / AUDIO_RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (numpy.arange(size) + self._count * size) / AUDIO_RATE
        wave = self.amplitude * numpy.sin(2 * numpy.pi * self.frequency * t)
        # a little seeded noise makes every encoded frame unique
        wave += numpy.random.default_rng([self.tag, self._count]).normal(0, 60, size)
        samples = wave.astype(numpy.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._count * size
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._count += 1
        return frame


class PreEncodedVideo(MediaStreamTrack):
    """VP8 packets from our own encoder, so their bytes can be checked downstream."""

    kind = "video"

    def __init__(self, tag: int, fps: int = 30) -> None:
        super().__init__()
        self._source = TaggedVideo(tag, fps)
        self._codec = av.CodecContext.create("libvpx", "w")
        self._codec.width, self._codec.height = WIDTH, HEIGHT
        self._codec.pix_fmt = "yuv420p"
        self._codec.time_base = fractions.Fraction(1, fps)
        self._codec.framerate = fractions.Fraction(fps, 1)
        self._codec.bit_rate = 200_000
        self._codec.gop_size = max(fps // 2, 1)  # a keyframe every half second
        self._codec.options = {"deadline": "realtime", "lag-in-frames": "0"}
        self._pending: list[av.Packet] = []
        self.hashes: set[str] = set()
        self.tag = tag

    async def recv(self) -> av.Packet:
        while not self._pending:
            frame = await self._source.recv()
            pts = frame.pts
            frame.pts = pts * self._source.fps // 90000
            frame.time_base = self._codec.time_base
            for packet in self._codec.encode(frame):
                packet.pts = pts
                packet.time_base = VIDEO_TIME_BASE
                digest = hashlib.sha256(bytes(packet)).hexdigest()
                self.hashes.add(digest)
                _register(digest, self.tag)
                self._pending.append(packet)
        return self._pending.pop(0)


class PreEncodedAudio(MediaStreamTrack):
    """Opus packets from our own encoder, so their bytes can be checked downstream."""

    kind = "audio"

    def __init__(self, tag: int, ms: int = 20) -> None:
        super().__init__()
        # 60 ms frames (RFC 7587 allows up to 120 ms) cut the packet rate by 3
        self._source = TaggedAudio(tag, ms=ms)
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.sample_rate = AUDIO_RATE
        self._codec.layout = "stereo"
        self._codec.format = "s16"
        self._codec.bit_rate = 32000
        self._codec.options = {"frame_duration": str(ms)}
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=48000)
        self._pending: list[av.Packet] = []
        self.hashes: set[str] = set()
        self.tag = tag
        self._pts = 0

    async def recv(self) -> av.Packet:
        while not self._pending:
            frame = await self._source.recv()
            for resampled in self._resampler.resample(frame):
                for packet in self._codec.encode(resampled):
                    packet.pts = self._pts
                    packet.time_base = fractions.Fraction(1, AUDIO_RATE)
                    self._pts += self._source.samples
                    digest = hashlib.sha256(bytes(packet)).hexdigest()
                    self.hashes.add(digest)
                    _register(digest, self.tag)
                    self._pending.append(packet)
        return self._pending.pop(0)


@dataclass
class Received:
    """One frame as a test peer's receiver got it."""

    at: float
    kind: str
    slot: int
    tag: int | None
    digest: str | None = None
    pts: int | None = None


@dataclass
class ClientPeer:
    """An aiortc client: publishes tagged media, records what each slot receives."""

    name: str
    tag: int
    slots: int = 3
    publish_audio: bool = True
    publish_video: bool = True
    encoded: bool = False
    fps: int = 30
    audio_ms: int = 20
    received: list[Received] = field(default_factory=list)
    video_track: MediaStreamTrack | None = None
    audio_track: MediaStreamTrack | None = None
    pc: RTCPeerConnection | None = None
    video_codec: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def connect(self, router: MediaRouter) -> None:
        """Offer to the router, apply its answer and start recording."""

        async def answer(sdp: str) -> tuple[str, str]:
            return await router.handle_offer(self.name, sdp, "offer")

        await self.negotiate(answer)

    async def negotiate(self, signal: Signal) -> None:
        """Offer through ``signal(offer_sdp) -> (sdp, type)`` and start recording."""
        # max-bundle, as browsers do in effect: see recording/config.py
        self.pc = pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        if self.publish_audio:
            self.audio_track = (
                PreEncodedAudio(self.tag, self.audio_ms)
                if self.encoded
                else TaggedAudio(self.tag, ms=self.audio_ms)
            )
            pc.addTransceiver(self.audio_track, direction="sendrecv")
        else:
            pc.addTransceiver("audio", direction="recvonly")
        if self.publish_video:
            self.video_track = (
                PreEncodedVideo(self.tag, self.fps)
                if self.encoded
                else TaggedVideo(self.tag, self.fps)
            )
            pc.addTransceiver(self.video_track, direction="sendrecv")
        else:
            pc.addTransceiver("video", direction="recvonly")
        for _ in range(self.slots - 1):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        if self.video_codec is not None:
            wanted = [
                c
                for c in RTCRtpSender.getCapabilities("video").codecs
                if c.name in (self.video_codec, "rtx")
            ]
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "video":
                    transceiver.setCodecPreferences(wanted)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            same_kind = [t for t in pc.getTransceivers() if t.kind == track.kind]
            index = next(
                i for i, t in enumerate(same_kind) if t.receiver.track is track
            )
            if self.encoded:
                forwarding.forward_encoded(same_kind[index].receiver)
            self.tasks.append(asyncio.create_task(self._record(track, index)))

        await pc.setLocalDescription(await pc.createOffer())
        sdp, kind = await signal(pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))

    async def _record(self, track: MediaStreamTrack, slot: int) -> None:
        while True:
            try:
                item = await track.recv()
            except MediaStreamError:
                return
            if isinstance(item, av.Packet):
                digest = hashlib.sha256(bytes(item)).hexdigest()
                tag = DIGEST_TAGS.get(digest)
                tag = None if tag == AMBIGUOUS else tag
                record = Received(time.monotonic(), track.kind, slot, tag, digest)
                record.pts = item.pts
            elif isinstance(item, av.VideoFrame):
                record = Received(time.monotonic(), "video", slot, identify_video(item))
                record.pts = item.pts
            else:
                record = Received(time.monotonic(), "audio", slot, identify_audio(item))
                record.pts = item.pts
            self.received.append(record)

    def tags_since(self, since: float, kind: str | None = None) -> set[int | None]:
        """Publisher tags received after ``since`` (monotonic seconds)."""
        return {
            r.tag
            for r in self.received
            if r.at >= since and (kind is None or r.kind == kind)
        }

    def tags_encoded_after(
        self, since: float, kind: str | None = None
    ) -> set[int | None]:
        """Publisher tags of received frames the publisher encoded after ``since``.

        A frame encoded after a routing change reached the server after it,
        so it is one the server chose to forward under the new routing; this
        holds however late the receiver got round to it (aiortc's audio
        jitter buffer, for one, holds the last four frames of a stream until
        the next packets reach that transceiver). Encoded-mode frames only.
        """
        return {
            r.tag
            for r in self.received
            if r.digest is not None
            and ENCODED_AT.get(r.digest, 0.0) > since
            and (kind is None or r.kind == kind)
        }

    def last_encoded(self, tag: int, kind: str | None = None) -> float:
        """When the newest frame received from publisher ``tag`` was encoded."""
        return max(
            (
                ENCODED_AT.get(r.digest, 0.0)
                for r in self.received
                if r.tag == tag
                and r.digest is not None
                and (kind is None or r.kind == kind)
            ),
            default=0.0,
        )

    async def close(self) -> None:
        """Close the connection and stop recording."""
        if self.pc is not None:
            await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def identify_video(frame: av.VideoFrame) -> int | None:
    """The publisher tag whose luma level this frame shows, if any."""
    luma = frame.to_ndarray(format="gray")
    mean = float(luma.mean())
    tag = round((mean - 20) / 40)
    return tag if 1 <= tag <= 5 and abs(mean - tag_luma(tag)) < 12 else None


def identify_audio(frame: av.AudioFrame) -> int | None:
    """The publisher tag whose tone dominates this frame, or None for silence."""
    samples = frame.to_ndarray().astype(numpy.float64).reshape(-1)
    if frame.layout.nb_channels == 2:
        samples = samples[::2]
    if float(numpy.abs(samples).max(initial=0)) < 500:
        return None
    spectrum = numpy.abs(numpy.fft.rfft(samples))
    peak = float(
        numpy.fft.rfftfreq(len(samples), 1 / frame.sample_rate)[spectrum.argmax()]
    )
    tag = round(peak / 500)
    return tag if 1 <= tag <= 5 and abs(peak - tag_frequency(tag)) < 120 else None


async def wait_until(
    predicate: Callable[[], Any], within: float = 15.0, interval: float = 0.05
) -> float:
    """Poll until ``predicate()`` is true; return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)
    return time.monotonic() - start
