"""What every negotiation room action shares: context, errors, checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation import offers
from rooms.negotiation.errors import (
    IllegalMove,
    InvalidTerms,
    NegotiationError,
    NotAllowed,
)
from rooms.negotiation.lines import (
    NegotiationActor,
)
from server.errors import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from server.models import (
    Case,
    CaseStatus,
    MediationSession,
    Participant,
    ParticipantKind,
)

logger = logging.getLogger(__name__)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a negotiation error into the server's error with the same code."""
    try:
        yield
    except NotAllowed as exc:
        raise PermissionDenied(exc.message, code=exc.code) from None
    except IllegalMove as exc:
        raise IllegalTransition(exc.message, code=exc.code) from None
    except InvalidTerms as exc:
        raise InvalidInput(exc.message, code=exc.code) from None
    except NegotiationError as exc:
        raise InvalidInput(exc.message, code=exc.code) from None


def ensure_open(case: Case) -> None:
    """Refuse any change to a closed case (feedback and compliance excepted)."""
    if case.status == CaseStatus.CLOSED:
        raise IllegalTransition(
            f"Case {case.reference} is closed; it can no longer be changed.",
            code="case_closed",
        )


class Context:
    """What an action needs to know: the session, its case, the acting seat."""

    def __init__(
        self,
        session: MediationSession,
        case: Case,
        seat: Participant,
        actor: NegotiationActor,
    ) -> None:
        self.session = session
        self.case = case
        self.seat = seat
        self.actor = actor

    @property
    def party_ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.case.parties)

    @property
    def domain_actor(self) -> offers.Actor:
        return offers.Actor(
            self.actor.participant_id, self.actor.party_id, self.actor.role
        )

    @property
    def event_actor(self) -> str:
        """The case-log actor string of the acting seat."""
        if self.seat.party_id is not None:
            return f"party:{self.seat.party_id}"
        if self.seat.user_id is not None:
            return f"user:{self.seat.user_id}"
        return f"participant:{self.seat.id}"


async def load_context(db: AsyncSession, actor: NegotiationActor) -> Context:
    """Load and cross-check the actor's seat, session and case."""
    seat = await db.get(Participant, actor.participant_id)
    if seat is None or seat.removed:
        raise PermissionDenied(
            "You no longer have a seat in this session.", code="not_a_participant"
        )
    # a representative acts for the party they are attached to
    acts_for = (
        seat.attached_party_id
        if seat.kind == ParticipantKind.REPRESENTATIVE
        else seat.party_id
    )
    if acts_for != actor.party_id:
        raise PermissionDenied(
            "The acting party does not match the seat.", code="actor_mismatch"
        )
    session = await db.get(MediationSession, seat.session_id)
    if session is None:
        raise NotFound("No such session.", code="session_not_found")
    case = await db.get(Case, session.case_id)
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    await db.refresh(case, ["parties"])
    ensure_open(case)
    if actor.room == "lobby" or not actor.room:
        raise IllegalTransition(
            "Wait to be admitted before negotiating.", code="not_in_room"
        )
    return Context(session, case, seat, actor)


def require_mediator(ctx: Context) -> None:
    """Refuse unless the actor is the mediator."""
    if ctx.actor.party_id is not None or ctx.actor.role != "mediator":
        raise PermissionDenied("Only the mediator may do this.", code="mediator_only")


def int_field(payload: dict[str, Any], name: str) -> int:
    """A whole-number field of a payload, or InvalidInput naming it."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name}: expected a whole number, got {value!r}",
            code="invalid_input",
            field=name,
        )
    return value


def is_sqlite(db: AsyncSession) -> bool:
    """True on SQLite, where BEGIN IMMEDIATE already serialises writers."""
    return db.bind is not None and db.bind.dialect.name == "sqlite"
