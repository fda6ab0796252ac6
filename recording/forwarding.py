"""The shim that lets aiortc 1.16 forward encoded frames without transcoding.

aiortc always decodes what an ``RTCRtpReceiver`` receives and re-encodes what an
``RTCRtpSender`` sends, except for one official path: a track that yields
``av.Packet`` objects is packetised by the sender's ``Encoder.pack`` without any
codec work (the path ``MediaPlayer(decode=False)`` uses). This module adds the
missing half, a receiver whose track yields ``av.Packet`` objects holding the
depacketised encoded frames, and the keyframe plumbing a forwarder needs.

It relies on these aiortc internals, and on nothing else private:

- the module global ``aiortc.rtcrtpreceiver.get_decoder``, which the receiver's
  ``decoder_worker`` thread looks up by name each time the codec changes, and
  the contract that whatever the decoder returns reaches ``track.recv()``
  unchanged;
- ``JitterFrame.data`` (the depacketised frame) and ``JitterFrame.timestamp``;
- ``RTCRtpReceiver._send_rtcp_pli(media_ssrc)``, to ask a publisher for a
  keyframe;
- ``RTCRtpSender._send_keyframe()``, which the sender calls on an incoming PLI
  or FIR and which we override per sender instance;
- ``RTCRtpSender._next_encoded_frame`` calling ``Encoder.pack`` for anything
  that is not an ``av.Frame``.

``check_aiortc()`` verifies all of them and the pinned version; the test
``tests/recording/test_forwarding_shim.py`` calls it so that an upgrade fails
loudly instead of silently falling back to decoding.
"""

from __future__ import annotations

import fractions
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import aiortc
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as _receiver_module
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters

from recording.errors import UnsupportedAiortc

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
"""The only aiortc release whose internals this shim has been checked against."""

FORWARDABLE_CODECS = frozenset({"vp8", "h264", "opus"})
"""Codec names (lower case) whose encoded frames can be forwarded as they are."""

_VP8_START_CODE = b"\x9d\x01\x2a"
_H264_START_CODE = b"\x00\x00\x00\x01"
_H264_KEY_NAL_TYPES = frozenset({5, 7})  # IDR slice, sequence parameter set

# Codec parameter objects (per transceiver, so identity is per receiver) whose
# frames must be forwarded encoded. Keyed by id(); the weak reference guards
# against a recycled id after the codec object has been collected.
_forwarded_codecs: dict[int, weakref.ref[RTCRtpCodecParameters]] = {}
# reentrant: a collected codec's weak-reference callback takes this lock, and
# the collector may run in whichever thread allocates, even one holding it
# already (a plain Lock deadlocked the event loop that way)
_forwarded_lock = threading.RLock()
_original_get_decoder: Callable[[RTCRtpCodecParameters], Decoder] | None = None


def check_aiortc() -> None:
    """Raise UnsupportedAiortc unless aiortc is the pinned, known version."""
    if aiortc.__version__ != AIORTC_VERSION:
        raise UnsupportedAiortc(
            f"the forwarding shim needs aiortc {AIORTC_VERSION}, got "
            f"{aiortc.__version__!r}; install aiortc=={AIORTC_VERSION} or re-check "
            "recording/forwarding.py against the new release"
        )

    missing = []
    if not callable(getattr(_receiver_module, "get_decoder", None)):
        missing.append("aiortc.rtcrtpreceiver.get_decoder")
    worker = getattr(_receiver_module, "decoder_worker", None)
    if worker is None or "get_decoder" not in worker.__code__.co_names:
        missing.append("decoder_worker looking up get_decoder by global name")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        missing.append("RTCRtpReceiver._send_rtcp_pli")
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        missing.append("RTCRtpSender._send_keyframe")
    next_frame = getattr(RTCRtpSender, "_next_encoded_frame", None)
    if next_frame is None or "pack" not in next_frame.__code__.co_names:
        missing.append("RTCRtpSender._next_encoded_frame calling Encoder.pack")
    probe = JitterFrame(data=b"", timestamp=0)
    if not (hasattr(probe, "data") and hasattr(probe, "timestamp")):
        missing.append("JitterFrame.data and JitterFrame.timestamp")
    if missing:
        raise UnsupportedAiortc(
            "the forwarding shim expected these aiortc internals, got none for: "
            + ", ".join(missing)
        )


