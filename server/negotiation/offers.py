"""Offer room actions: make, counter, accept, reject, withdraw, release, expire."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation import offers
from rooms.negotiation.errors import IllegalMove
from rooms.negotiation.lines import (
    JOINT,
    LineSpec,
    NegotiationActor,
    participant,
)
from server.caselog import append_event
from server.errors import (
    InvalidInput,
    NotFound,
)
from server.models import (
    Offer,
    OfferEvent,
    Participant,
    utcnow,
)
from server.negotiation.common import (
    Context,
    domain_errors,
    int_field,
    is_sqlite,
    load_context,
)

logger = logging.getLogger(__name__)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back timezone-aware columns as naive UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def offer_state(offer: Offer, parties: frozenset[int]) -> offers.OfferState:
    """The pure state of a stored offer."""
    return offers.OfferState(
        status=offers.OfferStatus(offer.status),
        author_participant_id=offer.author_participant_id or 0,
        author_party_id=offer.author_party_id,
        room=offer.room,
        parties=parties,
        released=offer.released,
        caucus_party_id=offer.caucus_party_id,
        expires_at=_aware(offer.expires_at),
        acceptances=frozenset(offer.acceptances or []),
    )


def effective_status(offer: Offer, now: datetime | None = None) -> str:
    """The status as everyone should read it: an open offer past its time is expired.

    The sweep (server/room_negotiation.py) stores the change a few seconds
    later; until then readers already see the offer as expired.
    """
    expires = _aware(offer.expires_at)
    if offer.status == offers.OfferStatus.OPEN and expires is not None:
        if expires <= (now or utcnow()):
            return str(offers.OfferStatus.EXPIRED)
    return offer.status


def offer_dict(offer: Offer) -> dict[str, Any]:
    """The JSON form of an offer, as lines and the API show it."""
    return {
        "id": offer.id,
        "status": effective_status(offer),
        "terms": offer.terms,
        "note": offer.note,
        "author_party_id": offer.author_party_id,
        "author_role": offer.author_role,
        "room": offer.room,
        "released": offer.released,
        "answers_offer_id": offer.answers_offer_id,
        "acceptances": list(offer.acceptances or []),
        "expires_at": (
            _aware(offer.expires_at).isoformat()  # type: ignore[union-attr]
            if offer.expires_at
            else None
        ),
    }


def offer_visibility(offer: Offer) -> str:
    """Who may receive lines about this offer."""
    if offer.status == offers.OfferStatus.DRAFT and offer.author_participant_id:
        return participant(offer.author_participant_id)
    if offer.room == JOINT or offer.released:
        return JOINT
    return offer.room


def _apply(offer: Offer, state: offers.OfferState) -> None:
    offer.status = str(state.status)
    offer.released = state.released
    offer.acceptances = sorted(state.acceptances)


def _expires(payload: dict[str, Any]) -> datetime | None:
    raw = payload.get("expires_at")
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput(
            f"expires_at: expected an ISO time, got {raw!r}",
            code="invalid_date",
            field="expires_at",
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            "expires_at: give a time zone", code="invalid_date", field="expires_at"
        )
    if value <= utcnow():
        raise InvalidInput(
            f"expires_at: {raw} has passed already",
            code="invalid_date",
            field="expires_at",
        )
    return value


async def _caucus_party(db: AsyncSession, ctx: Context) -> int | None:
    """The party whose caucus the actor is in, for a mediator's caucus proposal."""
    if ctx.actor.room == JOINT:
        return None
    if ctx.actor.party_id is not None:
        return ctx.actor.party_id
    members = (ctx.session.rooms or {}).get(ctx.actor.room, {}).get("members", [])
    # the live hub keeps no member lists: whoever is placed in the caucus now
    # tells whose caucus it is
    where = (
        Participant.id.in_(members)
        if members
        else (Participant.session_id == ctx.session.id)
        & (Participant.placement == ctx.actor.room)
        & Participant.admitted.is_(True)
        & Participant.removed.is_(False)
    )
    rows = await db.execute(
        select(Participant.party_id, Participant.attached_party_id)
        .where(where)
        .order_by(Participant.id)
    )
    for party_id, attached in rows:
        found: int | None = party_id or attached
        if found is not None:
            return found
    return None


