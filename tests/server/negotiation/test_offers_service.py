"""Offer room actions against the database, and the entitlement-filtered API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rooms.negotiation.lines import LineSpec
from server import negotiation as n
from server.errors import DomainError
from server.models import CaseEvent, Offer, OfferEvent
from tests.server.negotiation.conftest import As, World

CASH = [{"type": "monetary", "amount_minor": 300000, "currency": "CNY"}]
APOLOGY = [
    {"type": "obligation", "text": "A written apology", "deadline": "2026-07-01"}
]


async def act(
    app: Any, action: n.Action, actor: Any, payload: dict[str, Any]
) -> list[LineSpec]:
    async with app.services.db.write() as db:
        return await action(db, actor, payload)


async def refused(
    app: Any, action: n.Action, actor: Any, payload: dict[str, Any]
) -> str:
    with pytest.raises(DomainError) as caught:
        await act(app, action, actor, payload)
    return caught.value.code


async def test_offer_counter_accept_thread_and_case_event(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    made = await act(app, n.make_offer, world.claimant(), {"terms": CASH})
    assert [line.kind for line in made] == ["offer.made"]
    assert made[0].visibility == "joint"
    first = made[0].content["offer"]["id"]

    countered = await act(
        app, n.counter_offer, world.respondent(), {"offer_id": first, "terms": APOLOGY}
    )
    assert [line.kind for line in countered] == ["offer.countered", "offer.made"]
    second = countered[1].content["offer"]
    assert second["answers_offer_id"] == first

    accepted = await act(
        app, n.accept_offer, world.claimant(), {"offer_id": second["id"]}
    )
    assert accepted[0].content["offer"]["status"] == "accepted"

    assert await refused(
        app, n.accept_offer, world.claimant(), {"offer_id": second["id"]}
    ) == ("offer_already_accepted")
    assert await refused(
        app, n.accept_offer, world.respondent(), {"offer_id": first}
    ) == ("offer_already_countered")

    async with app.services.db.read() as db:
        events = [
            (e.kind, e.payload) for e in (await db.execute(select(CaseEvent))).scalars()
        ]
        history = list((await db.execute(select(OfferEvent.kind))).scalars())
    assert [kind for kind, _ in events] == ["offer.accepted"]
    assert events[0][1]["terms"] == APOLOGY
    assert history == ["made", "countered", "made", "accepted"]

    thread = await actors["respondent"].get(f"/api/offers/{first}/thread")
    assert [o["id"] for o in thread.json()] == [first, second["id"]]


async def test_illegal_moves_keep_stable_codes(app: Any, world: World) -> None:
    made = await act(app, n.make_offer, world.claimant(), {"terms": CASH})
    offer_id = made[0].content["offer"]["id"]
    assert await refused(
        app, n.accept_offer, world.claimant(), {"offer_id": offer_id}
    ) == ("own_offer")
    assert await refused(
        app, n.accept_offer, world.mediator(), {"offer_id": offer_id}
    ) == ("not_a_party")
    assert await refused(
        app, n.withdraw_offer, world.respondent(), {"offer_id": offer_id}
    ) == ("not_offer_author")
    await act(app, n.withdraw_offer, world.claimant(), {"offer_id": offer_id})
    assert await refused(
        app, n.accept_offer, world.respondent(), {"offer_id": offer_id}
    ) == ("offer_withdrawn")
    assert (
        await refused(app, n.make_offer, world.claimant(), {"terms": []}) == "no_terms"
    )
    assert await refused(
        app, n.make_offer, world.claimant("lobby"), {"terms": CASH}
    ) == ("not_in_room")
    assert await refused(
        app, n.accept_offer, world.respondent(), {"offer_id": 9999}
    ) == ("offer_not_found")
    # nothing half-done: the refused actions stored nothing
    async with app.services.db.read() as db:
        statuses = list((await db.execute(select(Offer.status))).scalars())
    assert statuses == ["withdrawn"]


async def test_a_caucus_offer_reaches_the_other_side_only_when_released(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    made = await act(app, n.make_offer, world.claimant("caucus-1"), {"terms": CASH})
    assert made[0].visibility == "caucus-1"
    offer_id = made[0].content["offer"]["id"]
    url = f"/api/sessions/{world.session_id}/offers"

    assert (await actors["respondent"].get(url)).json() == []
    assert [o["id"] for o in (await actors["claimant"].get(url)).json()] == [offer_id]
    assert [o["id"] for o in (await actors["mediator"].get(url)).json()] == [offer_id]
    thread = await actors["respondent"].get(f"/api/offers/{offer_id}/thread")
    assert thread.status_code == 404
    # the other side cannot even learn the offer exists by answering it
    assert await refused(
        app, n.accept_offer, world.respondent(), {"offer_id": offer_id}
    ) == ("offer_not_found")

    released = await act(
        app, n.release_offer, world.claimant("caucus-1"), {"offer_id": offer_id}
    )
    assert [line.visibility for line in released] == ["caucus-1", "joint"]
    assert [o["id"] for o in (await actors["respondent"].get(url)).json()] == [offer_id]


async def test_a_mediator_proposal_in_caucus_is_seen_by_that_party_only(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    made = await act(app, n.make_offer, world.mediator("caucus-2"), {"terms": APOLOGY})
    offer = made[0].content["offer"]
    assert offer["author_role"] == "mediator" and made[0].visibility == "caucus-2"
    url = f"/api/sessions/{world.session_id}/offers"
    assert len((await actors["respondent"].get(url)).json()) == 1
    assert (await actors["claimant"].get(url)).json() == []


async def test_drafts_are_seen_by_their_author_only(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    made = await act(
        app, n.make_offer, world.claimant(), {"terms": CASH, "draft": True}
    )
    assert made[0].visibility == f"participant:{world.claimant_seat}"
    url = f"/api/sessions/{world.session_id}/offers"
    assert (await actors["respondent"].get(url)).json() == []
    submitted = await act(
        app,
        n.submit_offer,
        world.claimant(),
        {"offer_id": made[0].content["offer"]["id"]},
    )
    assert submitted[0].visibility == "joint"
    assert len((await actors["respondent"].get(url)).json()) == 1


async def test_another_cases_party_cannot_list_offers(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    from tests.server.negotiation.conftest import cookies_for, seed

    other = await seed(app.services, "ACC-2026-0002")
    stranger = As(
        actors["claimant"].client,
        await cookies_for(app.services, party_id=other.claimant_id),
    )
    response = await stranger.get(f"/api/sessions/{world.session_id}/offers")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "case_not_found"


async def test_packages_suggest_and_propose(app: Any, world: World) -> None:
    issues = {
        "issues": [
            {"key": "refund", "options": ["full", "half"]},
            {"key": "apology", "options": ["yes", "no"]},
        ]
    }
    assert await refused(app, n.set_package_issues, world.claimant(), issues) == (
        "mediator_only"
    )
    lines = await act(app, n.set_package_issues, world.mediator(), issues)
    assert lines[0].visibility == "joint"
    buyer = {
        "refund": {"weight": 3, "options": {"full": 10, "half": 6}},
        "apology": {"weight": 1, "options": {"yes": 10, "no": 0}},
    }
    seller = {
        "refund": {"weight": 3, "options": {"full": 0, "half": 8}},
        "apology": {"weight": 1, "options": {"yes": 6, "no": 10}},
    }
    rated = await act(app, n.rate_package, world.claimant(), {"ratings": buyer})
    assert [line.visibility for line in rated] == [
        "mediator",
        f"participant:{world.claimant_seat}",
    ]
    assert (
        await refused(app, n.suggest_package, world.mediator(), {}) == "ratings_missing"
    )
    await act(app, n.rate_package, world.respondent(), {"ratings": seller})
    suggested = await act(app, n.suggest_package, world.mediator(), {})
    assert suggested[0].visibility == "mediator"
    assert suggested[0].content["choice"] == {"refund": "half", "apology": "yes"}
    proposed = await act(
        app,
        n.propose_package,
        world.mediator(),
        {"choice": suggested[0].content["choice"]},
    )
    offer = proposed[-1].content["offer"]
    assert offer["author_role"] == "mediator"
    assert [t["text"] for t in offer["terms"]] == ["refund: half", "apology: yes"]