def install() -> None:
    """Check aiortc and put the forwarding decoder selector in place (idempotent)."""
    global _original_get_decoder

    check_aiortc()
    if _original_get_decoder is not None:
        return
    # aiortc does not re-export get_decoder; it is a module global all the same
    _original_get_decoder = getattr(_receiver_module, "get_decoder")  # noqa: B009
    setattr(_receiver_module, "get_decoder", _select_decoder)  # noqa: B010
    logger.debug("forwarding shim installed over aiortc %s", aiortc.__version__)


def is_forwardable(codec_name: str) -> bool:
    """Whether frames of this codec (e.g. 'VP8') can be forwarded encoded."""
    return codec_name.lower() in FORWARDABLE_CODECS


def forward_encoded(receiver: RTCRtpReceiver) -> None:
    """Make this receiver's track yield encoded ``av.Packet`` frames.

    Call it from the peer connection's ``track`` event, which aiortc fires
    before it starts the receiver; the codecs handed to ``receive()`` are the
    very objects its decoder thread later passes to ``get_decoder``.
    """
    install()
    original_receive = receiver.receive

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        with _forwarded_lock:
            for codec in parameters.codecs:
                if is_forwardable(codec.name):
                    _forwarded_codecs[id(codec)] = weakref.ref(
                        codec, _forget_codec(id(codec))
                    )
        await original_receive(parameters)

    receiver.receive = receive  # type: ignore[method-assign]


def decoder_for(codec: RTCRtpCodecParameters) -> Decoder:
    """aiortc's own decoder for a codec (the transcoding fallback)."""
    if _original_get_decoder is not None:
        return _original_get_decoder(codec)
    decoder: Decoder = getattr(_receiver_module, "get_decoder")(codec)  # noqa: B009
    return decoder


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote side of ``sender`` sends PLI or FIR.

    On the ``pack`` path aiortc's sender ignores keyframe requests (its flag is
    only read by a local encoder), so a forwarder must relay them upstream.
    """
    original = sender._send_keyframe

    def send_keyframe() -> None:
        # keep the flag for frames that do go through the sender's own encoder
        original()
        callback()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


async def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI (RFC 4585 section 6.3.1) to the publisher behind ``receiver``.

    Returns False when no RTP has arrived yet, so the media SSRC is unknown.
    """
    sources = receiver.getSynchronizationSources()
    if not sources:
        return False
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return True


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own."""
    name = codec_name.lower()
    if name == "vp8":
        # RFC 6386 section 9.1: the P bit of the frame tag is 0 for a key frame,
        # which then carries the start code 9d 01 2a.
        return len(data) >= 10 and not data[0] & 1 and data[3:6] == _VP8_START_CODE
    if name == "h264":
        # Annex B stream as aiortc depacketises it: look for IDR or SPS NALs.
        position = data.find(_H264_START_CODE)
        while position != -1 and position + 4 < len(data):
            if data[position + 4] & 0x1F in _H264_KEY_NAL_TYPES:
                return True
            position = data.find(_H264_START_CODE, position + 4)
        return False
    return True


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header, or None for other frames."""
    if not is_keyframe("vp8", data):
        return None
    # RFC 6386 section 9.1: 14-bit sizes follow the start code, little endian
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


class EncodedFrameDecoder(Decoder):
    """A 'decoder' that hands the depacketised frame on as an ``av.Packet``."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.codec_name = codec.name
        self.time_base = fractions.Fraction(1, codec.clockRate)

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        """Wrap the frame's bytes; the receiver already rebased its timestamp to 0."""
        data = encoded_frame.data
        packet = av.Packet(data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = self.time_base
        packet.is_keyframe = is_keyframe(self.codec_name, data)
        return [packet]


def _select_decoder(codec: RTCRtpCodecParameters) -> Decoder:
    with _forwarded_lock:
        ref = _forwarded_codecs.get(id(codec))
    if ref is not None and ref() is codec:
        return EncodedFrameDecoder(codec)
    assert _original_get_decoder is not None
    return _original_get_decoder(codec)


def _forget_codec(key: int) -> Callable[[weakref.ref[RTCRtpCodecParameters]], None]:
    def forget(_ref: weakref.ref[RTCRtpCodecParameters]) -> None:
        with _forwarded_lock:
            if _forwarded_codecs.get(key) is _ref:
                del _forwarded_codecs[key]

    return forget
