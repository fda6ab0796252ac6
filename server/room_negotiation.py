"""Negotiation in the live room: the offer, bid and package events on the hub.

``server.negotiation.ROOM_ACTIONS`` holds the domain actions; this module
gives each a room event with the hub's guarantees (token re-check, schema,
rights, exactly-once by client id, one transaction with the transcript
line, visibility-filtered fan-out). It also expires offers whose time has
run out and tells the room about settlement steps taken over HTTP
(agreement drafted, revised, signed, completed; case closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms import (
    IN_ROOM,
    JOINT,
    Allow,
    EventContext,
    IdempotentPayload,
    LineSpec,
    Payload,
    RoomDenied,
    RoomError,
    RoomHub,
    RoomInvalid,
    RoomTx,
    Seat,
    SeatKind,
    Visibility,
)
from rooms.chat import target_room
from rooms.model import is_caucus
from rooms.negotiation import lines as negotiation_lines
from server.errors import DomainError, InvalidInput, NotFound
from server.models import MediationSession, Offer, SessionStatus, utcnow
from server.negotiation import ROOM_ACTIONS, Action
from server.negotiation.offers import due_offers, expire_due, offer_line
from server.roomstore import SqlRoomTx
from server.services import Services

logger = logging.getLogger(__name__)

PARTY_SIDE = frozenset({SeatKind.PARTY, SeatKind.REPRESENTATIVE})
PROPOSERS = PARTY_SIDE | {SeatKind.MEDIATOR}
MEDIATOR_ONLY = frozenset({SeatKind.MEDIATOR})

Id = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
Text = Annotated[str, Field(max_length=2000)]


# -- payloads -------------------------------------------------------------------


class MonetaryTermIn(Payload):
    """A payment term; the domain checks range, currency and dates."""

    type: Literal["monetary"]
    amount_minor: StrictInt
    currency: str = Field(max_length=3)
    due_date: str | None = Field(default=None, max_length=10)
    instalments: StrictInt = 1


class ObligationTermIn(Payload):
    """A non-monetary obligation with an optional deadline."""

    type: Literal["obligation"]
    text: str = Field(max_length=2000)
    deadline: str | None = Field(default=None, max_length=10)


Term = Annotated[MonetaryTermIn | ObligationTermIn, Field(discriminator="type")]
Terms = Annotated[list[Term], Field(max_length=20)]
RoomKey = Annotated[str, Field(max_length=40)]


class OfferMake(IdempotentPayload):
    """Make an offer, a draft, or a counter-offer to ``answers_offer_id``."""

    terms: Terms
    note: Text = ""
    draft: StrictBool = False
    expires_at: datetime | None = None
    answers_offer_id: Id | None = None
    room: RoomKey | None = None


class OfferCounter(IdempotentPayload):
    """Answer an open offer with new terms."""

    offer_id: Id
    terms: Terms
    note: Text = ""
    expires_at: datetime | None = None


class OfferRef(IdempotentPayload):
    """Accept, withdraw, release, put forward or expire one offer."""

    offer_id: Id


class OfferReject(IdempotentPayload):
    """Turn an offer down, optionally saying why."""

    offer_id: Id
    reason: Text = ""


class BidOpen(IdempotentPayload):
    """Open a blind bid with its settlement rule."""

    currency: str = Field(max_length=3)
    rounds: StrictInt = 3
    tolerance_percent: Decimal | None = Field(default=None, max_digits=6)
    tolerance_minor: StrictInt | None = None
    mediator_sees_figures: StrictBool = False


class BidSubmit(IdempotentPayload):
    """Seal one figure for the current round."""

    bid_round_id: Id
    figure_minor: StrictInt


class BidRef(IdempotentPayload):
    """Stop a blind bid."""

    bid_round_id: Id


class IssueIn(Payload):
    """One issue of a package and its options."""

    key: str = Field(max_length=120)
    options: list[Annotated[str, Field(max_length=200)]] = Field(max_length=20)


class PackageIssues(IdempotentPayload):
    """List the issues and options (drops every earlier rating)."""

    issues: list[IssueIn] = Field(max_length=10)


class RatingIn(Payload):
    """How much an issue weighs for a party, and each option's rating."""

    weight: StrictInt
    options: dict[Annotated[str, Field(max_length=200)], StrictInt] = Field(
        max_length=20
    )


