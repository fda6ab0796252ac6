"""The SQLAlchemy RoomStore: sessions, seats and transcript lines in the database.

The sequence number of a session is ``MediationSession.last_seq``, raised in
the same write transaction that inserts the line: SQLite serialises writers
at BEGIN IMMEDIATE, PostgreSQL through a row lock on the session taken first.
So numbers only increase and never repeat, across workers and hosts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms import (
    Claims,
    EvidenceInfo,
    Line,
    LineSpec,
    RoomInvalid,
    Seat,
    SeatKind,
    SessionState,
)
from server.caselog import append_event
from server.db import Database
from server.models import (
    Case,
    EvidenceItem,
    MediationSession,
    Participant,
    TranscriptLine,
    utcnow,
)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="microseconds")


def seat_of(row: Participant, case_id: int) -> Seat:
    """The room's view of a participant row."""
    return Seat(
        id=row.id,
        session_id=row.session_id,
        case_id=case_id,
        kind=SeatKind(str(row.kind)),
        display_name=row.display_name,
        placement=row.placement,
        admitted=row.admitted,
        party_id=row.party_id,
        attached_party_id=row.attached_party_id,
        language=row.language,
        muted=row.muted,
        removed=row.removed,
        denied=row.denied,
    )


def state_of(row: MediationSession) -> SessionState:
    """The room's view of a session row."""
    return SessionState(
        id=row.id,
        case_id=row.case_id,
        status=str(row.status),
        locked=row.locked,
        last_seq=row.last_seq,
        rooms=dict(row.rooms or {}),
    )


def line_of(row: TranscriptLine) -> Line:
    """The room's view of a transcript row."""
    return Line(
        seq=row.seq,
        session_id=row.session_id,
        kind=row.kind,
        room=row.room,
        visibility=row.visibility,
        content=dict(row.content),
        created_at=_iso(row.created_at),
        participant_id=row.participant_id,
        audience=tuple(row.audience or ()),
        client_id=row.client_id,
        batch_seq=row.batch_seq,
        ref_seq=row.ref_seq,
        revision=dict(row.revision) if row.revision is not None else None,
    )


_SEAT_FIELDS = {"placement", "admitted", "muted", "removed", "denied", "language"}
_SESSION_FIELDS = {"locked", "status"}

# the columns a Seat is built from, read without ORM objects: every event
# reads all the seats of its session, and a session may hold a hundred
_SEAT_COLUMNS = (
    Participant.id,
    Participant.session_id,
    Participant.kind,
    Participant.display_name,
    Participant.placement,
    Participant.admitted,
    Participant.party_id,
    Participant.attached_party_id,
    Participant.language,
    Participant.muted,
    Participant.removed,
    Participant.denied,
)


async def _read_seats(db: AsyncSession, session_id: int, case_id: int) -> list[Seat]:
    """Every seat of a session in id order, straight from the rows."""
    result = await db.execute(
        select(*_SEAT_COLUMNS)
        .where(Participant.session_id == session_id)
        .order_by(Participant.id)
    )
    return [
        Seat(
            id=r.id,
            session_id=r.session_id,
            case_id=case_id,
            kind=SeatKind(str(r.kind)),
            display_name=r.display_name,
            placement=r.placement,
            admitted=r.admitted,
            party_id=r.party_id,
            attached_party_id=r.attached_party_id,
            language=r.language,
            muted=r.muted,
            removed=r.removed,
            denied=r.denied,
        )
        for r in result
    ]


