"""Page access, the mediator's bid view, offer expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from server import negotiation as n
from server.errors import IllegalTransition, InvalidInput
from server.models import Offer, utcnow
from tests.server.negotiation.conftest import As, World, cookies_for, seed

CASH = [{"type": "monetary", "amount_minor": 120000, "currency": "CNY"}]


async def test_pages_follow_the_permission_table(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    base = f"/case/{world.reference}"
    party_agreement = await actors["claimant"].get(f"{base}/agreement?lang=zh-CN")
    assert party_agreement.status_code == 200
    assert "尚未拟定协议" in party_agreement.text
    assert 'id="generate"' not in party_agreement.text
    staff_agreement = await actors["mediator"].get(f"{base}/agreement")
    assert 'id="generate"' in staff_agreement.text
    for path in ("opinion", "closure"):
        assert (await actors["claimant"].get(f"{base}/{path}")).status_code == 403
        assert (await actors["mediator"].get(f"{base}/{path}")).status_code == 200
    feedback = await actors["respondent"].get(f"{base}/feedback")
    assert "The survey opens when the case is closed." in feedback.text

    other = await seed(app.services, "ACC-2026-0009")
    stranger = As(
        actors["claimant"].client,
        await cookies_for(app.services, party_id=other.claimant_id),
    )
    assert (await stranger.get(f"{base}/agreement")).status_code == 404
    anonymous = As(actors["claimant"].client, {})
    assert (await anonymous.get(f"{base}/agreement")).status_code == 401


async def test_the_mediator_view_shows_figures_only_when_allowed(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    url = f"/api/sessions/{world.session_id}/bids"
    for sees in (False, True):
        async with app.services.db.write() as db:
            opened = await n.open_bid_round(
                db,
                world.mediator(),
                {
                    "currency": "CNY",
                    "rounds": 1,
                    "tolerance_minor": 100,
                    "mediator_sees_figures": sees,
                },
            )
        bid_id = opened[0].content["bid_round_id"]
        async with app.services.db.write() as db:
            lines = await n.submit_bid(
                db, world.claimant(), {"bid_round_id": bid_id, "figure_minor": 987654}
            )
        assert [line.kind for line in lines] == (
            ["bid.submitted", "bid.figure"] if sees else ["bid.submitted"]
        )
        view = [
            v
            for v in (await actors["mediator"].get(url)).json()
            if v["bid_round_id"] == bid_id
        ][0]
        assert ("figures" in view) is sees
        async with app.services.db.write() as db:
            await n.cancel_bid_round(db, world.mediator(), {"bid_round_id": bid_id})
    assert (await actors["officer"].get(url)).status_code == 200


async def test_an_offer_expires_only_when_due(app: Any, world: World) -> None:
    earlier = (utcnow() - timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidInput):
        async with app.services.db.write() as db:
            await n.make_offer(
                db, world.claimant(), {"terms": CASH, "expires_at": earlier}
            )
    later = (utcnow() + timedelta(hours=1)).isoformat()
    async with app.services.db.write() as db:
        made = await n.make_offer(
            db, world.claimant(), {"terms": CASH, "expires_at": later}
        )
    offer_id = made[0].content["offer"]["id"]
    with pytest.raises(IllegalTransition) as caught:
        async with app.services.db.write() as db:
            await n.expire_offer(db, world.mediator(), {"offer_id": offer_id})
    assert caught.value.code == "offer_not_due"
    async with app.services.db.write() as db:
        await db.execute(
            update(Offer)
            .where(Offer.id == offer_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(IllegalTransition) as late:
        async with app.services.db.write() as db:
            await n.accept_offer(db, world.respondent(), {"offer_id": offer_id})
    assert late.value.code == "offer_expired"
    async with app.services.db.write() as db:
        lines = await n.expire_offer(db, world.mediator(), {"offer_id": offer_id})
    assert lines[0].content["offer"]["status"] == "expired"