class PackageRate(IdempotentPayload):
    """A party's private weights and ratings."""

    ratings: dict[Annotated[str, Field(max_length=120)], RatingIn] = Field(
        max_length=10
    )


class PackageSuggest(IdempotentPayload):
    """Ask for the package maximising the lowest satisfaction."""


class PackagePropose(IdempotentPayload):
    """Propose one option per issue as an ordinary offer."""

    choice: dict[
        Annotated[str, Field(max_length=120)], Annotated[str, Field(max_length=200)]
    ] = Field(max_length=10)
    terms: Terms = Field(default_factory=list)
    note: Text = ""
    room: RoomKey | None = None


# -- the events -----------------------------------------------------------------

# codes any negotiation event can answer with, besides the hub's common ones
NEGOTIATION_ERRORS = ("case_closed", "not_in_room", "actor_mismatch")

TERM_ERRORS = (
    "no_terms",
    "too_many_terms",
    "invalid_amount",
    "invalid_currency",
    "invalid_instalments",
    "invalid_obligation",
    "invalid_date",
    "invalid_terms",
)
ANSWER_ERRORS = (
    "offer_not_found",
    "own_offer",
    "not_a_party",
    "offer_not_released",
    "offer_not_open",
    "offer_already_accepted",
    "offer_already_rejected",
    "offer_already_countered",
    "offer_withdrawn",
    "offer_expired",
)
AUTHOR_ERRORS = ("offer_not_found", "not_offer_author")
ROOM_ERRORS = ("wrong_room", "unknown_room")


@dataclass(frozen=True)
class NegotiationEvent:
    """One negotiation event kind: its payload, who may send it, its errors."""

    kind: str
    schema: type[BaseModel]
    kinds: frozenset[SeatKind]
    summary: str
    errors: tuple[str, ...]


EVENTS = (
    NegotiationEvent(
        "offer.make",
        OfferMake,
        PROPOSERS,
        "Make an offer (a mediator's proposal) in your room, or a draft.",
        (*TERM_ERRORS, *ROOM_ERRORS, "not_a_party", *ANSWER_ERRORS),
    ),
    NegotiationEvent(
        "offer.counter",
        OfferCounter,
        PARTY_SIDE,
        "Answer an open offer with new terms.",
        (*TERM_ERRORS, *ANSWER_ERRORS),
    ),
    NegotiationEvent(
        "offer.accept",
        OfferRef,
        PARTY_SIDE,
        "Accept an open offer of the other side.",
        ANSWER_ERRORS,
    ),
    NegotiationEvent(
        "offer.reject",
        OfferReject,
        PARTY_SIDE,
        "Reject an open offer of the other side.",
        ANSWER_ERRORS,
    ),
    NegotiationEvent(
        "offer.withdraw",
        OfferRef,
        PROPOSERS,
        "Withdraw your own draft or open offer.",
        (*AUTHOR_ERRORS, "offer_not_open", "offer_already_accepted"),
    ),
    NegotiationEvent(
        "offer.release",
        OfferRef,
        PROPOSERS,
        "Release your caucus offer to the joint room.",
        (*AUTHOR_ERRORS, "offer_not_in_caucus", "offer_released", "offer_not_open"),
    ),
    NegotiationEvent(
        "offer.submit",
        OfferRef,
        PROPOSERS,
        "Put your draft on the table.",
        (*AUTHOR_ERRORS, "offer_not_draft"),
    ),
    NegotiationEvent(
        "offer.expire",
        OfferRef,
        PROPOSERS,
        "Mark an offer whose time has run out as expired.",
        ("offer_not_found", "offer_not_due", "offer_not_open"),
    ),
    NegotiationEvent(
        "bid.open",
        BidOpen,
        MEDIATOR_ONLY,
        "Open a blind bid on the monetary issue.",
        (
            "mediator_only",
            "bidding_in_progress",
            "invalid_sides",
            "invalid_currency",
            "invalid_rounds",
            "invalid_rule",
        ),
    ),
    NegotiationEvent(
        "bid.submit",
        BidSubmit,
        PARTY_SIDE,
        "Seal your figure for the current round of a blind bid.",
        (
            "bid_not_found",
            "not_a_bidder",
            "bidding_closed",
            "invalid_amount",
            "bid_already_submitted",
        ),
    ),
    NegotiationEvent(
        "bid.cancel",
        BidRef,
        MEDIATOR_ONLY,
        "Stop a running blind bid.",
        ("mediator_only", "bid_not_found", "bidding_closed"),
    ),
    NegotiationEvent(
        "package.issues",
        PackageIssues,
        MEDIATOR_ONLY,
        "List the issues of a package and their options.",
        (
            "mediator_only",
            "no_issues",
            "duplicate_issue",
            "invalid_options",
            "package_too_large",
        ),
    ),
    NegotiationEvent(
        "package.rate",
        PackageRate,
        PARTY_SIDE,
        "Weight the issues and rate the options, privately.",
        ("not_a_party", "no_issues", "invalid_rating", "invalid_weight"),
    ),
    NegotiationEvent(
        "package.suggest",
        PackageSuggest,
        MEDIATOR_ONLY,
        "Compute the package that maximises the lowest satisfaction.",
        ("mediator_only", "no_issues", "ratings_missing"),
    ),
    NegotiationEvent(
        "package.propose",
        PackagePropose,
        MEDIATOR_ONLY,
        "Propose a package as an ordinary offer.",
        ("mediator_only", "invalid_choice", *ROOM_ERRORS, *TERM_ERRORS),
    ),
)


