"""Caucus privacy for media: a stateful test that moves people between rooms.

Real aiortc peers publish their own encoded audio and video through a real
router and receive encoded frames, so each received frame is identified by its
exact bytes (no decoding, so no decoder lag blurs the timing). After every
move, each subscriber's frames that their publisher made after the move are
checked against who shares its room (frames made before it may still be on
the wire, or held in the receiver's jitter buffer, and are not counted).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from recording import MediaConfig, MediaRouter
from tests.recording.peers import ClientPeer

PEOPLE = ("mediator", "claimant", "respondent", "interpreter")
ROOMS = (None, "joint", "caucus-claimant", "caucus-respondent")
SETTLE = 0.5
OBSERVE = 0.6


class MediaPrivacy(RuleBasedStateMachine):
    """Moves participants around; nobody may get a frame from outside their room."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.router = MediaRouter(MediaConfig())
        self.peers = {
            name: ClientPeer(name, tag, encoded=True)
            for tag, name in enumerate(PEOPLE, start=1)
        }
        self.rooms: dict[str, str | None] = dict.fromkeys(PEOPLE, "joint")
        self.moved_at = time.monotonic()
        self.run(self._start())

    def run(self, coroutine: object) -> None:
        self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    async def _start(self) -> None:
        for name, peer in self.peers.items():
            await peer.connect(self.router)
            await self.router.set_placement(name, "joint")
        await asyncio.sleep(SETTLE + OBSERVE)

    @rule(person=st.sampled_from(PEOPLE), room=st.sampled_from(ROOMS))
    def move(self, person: str, room: str | None) -> None:
        self.rooms[person] = room
        self.run(self.router.set_placement(person, room))
        self.moved_at = time.monotonic()
        self.run(asyncio.sleep(SETTLE + OBSERVE))

    @rule(person=st.sampled_from(PEOPLE), muted=st.booleans())
    def mute(self, person: str, muted: bool) -> None:
        self.run(self.router.set_muted(person, audio=muted, video=muted))
        self.run(asyncio.sleep(0.1))

    @invariant()
    def nobody_receives_media_from_outside_their_room(self) -> None:
        for name, peer in self.peers.items():
            room = self.rooms[name]
            allowed = {
                self.peers[other].tag
                for other, other_room in self.rooms.items()
                if room is not None and other_room == room and other != name
            }
            # frames the publisher made after the last routing change
            got = peer.tags_encoded_after(self.moved_at) - {None}
            assert got <= allowed, f"{name} in {room} received {got - allowed}"

            # and the router's own routing table agrees
            slots = set(self.router.stats(name).slots) - {None}
            assert slots <= {o for o in PEOPLE if self.peers[o].tag in allowed}

    def teardown(self) -> None:
        async def stop() -> None:
            for peer in self.peers.values():
                await peer.close()
            await self.router.close()

        self.run(stop())
        self.loop.close()


@pytest.mark.slow
def test_no_subscriber_ever_receives_media_from_outside_its_room(
    loopback_ice: None,
) -> None:
    MediaPrivacy.TestCase.settings = settings(
        max_examples=2,
        stateful_step_count=4,
        deadline=None,
        database=None,
        # each example runs real media for seconds: report, do not shrink
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    MediaPrivacy.TestCase().runTest()
