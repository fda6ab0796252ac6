"""The interpreter in the loop, caucus confidentiality of translations, replay.

Live uvicorn server, python-socketio peers, the libretranslate backend
against the LibreTranslate look-alike of translation_support.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.models import Participant, ParticipantKind
from tests.conftest import LiveServer, make_settings, start_live_server
from tests.server.roomkit import Peer, party_client, settle, wait_for
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
    settings = make_settings(database_url, tmp_path, **libretranslate_env(fake))
    server = await start_live_server(settings)
    yield server
    await server.stop()


@pytest.fixture
async def live_sqlite(
    fake: FakeLibreTranslate, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    settings = make_settings(sqlite_url, tmp_path, **libretranslate_env(fake))
    server = await start_live_server(settings)
    yield server
    await server.stop()


def _peers(setup: dict[str, Any]) -> tuple[Peer, Peer, Peer, Peer]:
    peers = setup["peers"]
    return (
        peers["mediator"],
        peers["claimant"],
        peers["respondent"],
        peers["interpreter"],
    )


async def _say(peer: Peer, text: str, client_id: str) -> int:
    ack = await peer.call("chat.send", {"client_id": client_id, "text": text})
    assert ack["ok"], ack
    seq: int = ack["seq"]
    return seq


async def _transcript(client: Any, session_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/sessions/{session_id}/transcript")
    assert response.status_code == 200, response.text
    lines: list[dict[str, Any]] = response.json()["lines"]
    return lines


async def test_review_before_release_holds_drafts_until_the_interpreter_acts(
    live: LiveServer,
) -> None:
    setup = await seated_room(live, LANGS)
    med, cla, res, interp = _peers(setup)
    try:
        mode = await med.call(
            "translation.mode", {"client_id": "m", "mode": "review_before_release"}
        )
        assert mode["ok"] and mode["result"] == {"mode": "review_before_release"}
        await wait_for(lambda: updates(res, kind="translation.mode") != [])

        first = await _say(cla, "我付了押金", "c1")
        await wait_for(lambda: updates(interp, first, "translation.draft") != [])
        draft = updates(interp, first, "translation.draft")[-1]["content"]
        assert (draft["target"], draft["status"]) == ("en", "machine")
        assert draft["text"] == "[en] 我付了押金"
        await settle()
        # held: no reader has a translation yet, and nobody but the
        # interpreter (and the mediators) has the draft
        assert translation_into(res, first, "en") is None
        assert translation_into(med, first, "en") is None
        assert updates(res, kind="translation.draft") == []
        assert updates(med, first, "translation.draft") != []

        approved = await interp.call(
            "translation.approve", {"client_id": "a1", "seq": first, "target": "en"}
        )
        assert approved["ok"], approved
        await wait_for(lambda: translation_into(res, first, "en") is not None)
        shown = translation_into(res, first, "en")
        assert shown is not None
        assert shown["status"] == "machine" and shown["approved_by"] == (
            interp.participant_id
        )
        again = await interp.call(
            "translation.approve", {"client_id": "a2", "seq": first, "target": "en"}
        )
        assert again["error"]["code"] == "already_released"

        # a correction instead of an approval: readers get the interpreter's text
        second = await _say(cla, "快递坏了", "c2")
        await wait_for(lambda: updates(interp, second, "translation.draft") != [])
        corrected = await interp.call(
            "translation.correct",
            {
                "client_id": "k2",
                "seq": second,
                "target": "en",
                "text": "The parcel arrived broken.",
            },
        )
        assert corrected["ok"], corrected
        await wait_for(lambda: translation_into(res, second, "en") is not None)
        shown = translation_into(res, second, "en")
        assert shown is not None
        assert shown["status"] == "interpreter"
        assert shown["text"] == "The parcel arrived broken."
        assert shown["by"] == interp.participant_id
        await settle()
        assert [u["content"]["status"] for u in updates(res, second)] == ["interpreter"]

        # the respondent's own lines are handled too: they go to the
        # interpreter's party; the respondent reads nothing new of their own
        third = await _say(res, "When did you pay?", "r3")
        await wait_for(lambda: updates(interp, third, "translation.draft") != [])
        assert updates(interp, third, "translation.draft")[-1]["content"]["target"] == (
            "zh"
        )
        await settle()
        assert translation_into(cla, third, "zh") is None
    finally:
        await close_all(setup)


async def test_correct_after_shows_the_draft_then_the_correction_and_keeps_both(
    live: LiveServer,
) -> None:
    setup = await seated_room(live, LANGS)
    med, cla, res, interp = _peers(setup)
    try:
        seq = await _say(cla, "我要退款", "c1")
        await wait_for(lambda: translation_into(res, seq, "en") is not None)
        machine = translation_into(res, seq, "en")
        assert machine is not None and machine["status"] == "machine"
        machine_seq = updates(res, seq)[-1]["seq"]

        fixed = await interp.call(
            "translation.correct",
            {
                "client_id": "k",
                "seq": seq,
                "target": "en",
                "text": "I want a refund.",
            },
        )
        assert fixed["ok"], fixed
        await wait_for(
            lambda: translation_into(res, seq, "en")["status"] == "interpreter"  # type: ignore[index]
        )
        shown = translation_into(res, seq, "en")
        assert shown is not None and shown["replaces"] == machine_seq
        # the author sees the interpreter's English too (for the record)
        await wait_for(lambda: translation_into(cla, seq, "en") is not None)

        # the transcript is bilingual: original, machine draft and correction
        session_id = setup["session_id"]
        party = setup["http"]["respondent"]
        lines = await _transcript(party, session_id)
        kinds = [(ln["kind"], ln.get("ref")) for ln in lines if ln.get("ref") == seq]
        assert ("translation", seq) in kinds
        statuses = [
            ln["content"]["status"]
            for ln in lines
            if ln["kind"] == "translation" and ln.get("ref") == seq
        ]
        assert statuses == ["machine", "interpreter"]
        assert all(ln["kind"] != "translation.draft" for ln in lines)
        mediator_lines = await _transcript(setup["http"]["mediator"], session_id)
        assert any(
            ln["kind"] == "translation.draft" and ln.get("ref") == seq
            for ln in mediator_lines
        )
    finally:
        await close_all(setup)


async def test_leaving_review_mode_releases_every_held_draft(
    live_sqlite: LiveServer,
) -> None:
    setup = await seated_room(live_sqlite, LANGS)
    med, cla, res, interp = _peers(setup)
    try:
        await med.call(
            "translation.mode", {"client_id": "m1", "mode": "review_before_release"}
        )
        seqs = [await _say(cla, f"第{n}句", f"c{n}") for n in range(3)]
        for seq in seqs:
            await wait_for(lambda s=seq: updates(interp, s, "translation.draft") != [])
        ack = await interp.call(
            "translation.approve", {"client_id": "a", "seq": seqs[0], "target": "en"}
        )
        assert ack["ok"]
        await wait_for(lambda: translation_into(res, seqs[0], "en") is not None)
        await settle()
        assert translation_into(res, seqs[1], "en") is None

        switched = await med.call(
            "translation.mode", {"client_id": "m2", "mode": "correct_after"}
        )
        assert switched["ok"] and len(switched["seqs"]) == 3  # mode + two releases
        for seq in seqs[1:]:
            await wait_for(lambda s=seq: translation_into(res, s, "en") is not None)
            released = translation_into(res, seq, "en")
            assert released is not None and released["approved_by"] is None
        await settle()
        assert len(updates(res, seqs[0])) == 1  # released once only
    finally:
        await close_all(setup)


async def test_interpreter_handles_only_their_partys_lines(
    live_sqlite: LiveServer,
) -> None:
    setup = await seated_room(
        live_sqlite, {"claimant": "zh-CN", "respondent": "de", "interpreter": "en"}
    )
    med, cla, res, interp = _peers(setup)
    try:
        # the mediator (en) speaks: into zh for the claimant (handled by the
        # claimant's interpreter) and into de for the respondent (not handled)
        seq = await _say(med, "Welcome.", "m1")
        await wait_for(lambda: translation_into(res, seq, "de") is not None)
        await wait_for(lambda: updates(interp, seq, "translation.draft") != [])
        targets = {
            u["content"]["target"] for u in updates(interp, seq, "translation.draft")
        }
        assert targets == {"zh"}
        refused = await interp.call(
            "translation.correct",
            {"client_id": "x", "seq": seq, "target": "de", "text": "Willkommen."},
        )
        assert refused["error"]["code"] == "not_interpreting"
        missing = await interp.call(
            "translation.approve", {"client_id": "y", "seq": 999, "target": "zh"}
        )
        assert missing["error"]["code"] == "line_not_found"
        bad = await interp.call(
            "translation.correct",
            {"client_id": "z", "seq": seq, "target": "no such", "text": "x"},
        )
        assert bad["error"]["code"] == "invalid_language"
        blank = await interp.call(
            "translation.correct",
            {"client_id": "w", "seq": seq, "target": "zh", "text": "   "},
        )
        assert blank["error"]["code"] == "empty_message"
        # nothing of that was stored
        await settle()
        assert sorted(
            (u["content"]["target"], u["content"]["status"]) for u in updates(res, seq)
        ) == [("de", "machine"), ("zh", "machine")]
        # a party cannot correct at all
        party = await cla.call(
            "translation.correct",
            {"client_id": "p", "seq": seq, "target": "zh", "text": "欢迎"},
        )
        assert party["error"]["code"] == "forbidden_role"
    finally:
        await close_all(setup)


async def test_a_caucus_line_is_translated_only_for_the_caucus(
    live: LiveServer, fake: FakeLibreTranslate
) -> None:
    """Nothing of a caucus line, original or translation or draft, reaches the
    other side or its interpreter: not live, not in replay, not in the
    transcript API; and it is never translated into their language."""
    setup = await seated_room(
        live,
        {"claimant": "zh-CN", "respondent": "de", "interpreter": "en"},
        admit=False,
    )
    services = live.services
    world = setup["world"]
    # the respondent has an interpreter too, who reads Italian
    async with services.db.write() as db:
        seat = Participant(
            session_id=setup["session_id"],
            kind=ParticipantKind.INTERPRETER,
            user_id=world.mediator2,
            attached_party_id=world.respondent,
            display_name="Respondent's interpreter",
            language="it",
        )
        db.add(seat)
        await db.flush()
        token, _ = services.extras["room_tokens"].issue(seat, world.case_id)
        other_id = seat.id
    other = Peer("other-interpreter", token, other_id, live.url)
    await other.connect()
    med, cla, res, interp = _peers(setup)
    try:
        admitted = await med.call("lobby.admit", {"client_id": "adm"})
        assert admitted["ok"], admitted
        moved = await med.call(
            "room.move",
            {
                "client_id": "mv",
                "participant_ids": [cla.participant_id],
                "to": "caucus-claimant",
            },
        )
        assert moved["ok"], moved
        await wait_for(
            lambda: (
                cla.roster is not None
                and cla.roster["placement"] == "caucus-claimant"
                and interp.roster is not None
                and interp.roster["placement"] == "caucus-claimant"
            )
        )
        secret = "底价SECRET-7"
        seq = await _say(cla, secret, "s1")
        await wait_for(lambda: translation_into(med, seq, "en") is not None)
        await wait_for(lambda: updates(interp, seq, "translation.draft") != [])
        # a joint line, for comparison, reaches the other side in its languages
        joint = await _say(med, "Back soon.", "m-joint")
        await wait_for(lambda: translation_into(res, joint, "de") is not None)
        await wait_for(lambda: translation_into(other, joint, "it") is not None)
        await settle(0.5)

        # translated only into the caucus members' and mediators' languages
        wanted = {body["target"] for body in fake.received if secret in body["q"]}
        assert wanted == {"en"}

        outsiders = {"respondent": res, "other-interpreter": other}
        for name, peer in outsiders.items():
            received = repr(peer.events)
            assert "SECRET-7" not in received, name
            assert all(line.get("ref") != seq for line in peer.lines), name
            replay = await peer.call("replay", {"since": 0})
            assert "SECRET-7" not in repr(replay), name
            assert all(line.get("ref") != seq for line in replay["lines"]), name
        async with await party_client(
            services, live.url, world.respondent
        ) as respondent_http:
            transcript = await _transcript(respondent_http, setup["session_id"])
        assert "SECRET-7" not in repr(transcript)
        assert all(line.get("ref") != seq for line in transcript)

        # the caucus's own people have it
        assert secret in cla.texts() and secret in interp.texts()
        assert translation_into(cla, seq, "en") is not None
        # the other side's interpreter cannot act on it (it does not exist for them)
        probe = await other.call(
            "translation.correct",
            {"client_id": "o", "seq": seq, "target": "it", "text": "x"},
        )
        assert probe["error"]["code"] in ("line_not_found", "forbidden_placement")
    finally:
        await other.close()
        await close_all(setup)


async def test_a_reconnecting_client_replays_the_translations_it_is_owed(
    live: LiveServer,
) -> None:
    setup = await seated_room(live, LANGS)
    med, cla, res, interp = _peers(setup)
    try:
        before = await _say(cla, "早上好", "c0")
        await wait_for(lambda: translation_into(res, before, "en") is not None)
        last_seen = max(line["seq"] for line in res.lines)
        await res.close()

        missed = await _say(cla, "你在吗", "c1")
        await wait_for(lambda: translation_into(med, missed, "en") is not None)
        fixed = await interp.call(
            "translation.correct",
            {"client_id": "k", "seq": missed, "target": "en", "text": "Are you there?"},
        )
        assert fixed["ok"]
        await wait_for(
            lambda: (
                (translation_into(med, missed, "en") or {}).get("status")
                == "interpreter"
            )
        )

        await res.reconnect()
        replay = await res.call("replay", {"since": last_seen})
        lines = replay["lines"]
        chat_at = next(i for i, ln in enumerate(lines) if ln["seq"] == missed)
        owed = [ln for ln in lines if ln.get("ref") == missed]
        assert [ln["content"]["status"] for ln in owed] == ["machine", "interpreter"]
        assert all(lines.index(ln) > chat_at for ln in owed)
        assert owed[-1]["content"]["text"] == "Are you there?"
        assert all(ln["kind"] != "translation.draft" for ln in lines)
        assert all(ln.get("ref") != before for ln in lines)  # seen already
    finally:
        await close_all(setup)


async def test_a_correction_is_retranslated_and_old_translations_retire(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    try:
        seq = await _say(cla, "我付了一百", "c1")
        await wait_for(lambda: translation_into(res, seq, "en") is not None)
        fixed = await cla.call(
            "chat.correct", {"client_id": "c2", "seq": seq, "text": "我付了两百"}
        )
        assert fixed["ok"]
        correction = fixed["seq"]
        await wait_for(
            lambda: any(
                u["content"].get("version") == correction for u in updates(res, seq)
            )
        )
        latest = [u for u in updates(res, seq) if u["content"]["version"] == correction]
        assert latest[-1]["content"]["text"] == "[en] 我付了两百"

        replay = await res.call("replay", {"since": 0})
        olds = [
            ln
            for ln in replay["lines"]
            if ln.get("ref") == seq and ln["kind"] == "translation"
        ]
        assert olds[0]["content"] == {
            "target": "en",
            "version": seq,
            "status": "superseded",
        }
        assert "一百" not in repr(olds)

        withdrawn = await cla.call("chat.withdraw", {"client_id": "c3", "seq": seq})
        assert withdrawn["ok"]
        await settle()
        replay = await res.call("replay", {"since": 0})
        remaining = [
            ln["content"]
            for ln in replay["lines"]
            if ln.get("ref") == seq and ln["kind"] == "translation"
        ]
        assert [c["status"] for c in remaining] == ["superseded", "withdrawn"]
        assert "两百" not in repr(remaining)
    finally:
        await close_all(setup)


async def test_participants_set_their_language_and_the_mediator_sees_it(
    live_sqlite: LiveServer, fake: FakeLibreTranslate
) -> None:
    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    med, cla, res = (setup["peers"][k] for k in ("mediator", "claimant", "respondent"))
    try:
        assert res.state is not None and res.state["you"]["language"] == "en"
        earlier = await _say(cla, "早些时候", "c0")
        await wait_for(lambda: translation_into(res, earlier, "en") is not None)
        bad = await res.call(
            "translation.language", {"client_id": "l0", "language": "english!"}
        )
        assert bad["error"]["code"] == "invalid_language"
        ack = await res.call(
            "translation.language", {"client_id": "l1", "language": "de"}
        )
        assert ack["ok"], ack

        def mediator_sees() -> bool:
            people = (med.roster or {}).get("people", [])
            return any(
                p["id"] == res.participant_id and p["language"] == "de" for p in people
            )

        await wait_for(mediator_sees)
        notice = updates(res, kind="translation.language")
        assert notice[-1]["content"] == {
            "participant": res.participant_id,
            "language": "de",
        }
        assert updates(cla, kind="translation.language") == []

        # the recent lines are translated into the new language too
        await wait_for(lambda: translation_into(res, earlier, "de") is not None)
        assert translation_into(res, earlier, "de")["text"] == "[de] [en] 早些时候"  # type: ignore[index]
        seq = await _say(cla, "你好", "c1")
        await wait_for(lambda: translation_into(res, seq, "de") is not None)
        assert translation_into(res, seq, "de")["text"] == "[de] [en] 你好"  # type: ignore[index]
        # switching back asks for nothing again: English exists already
        asked = len(fake.received)
        back = await res.call(
            "translation.language", {"client_id": "l2", "language": "en"}
        )
        assert back["ok"]
        await settle(0.5)
        assert [b["q"] for b in fake.received[asked:]] == []
    finally:
        await close_all(setup)


async def test_offer_terms_are_translated_for_their_readers(
    live_sqlite: LiveServer,
) -> None:
    """An offer line (as the negotiation events write them) gets its free-text
    terms and note translated, with the language of record."""
    from rooms import JOINT, LineSpec, Visibility

    setup = await seated_room(live_sqlite, LANGS, interpreter=False)
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    hub = live_sqlite.services.extras["room_hub"]
    try:
        offer = {
            "id": 41,
            "terms": [
                {"type": "monetary", "amount_minor": 5000, "currency": "CNY"},
                {"type": "obligation", "text": "退回商品", "deadline": None},
            ],
            "note": "请尽快",
        }
        (line,) = await hub.publish(
            setup["session_id"],
            [LineSpec("offer.made", JOINT, Visibility.JOINT, {"offer": offer})],
            participant_id=cla.participant_id,
        )
        await wait_for(lambda: translation_into(res, line.seq, "en") is not None)
        shown = translation_into(res, line.seq, "en")
        assert shown is not None
        assert shown["offer_id"] == 41 and shown["status"] == "machine"
        assert shown["terms"] == [{"index": 1, "text": "[en] 退回商品"}]
        assert shown["note"] == "[en] 请尽快"
        assert shown["record_language"] == "zh"
    finally:
        await close_all(setup)
