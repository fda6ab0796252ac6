"""Helpers for negotiation tests through the live hub."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.models import MediationSession, Offer, OfferEvent
from tests.conftest import LiveServer
from tests.server.roomkit import Peer, full_room, wait_for

CNY = "CNY"


def money(amount: int) -> list[dict[str, Any]]:
    return [{"type": "monetary", "amount_minor": amount, "currency": CNY}]


async def ok(peer: Peer, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    ack = await peer.call(event, payload)
    assert ack["ok"], (event, ack)
    return ack


async def refused(peer: Peer, event: str, payload: dict[str, Any]) -> str:
    ack = await peer.call(event, payload)
    assert not ack["ok"], (event, ack)
    code: str = ack["error"]["code"]
    return code


def offers_in(peer: Peer, kind: str) -> list[dict[str, Any]]:
    return [line["content"]["offer"] for line in peer.lines if line["kind"] == kind]


async def stored(live: LiveServer, session_id: int) -> tuple[int, int, int]:
    """Transcript head, offers and offer events of the session, as stored."""
    async with live.services.db.read() as db:
        session = await db.get(MediationSession, session_id)
        assert session is not None
        offers = await db.scalar(
            select(func.count())
            .select_from(Offer)
            .where(Offer.session_id == session_id)
        )
        events = await db.scalar(select(func.count()).select_from(OfferEvent))
        return session.last_seq, int(offers or 0), int(events or 0)


async def room(live: LiveServer) -> dict[str, Any]:
    """Everyone connected and admitted to the joint room."""
    setup = await full_room(live)
    peers: dict[str, Peer] = setup["peers"]
    for peer in peers.values():
        await peer.connect()
    await ok(peers["mediator"], "lobby.admit", {"client_id": "in", "room": "joint"})
    await wait_for(lambda: all(p.roster for p in peers.values()))
    return setup


async def close_all(setup: dict[str, Any]) -> None:
    for peer in setup["peers"].values():
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()
