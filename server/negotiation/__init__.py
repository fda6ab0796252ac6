"""Negotiation room actions: offers, blind bids and packages, persisted.

Every action has the shape the room hub's extension API calls::

    async def action(db, actor: NegotiationActor, payload: dict) -> list[LineSpec]

It runs inside the hub's write transaction, changes the stored state through
the pure state machines of ``rooms.negotiation``, and returns the transcript
lines to append, each with the visibility that decides who receives it. A
sealed bid figure never appears in a line that a party can see: the joint
line says only that a figure was submitted, and a mediator-only line carries
the figure when the round's rule lets the mediator see it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation.lines import LineSpec, NegotiationActor
from server.models import BidRound
from server.negotiation.bids import (
    bid_state,
    bid_view_for,
    cancel_bid_round,
    open_bid_round,
    submit_bid,
)
from server.negotiation.common import domain_errors, ensure_open, load_context
from server.negotiation.offers import (
    accept_offer,
    counter_offer,
    expire_offer,
    make_offer,
    offer_dict,
    offer_state,
    offer_visibility,
    reject_offer,
    release_offer,
    submit_offer,
    thread_of,
    visible_offers,
    withdraw_offer,
)
from server.negotiation.packages import (
    package_suggestion,
    propose_package,
    rate_package,
    set_package_issues,
    suggest_package,
)

Action = Callable[
    [AsyncSession, NegotiationActor, dict[str, Any]], Awaitable[list[LineSpec]]
]

ROOM_ACTIONS: dict[str, Action] = {
    "offer.make": make_offer,
    "offer.counter": counter_offer,
    "offer.accept": accept_offer,
    "offer.reject": reject_offer,
    "offer.withdraw": withdraw_offer,
    "offer.release": release_offer,
    "offer.submit": submit_offer,
    "offer.expire": expire_offer,
    "bid.open": open_bid_round,
    "bid.submit": submit_bid,
    "bid.cancel": cancel_bid_round,
    "package.issues": set_package_issues,
    "package.rate": rate_package,
    "package.suggest": suggest_package,
    "package.propose": propose_package,
}
"""Room event kind -> action, for the hub's extension API to register."""

__all__ = [
    "Action",
    "BidRound",
    "ROOM_ACTIONS",
    "accept_offer",
    "bid_state",
    "bid_view_for",
    "cancel_bid_round",
    "counter_offer",
    "domain_errors",
    "ensure_open",
    "expire_offer",
    "load_context",
    "make_offer",
    "offer_dict",
    "offer_state",
    "offer_visibility",
    "open_bid_round",
    "package_suggestion",
    "propose_package",
    "rate_package",
    "reject_offer",
    "release_offer",
    "set_package_issues",
    "submit_bid",
    "submit_offer",
    "suggest_package",
    "thread_of",
    "visible_offers",
    "withdraw_offer",
]
