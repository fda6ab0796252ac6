"""Two uvicorn worker processes serve one translated session (Redis, PostgreSQL).

The interpreter's desk lives in the transcript, not in a process: a draft
written by one worker is approved on the other after the first is gone, and
the release mode chosen on one worker holds the other's lines too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.app import build_services
from server.models import Participant, ParticipantKind
from server.roomtokens import RoomTokens
from tests.conftest import make_settings
from tests.server.procs import Worker, open_session_with_tokens, worker_env
from tests.server.roomkit import Peer, settle, wait_for
from tests.server.translation_support import (
    FakeLibreTranslate,
    libretranslate_env,
    serve_fake,
    translation_into,
    updates,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


async def test_a_draft_from_one_worker_is_approved_on_the_other(
    tmp_path: Path, redis_url: str
) -> None:
    from sqlalchemy import update
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, PostgresDatabase, _tcp_open, unavailable

    url = make_url(POSTGRES_URL)
    if not _tcp_open(url.host or "127.0.0.1", url.port or 5432):
        unavailable("PostgreSQL", f"nothing listens at {POSTGRES_URL}")
    database = PostgresDatabase(POSTGRES_URL)
    await asyncio.to_thread(database.create)
    services = build_services(make_settings(database.url, tmp_path))
    workers: list[Worker] = []
    peers: dict[str, Peer] = {}
    try:
        async with serve_fake(FakeLibreTranslate()) as fake:
            world, session_id, seats = await open_session_with_tokens(services)
            async with services.db.write() as db:
                interpreter = Participant(
                    session_id=session_id,
                    kind=ParticipantKind.INTERPRETER,
                    user_id=world.interpreter,
                    attached_party_id=world.claimant,
                    display_name="I",
                    language="en",
                )
                db.add(interpreter)
                await db.flush()
                claimant_id = seats["claimant"][0]
                await db.execute(
                    update(Participant)
                    .where(Participant.id == claimant_id)
                    .values(language="zh-CN")
                )
                token, _ = RoomTokens(services.signer, services.db, 3600).issue(
                    interpreter, world.case_id
                )
                seats["interpreter"] = (interpreter.id, token)
            env = worker_env(
                database.url,
                tmp_path / "w",
                ACCORD_REDIS_URL=redis_url,
                ACCORD_REDIS_PREFIX=f"accord-test-{tmp_path.name}",
                **libretranslate_env(fake),
            )
            workers = [
                Worker(env, tmp_path / "w1.log"),
                Worker(env, tmp_path / "w2.log"),
            ]
            for worker in workers:
                await worker.start()
            where = {"mediator": 0, "claimant": 0, "respondent": 1, "interpreter": 1}
            peers = {
                n: Peer(n, tok, pid, workers[where[n]].url)
                for n, (pid, tok) in seats.items()
            }
            for peer in peers.values():
                await peer.connect()
            med, cla = peers["mediator"], peers["claimant"]
            res, interp = peers["respondent"], peers["interpreter"]
            assert (await med.call("lobby.admit", {"client_id": "a"}))["ok"]
            await wait_for(
                lambda: all(
                    p.roster is not None and p.roster["placement"] == "joint"
                    for p in (cla, res, interp)
                )
            )
            mode = await med.call(
                "translation.mode", {"client_id": "m", "mode": "review_before_release"}
            )
            assert mode["ok"], mode

            # said on worker 1, translated there, drafted for the interpreter
            # held by worker 2
            ack = await cla.call("chat.send", {"client_id": "c1", "text": "我同意"})
            seq = ack["seq"]
            await wait_for(
                lambda: updates(interp, seq, "translation.draft") != [], within=10
            )
            await settle()
            assert translation_into(res, seq, "en") is None

            # worker 1 goes away (its clients first); worker 2 knows the draft
            # from the transcript only
            await med.close()
            await cla.close()
            await workers[0].stop()
            approved = await interp.call(
                "translation.approve", {"client_id": "ap", "seq": seq, "target": "en"}
            )
            assert approved["ok"], approved
            await wait_for(lambda: translation_into(res, seq, "en") is not None)
            shown = translation_into(res, seq, "en")
            assert shown is not None and shown["text"] == "[en] 我同意"
            assert shown["approved_by"] == interp.participant_id

            # worker 2 reads the mode worker 1 stored: its own lines are held too
            answer = await res.call("chat.send", {"client_id": "r1", "text": "Good."})
            await wait_for(
                lambda: updates(interp, answer["seq"], "translation.draft") != [],
                within=10,
            )
            await settle()
            assert translation_into(interp, answer["seq"], "zh") is None
            assert fake.asked("zh") == ["Good."]
    finally:
        for peer in peers.values():
            await peer.close()
        for worker in workers:
            await worker.stop()
        await services.db.dispose()
        await asyncio.to_thread(database.drop)
