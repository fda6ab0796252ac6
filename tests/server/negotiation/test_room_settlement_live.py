"""Settlement seen from the live room: every agreement step is a notice line.

The agreement is drawn up, signed, revised (voiding the signatures), signed
again, countersigned and the case closed over HTTP while everyone sits in a
real room; each step reaches every socket live and stays in the transcript,
with no agreement text in it. A closed case refuses every negotiation event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.models import Case, Party, User
from server.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.server.negotiation.livekit import (
    close_all,
    money,
    offers_in,
    ok,
    refused,
    room,
    stored,
)
from tests.server.roomkit import Peer, wait_for


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="100000")


def notices(peer: Peer, kind: str) -> list[dict[str, Any]]:
    return [line for line in peer.lines if line["kind"] == kind]


async def test_every_settlement_step_reaches_the_room_live(
    live_server: LiveServer,
) -> None:
    setup = await room(live_server)
    peers, http = setup["peers"], setup["http"]
    claimant, respondent = peers["claimant"], peers["respondent"]
    world = setup["world"]
    async with live_server.services.db.read() as db:
        case = await db.get(Case, world.case_id)
        assert case is not None
        ref = case.reference
        names = {
            p.id: p.name
            for p in (
                await db.execute(select(Party).where(Party.case_id == case.id))
            ).scalars()
        }
        mediator_user = await db.get(User, world.mediator)
        assert mediator_user is not None
        mediator_name = mediator_user.name
    url = f"/api/cases/{ref}/agreement"
    everyone = list(peers.values())
    try:
        await ok(claimant, "offer.make", {"client_id": "o", "terms": money(470000)})
        await wait_for(lambda: offers_in(respondent, "offer.made"))
        offer = offers_in(respondent, "offer.made")[0]
        await ok(
            respondent, "offer.accept", {"client_id": "a", "offer_id": offer["id"]}
        )

        # drawn up from the accepted terms: everyone hears of version 1
        drafted = await http["mediator"].post(url, json={})
        assert drafted.status_code == 201, drafted.text
        body = drafted.json()
        await wait_for(lambda: all(notices(p, "agreement.drafted") for p in everyone))
        line = notices(claimant, "agreement.drafted")[0]
        assert line["visibility"] == "everyone" and line["author"] is None
        assert line["content"] == {
            "version": 1,
            "sha256": body["sha256"],
            "offer_id": offer["id"],
        }

        async def sign(who: str, sha: str) -> dict[str, Any]:
            name = names[world.claimant if who == "claimant" else world.respondent]
            r = await http[who].post(
                f"{url}/sign", json={"typed_name": name, "consent": True, "sha256": sha}
            )
            assert r.status_code == 200, r.text
            out: dict[str, Any] = r.json()
            return out

        await sign("claimant", body["sha256"])
        await wait_for(lambda: notices(respondent, "agreement.signed"))
        assert notices(respondent, "agreement.signed")[0]["content"]["signer_role"] == (
            "claimant"
        )

        # a change after the first signature voids it; the room is told
        revised = await http["mediator"].put(
            url, json={"additional": "Delivery of a new sofa within 14 days."}
        )
        assert revised.status_code == 200, revised.text
        v2 = revised.json()
        assert v2["version"] == 2 and v2["signatures"] == []
        await wait_for(lambda: notices(claimant, "agreement.revised"))
        assert notices(claimant, "agreement.revised")[0]["content"] == {
            "version": 2,
            "sha256": v2["sha256"],
            "voided_signatures": 1,
        }
        # a signature on the old text is refused
        stale = await http["respondent"].post(
            f"{url}/sign",
            json={
                "typed_name": names[world.respondent],
                "consent": True,
                "sha256": body["sha256"],
            },
        )
        assert stale.json()["error"]["code"] == "agreement_changed"

        await sign("claimant", v2["sha256"])
        await sign("respondent", v2["sha256"])
        counter = await http["mediator"].post(
            f"{url}/countersign",
            json={"typed_name": mediator_name, "consent": True, "sha256": v2["sha256"]},
        )
        assert counter.status_code == 200, counter.text
        assert counter.json()["complete"] is True
        await wait_for(lambda: all(notices(p, "agreement.completed") for p in everyone))
        signed = [line["content"] for line in notices(claimant, "agreement.signed")]
        assert [(s["version"], s["signer_role"]) for s in signed] == [
            (1, "claimant"),
            (2, "claimant"),
            (2, "respondent"),
            (2, "mediator"),
        ]

        closed = await http["mediator"].post(
            f"/api/cases/{ref}/closure", json={"outcome": "settled"}
        )
        assert closed.status_code == 200, closed.text
        await wait_for(lambda: all(notices(p, "case.closed") for p in everyone))
        assert notices(respondent, "case.closed")[0]["content"] == {
            "outcome": "settled"
        }

        # the notices are in the transcript and carry no agreement text
        replay = await respondent.call("replay", {"since": 0})
        kinds = [
            line["kind"]
            for line in replay["lines"]
            if line["kind"].startswith(("agreement.", "case."))
        ]
        assert kinds == [
            "agreement.drafted",
            "agreement.signed",
            "agreement.revised",
            "agreement.signed",
            "agreement.signed",
            "agreement.signed",
            "agreement.completed",
            "case.closed",
        ]
        assert "new sofa" not in str(replay)

        # a closed case is read-only: negotiation events are refused, nothing stored
        before = await stored(live_server, setup["session_id"])
        code = await refused(
            claimant, "offer.make", {"client_id": "late", "terms": money(1)}
        )
        assert code == "case_closed"
        assert await stored(live_server, setup["session_id"]) == before

        # feedback is open after closure, once per participant
        answers = {
            "satisfaction": 5,
            "fairness": 4,
            "ease_of_use": 5,
            "would_use_again": True,
        }
        first = await http["claimant"].post(f"/api/cases/{ref}/feedback", json=answers)
        assert first.status_code == 201, first.text
        second = await http["claimant"].post(f"/api/cases/{ref}/feedback", json=answers)
        assert second.json()["error"]["code"] == "feedback_already_given"
    finally:
        await close_all(setup)