async def _load_offer(db: AsyncSession, ctx: Context, payload: dict[str, Any]) -> Offer:
    offer_id = int_field(payload, "offer_id")
    offer = await db.get(Offer, offer_id, with_for_update=not is_sqlite(db))
    if offer is None or offer.case_id != ctx.case.id:
        raise NotFound("No such offer.", code="offer_not_found")
    # a party must not learn that a private offer exists
    if ctx.actor.party_id is not None:
        state = offer_state(offer, ctx.party_ids)
        if not state.visible_to_party(ctx.actor.party_id):
            raise NotFound("No such offer.", code="offer_not_found")
    return offer


def _event(
    offer: Offer, kind: str, ctx: Context, reason: str | None = None
) -> OfferEvent:
    return OfferEvent(
        offer_id=offer.id,
        kind=kind,
        participant_id=ctx.actor.participant_id,
        party_id=ctx.actor.party_id,
        reason=reason,
    )


def offer_audience(offer: Offer) -> tuple[int, ...]:
    """The party sides that may read a private offer's lines: its author's and
    the caucus party's (never whoever else sits in the caucus)."""
    sides = {offer.author_party_id, offer.caucus_party_id} - {None}
    return tuple(sorted(s for s in sides if s is not None))


def offer_line(kind: str, offer: Offer, by: str, **extra: Any) -> LineSpec:
    """A transcript line about an offer, seen by whoever may see the offer."""
    visibility = offer_visibility(offer)
    return LineSpec(
        kind=kind,
        room=offer.room if visibility != JOINT else JOINT,
        visibility=visibility,
        content={"offer": offer_dict(offer), "by": by, **extra},
        audience=offer_audience(offer) if visibility != JOINT else None,
    )


def _line(kind: str, offer: Offer, ctx: Context, **extra: Any) -> LineSpec:
    return offer_line(kind, offer, ctx.seat.display_name, **extra)


async def make_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Make an offer (or a mediator's proposal) in the actor's current room.

    payload: ``terms`` (list of term objects), optional ``note``, ``draft``,
    ``expires_at`` (ISO time with zone) and ``answers_offer_id`` (making it a
    counter-offer to that offer).
    """
    ctx = await load_context(db, actor)
    with domain_errors():
        terms = offers.parse_terms(payload.get("terms"))
        note = str(payload.get("note") or "")[:2000]
        lines: list[LineSpec] = []
        answered: Offer | None = None
        if payload.get("answers_offer_id") is not None:
            answered = await _load_offer(
                db, ctx, {"offer_id": payload["answers_offer_id"]}
            )
            countered = offers.counter(
                offer_state(answered, ctx.party_ids), ctx.domain_actor, utcnow()
            )
            _apply(answered, countered)
            db.add(_event(answered, "countered", ctx))
            lines.append(_line("offer.countered", answered, ctx))

        state = offers.new_offer(
            ctx.domain_actor,
            actor.room,
            ctx.party_ids,
            draft=bool(payload.get("draft")),
            caucus_party_id=await _caucus_party(db, ctx),
            expires_at=_expires(payload),
        )
    offer = Offer(
        case_id=ctx.case.id,
        session_id=ctx.session.id,
        author_participant_id=actor.participant_id,
        author_party_id=actor.party_id,
        author_role=actor.role,
        room=actor.room,
        caucus_party_id=state.caucus_party_id,
        released=False,
        status=str(state.status),
        answers_offer_id=answered.id if answered else None,
        terms=terms.to_list(),
        note=note,
        acceptances=[],
        expires_at=state.expires_at,
    )
    db.add(offer)
    await db.flush()
    db.add(_event(offer, "made", ctx))
    logger.info(
        "offer %s made in case %s session %s room %s by participant %s",
        offer.id,
        ctx.case.id,
        ctx.session.id,
        actor.room,
        actor.participant_id,
    )
    lines.append(_line("offer.made", offer, ctx))
    return lines


async def counter_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Answer an open offer with new terms; payload: ``offer_id``, ``terms``."""
    return await make_offer(
        db, actor, {**payload, "answers_offer_id": int_field(payload, "offer_id")}
    )


async def _step(
    db: AsyncSession,
    actor: NegotiationActor,
    payload: dict[str, Any],
    kind: str,
    move: Callable[[offers.OfferState, offers.Actor], offers.OfferState],
) -> tuple[Context, Offer, list[LineSpec]]:
    ctx = await load_context(db, actor)
    offer = await _load_offer(db, ctx, payload)
    was_public = offer_visibility(offer)
    with domain_errors():
        state = move(offer_state(offer, ctx.party_ids), ctx.domain_actor)
    _apply(offer, state)
    reason = payload.get("reason")
    db.add(_event(offer, kind, ctx, str(reason)[:2000] if reason else None))
    extra = {"reason": str(reason)[:2000]} if reason and kind == "rejected" else {}
    line = _line(f"offer.{kind}", offer, ctx, **extra)
    lines = [line]
    if kind == "released" and was_public != JOINT:
        # the caucus that saw it learns of the release too
        lines.insert(
            0,
            LineSpec(
                line.kind,
                was_public,
                was_public,
                line.content,
                audience=offer_audience(offer),
            ),
        )
    logger.info(
        "offer %s %s in case %s by participant %s",
        offer.id,
        kind,
        ctx.case.id,
        actor.participant_id,
    )
    return ctx, offer, lines


async def accept_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party accepts an offer; payload: ``offer_id``."""
    ctx, offer, lines = await _step(
        db,
        actor,
        payload,
        "accepted",
        lambda s, a: offers.accept(s, a, utcnow()),
    )
    if offer.status == offers.OfferStatus.ACCEPTED:
        await append_event(
            db,
            ctx.case,
            "offer.accepted",
            ctx.event_actor,
            {"offer_id": offer.id, "terms": offer.terms},
        )
    return lines


async def reject_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party rejects an offer; payload: ``offer_id``, optional ``reason``."""
    _, _, lines = await _step(
        db, actor, payload, "rejected", lambda s, a: offers.reject(s, a, utcnow())
    )
    return lines


async def withdraw_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author withdraws an offer; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "withdrawn", offers.withdraw)
    return lines


