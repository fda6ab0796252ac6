"""Where the case pages point people at the live room and the settlement pages.

The staff case page lists a case's mediation sessions with a way in (the
console for mediators, the room for the others) and a form to open or
schedule one; a party's case page shows the room of a session they hold a
seat in, while it is scheduled or open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import MediationSession, Participant, SessionStatus


@dataclass(frozen=True)
class SessionLink:
    """One session of a case as a case page shows it."""

    id: int
    title: str
    status: str
    scheduled_at: datetime | None
    seats: int
    room_url: str
    console_url: str


def _link(row: MediationSession, seats: int) -> SessionLink:
    return SessionLink(
        id=row.id,
        title=row.title,
        status=str(row.status),
        scheduled_at=row.scheduled_at,
        seats=seats,
        room_url=f"/room/{row.id}",
        console_url=f"/room/{row.id}/console",
    )


async def case_sessions(db: AsyncSession, case_id: int) -> list[SessionLink]:
    """Every session of the case, newest first, with its seat count."""
    rows = list(
        (
            await db.execute(
                select(MediationSession)
                .where(MediationSession.case_id == case_id)
                .order_by(MediationSession.id.desc())
            )
        ).scalars()
    )
    out = []
    for row in rows:
        seats = (
            await db.execute(
                select(Participant.id).where(
                    Participant.session_id == row.id, Participant.removed.is_(False)
                )
            )
        ).all()
        out.append(_link(row, len(seats)))
    return out


async def party_rooms(db: AsyncSession, party_id: int) -> list[SessionLink]:
    """Sessions not yet ended in which the party holds a seat (not removed)."""
    rows = (
        await db.execute(
            select(MediationSession)
            .join(Participant, Participant.session_id == MediationSession.id)
            .where(
                Participant.party_id == party_id,
                Participant.removed.is_(False),
                MediationSession.status != SessionStatus.ENDED,
            )
            .order_by(MediationSession.id.desc())
        )
    ).scalars()
    return [_link(row, 0) for row in dict.fromkeys(rows)]
