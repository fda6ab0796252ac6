"""Offers through the live hub: real uvicorn, real Socket.IO clients, both databases.

Make, counter, accept, reject, withdraw, release from caucus; illegal moves
refused with a stable code and nothing stored; resends answered with the
original; a caucus offer unseen by the other side on every channel until it
is released; offers past their time expire by themselves, once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.models import CaseEvent, Offer, OfferEvent, utcnow
from server.room_negotiation import sweep_expired_offers
from server.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.server.negotiation.livekit import (
    CNY,
    close_all,
    money,
    offers_in,
    ok,
    refused,
    room,
    stored,
)
from tests.server.roomkit import settle, wait_for


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Room settings for a busy negotiation: no rate limit, a fast expiry sweep."""
    return make_settings(
        database_url,
        tmp_path,
        ACCORD_ROOM_EVENTS_PER_10S="100000",
        ACCORD_ROOM_OFFER_SWEEP_S="1",
    )


async def test_make_counter_accept_reject_withdraw_through_live_sockets(
    live_server: LiveServer,
) -> None:
    setup = await room(live_server)
    peers = setup["peers"]
    claimant, respondent, mediator = (
        peers["claimant"],
        peers["respondent"],
        peers["mediator"],
    )
    session_id = setup["session_id"]
    try:
        # the claimant's first offer reaches everyone in the joint room
        first = await ok(
            claimant,
            "offer.make",
            {"client_id": "o1", "terms": money(500000), "note": "full refund"},
        )
        await wait_for(lambda: offers_in(respondent, "offer.made"))
        offer1 = offers_in(respondent, "offer.made")[0]
        assert (
            offer1["status"] == "open" and offer1["terms"][0]["amount_minor"] == 500000
        )
        assert offers_in(mediator, "offer.made")[0]["id"] == offer1["id"]

        # a resend with the same client id returns the original, stores nothing
        before = await stored(live_server, session_id)
        again = await ok(claimant, "offer.make", {"client_id": "o1", "terms": money(1)})
        assert again["duplicate"] is True and again["seqs"] == first["seqs"]
        assert await stored(live_server, session_id) == before

        # the respondent counters: the first is countered, the answer is open
        await ok(
            respondent,
            "offer.counter",
            {"client_id": "c1", "offer_id": offer1["id"], "terms": money(300000)},
        )
        await wait_for(lambda: offers_in(claimant, "offer.countered"))
        assert offers_in(claimant, "offer.countered")[0]["status"] == "countered"
        offer2 = offers_in(claimant, "offer.made")[-1]
        assert offer2["answers_offer_id"] == offer1["id"]

        # illegal moves: a stable code each, nothing stored
        before = await stored(live_server, session_id)
        cases = [
            (respondent, "offer.accept", {"offer_id": offer2["id"]}, "own_offer"),
            (
                respondent,
                "offer.accept",
                {"offer_id": offer1["id"]},
                "offer_already_countered",
            ),
            (
                claimant,
                "offer.withdraw",
                {"offer_id": offer2["id"]},
                "not_offer_author",
            ),
            (claimant, "offer.accept", {"offer_id": 999999}, "offer_not_found"),
            (claimant, "offer.make", {"terms": []}, "no_terms"),
            (
                claimant,
                "offer.make",
                {"terms": [{"type": "monetary", "amount_minor": 0, "currency": CNY}]},
                "invalid_amount",
            ),
            (
                claimant,
                "offer.make",
                {"terms": money(5), "room": "joint2"},
                "wrong_room",
            ),
            (peers["interpreter"], "offer.make", {"terms": money(5)}, "forbidden_role"),
            (mediator, "offer.accept", {"offer_id": offer2["id"]}, "forbidden_role"),
        ]
        for n, (peer, event, payload, code) in enumerate(cases):
            got = await refused(peer, event, {"client_id": f"bad{n}", **payload})
            assert got == code, (event, payload, got)
        assert await stored(live_server, session_id) == before

        # the claimant accepts the counter-offer; it is accepted, once
        await ok(
            claimant, "offer.accept", {"client_id": "a1", "offer_id": offer2["id"]}
        )
        await wait_for(lambda: offers_in(respondent, "offer.accepted"))
        assert offers_in(respondent, "offer.accepted")[0]["status"] == "accepted"
        code = await refused(
            claimant, "offer.accept", {"client_id": "a2", "offer_id": offer2["id"]}
        )
        assert code == "offer_already_accepted"
        async with live_server.services.db.read() as db:
            logged = (
                await db.execute(
                    select(CaseEvent).where(CaseEvent.kind == "offer.accepted")
                )
            ).scalars()
            assert [e.payload["offer_id"] for e in logged] == [offer2["id"]]

        # reject with a reason; withdraw; answering a withdrawn offer is refused
        await ok(claimant, "offer.make", {"client_id": "o3", "terms": money(450000)})
        await wait_for(lambda: len(offers_in(respondent, "offer.made")) == 3)
        offer3 = offers_in(respondent, "offer.made")[-1]
        await ok(
            respondent,
            "offer.reject",
            {"client_id": "r3", "offer_id": offer3["id"], "reason": "too high"},
        )
        await wait_for(
            lambda: any(line["kind"] == "offer.rejected" for line in claimant.lines)
        )
        rejected = [line for line in claimant.lines if line["kind"] == "offer.rejected"]
        assert rejected[0]["content"]["reason"] == "too high"
        assert rejected[0]["content"]["offer"]["status"] == "rejected"

        await ok(claimant, "offer.make", {"client_id": "o4", "terms": money(420000)})
        await wait_for(lambda: len(offers_in(respondent, "offer.made")) == 4)
        offer4 = offers_in(respondent, "offer.made")[-1]
        await ok(
            claimant, "offer.withdraw", {"client_id": "w4", "offer_id": offer4["id"]}
        )
        await wait_for(lambda: offers_in(respondent, "offer.withdrawn"))
        code = await refused(
            respondent, "offer.accept", {"client_id": "a4", "offer_id": offer4["id"]}
        )
        assert code == "offer_withdrawn"

        # every line is in the transcript, in seq order, with the author's seat
        replay = await respondent.call("replay", {"since": 0})
        kinds = [
            line["kind"]
            for line in replay["lines"]
            if line["kind"].startswith("offer.")
        ]
        assert kinds == [
            "offer.made",
            "offer.countered",
            "offer.made",
            "offer.accepted",
            "offer.made",
            "offer.rejected",
            "offer.made",
            "offer.withdrawn",
        ]
        made = [line for line in replay["lines"] if line["kind"] == "offer.made"]
        assert made[0]["author"] == claimant.participant_id
        assert made[1]["author"] == respondent.participant_id
    finally:
        await close_all(setup)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def test_caucus_offer_reaches_the_other_side_only_when_released(
    live_server: LiveServer,
) -> None:
    setup = await room(live_server)
    peers = setup["peers"]
    claimant, respondent, mediator, interpreter = (
        peers["claimant"],
        peers["respondent"],
        peers["mediator"],
        peers["interpreter"],
    )
    http = setup["http"]
    session_id, case_id = setup["session_id"], setup["world"].case_id
    secret = "caucus-only-bottom-line-4711"
    proposal = "mediator-private-idea-0815"
    try:
        await ok(
            mediator,
            "room.move",
            {
                "client_id": "to-caucus",
                "participant_ids": [claimant.participant_id],
                "to": "caucus-claimant",
            },
        )
        await wait_for(lambda: claimant.roster["placement"] == "caucus-claimant")

        # the claimant's caucus offer and the mediator's caucus proposal
        await ok(
            claimant,
            "offer.make",
            {"client_id": "p1", "terms": money(380000), "note": secret},
        )
        await ok(
            mediator,
            "offer.make",
            {
                "client_id": "m1",
                "terms": money(390000),
                "note": proposal,
                "room": "caucus-claimant",
            },
        )
        await wait_for(lambda: len(offers_in(claimant, "offer.made")) == 2)
        private, idea = offers_in(claimant, "offer.made")
        assert private["note"] == secret and idea["note"] == proposal
        # the interpreter sits with the claimant and follows the caucus
        await wait_for(lambda: len(offers_in(interpreter, "offer.made")) == 2)
        await wait_for(lambda: len(offers_in(mediator, "offer.made")) == 2)

        async def respondent_channels(hidden: bool) -> str:
            replay = await respondent.call("replay", {"since": 0})
            transcript = await http["respondent"].get(
                f"/api/sessions/{session_id}/transcript"
            )
            export = await http["respondent"].get(f"/api/cases/{case_id}/transcript")
            offers = await http["respondent"].get(f"/api/sessions/{session_id}/offers")
            thread = await http["respondent"].get(f"/api/offers/{private['id']}/thread")
            for response in (transcript, export, offers):
                assert response.status_code == 200, response.text
            assert thread.status_code == (404 if hidden else 200)
            return _text(
                [
                    respondent.events,
                    replay,
                    transcript.json(),
                    export.json(),
                    offers.json(),
                ]
            )

        await settle()
        seen = await respondent_channels(hidden=True)
        assert secret not in seen and proposal not in seen
        assert "380000" not in seen and "390000" not in seen
        # the respondent cannot even tell the offer exists
        for n, event in enumerate(("offer.accept", "offer.reject", "offer.counter")):
            payload: dict[str, Any] = {"client_id": f"x{n}", "offer_id": private["id"]}
            if event == "offer.counter":
                payload["terms"] = money(1)
            assert await refused(respondent, event, payload) == "offer_not_found"
        # nor can the other party's side release it
        code = await refused(
            mediator, "offer.release", {"client_id": "mr", "offer_id": private["id"]}
        )
        assert code == "not_offer_author"

        # released: the respondent in the joint room receives it live
        await ok(
            claimant, "offer.release", {"client_id": "rel", "offer_id": private["id"]}
        )
        await wait_for(lambda: offers_in(respondent, "offer.released"))
        released = offers_in(respondent, "offer.released")[0]
        assert released["note"] == secret and released["released"] is True
        seen = await respondent_channels(hidden=False)
        assert secret in seen
        # the mediator's proposal stays private to the caucus
        assert proposal not in seen

        await ok(
            respondent, "offer.accept", {"client_id": "acc", "offer_id": private["id"]}
        )
        await wait_for(lambda: offers_in(mediator, "offer.accepted"))
        # joint lines go live to the joint room only (docs/protocol.md); the
        # claimant, still in caucus, reads the acceptance in a replay
        replay = await claimant.call("replay", {"since": 0})
        accepted = [
            line["content"]["offer"]
            for line in replay["lines"]
            if line["kind"] == "offer.accepted"
        ]
        assert [o["status"] for o in accepted] == ["accepted"]
    finally:
        await close_all(setup)


