"""Room media through the live server: signalling on the room socket, routing by seat.

Real parts throughout: uvicorn serving the app, python-socketio clients as
the participants' room sockets, and aiortc peers over loopback ICE that
publish their own encoded VP8 and Opus. Each received frame is identified by
its exact bytes, so a frame counts only if it is the publisher's own encoded
frame, forwarded unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import pytest

from tests.conftest import LiveServer, make_settings, start_live_server
from tests.recording.peers import DIGEST_TAGS, ClientPeer, wait_until
from tests.server.mediakit import (
    fresh,
    last_event,
    last_from,
    now,
    signal_via,
    slot_people,
    tags_between,
)
from tests.server.roomkit import Peer, full_room, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offer 127.0.0.1 as the only host candidate (aioice drops loopback)."""
    monkeypatch.setattr(
        aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    )
    yield


@pytest.fixture
async def live(tmp_path: Path, sqlite_url: str) -> AsyncIterator[LiveServer]:
    """The app on SQLite with room media on (the default settings)."""
    server = await start_live_server(
        make_settings(sqlite_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="1000")
    )
    yield server
    await server.stop()


async def _join(setup: dict[str, Any], names: tuple[str, ...]) -> dict[str, Peer]:
    peers: dict[str, Peer] = setup["peers"]
    for name in names:
        await peers[name].connect()
    return peers


async def _close(setup: dict[str, Any], clients: dict[str, ClientPeer]) -> None:
    for client in clients.values():
        await client.close()
    for peer in setup["peers"].values():
        await peer.close()
    for http in setup["http"].values():
        await http.aclose()


def _exact(clients: dict[str, ClientPeer]) -> None:
    """Every frame anyone received is one a publisher encoded (byte for byte)."""
    published = set()
    for client in clients.values():
        for track in (client.video_track, client.audio_track):
            published |= getattr(track, "hashes", set())
    for name, client in clients.items():
        foreign = [r for r in client.received if r.digest not in published]
        assert foreign == [], f"{name} got {len(foreign)} frames nobody published"


async def test_media_follows_moves_mutes_and_toggles_through_the_room_socket(
    live: LiveServer,
) -> None:
    setup = await full_room(live)
    peers = await _join(setup, ("mediator", "claimant", "respondent", "interpreter"))
    med, cla, res, itp = (
        peers[n] for n in ("mediator", "claimant", "respondent", "interpreter")
    )
    assert (await med.call("lobby.admit", {"client_id": "admit"}))["ok"]
    await wait_for(
        lambda: res.roster is not None and res.roster["placement"] == "joint"
    )

    tags = {"mediator": 1, "claimant": 2, "respondent": 3, "interpreter": 4}
    clients = {n: ClientPeer(n, tag, slots=4, encoded=True) for n, tag in tags.items()}
    try:
        for name, client in clients.items():
            await client.negotiate(signal_via(peers[name]))

        # the joint session: everyone sees and hears the three others
        start = now()
        for name, client in clients.items():
            others = {t for n, t in tags.items() if n != name}
            await wait_until(
                lambda c=client, o=others: (
                    o <= tags_between(c, start, kind="video")
                    and o <= tags_between(c, start, kind="audio")
                ),
                20,
            )
        await wait_for(lambda: len(slot_people(res)) == 3)
        assert slot_people(res) == {
            med.participant_id,
            cla.participant_id,
            itp.participant_id,
        }
        audience = last_event(cla, "media.audience")
        assert audience["room"] == "joint"
        assert set(audience["video"]) == {
            med.participant_id,
            res.participant_id,
            itp.participant_id,
        }

        # into caucus: the claimant and their interpreter leave the joint room
        asked = now()
        moved = await med.call(
            "room.move",
            {
                "client_id": "caucus",
                "participant_ids": [cla.participant_id],
                "to": "caucus-claimant",
            },
        )
        acked = now()
        assert moved["ok"], moved
        await asyncio.sleep(1.2)
        res_client = clients["respondent"]
        stopped = max(
            last_from(res_client, 2, "video"), last_from(res_client, 4, "video")
        )
        print(f"caucus: ack {acked - asked:.3f} s, last frame {stopped - asked:.3f} s")
        assert stopped - asked < 1.0
        assert fresh(res_client, asked + 1.0) <= {1}
        assert fresh(clients["claimant"], asked + 1.0) <= {4}
        assert fresh(clients["mediator"], asked + 1.0) <= {3}
        await wait_for(lambda: slot_people(cla) == {itp.participant_id})
        assert set(last_event(cla, "media.audience")["audio"]) == {itp.participant_id}

        # the mediator joins the caucus's media; the respondent no longer has them
        focus = await med.call("media.focus", {"room": "caucus-claimant"})
        assert focus["ok"], focus
        joined = now()
        await wait_until(
            lambda: 1 in tags_between(clients["claimant"], joined, kind="video"), 10
        )
        await asyncio.sleep(0.8)
        assert fresh(clients["respondent"], joined + 0.5) == set()
        assert last_event(med, "media.audience")["room"] == "caucus-claimant"

        # the mediator mutes the claimant: the server stops forwarding, whatever
        # the claimant's client keeps sending
        owner = live.services.extras["media_owner"]
        muted = await med.call(
            "room.mute",
            {
                "client_id": "mute",
                "participant_ids": [cla.participant_id],
                "audio": True,
                "video": True,
            },
        )
        assert muted["ok"], muted
        silenced = now()
        before = owner.router.stats(str(cla.participant_id)).frames_received
        await asyncio.sleep(1.0)
        after = owner.router.stats(str(cla.participant_id)).frames_received
        assert after["video"] > before["video"] + 10  # still arriving at the server
        assert 2 not in fresh(clients["mediator"], silenced + 0.3)
        assert 2 not in fresh(clients["interpreter"], silenced + 0.3)
        assert last_event(cla, "media.audience")["video"] == []
        unmuted = await med.call(
            "room.mute",
            {
                "client_id": "unmute",
                "participant_ids": [cla.participant_id],
                "audio": False,
                "video": False,
            },
        )
        assert unmuted["ok"]
        back = now()
        await wait_until(
            lambda: 2 in tags_between(clients["mediator"], back, kind="video"), 10
        )

        # the claimant turns their own camera off: audio still flows, video not
        off = await cla.call("media.toggle", {"audio": True, "video": False})
        assert off["ok"], off
        dark = now()
        await asyncio.sleep(1.0)
        assert 2 not in fresh(clients["mediator"], dark + 0.3, kind="video")
        assert 2 in tags_between(clients["mediator"], dark + 0.3, kind="audio")
        assert last_event(cla, "media.audience")["video"] == []
        state = last_event(med, "media.state")
        assert state is not None

        _exact(clients)
        assert all(r.tag is not None for c in clients.values() for r in c.received)
    finally:
        await _close(setup, clients)
        DIGEST_TAGS.clear()
