"""The media router with real aiortc peers over loopback ICE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from recording import InvalidOffer, MediaConfig, MediaRouter, MediaState
from recording.errors import UnknownParticipant
from tests.recording.peers import ClientPeer, wait_until

SETTLE = 0.5  # frames already on the wire or in a jitter buffer when routing changes


@pytest.fixture
async def peers() -> AsyncIterator[list[ClientPeer]]:
    """Peers a test connects; closed afterwards."""
    made: list[ClientPeer] = []
    yield made
    for peer in made:
        await peer.close()


async def connect(
    router: MediaRouter, made: list[ClientPeer], *specs: tuple[str, int, str | None]
) -> list[ClientPeer]:
    """Connect (name, tag, room) peers and place them."""
    result = []
    for name, tag, room in specs:
        peer = ClientPeer(name, tag)
        made.append(peer)
        await peer.connect(router)
        await router.set_placement(name, room)
        result.append(peer)
    return result


async def test_frames_reach_only_same_room_participants(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    a, b, c, d = await connect(
        router,
        peers,
        ("a", 1, "joint"),
        ("b", 2, "joint"),
        ("c", 3, "caucus"),
        ("d", 4, "caucus"),
    )

    await wait_until(
        lambda: (
            {2} <= a.tags_since(0, "video")
            and {2} <= a.tags_since(0, "audio")
            and {1} <= b.tags_since(0, "video")
            and {4} <= c.tags_since(0, "video")
            and {3} <= d.tags_since(0, "audio")
        )
    )
    await asyncio.sleep(0.5)

    assert a.tags_since(0) <= {2, None}
    assert b.tags_since(0) <= {1, None}
    assert c.tags_since(0) <= {4, None}
    assert d.tags_since(0) <= {3, None}
    assert router.audience("a") == {"audio": ("b",), "video": ("b",)}


async def test_lobby_receives_nothing_and_is_seen_by_nobody(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    a, b, lobby = await connect(
        router, peers, ("a", 1, "joint"), ("b", 2, "joint"), ("l", 3, None)
    )

    await wait_until(lambda: 2 in a.tags_since(0, "video"))
    await asyncio.sleep(1.0)

    assert lobby.received == []
    assert 3 not in a.tags_since(0) | b.tags_since(0)
    assert router.stats("l").slots == (None, None, None)


async def test_move_into_caucus_reroutes_within_a_second(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    mediator, claimant, respondent = await connect(
        router, peers, ("m", 1, "joint"), ("c", 2, "joint"), ("r", 3, "joint")
    )
    await wait_until(lambda: {2, 3} <= mediator.tags_since(0, "video"))

    # mediator and claimant go into caucus: the respondent must stop
    # receiving the claimant at once, and the claimant the respondent
    await router.set_placement("m", "caucus-c")
    moved = time.monotonic()
    await router.set_placement("c", "caucus-c")
    took = await wait_until(
        lambda: 2 in mediator.tags_since(time.monotonic() - 0.1, "video"), 5
    )
    await asyncio.sleep(1.0)

    assert took < 1.0
    assert respondent.tags_since(moved + SETTLE) <= {None}
    assert claimant.tags_since(moved + SETTLE) <= {1, None}
    assert mediator.tags_since(moved + SETTLE) <= {2, None}
    assert router.stats("m").keyframes_requested >= 1

    # and back to the joint session
    await router.set_placement("c", "joint")
    back = time.monotonic()
    took = await wait_until(
        lambda: (
            2 in respondent.tags_since(back, "video")
            and 2 in respondent.tags_since(back, "audio")
        ),
        5,
    )
    assert took < 1.0


async def test_mediator_mute_stops_frames_at_the_server(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    mediator, party = await connect(router, peers, ("m", 1, "joint"), ("p", 2, "joint"))
    await wait_until(lambda: 2 in mediator.tags_since(0, "video"))

    # the party's client keeps sending; the server must drop it all
    await router.set_muted("p", audio=True, video=True)
    muted = time.monotonic()
    await asyncio.sleep(1.2)

    assert mediator.tags_since(muted + SETTLE) <= {None}
    assert 1 in party.tags_since(muted + SETTLE, "video")
    assert router.audience("p") == {"audio": (), "video": ()}
    assert router.stats("p").frames_received["video"] > 0

    # video only back: the mediator needs a keyframe before it can show it
    await router.set_muted("p", audio=True, video=False)
    unmuted = time.monotonic()
    await wait_until(lambda: 2 in mediator.tags_since(unmuted, "video"), 3)
    assert 2 not in mediator.tags_since(muted + SETTLE, "audio")


async def test_forwarded_frames_are_the_publishers_bytes(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    publisher = ClientPeer("pub", 1, encoded=True)
    subscriber = ClientPeer("sub", 2, encoded=True)
    peers += [publisher, subscriber]
    for peer in peers:
        await peer.connect(router)
        await router.set_placement(peer.name, "joint")

    def digests(kind: str) -> list[str | None]:
        return [r.digest for r in subscriber.received if r.kind == kind]

    await wait_until(
        lambda: len(digests("video")) >= 30 and len(digests("audio")) >= 50
    )

    assert publisher.video_track is not None and publisher.audio_track is not None
    sent_video = publisher.video_track.hashes  # type: ignore[attr-defined]
    sent_audio = publisher.audio_track.hashes  # type: ignore[attr-defined]
    assert set(digests("video")) <= sent_video
    assert set(digests("audio")) <= sent_audio


async def test_timestamps_stay_continuous_when_a_slot_changes_source(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    subscriber = ClientPeer("sub", 1, encoded=True, slots=1)
    first, second = ClientPeer("x", 2), ClientPeer("y", 3)
    peers += [subscriber, first, second]
    for peer in peers:
        await peer.connect(router)
    await router.set_placement("sub", "joint")
    await router.set_placement("x", "joint")
    await router.set_placement("y", "caucus")
    await wait_until(lambda: len(subscriber.received) > 40)

    # one slot only: moving x out and y in switches that slot's source
    await router.set_placement("x", "caucus")
    await router.set_placement("y", "joint")
    switched = time.monotonic()
    await wait_until(
        lambda: (
            sum(r.at > switched and r.kind == "video" for r in subscriber.received) > 20
        )
    )

    assert router.stats("sub").slots == ("y",)
    for kind in ("audio", "video"):
        stamps = [r.pts for r in subscriber.received if r.kind == kind]
        assert all(isinstance(s, int) for s in stamps)
        assert stamps == sorted(stamps), f"{kind} timestamps went backwards"
    stats = await subscriber.pc.getStats()  # type: ignore[union-attr]
    lost = [s.packetsLost for s in stats.values() if s.type == "inbound-rtp"]
    assert lost and all(n == 0 for n in lost)


async def test_other_codec_falls_back_to_transcoding(
    router: MediaRouter, peers: list[ClientPeer]
) -> None:
    publisher = ClientPeer("vp8", 1)
    subscriber = ClientPeer("h264", 2, publish_video=False)
    subscriber.video_codec = "H264"
    peers += [publisher, subscriber]
    for peer in peers:
        await peer.connect(router)
        await router.set_placement(peer.name, "joint")

    await wait_until(lambda: 1 in subscriber.tags_since(0, "video"), 15)

    assert router.stats("vp8").video_codec == "vp8"
    assert router.stats("h264").video_codec is None
    assert router.stats("h264").state == MediaState.AUDIO_ONLY


async def test_state_callback_reports_audio_only_and_closed() -> None:
    events: list[tuple[str, MediaState]] = []
    router = MediaRouter(MediaConfig(), on_state=lambda p, s: events.append((p, s)))
    peer = ClientPeer("voice", 1, publish_video=False)
    try:
        await peer.connect(router)
        await wait_until(lambda: ("voice", MediaState.AUDIO_ONLY) in events)
        await router.remove("voice")
    finally:
        await peer.close()
        await router.close()

    assert events[0] == ("voice", MediaState.CONNECTING)
    assert events[-1] == ("voice", MediaState.CLOSED)


async def test_active_speaker_is_the_loud_participant() -> None:
    speakers: list[tuple[str, str | None]] = []
    router = MediaRouter(
        MediaConfig(speaker_interval=0.1),
        on_active_speaker=lambda room, pid: speakers.append((room, pid)),
    )
    loud, quiet = ClientPeer("loud", 1), ClientPeer("quiet", 2)
    try:
        for peer in (loud, quiet):
            await peer.connect(router)
            await router.set_placement(peer.name, "joint")
        assert quiet.audio_track is not None
        quiet.audio_track.amplitude = 3  # type: ignore[attr-defined]
        await wait_until(lambda: ("joint", "loud") in speakers)

        await router.set_muted("loud", audio=True, video=False)
        await wait_until(lambda: speakers[-1] == ("joint", None))
    finally:
        for peer in (loud, quiet):
            await peer.close()
        await router.close()


async def test_bad_offer_is_refused_and_changes_nothing(router: MediaRouter) -> None:
    with pytest.raises(InvalidOffer, match="expected an SDP session description"):
        await router.handle_offer("x", "hello", "offer")
    with pytest.raises(InvalidOffer, match="expected an SDP of type 'offer'"):
        await router.handle_offer("x", "v=0\r\n", "answer")
    with pytest.raises(InvalidOffer, match="aiortc can answer"):
        await router.handle_offer("x", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "offer")

    with pytest.raises(UnknownParticipant, match="'x'"):
        router.stats("x")


async def test_answer_caps_the_video_bitrate() -> None:
    router = MediaRouter(MediaConfig(max_bitrate_kbps=300))
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        client.addTransceiver("audio")
        client.addTransceiver("video")
        await client.setLocalDescription(await client.createOffer())
        answer, kind = await router.handle_offer(
            "p", client.localDescription.sdp, "offer"
        )
        await client.setRemoteDescription(RTCSessionDescription(answer, kind))
    finally:
        await client.close()
        await router.close()

    video = answer[answer.index("m=video") :]
    assert "b=AS:300\r\n" in video and "b=TIAS:300000\r\n" in video
    assert "b=AS" not in answer[: answer.index("m=video")]
