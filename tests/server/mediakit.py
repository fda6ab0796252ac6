"""Helpers for the room media tests: aiortc peers signalling over the room socket."""

from __future__ import annotations

import time
from typing import Any

from tests.recording.peers import ClientPeer, Signal
from tests.server.roomkit import Peer

FPS = 15
AUDIO_MS = 60


def light_peer(name: str, tag: int, slots: int = 3) -> ClientPeer:
    """An encoded-mode test peer sending few packets: 15 fps video, 60 ms audio.

    The peers share one process (and its GIL) with the server under test, so
    fewer packets keep a loaded CI machine from lagging them.
    """
    return ClientPeer(name, tag, slots=slots, encoded=True, fps=FPS, audio_ms=AUDIO_MS)


def signal_via(peer: Peer, **extra: Any) -> Signal:
    """Send the offer as ``media.offer`` on the peer's room socket."""

    async def signal(sdp: str) -> tuple[str, str]:
        # generous: on a loaded CI box an answer can take seconds
        ack = await peer.call(
            "media.offer", {"sdp": sdp, "type": "offer", **extra}, within=30
        )
        assert ack["ok"], ack
        answer = ack["result"]["answer"]
        return str(answer["sdp"]), str(answer["type"])

    return signal


def last_event(peer: Peer, name: str) -> Any:
    """The latest payload of a live event, or None."""
    found = [data for event, data in peer.events if event == name]
    return found[-1] if found else None


def slot_people(peer: Peer) -> set[int]:
    """Who the peer's latest ``media.slots`` says it sees and hears."""
    slots = (last_event(peer, "media.slots") or {}).get("slots", [])
    return {s["participant"] for s in slots if s}


def sent_after(
    client: ClientPeer, since: float, kind: str | None = None
) -> set[int | None]:
    """Tags of frames encoded after ``since`` (see ClientPeer.tags_encoded_after)."""
    return client.tags_encoded_after(since, kind)


def tags_between(
    client: ClientPeer, start: float, end: float | None = None, kind: str | None = None
) -> set[int | None]:
    """Publisher tags a client received in [start, end)."""
    stop = end if end is not None else float("inf")
    return {
        r.tag
        for r in client.received
        if start <= r.at < stop and (kind is None or r.kind == kind)
    }


def now() -> float:
    """The clock the peers stamp frames with."""
    return time.monotonic()