async def test_offers_past_their_time_expire_by_themselves_once(
    live_server: LiveServer,
) -> None:
    setup = await room(live_server)
    peers = setup["peers"]
    claimant, respondent = peers["claimant"], peers["respondent"]
    services = live_server.services
    try:
        soon = (utcnow() + timedelta(seconds=2)).isoformat()
        await ok(
            claimant,
            "offer.make",
            {"client_id": "e1", "terms": money(410000), "expires_at": soon},
        )
        await wait_for(lambda: offers_in(respondent, "offer.made"))
        offer = offers_in(respondent, "offer.made")[0]
        assert offer["status"] == "open"

        # nobody sends offer.expire: the sweep stores it and tells the room
        await wait_for(lambda: offers_in(respondent, "offer.expired"), within=10)
        expired = [x for x in respondent.lines if x["kind"] == "offer.expired"]
        assert expired[0]["author"] is None
        assert expired[0]["content"]["offer"]["status"] == "expired"
        code = await refused(
            respondent, "offer.accept", {"client_id": "late", "offer_id": offer["id"]}
        )
        assert code == "offer_expired"

        # sweeps racing each other (two workers) write it once
        hub = services.extras["room_hub"]
        counts = await asyncio.gather(
            sweep_expired_offers(services, hub), sweep_expired_offers(services, hub)
        )
        assert counts == [0, 0]
        await settle(1.5)
        assert len([x for x in claimant.lines if x["kind"] == "offer.expired"]) == 1
        async with services.db.read() as db:
            row = await db.get(Offer, offer["id"])
            assert row is not None and row.status == "expired"
            events = (
                await db.execute(
                    select(OfferEvent.kind).where(OfferEvent.offer_id == offer["id"])
                )
            ).scalars()
            assert sorted(events) == ["expired", "made"]

        # an offer due but not yet swept already reads as expired
        await services.extras["offer_sweep"].stop()
        await ok(
            claimant,
            "offer.make",
            {
                "client_id": "e2",
                "terms": money(400000),
                "expires_at": (utcnow() + timedelta(seconds=30)).isoformat(),
            },
        )
        await wait_for(lambda: len(offers_in(respondent, "offer.made")) == 2)
        second = offers_in(respondent, "offer.made")[1]
        async with services.db.write() as db:
            row = await db.get(Offer, second["id"])
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
        listed = await setup["http"]["respondent"].get(
            f"/api/sessions/{setup['session_id']}/offers"
        )
        status = {o["id"]: o["status"] for o in listed.json()}
        assert status[second["id"]] == "expired"
    finally:
        await close_all(setup)


