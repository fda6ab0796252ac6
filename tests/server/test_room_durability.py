"""Durability: a crash between commit and ack, and a restart mid-session."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest
import socketio
from sqlalchemy import func, select

from server.app import build_services
from server.models import TranscriptLine
from tests.conftest import make_settings
from tests.server.procs import Worker, open_session_with_tokens, worker_env
from tests.server.roomkit import Peer, wait_for


async def test_crash_after_commit_then_retry_stores_one_line_and_replays_clean(
    tmp_path: Path, sqlite_url: str
) -> None:
    services = build_services(make_settings(sqlite_url, tmp_path))
    world, session_id, seats = await open_session_with_tokens(services)
    crashing = Worker(
        worker_env(
            sqlite_url, tmp_path / "a", ACCORD_ROOM_TEST_CRASH_AFTER_COMMIT="chat.send"
        ),
        tmp_path / "a.log",
    )
    await crashing.start()
    peers = {n: Peer(n, tok, pid, crashing.url) for n, (pid, tok) in seats.items()}
    try:
        for peer in peers.values():
            await peer.connect()
        assert (await peers["mediator"].call("lobby.admit", {"client_id": "a1"}))["ok"]

        # the server commits the line, then dies before acknowledging it
        with pytest.raises(socketio.exceptions.TimeoutError):
            await peers["claimant"].call(
                "chat.send", {"client_id": "dur-1", "text": "offer 700"}, within=3
            )
        await wait_for(lambda: crashing.exited() is not None, within=10)
        assert crashing.exited() == 137
    finally:
        for peer in peers.values():
            await peer.close()
        await crashing.stop()

    restarted = Worker(worker_env(sqlite_url, tmp_path / "b"), tmp_path / "b.log")
    await restarted.start()
    try:
        peers = {n: Peer(n, tok, pid, restarted.url) for n, (pid, tok) in seats.items()}
        for peer in peers.values():
            await peer.connect()
        # the retry, even with different text, returns the committed original
        retry = await peers["claimant"].call(
            "chat.send", {"client_id": "dur-1", "text": "offer 999"}
        )
        assert retry["ok"] and retry["duplicate"] is True
        for i in range(5):
            ack = await peers["respondent" if i % 2 else "claimant"].call(
                "chat.send", {"client_id": f"more-{i}", "text": f"line {i}"}
            )
            assert ack["ok"]
        async with services.db.read() as db:
            stored = (
                await db.execute(
                    select(func.count()).where(
                        TranscriptLine.session_id == session_id,
                        TranscriptLine.kind == "chat",
                    )
                )
            ).scalar_one()
        assert stored == 6

        # every client replays to the same transcript: no gaps, no doubles
        views = {}
        for name, peer in peers.items():
            answer = await peer.call("replay", {"since": 0})
            chat = [
                (ln["seq"], ln["content"]["text"])
                for ln in answer["lines"]
                if ln["kind"] == "chat"
            ]
            views[name] = chat
        assert views["claimant"] == views["respondent"] == views["mediator"]
        texts = [t for _, t in views["claimant"]]
        assert texts == ["offer 700", *(f"line {i}" for i in range(5))]
        seqs = [s for s, _ in views["claimant"]]
        assert len(set(seqs)) == len(seqs) == 6 and seqs == sorted(seqs)
    finally:
        for peer in peers.values():
            await peer.close()
        await restarted.stop()
        await services.db.dispose()
        # the clients cut off by the crash leave transports behind; collect
        # them here rather than let their warnings land in a later test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    del world


async def test_two_workers_share_placement_chat_and_replay_through_redis_and_postgres(
    tmp_path: Path, redis_url: str
) -> None:
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, PostgresDatabase, _tcp_open, unavailable

    url = make_url(POSTGRES_URL)
    if not _tcp_open(url.host or "127.0.0.1", url.port or 5432):
        unavailable("PostgreSQL", f"nothing listens at {POSTGRES_URL}")
    database = PostgresDatabase(POSTGRES_URL)
    await asyncio.to_thread(database.create)
    prefix = f"accord-test-{tmp_path.name}"
    services = build_services(make_settings(database.url, tmp_path))
    workers: list[Worker] = []
    peers: dict[str, Peer] = {}
    try:
        world, session_id, seats = await open_session_with_tokens(services)
        env = worker_env(
            database.url,
            tmp_path / "w",
            ACCORD_REDIS_URL=redis_url,
            ACCORD_REDIS_PREFIX=prefix,
        )
        workers = [Worker(env, tmp_path / "w1.log"), Worker(env, tmp_path / "w2.log")]
        for w in workers:
            await w.start()
        # the mediator on worker 1, the parties on worker 2 and 1
        where = {"mediator": 0, "claimant": 1, "respondent": 0}
        peers = {
            n: Peer(n, tok, pid, workers[where[n]].url)
            for n, (pid, tok) in seats.items()
        }
        for peer in peers.values():
            await peer.connect()
        med, cla, res = peers["mediator"], peers["claimant"], peers["respondent"]
        await wait_for(
            lambda: (
                med.roster is not None
                and sum(p["online"] for p in med.roster["people"]) == 3
            )
        )

        assert (await med.call("lobby.admit", {"client_id": "a1"}))["ok"]
        await wait_for(
            lambda: cla.roster is not None and cla.roster["placement"] == "joint"
        )
        hello = await cla.call(
            "chat.send", {"client_id": "c1", "text": "hello across workers"}
        )
        await wait_for(
            lambda: (
                "hello across workers" in res.texts()
                and "hello across workers" in med.texts()
            )
        )

        moved = await med.call(
            "room.move",
            {
                "client_id": "m1",
                "participant_ids": [cla.participant_id],
                "to": "caucus-c",
            },
        )
        assert moved["ok"]
        secret = await med.call(
            "chat.send",
            {"client_id": "m2", "text": "CROSS-WORKER-SECRET", "room": "caucus-c"},
        )
        await wait_for(lambda: "CROSS-WORKER-SECRET" in cla.texts())
        await asyncio.sleep(0.3)
        assert "CROSS-WORKER-SECRET" not in repr(res.events)

        # seq numbers come from the database: one sequence across both workers
        both = [hello["seq"], *moved["seqs"], secret["seq"]]
        assert both == sorted(both) and len(set(both)) == len(both)

        # reconnect the claimant to the other worker: same caucus, full replay
        cla.url = workers[0].url
        await cla.reconnect()
        assert cla.state is not None and cla.state["you"]["placement"] == "caucus-c"
        replay = await cla.call("replay", {"since": 0})
        assert "CROSS-WORKER-SECRET" in repr(replay) and "hello across workers" in repr(
            replay
        )

        # a removal on worker 1 disconnects the respondent held by... worker 1,
        # and a removal of someone on worker 2 crosses the queue
        cla.url = workers[1].url
        await cla.reconnect()
        await med.call(
            "room.remove", {"client_id": "rm", "participant_id": cla.participant_id}
        )
        await wait_for(lambda: not cla.sio.connected, within=10)
        del world
    finally:
        for peer in peers.values():
            await peer.close()
        for w in workers:
            await w.stop()
        await services.db.dispose()
        await asyncio.to_thread(database.drop)
