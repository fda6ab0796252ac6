"""Negotiation in the room: offers, blind bidding and multi-issue packages.

Pure domain logic with no knowledge of the web server or the database; the
server persists the states and turns the ``LineSpec`` results of its room
actions into transcript lines.
"""

from rooms.negotiation.bidding import (
    BidRule,
    BidState,
    BidStatus,
    mediator_view,
    open_bid,
    party_view,
    submit_figure,
    views,
)
from rooms.negotiation.errors import (
    IllegalMove,
    InvalidTerms,
    NegotiationError,
    NotAllowed,
)
from rooms.negotiation.lines import LineSpec, NegotiationActor
from rooms.negotiation.offers import (
    Actor,
    MonetaryTerm,
    ObligationTerm,
    OfferState,
    OfferStatus,
    Terms,
    parse_terms,
)
from rooms.negotiation.packages import Issue, Preferences, Suggestion, suggest

__all__ = [
    "Actor",
    "BidRule",
    "BidState",
    "BidStatus",
    "IllegalMove",
    "InvalidTerms",
    "Issue",
    "LineSpec",
    "MonetaryTerm",
    "NegotiationActor",
    "NegotiationError",
    "NotAllowed",
    "ObligationTerm",
    "OfferState",
    "OfferStatus",
    "Preferences",
    "Suggestion",
    "Terms",
    "mediator_view",
    "open_bid",
    "parse_terms",
    "party_view",
    "submit_figure",
    "suggest",
    "views",
]