async def test_packages_rated_privately_suggested_and_proposed_through_the_hub(
    live_server: LiveServer,
) -> None:
    setup = await room(live_server)
    peers = setup["peers"]
    claimant, respondent, mediator = (
        peers["claimant"],
        peers["respondent"],
        peers["mediator"],
    )
    try:
        issues = [
            {"key": "refund", "options": ["full", "half"]},
            {"key": "apology", "options": ["written", "none"]},
        ]
        await ok(mediator, "package.issues", {"client_id": "i", "issues": issues})
        await wait_for(
            lambda: any(x["kind"] == "package.issues" for x in respondent.lines)
        )
        ratings = {
            "claimant": {
                "refund": {"weight": 9, "options": {"full": 10, "half": 3}},
                "apology": {"weight": 2, "options": {"written": 8, "none": 0}},
            },
            "respondent": {
                "refund": {"weight": 7, "options": {"full": 0, "half": 8}},
                "apology": {"weight": 3, "options": {"written": 6, "none": 9}},
            },
        }
        for who in ("claimant", "respondent"):
            await ok(
                peers[who], "package.rate", {"client_id": "r", "ratings": ratings[who]}
            )
        await wait_for(
            lambda: sum(x["kind"] == "package.rated" for x in mediator.lines) == 2
        )
        await ok(mediator, "package.suggest", {"client_id": "s"})
        await wait_for(
            lambda: any(x["kind"] == "package.suggested" for x in mediator.lines)
        )
        suggested = next(
            x["content"] for x in mediator.lines if x["kind"] == "package.suggested"
        )
        await settle()
        # ratings and the suggestion are for the mediator (and the rater) only
        for peer, other in ((claimant, "respondent"), (respondent, "claimant")):
            kinds = {x["kind"] for x in peer.lines}
            assert "package.rated" not in kinds and "package.suggested" not in kinds
            saved = [x for x in peer.lines if x["kind"] == "package.rating_saved"]
            assert [x["content"]["ratings"] for x in saved] == [
                ratings["claimant" if other == "respondent" else "respondent"]
            ]
        await ok(
            mediator,
            "package.propose",
            {"client_id": "p", "choice": suggested["choice"], "note": "fair package"},
        )
        await wait_for(lambda: offers_in(claimant, "offer.made"))
        proposal = offers_in(claimant, "offer.made")[0]
        assert (
            proposal["author_role"] == "mediator"
            and proposal["author_party_id"] is None
        )
        # a mediator's proposal is agreed once both parties accept it
        await ok(
            claimant, "offer.accept", {"client_id": "a", "offer_id": proposal["id"]}
        )
        await wait_for(lambda: offers_in(respondent, "offer.accepted"))
        assert offers_in(respondent, "offer.accepted")[0]["status"] == "open"
        await ok(
            respondent, "offer.accept", {"client_id": "a", "offer_id": proposal["id"]}
        )
        await wait_for(lambda: len(offers_in(claimant, "offer.accepted")) == 2)
        assert offers_in(claimant, "offer.accepted")[1]["status"] == "accepted"
    finally:
        await close_all(setup)
