"""Regression tests for the aiortc internals the forwarding shim relies on.

If one of these fails after an aiortc upgrade, the router would silently fall
back to decoding (or stop forwarding): re-check recording/forwarding.py
against the new release before changing the pin.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import weakref

import aiortc
import av
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recording import UnsupportedAiortc, forwarding


def test_pinned_aiortc_has_every_internal_the_shim_uses() -> None:
    assert aiortc.__version__ == forwarding.AIORTC_VERSION
    forwarding.check_aiortc()


def test_another_aiortc_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")

    with pytest.raises(
        UnsupportedAiortc, match=r"needs aiortc 1\.16\.0, got '1\.17\.0'"
    ):
        forwarding.check_aiortc()


@pytest.mark.parametrize(
    ("owner", "name", "reported"),
    [
        (RTCRtpSender, "_send_keyframe", "RTCRtpSender._send_keyframe"),
        (RTCRtpReceiver, "_send_rtcp_pli", "RTCRtpReceiver._send_rtcp_pli"),
        (aiortc.rtcrtpreceiver, "get_decoder", "rtcrtpreceiver.get_decoder"),
    ],
)
def test_a_missing_internal_is_named(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, reported: str
) -> None:
    monkeypatch.delattr(owner, name)

    with pytest.raises(UnsupportedAiortc, match=reported):
        forwarding.check_aiortc()


def _vp8_frames(count: int) -> list[bytes]:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 64, 48, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"deadline": "realtime", "lag-in-frames": "0"}
    out = []
    for index in range(count):
        frame = av.VideoFrame(64, 48, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([index * 7 % 256]) * plane.buffer_size)
        frame.pts = index
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def test_a_codec_collected_while_the_registry_is_locked_does_not_deadlock() -> None:
    # the collector runs a collected codec's weak-reference callback in
    # whichever thread is allocating, possibly one inside the registry's lock
    class Codec:
        pass

    def collect_inside_the_lock() -> None:
        codec = Codec()
        key = id(codec)
        with forwarding._forwarded_lock:
            ref = weakref.ref(codec, forwarding._forget_codec(key))
            forwarding._forwarded_codecs[key] = ref  # type: ignore[assignment]
            del codec  # the callback runs here, in this thread, lock held
        assert key not in forwarding._forwarded_codecs

    worker = threading.Thread(target=collect_inside_the_lock, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the weak-reference callback deadlocked"


def test_vp8_keyframes_and_their_size_are_recognised() -> None:
    first, second = _vp8_frames(2)

    assert forwarding.is_keyframe("VP8", first)
    assert not forwarding.is_keyframe("VP8", second)
    assert forwarding.vp8_dimensions(first) == (64, 48)
    assert forwarding.vp8_dimensions(second) is None


def test_h264_idr_and_sps_count_as_keyframes() -> None:
    sps = b"\x00\x00\x00\x01\x67\x42"
    slice_ = b"\x00\x00\x00\x01\x41\x9a"

    assert forwarding.is_keyframe("h264", sps + b"\x00\x00\x00\x01\x65\x88")
    assert not forwarding.is_keyframe("h264", slice_)
    assert forwarding.is_keyframe("opus", b"\x78")


async def test_marked_receiver_yields_encoded_packets_and_pli_reaches_sender(
    loopback_ice: None,
) -> None:
    sender_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    keyframe_requests: list[bool] = []
    received: asyncio.Queue[object] = asyncio.Queue()
    try:
        transceiver = sender_pc.addTransceiver(VideoStreamTrack(), "sendonly")
        forwarding.on_keyframe_request(
            transceiver.sender, lambda: keyframe_requests.append(True)
        )

        @receiver_pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = receiver_pc.getTransceivers()[0].receiver
            forwarding.forward_encoded(receiver)

            async def pull() -> None:
                try:
                    while True:
                        await received.put(await track.recv())
                except MediaStreamError:
                    pass

            asyncio.ensure_future(pull())

        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)

        first = await asyncio.wait_for(received.get(), 10)
        assert isinstance(first, av.Packet)
        assert first.is_keyframe
        assert first.time_base == fractions.Fraction(1, 90000)
        assert forwarding.vp8_dimensions(bytes(first)) == (640, 480)

        receiver = receiver_pc.getTransceivers()[0].receiver
        assert await forwarding.request_keyframe(receiver)
        for _ in range(100):
            if keyframe_requests:
                break
            await asyncio.sleep(0.05)
        assert keyframe_requests
    finally:
        await sender_pc.close()
        await receiver_pc.close()
