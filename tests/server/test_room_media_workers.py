"""Room media across two uvicorn worker processes, PostgreSQL and the real Redis.

The participants' room sockets sit on different workers; the session's media
runs in one of them, its owner, found through Redis by every offer, move and
reconnect. When the owner dies, the next offer elsewhere takes the session over.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.app import build_services
from tests.conftest import make_settings
from tests.recording.peers import ClientPeer, forget_frames, wait_until
from tests.server.mediakit import light_peer, now, sent_after, signal_via, tags_between
from tests.server.procs import Worker, open_session_with_tokens, worker_env
from tests.server.roomkit import Peer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


async def test_media_is_routed_by_its_owner_whichever_worker_people_use(
    tmp_path: Path, redis_url: str
) -> None:
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, PostgresDatabase, _tcp_open, unavailable

    url = make_url(POSTGRES_URL)
    if not _tcp_open(url.host or "127.0.0.1", url.port or 5432):
        unavailable("PostgreSQL", f"nothing listens at {POSTGRES_URL}")
    database = PostgresDatabase(POSTGRES_URL)
    await asyncio.to_thread(database.create)
    prefix = f"accord-media-{tmp_path.name}"
    services = build_services(make_settings(database.url, tmp_path))
    redis = Redis.from_url(redis_url)
    workers: list[Worker] = []
    peers: dict[str, Peer] = {}
    clients: dict[str, ClientPeer] = {}
    try:
        _, session_id, seats = await open_session_with_tokens(services)
        env = worker_env(
            database.url,
            tmp_path / "w",
            ACCORD_REDIS_URL=redis_url,
            ACCORD_REDIS_PREFIX=prefix,
        )
        workers = [Worker(env, tmp_path / "w1.log"), Worker(env, tmp_path / "w2.log")]
        for w in workers:
            await w.start()
        where = {"mediator": 0, "claimant": 1, "respondent": 0}
        peers = {
            n: Peer(n, tok, pid, workers[where[n]].url)
            for n, (pid, tok) in seats.items()
        }
        for peer in peers.values():
            await peer.connect()
        med, cla, res = peers["mediator"], peers["claimant"], peers["respondent"]
        assert (await med.call("lobby.admit", {"client_id": "a1"}))["ok"]
        await wait_for(
            lambda: res.roster is not None and res.roster["placement"] == "joint"
        )

        tags = {"mediator": 1, "claimant": 2, "respondent": 3}
        clients = {n: light_peer(n, tag) for n, tag in tags.items()}
        # the claimant's offer reaches worker 2 first: worker 2 owns the media
        await clients["claimant"].negotiate(signal_via(cla))
        owner_key = f"{prefix}:media:owner:{session_id}"
        owner = (await redis.get(owner_key)).decode()
        second = workers[1].proc
        assert second is not None and f"-{second.pid}-" in owner, owner
        # the others' offers reach worker 1, which relays them to the owner
        await clients["mediator"].negotiate(signal_via(med))
        await clients["respondent"].negotiate(signal_via(res))
        start = now()
        for name, client in clients.items():
            others = {t for n, t in tags.items() if n != name}
            await wait_until(
                lambda c=client, o=others: o <= tags_between(c, start, kind="video"),
                40,
            )
        assert (await redis.get(owner_key)).decode() == owner

        # a move made on worker 1 re-routes at the owner on worker 2
        moved = await med.call(
            "room.move",
            {
                "client_id": "m1",
                "participant_ids": [cla.participant_id],
                "to": "caucus-c",
            },
        )
        assert moved["ok"], moved
        acked = now()
        await asyncio.sleep(1.5)
        assert 2 not in sent_after(clients["respondent"], acked)
        assert sent_after(clients["claimant"], acked) == set()
        assert 3 in sent_after(clients["mediator"], acked)

        # the respondent reconnects to worker 2: its new offer finds the owner
        await clients["respondent"].close()
        res.url = workers[1].url
        await res.reconnect()
        clients["respondent"] = light_peer("respondent", 3)
        await clients["respondent"].negotiate(signal_via(res))
        back = now()
        await wait_until(
            lambda: 1 in tags_between(clients["respondent"], back, kind="video"), 40
        )
        await asyncio.sleep(0.5)
        assert tags_between(clients["respondent"], back) == {1}

        # the owner dies; worker 1 takes the session over at the next offer
        assert second is not None
        os.kill(second.pid, signal.SIGKILL)
        await asyncio.to_thread(second.wait, 10)
        for name in ("mediator", "claimant", "respondent"):
            await clients[name].close()
            peer = peers[name]
            peer.url = workers[0].url
            if name != "mediator":
                await peer.reconnect()
        over = now()
        for name, tag in tags.items():
            clients[name] = light_peer(name, tag)
            await clients[name].negotiate(signal_via(peers[name]))
        first = workers[0].proc
        assert first is not None
        assert f"-{first.pid}-" in (await redis.get(owner_key)).decode()
        await wait_until(
            lambda: (
                3 in tags_between(clients["mediator"], over, kind="video")
                and 1 in tags_between(clients["respondent"], over, kind="video")
            ),
            40,
        )
        # still in caucus after the takeover: the seats are in the database
        assert tags_between(clients["claimant"], over) == set()
        assert 2 not in tags_between(clients["respondent"], over)

        # the mediator joins the caucus: the new owner applies the focus
        assert (await med.call("media.focus", {"room": "caucus-c"}))["ok"]
        focused = now()
        await wait_until(
            lambda: 1 in tags_between(clients["claimant"], focused, kind="video"), 40
        )
        await asyncio.sleep(0.5)
        assert 1 not in sent_after(clients["respondent"], focused)
    finally:
        for client in clients.values():
            await client.close()
        for peer in peers.values():
            await peer.close()
        for w in workers:
            await w.stop()
        await redis.aclose()
        await services.db.dispose()
        await asyncio.to_thread(database.drop)
        forget_frames()