def session_db(tx: RoomTx) -> AsyncSession:
    """The database session of the hub's transaction (the server's own store)."""
    if not isinstance(tx, SqlRoomTx):
        raise TypeError(f"expected the SQL room store's transaction, got {tx!r}")
    return tx.db


def acting_party(seat: Seat) -> int | None:
    """The party a seat negotiates for: its own, or a representative's party."""
    if seat.kind == SeatKind.PARTY:
        return seat.party_id
    if seat.kind == SeatKind.REPRESENTATIVE:
        return seat.attached_party_id
    return None


def room_error(exc: DomainError) -> RoomError:
    """The hub's error ack for a refused action, with the same stable code."""
    if isinstance(exc, InvalidInput | NotFound):
        return RoomInvalid(
            exc.message, code=exc.code, field=exc.field, details=exc.details
        )
    return RoomDenied(exc.message, code=exc.code, details=exc.details)


def room_line(spec: negotiation_lines.LineSpec, room: str) -> LineSpec:
    """Map an action's line to the hub's visibility words."""
    visibility = spec.visibility
    content = dict(spec.content)
    if visibility == negotiation_lines.JOINT:
        return LineSpec(spec.kind, JOINT, Visibility.JOINT, content)
    if is_caucus(visibility):
        return LineSpec(
            spec.kind,
            visibility,
            Visibility.caucus(visibility),
            content,
            audience=spec.audience,
        )
    if visibility == negotiation_lines.MEDIATOR:
        return LineSpec(spec.kind, room, Visibility.MEDIATORS, content)
    prefix, _, pid = visibility.partition(":")
    if prefix == "participant" and pid.isdigit():
        return LineSpec(spec.kind, room, Visibility.participant(int(pid)), content)
    raise ValueError(f"an action returned an unknown visibility {visibility!r}")


def _handler(
    action: Action,
) -> Callable[[EventContext, Any, RoomTx], Awaitable[list[LineSpec]]]:
    async def handle(ctx: EventContext, body: BaseModel, tx: RoomTx) -> list[LineSpec]:
        seat = ctx.seat
        asked: str | None = getattr(body, "room", None)
        if asked is not None or seat.is_mediator:
            room = await target_room(ctx, tx, asked)
        else:
            room = seat.placement if seat.in_room else "lobby"
        actor = negotiation_lines.NegotiationActor(
            seat.id, acting_party(seat), str(seat.kind), room
        )
        payload = body.model_dump(mode="json", exclude={"client_id", "room"})
        try:
            specs = await action(session_db(tx), actor, payload)
        except DomainError as exc:
            # raised inside the transaction: the hub rolls it back
            raise room_error(exc) from None
        return [room_line(spec, room) for spec in specs]

    return handle


def register_negotiation(hub: RoomHub) -> None:
    """Register every negotiation event kind on the hub (no background work)."""
    for event in EVENTS:
        hub.register(
            event.kind,
            schema=event.schema,
            allowed=Allow(event.kinds, IN_ROOM),
            handler=_handler(ROOM_ACTIONS[event.kind]),
            summary=event.summary,
            errors=event.errors,
        )
    missing = set(ROOM_ACTIONS) - {e.kind for e in EVENTS}
    if missing:
        raise RuntimeError(f"room actions without an event: {sorted(missing)}")


