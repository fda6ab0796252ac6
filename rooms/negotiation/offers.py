"""Structured offers: their terms and the state machine of an offer.

An offer is made by a party or by the mediator (a mediator's proposal), in the
joint room or in a caucus. A caucus offer stays within the caucus until its
author releases it. The other side answers an open offer by accepting,
rejecting (with an optional reason) or countering it; the author may withdraw
it; it may expire. Every function here is pure: it takes a state and returns
the next one, or raises a NegotiationError with a stable code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from rooms.negotiation.errors import IllegalMove, InvalidTerms, NotAllowed

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT_MINOR = 10**13
MAX_INSTALMENTS = 120
MAX_OBLIGATION_CHARS = 2000
MAX_TERMS = 20


class OfferStatus(enum.StrEnum):
    """Where an offer stands."""

    DRAFT = "draft"
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    COUNTERED = "countered"


FINAL = frozenset(
    {
        OfferStatus.ACCEPTED,
        OfferStatus.REJECTED,
        OfferStatus.WITHDRAWN,
        OfferStatus.EXPIRED,
        OfferStatus.COUNTERED,
    }
)

# the code refusing an answer to an offer that is no longer open
_CLOSED_CODES = {
    OfferStatus.DRAFT: "offer_not_open",
    OfferStatus.ACCEPTED: "offer_already_accepted",
    OfferStatus.REJECTED: "offer_already_rejected",
    OfferStatus.WITHDRAWN: "offer_withdrawn",
    OfferStatus.EXPIRED: "offer_expired",
    OfferStatus.COUNTERED: "offer_already_countered",
}


@dataclass(frozen=True)
class MonetaryTerm:
    """A payment: amount in minor units, currency, due date, instalments."""

    amount_minor: int
    currency: str
    due_date: date | None = None
    instalments: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "type": "monetary",
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "instalments": self.instalments,
        }


@dataclass(frozen=True)
class ObligationTerm:
    """A non-monetary obligation (an apology, goods returned) with a deadline."""

    text: str
    deadline: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "type": "obligation",
            "text": self.text,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


Term = MonetaryTerm | ObligationTerm


@dataclass(frozen=True)
class Terms:
    """The set of terms an offer puts forward; at least one."""

    items: tuple[Term, ...]

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON form: a list of term objects."""
        return [item.to_dict() for item in self.items]

    @property
    def monetary(self) -> tuple[MonetaryTerm, ...]:
        return tuple(i for i in self.items if isinstance(i, MonetaryTerm))

    @property
    def obligations(self) -> tuple[ObligationTerm, ...]:
        return tuple(i for i in self.items if isinstance(i, ObligationTerm))


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidTerms(f"{name}: expected an ISO date, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidTerms(
            f"{name}: expected an ISO date like 2026-01-31, got {value!r}",
            code="invalid_date",
        ) from None


def parse_term(raw: Mapping[str, Any]) -> Term:
    """Validate one term from its JSON form."""
    kind = raw.get("type")
    if kind == "monetary":
        amount = raw.get("amount_minor")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise InvalidTerms(
                f"amount_minor: expected a whole number of minor units, got {amount!r}",
                code="invalid_amount",
            )
        if not 0 < amount <= MAX_AMOUNT_MINOR:
            raise InvalidTerms(
                f"amount_minor: expected 1 to {MAX_AMOUNT_MINOR}, got {amount}",
                code="invalid_amount",
            )
        currency = raw.get("currency")
        if not isinstance(currency, str) or not CURRENCY.match(currency):
            raise InvalidTerms(
                f"currency: expected an ISO 4217 code like CNY, got {currency!r}",
                code="invalid_currency",
            )
        instalments = raw.get("instalments", 1)
        if (
            not isinstance(instalments, int)
            or isinstance(instalments, bool)
            or not 1 <= instalments <= MAX_INSTALMENTS
        ):
            raise InvalidTerms(
                f"instalments: expected 1 to {MAX_INSTALMENTS}, got {instalments!r}",
                code="invalid_instalments",
            )
        return MonetaryTerm(
            amount, currency, _date(raw.get("due_date"), "due_date"), instalments
        )
    if kind == "obligation":
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidTerms(
                "text: an obligation needs a description", code="invalid_obligation"
            )
        if len(text) > MAX_OBLIGATION_CHARS:
            raise InvalidTerms(
                f"text: at most {MAX_OBLIGATION_CHARS} characters, got {len(text)}",
                code="invalid_obligation",
            )
        return ObligationTerm(text.strip(), _date(raw.get("deadline"), "deadline"))
    raise InvalidTerms(
        f"type: expected 'monetary' or 'obligation', got {kind!r}",
        code="invalid_term_type",
    )