async def release_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author releases a caucus offer to the joint room; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "released", offers.release)
    return lines


async def submit_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author puts a draft on the table; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "submitted", offers.submit)
    return lines


async def expire_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Mark an offer whose time has run out as expired; payload: ``offer_id``."""
    _, _, lines = await _step(
        db, actor, payload, "expired", lambda s, a: offers.expire(s, utcnow())
    )
    return lines


def visible_offers(
    rows: list[Offer], parties: frozenset[int], party_id: int | None, staff: bool
) -> list[Offer]:
    """The offers a caller may see: staff all, a party what is visible to it."""
    if staff:
        return rows
    if party_id is None:
        return [o for o in rows if offer_state(o, parties).public]
    return [
        o
        for o in rows
        if offer_state(o, parties).visible_to_party(party_id)
        and (o.status != offers.OfferStatus.DRAFT or o.author_party_id == party_id)
    ]


def thread_of(rows: list[Offer], offer_id: int) -> list[Offer]:
    """The chain of counter-offers an offer belongs to, oldest first."""
    by_id = {o.id: o for o in rows}
    answered_by: dict[int, list[Offer]] = {}
    for o in rows:
        if o.answers_offer_id is not None:
            answered_by.setdefault(o.answers_offer_id, []).append(o)
    root = by_id.get(offer_id)
    if root is None:
        return []
    while root.answers_offer_id in by_id:
        root = by_id[root.answers_offer_id]
    chain: list[Offer] = []
    frontier = [root]
    while frontier:
        current = frontier.pop(0)
        chain.append(current)
        frontier.extend(sorted(answered_by.get(current.id, []), key=lambda o: o.id))
    return chain


async def due_offers(db: AsyncSession, now: datetime) -> list[tuple[int, int | None]]:
    """(offer id, session id) of every open offer whose time has run out."""
    rows = await db.execute(
        select(Offer.id, Offer.session_id)
        .where(
            Offer.status == str(offers.OfferStatus.OPEN),
            Offer.expires_at.is_not(None),
            Offer.expires_at <= now,
        )
        .order_by(Offer.id)
    )
    return [(offer_id, session_id) for offer_id, session_id in rows]


async def expire_due(db: AsyncSession, offer_id: int, now: datetime) -> Offer | None:
    """Store an open offer past its time as expired; None when it is not (now).

    Runs in the session's write transaction, so two workers sweeping at once
    expire it once: the second finds it expired already.
    """
    offer = await db.get(
        Offer, offer_id, with_for_update=not is_sqlite(db), populate_existing=True
    )
    if offer is None or offer.status != offers.OfferStatus.OPEN:
        return None
    try:
        # the parties do not matter for expiry
        state = offers.expire(offer_state(offer, frozenset()), now)
    except IllegalMove:
        return None
    _apply(offer, state)
    db.add(OfferEvent(offer_id=offer.id, kind="expired"))
    logger.info("offer %s of case %s expired", offer.id, offer.case_id)
    return offer