class SqlRoomTx:
    """One write transaction on one session (implements rooms.RoomTx)."""

    def __init__(self, db: AsyncSession, row: MediationSession) -> None:
        self.db = db
        self.row = row
        self.session = state_of(row)
        # read once per transaction; update_seat keeps it current
        self._seats: dict[int, Seat] | None = None

    async def _cached(self) -> dict[int, Seat]:
        if self._seats is None:
            seats = await _read_seats(self.db, self.row.id, self.row.case_id)
            self._seats = {seat.id: seat for seat in seats}
        return self._seats

    async def seats(self) -> list[Seat]:
        """Every participant of the session."""
        return list((await self._cached()).values())

    async def seat(self, participant_id: int) -> Seat | None:
        """One participant of this session, or None."""
        return (await self._cached()).get(participant_id)

    async def update_seat(self, participant_id: int, **changes: Any) -> Seat:
        """Change a participant's placement, admission, mute, removal or language."""
        seats = await self._cached()
        row = await self.db.get(Participant, participant_id)
        if row is None or row.session_id != self.row.id:
            raise KeyError(participant_id)
        for name, value in changes.items():
            if name not in _SEAT_FIELDS:
                raise ValueError(f"a seat has no changeable field {name!r}")
            setattr(row, name, value)
        if changes.get("removed") or changes.get("denied"):
            row.token_version += 1
        seat = seat_of(row, self.row.case_id)
        seats[participant_id] = seat
        return seat

    async def update_session(self, **changes: Any) -> SessionState:
        """Change the session's status or lock."""
        for name, value in changes.items():
            if name not in _SESSION_FIELDS:
                raise ValueError(f"a session has no changeable field {name!r}")
            setattr(self.row, name, value)
        if changes.get("status") == "open" and self.row.opened_at is None:
            self.row.opened_at = utcnow()
        if changes.get("status") == "ended":
            self.row.ended_at = utcnow()
        self.session = state_of(self.row)
        return self.session

    async def find_batch(self, participant_id: int, client_id: str) -> list[Line]:
        """The lines an earlier event with this client id wrote."""
        first = (
            await self.db.execute(
                select(TranscriptLine).where(
                    TranscriptLine.session_id == self.row.id,
                    TranscriptLine.participant_id == participant_id,
                    TranscriptLine.client_id == client_id,
                )
            )
        ).scalar_one_or_none()
        if first is None:
            return []
        rest = (
            await self.db.execute(
                select(TranscriptLine)
                .where(
                    TranscriptLine.session_id == self.row.id,
                    TranscriptLine.batch_seq == first.seq,
                )
                .order_by(TranscriptLine.seq)
            )
        ).scalars()
        return [line_of(first), *(line_of(r) for r in rest)]

    async def line(self, seq: int) -> Line | None:
        """One line of this session by its sequence number."""
        row = await self._line_row(seq)
        return line_of(row) if row is not None else None

    async def find_lines(
        self, kinds: Collection[str], *, ref_seq: int | None = None
    ) -> list[Line]:
        """Lines of these kinds (that update ``ref_seq``, when given), in seq order."""
        query = select(TranscriptLine).where(
            TranscriptLine.session_id == self.row.id,
            TranscriptLine.kind.in_(list(kinds)),
        )
        if ref_seq is not None:
            query = query.where(TranscriptLine.ref_seq == ref_seq)
        result = await self.db.execute(query.order_by(TranscriptLine.seq))
        return [line_of(row) for row in result.scalars()]

    async def _line_row(self, seq: int) -> TranscriptLine | None:
        return (
            await self.db.execute(
                select(TranscriptLine).where(
                    TranscriptLine.session_id == self.row.id,
                    TranscriptLine.seq == seq,
                )
            )
        ).scalar_one_or_none()

    async def append(
        self,
        spec: LineSpec,
        *,
        participant_id: int | None,
        client_id: str | None,
        batch_seq: int | None,
        audience: tuple[int, ...],
    ) -> Line:
        """Write a line with the session's next sequence number."""
        self.row.last_seq += 1
        row = TranscriptLine(
            session_id=self.row.id,
            seq=self.row.last_seq,
            client_id=client_id,
            participant_id=participant_id,
            room=spec.room,
            kind=spec.kind,
            visibility=spec.visibility,
            content=spec.content,
            audience=list(audience),
            batch_seq=batch_seq,
            ref_seq=spec.ref_seq,
            created_at=utcnow(),
        )
        self.db.add(row)
        await self.db.flush()
        self.session = state_of(self.row)
        return line_of(row)

    async def revise(self, seq: int, revision: dict[str, Any]) -> None:
        """Replace what non-mediators see of an earlier line."""
        row = await self._line_row(seq)
        if row is None:
            raise RoomInvalid(f"No line #{seq}.", code="line_not_found")
        row.revision = revision

    async def evidence(self, evidence_id: int) -> EvidenceInfo | None:
        """An evidence item of this session's case."""
        item = await self.db.get(EvidenceItem, evidence_id)
        if item is None or item.case_id != self.row.case_id:
            return None
        return EvidenceInfo(
            id=item.id,
            case_id=item.case_id,
            name=item.original_name,
            sha256=item.sha256,
            content_type=item.content_type,
            party_id=item.party_id,
            private=item.private,
        )

    async def log_case_event(
        self, kind: str, actor: str, payload: dict[str, Any]
    ) -> None:
        """Append to the case's hash-chained event log in this transaction."""
        case = await self.db.get(Case, self.row.case_id)
        assert case is not None
        await append_event(self.db, case, kind, actor, payload)


class SqlRoomStore:
    """The database-backed RoomStore (implements rooms.RoomStore)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self, session_id: int) -> AsyncIterator[SqlRoomTx]:
        """A write transaction holding the session's sequence lock."""
        async with self.db.write() as db:
            query = select(MediationSession).where(MediationSession.id == session_id)
            if not self.db.is_sqlite:
                # SQLite already holds the database write lock (BEGIN IMMEDIATE)
                query = query.with_for_update()
            row = (await db.execute(query)).scalar_one_or_none()
            if row is None:
                raise RoomInvalid("No such session.", code="session_not_found")
            yield SqlRoomTx(db, row)

    async def load(self, session_id: int) -> tuple[SessionState, list[Seat]]:
        """The session and its seats."""
        async with self.db.read() as db:
            row = await db.get(MediationSession, session_id)
            if row is None:
                raise RoomInvalid("No such session.", code="session_not_found")
            return state_of(row), await _read_seats(db, session_id, row.case_id)

    async def lines_since(
        self, session_id: int, since: int, limit: int
    ) -> Sequence[Line]:
        """Lines with seq > since, in seq order."""
        async with self.db.read() as db:
            result = await db.execute(
                select(TranscriptLine)
                .where(
                    TranscriptLine.session_id == session_id,
                    TranscriptLine.seq > since,
                )
                .order_by(TranscriptLine.seq)
                .limit(limit)
            )
            return [line_of(r) for r in result.scalars()]


__all__ = ["Claims", "SqlRoomStore", "SqlRoomTx", "line_of", "seat_of", "state_of"]