def parse_terms(raw: Iterable[Mapping[str, Any]] | Any) -> Terms:
    """Validate a list of terms from its JSON form."""
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidTerms("terms: expected a non-empty list", code="no_terms")
    if len(raw) > MAX_TERMS:
        raise InvalidTerms(
            f"terms: at most {MAX_TERMS}, got {len(raw)}", code="too_many_terms"
        )
    items = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise InvalidTerms(f"terms: expected objects, got {item!r}")
        items.append(parse_term(item))
    return Terms(tuple(items))


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a party (party_id set) or staff (mediator, officer)."""

    participant_id: int
    party_id: int | None
    role: str

    @property
    def is_party(self) -> bool:
        return self.party_id is not None

    @property
    def is_mediator(self) -> bool:
        return self.party_id is None and self.role == "mediator"


@dataclass(frozen=True)
class OfferState:
    """The part of an offer the state machine needs."""

    status: OfferStatus
    author_participant_id: int
    author_party_id: int | None
    room: str
    parties: frozenset[int]
    released: bool = False
    # for a caucus offer: the party whose caucus it was made in
    caucus_party_id: int | None = None
    expires_at: datetime | None = None
    acceptances: frozenset[int] = field(default_factory=frozenset)

    @property
    def in_caucus(self) -> bool:
        return self.room != "joint"

    @property
    def public(self) -> bool:
        """True when the whole joint room may see the offer."""
        return not self.in_caucus or self.released

    @property
    def needed(self) -> frozenset[int]:
        """The parties whose acceptance settles the offer."""
        return self.parties - (
            {self.author_party_id} if self.author_party_id is not None else set()
        )

    def visible_to_party(self, party_id: int) -> bool:
        """Whether a party may see this offer now."""
        return (
            self.public
            or party_id == self.author_party_id
            or party_id == self.caucus_party_id
        )


def new_offer(
    actor: Actor,
    room: str,
    parties: Iterable[int],
    *,
    draft: bool = False,
    caucus_party_id: int | None = None,
    expires_at: datetime | None = None,
) -> OfferState:
    """The state of a new offer made by a party or the mediator."""
    parties = frozenset(parties)
    if actor.is_party:
        if actor.party_id not in parties:
            raise NotAllowed(
                "Only a party to this case may make an offer.", code="not_a_party"
            )
    elif not actor.is_mediator:
        raise NotAllowed(
            "Only a party or the mediator may make an offer.", code="not_a_party"
        )
    if room != "joint" and caucus_party_id is None and actor.is_party:
        caucus_party_id = actor.party_id
    return OfferState(
        status=OfferStatus.DRAFT if draft else OfferStatus.OPEN,
        author_participant_id=actor.participant_id,
        author_party_id=actor.party_id,
        room=room,
        parties=parties,
        caucus_party_id=caucus_party_id if room != "joint" else None,
        expires_at=expires_at,
    )


def _require_author(offer: OfferState, actor: Actor) -> None:
    same = (
        actor.party_id == offer.author_party_id
        if offer.author_party_id is not None
        else actor.is_mediator
    )
    if not same:
        raise NotAllowed(
            "Only the side that made this offer may do this.", code="not_offer_author"
        )


def _require_open(offer: OfferState) -> None:
    if offer.status != OfferStatus.OPEN:
        raise IllegalMove(
            f"This offer is {offer.status}, not open.",
            code=_CLOSED_CODES.get(offer.status, "offer_not_open"),
        )


def _require_answerer(offer: OfferState, actor: Actor, now: datetime | None) -> None:
    if actor.party_id is None or actor.party_id not in offer.parties:
        raise NotAllowed(
            "Only a party to the case may answer an offer.", code="not_a_party"
        )
    if actor.party_id == offer.author_party_id:
        raise NotAllowed("A party cannot answer its own offer.", code="own_offer")
    if not offer.visible_to_party(actor.party_id):
        raise NotAllowed(
            "This offer has not been released to you.", code="offer_not_released"
        )
    _require_open(offer)
    if now is not None and offer.expires_at is not None and now >= offer.expires_at:
        raise IllegalMove("This offer has expired.", code="offer_expired")
    if actor.party_id in offer.acceptances:
        raise IllegalMove(
            "You have accepted this offer already.", code="offer_already_accepted"
        )


def submit(offer: OfferState, actor: Actor) -> OfferState:
    """Put a draft on the table: draft → open."""
    _require_author(offer, actor)
    if offer.status != OfferStatus.DRAFT:
        raise IllegalMove(
            f"Only a draft can be put forward; this offer is {offer.status}.",
            code="offer_not_draft",
        )
    return replace(offer, status=OfferStatus.OPEN)


def release(offer: OfferState, actor: Actor) -> OfferState:
    """Let a caucus offer reach the joint room; only its author may."""
    _require_author(offer, actor)
    if not offer.in_caucus:
        raise IllegalMove(
            "This offer was made in the joint room; there is nothing to release.",
            code="offer_not_in_caucus",
        )
    if offer.released:
        raise IllegalMove("This offer is released already.", code="offer_released")
    _require_open(offer)
    return replace(offer, released=True)


def accept(offer: OfferState, actor: Actor, now: datetime | None = None) -> OfferState:
    """A party accepts; the offer is accepted once every other party has."""
    _require_answerer(offer, actor, now)
    assert actor.party_id is not None  # checked by _require_answerer
    acceptances = offer.acceptances | {actor.party_id}
    settled = offer.needed <= acceptances
    return replace(
        offer,
        acceptances=frozenset(acceptances),
        status=OfferStatus.ACCEPTED if settled else OfferStatus.OPEN,
    )


def reject(offer: OfferState, actor: Actor, now: datetime | None = None) -> OfferState:
    """A party turns the offer down (a reason is optional and kept elsewhere)."""
    _require_answerer(offer, actor, now)
    return replace(offer, status=OfferStatus.REJECTED)


def counter(offer: OfferState, actor: Actor, now: datetime | None = None) -> OfferState:
    """A party answers with a counter-offer; this offer becomes countered."""
    _require_answerer(offer, actor, now)
    return replace(offer, status=OfferStatus.COUNTERED)


def withdraw(offer: OfferState, actor: Actor) -> OfferState:
    """The author takes back a draft or an open offer."""
    _require_author(offer, actor)
    if offer.status not in (OfferStatus.DRAFT, OfferStatus.OPEN):
        raise IllegalMove(
            f"This offer is {offer.status}; it can no longer be withdrawn.",
            code=_CLOSED_CODES.get(offer.status, "offer_not_open"),
        )
    return replace(offer, status=OfferStatus.WITHDRAWN)


def expire(offer: OfferState, now: datetime) -> OfferState:
    """Mark an open offer whose time has run out as expired."""
    _require_open(offer)
    if offer.expires_at is None or now < offer.expires_at:
        raise IllegalMove("This offer has not run out yet.", code="offer_not_due")
    return replace(offer, status=OfferStatus.EXPIRED)
