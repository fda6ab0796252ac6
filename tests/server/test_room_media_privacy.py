"""Caucus privacy for media through the hub: a stateful test over the live server.

tests/recording/test_media_privacy.py drives the bare router; this one drives
the whole path a mediator uses: ``room.move``, ``room.mute`` and
``media.focus`` on the mediator's room socket, the hub's commit, the media
owner re-reading the seats, the router. Real aiortc peers publish their own
encoded frames and signal over their room sockets; people also drop and
reconnect. After every step, each person's received frames that were made
after the step's acknowledgement must come only from people the model places
in the same room and has not muted (interpreters follow their party).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aioice.ice
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.conftest import LiveServer, make_settings, start_live_server
from tests.recording.peers import ClientPeer, forget_frames, wait_until
from tests.server.mediakit import light_peer, signal_via, tags_between
from tests.server.roomkit import Peer, full_room

pytestmark = pytest.mark.slow

T = TypeVar("T")
PEOPLE = ("mediator", "claimant", "respondent", "interpreter")
PARTIES = ("claimant", "respondent", "interpreter")
ROOMS = ("lobby", "joint", "caucus-a", "caucus-b")
TAGS = {name: tag for tag, name in enumerate(PEOPLE, start=1)}
OBSERVE = 0.8
COUNTS = {"sequences": 0, "steps": 0}


class Harness:
    """An event loop in a thread holding the live server; rules run on it."""

    def __init__(self, live_settings: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.live: LiveServer = self.run(start_live_server(live_settings))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.live.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


HARNESS: Harness | None = None


class MediaHubPrivacy(RuleBasedStateMachine):
    """Moves, mutes, focuses and reconnects; nobody gets media from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.setup = self.h.run(full_room(self.h.live))
        self.peers: dict[str, Peer] = self.setup["peers"]
        self.clients: dict[str, ClientPeer] = {}
        self.room = dict.fromkeys(PEOPLE, "joint")
        self.muted: set[str] = set()
        self.n = 0
        self.changed_at = time.monotonic()
        self.h.run(self._start())
        COUNTS["sequences"] += 1

    async def _start(self) -> None:
        for peer in self.peers.values():
            await peer.connect()
        ack = await self.peers["mediator"].call("lobby.admit", {"client_id": "in"})
        assert ack["ok"], ack
        for name in PEOPLE:
            await self._media(name)
        start = time.monotonic()
        for name, client in self.clients.items():
            others = {TAGS[n] for n in PEOPLE if n != name}
            await wait_until(
                lambda c=client, o=others: o <= tags_between(c, start, kind="video"),
                40,
            )

    async def _media(self, name: str) -> None:
        client = light_peer(name, TAGS[name], slots=4)
        self.clients[name] = client
        extra = {"room": self.room["mediator"]} if name == "mediator" else {}
        await client.negotiate(signal_via(self.peers[name], **extra))

    def cid(self) -> str:
        self.n += 1
        return f"p{self.n}"

    def mediate(self, event: str, payload: dict[str, Any]) -> None:
        ack = self.h.run(self.peers["mediator"].call(event, payload, within=30))
        assert ack["ok"], (event, payload, ack)
        self.changed_at = time.monotonic()
        COUNTS["steps"] += 1
        self.h.run(asyncio.sleep(OBSERVE))

    # -- rules ----------------------------------------------------------------

    @rule(person=st.sampled_from(PARTIES), room=st.sampled_from(ROOMS))
    def move(self, person: str, room: str) -> None:
        pid = self.peers[person].participant_id
        self.mediate(
            "room.move",
            {"client_id": self.cid(), "participant_ids": [pid], "to": room},
        )
        # the claimant's interpreter follows the claimant
        for name in ("claimant", "interpreter") if person == "claimant" else (person,):
            self.room[name] = room

    @rule(room=st.sampled_from(ROOMS[1:]))
    def focus(self, room: str) -> None:
        self.mediate("media.focus", {"room": room})
        self.room["mediator"] = room

    @rule(person=st.sampled_from(PEOPLE), muted=st.booleans())
    def mute(self, person: str, muted: bool) -> None:
        pid = self.peers[person].participant_id
        self.mediate(
            "room.mute",
            {
                "client_id": self.cid(),
                "participant_ids": [pid],
                "audio": muted,
                "video": muted,
            },
        )
        if muted:
            self.muted.add(person)
        else:
            self.muted.discard(person)

    @rule(person=st.sampled_from(PARTIES))
    def reconnect(self, person: str) -> None:
        async def again() -> None:
            await self.clients[person].close()
            await self.peers[person].reconnect()
            await self._media(person)

        self.h.run(again())
        self.changed_at = time.monotonic()
        COUNTS["steps"] += 1
        self.h.run(asyncio.sleep(OBSERVE))

    # -- the property -----------------------------------------------------------

    @invariant()
    def nobody_gets_media_from_outside_their_room(self) -> None:
        for name, client in self.clients.items():
            room = self.room[name]
            allowed = {
                TAGS[other]
                for other in PEOPLE
                if other != name
                and room != "lobby"
                and self.room[other] == room
                and other not in self.muted
            }
            got = client.tags_encoded_after(self.changed_at) - {None}
            assert got <= allowed, f"{name} in {room} got {got - allowed}"

    def teardown(self) -> None:
        async def stop() -> None:
            for client in self.clients.values():
                await client.close()
            for peer in self.peers.values():
                await peer.close()
            for http in self.setup["http"].values():
                await http.aclose()

        self.h.run(stop())
        forget_frames()


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offer 127.0.0.1 as the only host candidate (aioice drops loopback)."""
    monkeypatch.setattr(
        aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    )
    yield


def test_no_one_gets_media_from_outside_their_room_through_the_hub(
    tmp_path: Path, sqlite_url: str, loopback_ice: None
) -> None:
    global HARNESS
    HARNESS = Harness(
        make_settings(sqlite_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="1000")
    )
    try:
        MediaHubPrivacy.TestCase.settings = settings(
            max_examples=2,
            stateful_step_count=5,
            deadline=None,
            database=None,
            # each example runs real media for seconds: report, do not shrink
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        )
        MediaHubPrivacy.TestCase().runTest()
    finally:
        HARNESS.close()
        HARNESS = None
    print(f"media privacy through the hub: {COUNTS}")
    assert COUNTS["sequences"] >= 2
