"""Translation in the live room, through real sockets and a real HTTP backend.

The server runs under uvicorn with the libretranslate backend pointed at a
LibreTranslate look-alike (tests/server/translation_support.py) that answers
``[target] text``; peers are python-socketio clients. The argos path with the
real tiny models is in test_room_translation_argos.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.room_translation import RoomTranslation
from tests.conftest import LiveServer, make_settings, start_live_server
from tests.server.roomkit import settle, staff_client, wait_for
from tests.server.translation_support import (
    FakeLibreTranslate,
    close_all,
    libretranslate_env,
    seated_room,
    serve_fake,
    translation_into,
    updates,
)

LANGS = {"claimant": "zh-CN", "respondent": "en", "interpreter": "en"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeLibreTranslate]:
    async with serve_fake(FakeLibreTranslate()) as served:
        yield served


@pytest.fixture
async def live(
    fake: FakeLibreTranslate, database_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    """The app on SQLite, then PostgreSQL, translating through the fake."""
    settings = make_settings(database_url, tmp_path, **libretranslate_env(fake))
    server = await start_live_server(settings)
    yield server
    await server.stop()


@pytest.fixture
async def live_sqlite(
    fake: FakeLibreTranslate, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    """The same on SQLite only, for behaviour that does not depend on the database."""
    env = libretranslate_env(fake, ACCORD_TRANSLATION_TIMEOUT_S="1")
    server = await start_live_server(make_settings(sqlite_url, tmp_path, **env))
    yield server
    await server.stop()


def _index(peer: Any, predicate: Any) -> int:
    return next(i for i, line in enumerate(peer.lines) if predicate(line))


async def test_original_arrives_first_then_its_translation_as_an_update(
    live: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live, LANGS)
    peers = setup["peers"]
    cla, res, med, interp = (
        peers[k] for k in ("claimant", "respondent", "mediator", "interpreter")
    )
    try:
        # the backend holds every translation: chat must not wait for it
        fake.gate.clear()
        ack = await cla.call(
            "chat.send", {"client_id": "z-1", "text": "押金什么时候退"}
        )
        assert ack["ok"] is True
        seq = ack["seq"]
        await wait_for(lambda: "押金什么时候退" in res.texts())
        await settle()
        assert updates(res, seq) == [] and updates(med, seq) == []
        chat = next(line for line in res.lines if line["seq"] == seq)
        assert chat["content"] == {"text": "押金什么时候退", "language": "zh-CN"}

        fake.gate.set()
        await wait_for(lambda: translation_into(res, seq, "en") is not None)
        shown = translation_into(res, seq, "en")
        assert shown is not None
        assert shown["status"] == "machine"
        assert shown["text"] == "[en] 押金什么时候退"
        assert shown["source"] == "zh" and shown["version"] == seq
        assert shown["model"].startswith("libretranslate:")
        first_chat = _index(res, lambda line: line["seq"] == seq)
        first_update = _index(res, lambda line: line.get("ref") == seq)
        assert first_chat < first_update
        assert res.lines[first_update]["seq"] > seq

        # the mediator sees it too; the interpreter also gets the machine draft
        await wait_for(lambda: translation_into(med, seq, "en") is not None)
        await wait_for(lambda: updates(interp, seq, "translation.draft") != [])
        draft = updates(interp, seq, "translation.draft")[0]
        assert draft["visibility"] == f"participant:{interp.participant_id}"
        assert draft["content"]["original"] == "押金什么时候退"
        await settle()
        assert updates(res, kind="translation.draft") == []
        assert updates(cla, kind="translation.draft") == []
        # nobody asked for zh: the author reads their own language
        assert fake.asked("zh") == []
    finally:
        await close_all(setup)


async def test_a_repeated_line_is_translated_once_and_served_from_the_cache(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    room: RoomTranslation = live_sqlite.services.extras["room_translation"]
    try:
        seqs = []
        for n in range(3):
            ack = await cla.call("chat.send", {"client_id": f"c-{n}", "text": "好的"})
            seqs.append(ack["seq"])
        for seq in seqs:
            await wait_for(lambda s=seq: translation_into(res, s, "en") is not None)
            assert translation_into(res, seq, "en")["text"] == "[en] 好的"  # type: ignore[index]
        assert fake.asked("en").count("好的") == 1
        assert room.pipeline.stats.cache_hits == 2
    finally:
        await close_all(setup)


async def test_timeout_and_backend_error_leave_the_original_marked_unavailable(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    fake.slow.add("慢")
    fake.fail.add("坏")
    try:
        slow = await cla.call("chat.send", {"client_id": "s", "text": "慢一点"})
        broken = await cla.call("chat.send", {"client_id": "b", "text": "坏了"})
        fine = await cla.call("chat.send", {"client_id": "f", "text": "好"})
        for ack in (slow, broken, fine):
            await wait_for(
                lambda a=ack: translation_into(res, a["seq"], "en") is not None,
                within=8,
            )
        timed_out = translation_into(res, slow["seq"], "en")
        failed = translation_into(res, broken["seq"], "en")
        assert timed_out is not None and failed is not None
        assert (timed_out["status"], timed_out["error"]) == ("unavailable", "timeout")
        assert timed_out["text"] is None
        assert (failed["status"], failed["error"]) == ("unavailable", "backend_error")
        assert translation_into(res, fine["seq"], "en")["status"] == "machine"  # type: ignore[index]
        # the originals are untouched
        assert {"慢一点", "坏了", "好"} <= set(res.texts())
    finally:
        await close_all(setup)


async def test_no_direct_pair_pivots_through_english(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(
        live_sqlite, {"claimant": "zh-CN", "respondent": "de"}, interpreter=False
    )
    cla, res, med = (setup["peers"][k] for k in ("claimant", "respondent", "mediator"))
    try:
        ack = await cla.call("chat.send", {"client_id": "p", "text": "谢谢"})
        await wait_for(lambda: translation_into(res, ack["seq"], "de") is not None)
        german = translation_into(res, ack["seq"], "de")
        assert german is not None and german["text"] == "[de] [en] 谢谢"
        assert german["model"].count("libretranslate:") == 2 and "+" in german["model"]
        # the English readers (the mediator) get the first hop as their own
        await wait_for(lambda: translation_into(med, ack["seq"], "en") is not None)
        assert translation_into(med, ack["seq"], "en")["text"] == "[en] 谢谢"  # type: ignore[index]
        assert fake.asked("zh") == [] and "谢谢" in fake.asked("en")
        assert "[en] 谢谢" in fake.asked("de")
    finally:
        await close_all(setup)


async def test_glossary_terms_of_the_case_override_the_servers(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    services = live_sqlite.services
    world = setup["world"]
    officer = await staff_client(services, live_sqlite.url, world.officer)
    mediator = setup["http"]["mediator"]
    try:
        ref = await _reference(services, world.case_id)
        server_term = await officer.post(
            "/api/glossary",
            json={"term": "押金", "rendering": "deposit", "source": "zh"},
        )
        assert server_term.status_code == 201, server_term.text
        kept = await officer.post(
            "/api/glossary", json={"term": "淘宝", "rendering": None, "source": "zh"}
        )
        assert kept.status_code == 201, kept.text
        case_term = await mediator.post(
            f"/api/cases/{ref}/glossary",
            json={
                "term": "押金",
                "rendering": "security deposit",
                "source": "zh-CN",
                "target": "en",
            },
        )
        assert case_term.status_code == 201, case_term.text
        assert case_term.json()["source"] == "zh"
        twice = await mediator.post(
            f"/api/cases/{ref}/glossary",
            json={"term": "押金", "rendering": "x", "source": "zh", "target": "en"},
        )
        assert (twice.status_code, twice.json()["error"]["code"]) == (
            409,
            "term_exists",
        )
        bad = await mediator.post(
            f"/api/cases/{ref}/glossary",
            json={"term": "x", "source": "not a language"},
        )
        assert bad.json()["error"]["code"] == "invalid_language"
        listed = (await mediator.get(f"/api/cases/{ref}/glossary")).json()["terms"]
        assert [t["term"] for t in listed] == ["押金"]

        ack = await cla.call("chat.send", {"client_id": "g", "text": "淘宝的押金退了"})
        await wait_for(lambda: translation_into(res, ack["seq"], "en") is not None)
        shown = translation_into(res, ack["seq"], "en")
        assert shown is not None
        assert shown["text"] == "[en] 淘宝的security deposit退了"
        # the backend never saw the terms, only their placeholders
        asked = fake.asked("en")[-1]
        assert "押金" not in asked and "淘宝" not in asked and "[#" in asked

        # a term removed no longer applies
        removed = await mediator.delete(
            f"/api/cases/{ref}/glossary/{case_term.json()['id']}"
        )
        assert removed.status_code == 200, removed.text
        ack = await cla.call("chat.send", {"client_id": "g2", "text": "押金呢"})
        await wait_for(lambda: translation_into(res, ack["seq"], "en") is not None)
        assert translation_into(res, ack["seq"], "en")["text"] == "[en] deposit呢"  # type: ignore[index]
        gone = await mediator.delete(f"/api/cases/{ref}/glossary/999999")
        assert gone.json()["error"]["code"] == "term_not_found"
    finally:
        await officer.aclose()
        await close_all(setup)


async def _reference(services: Any, case_id: int) -> str:
    from server.models import Case

    async with services.db.read() as db:
        case = await db.get(Case, case_id)
        assert case is not None
        return case.reference