# -- offer expiry -----------------------------------------------------------------


class _NoLongerDue(Exception):
    """The offer changed between the read and the write; nothing is written."""


async def expire_offer_now(
    services: Services, hub: RoomHub, offer_id: int, now: datetime
) -> bool:
    """Expire one due offer and tell its room; False when someone was first."""
    async with services.db.read() as db:
        offer = await db.get(Offer, offer_id)
        if offer is None or offer.status != "open":
            return False
        session = (
            await db.get(MediationSession, offer.session_id)
            if offer.session_id is not None
            else None
        )
        live = session is not None and session.status == SessionStatus.OPEN
        released = offer.released
        spec = offer_line("offer.expired", offer, "")
        spec = negotiation_lines.LineSpec(
            spec.kind,
            spec.room,
            spec.visibility,
            {**spec.content, "offer": {**spec.content["offer"], "status": "expired"}},
            spec.audience,
        )

    async def mutate(tx: RoomTx) -> None:
        stored = await expire_due(session_db(tx), offer_id, now)
        if stored is None or stored.released != released:
            raise _NoLongerDue

    if not live:
        async with services.db.write() as db:
            return await expire_due(db, offer_id, now) is not None
    assert offer.session_id is not None
    try:
        await hub.publish(offer.session_id, [room_line(spec, spec.room)], mutate=mutate)
    except _NoLongerDue:
        return False
    return True


async def sweep_expired_offers(
    services: Services, hub: RoomHub, now: datetime | None = None
) -> int:
    """Expire every open offer past its time; returns how many this call expired."""
    now = now or utcnow()
    async with services.db.read() as db:
        due = await due_offers(db, now)
    count = 0
    for offer_id, _session_id in due:
        if await expire_offer_now(services, hub, offer_id, now):
            count += 1
    return count


class ExpirySweep:
    """A background task that expires due offers every ``interval_s`` seconds."""

    def __init__(self, services: Services, hub: RoomHub, interval_s: float) -> None:
        self.services = services
        self.hub = hub
        self.interval_s = interval_s
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop in the running event loop."""
        self.task = asyncio.create_task(self._loop(), name="offer-expiry-sweep")

    async def stop(self) -> None:
        """Stop the loop."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                expired = await sweep_expired_offers(self.services, self.hub)
                if expired:
                    logger.info("offer expiry sweep expired %s offers", expired)
            except Exception:
                logger.exception("the offer expiry sweep failed; retrying")


# -- settlement notices -------------------------------------------------------------


async def announce(
    services: Services, case_id: int, kind: str, content: dict[str, Any]
) -> int:
    """Tell every open session of a case about a settlement step, as a notice line.

    The step is committed already; a room that cannot be told (a lost
    database connection) is logged and skipped, and the room page reloads
    the agreement whenever it connects.
    """
    hub: RoomHub | None = services.extras.get("room_hub")
    if hub is None:
        return 0
    async with services.db.read() as db:
        sessions = (
            await db.execute(
                select(MediationSession.id).where(
                    MediationSession.case_id == case_id,
                    MediationSession.status == SessionStatus.OPEN,
                )
            )
        ).scalars()
        ids = list(sessions)
    told = 0
    for session_id in ids:
        spec = LineSpec(kind, JOINT, Visibility.EVERYONE, content)
        try:
            await hub.publish(session_id, [spec])
            told += 1
        except Exception:
            logger.exception(
                "notice %s could not reach session %s of case %s",
                kind,
                session_id,
                case_id,
            )
    return told


def install_negotiation(services: Services, hub: RoomHub) -> None:
    """Register the negotiation events and start the offer expiry sweep with the app."""
    register_negotiation(hub)
    sweep = ExpirySweep(services, hub, services.settings.rooms.offer_sweep_s)
    services.on_start.append(sweep.start)
    services.on_stop.append(sweep.stop)
    services.extras["offer_sweep"] = sweep


__all__ = [
    "EVENTS",
    "NEGOTIATION_ERRORS",
    "ExpirySweep",
    "announce",
    "install_negotiation",
    "register_negotiation",
    "room_error",
    "room_line",
    "sweep_expired_offers",
]
