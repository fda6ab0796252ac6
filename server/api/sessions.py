"""Mediation sessions over HTTP: schedule, open, end, seats, join tokens, transcript."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.requests import Request

from rooms import JOINT, LineSpec, RoomHub, Seat, SeatKind, Visibility, may_see, project
from server.api.base import endpoint
from server.auth import Caller
from server.caselog import append_event
from server.errors import Conflict, InvalidInput, NotFound
from server.models import (
    Case,
    MediationSession,
    Participant,
    ParticipantKind,
    Party,
    SessionStatus,
    User,
)
from server.permissions import case_scope
from server.roomstore import SqlRoomStore, line_of, seat_of
from server.roomtokens import RoomTokens
from server.services import Services

logger = logging.getLogger(__name__)


class SessionCreate(BaseModel):
    title: str = Field(default="", max_length=200)
    scheduled_at: datetime | None = None
    # seat every party of the case (in the lobby) right away
    include_parties: bool = True
    # seat the case's assigned interpreters with their parties (needs parties)
    include_interpreters: bool = True
    open: bool = False


class ParticipantCreate(BaseModel):
    kind: ParticipantKind
    party_id: int | None = None
    user_id: int | None = None
    attached_party_id: int | None = None
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=10)


class ParticipantOut(BaseModel):
    id: int
    kind: ParticipantKind
    display_name: str
    party_id: int | None
    user_id: int | None
    attached_party_id: int | None
    placement: str
    admitted: bool
    removed: bool
    denied: bool


class SessionOut(BaseModel):
    id: int
    case_id: int
    status: SessionStatus
    title: str
    locked: bool
    last_seq: int
    scheduled_at: datetime | None
    participants: list[ParticipantOut]


class TokenOut(BaseModel):
    token: str
    participant_id: int
    session_id: int
    expires_at: float
    namespace: str
    path: str


def _participant_out(p: Participant) -> ParticipantOut:
    return ParticipantOut(
        id=p.id,
        kind=p.kind,
        display_name=p.display_name,
        party_id=p.party_id,
        user_id=p.user_id,
        attached_party_id=p.attached_party_id,
        placement=p.placement,
        admitted=p.admitted,
        removed=p.removed,
        denied=p.denied,
    )


async def _session_out(db: Any, row: MediationSession) -> SessionOut:
    people = (
        await db.execute(
            select(Participant)
            .where(Participant.session_id == row.id)
            .order_by(Participant.id)
        )
    ).scalars()
    return SessionOut(
        id=row.id,
        case_id=row.case_id,
        status=row.status,
        title=row.title,
        locked=row.locked,
        last_seq=row.last_seq,
        scheduled_at=row.scheduled_at,
        participants=[_participant_out(p) for p in people],
    )


def _int_param(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except (KeyError, ValueError):
        raise NotFound(f"No such {name}.", code="not_found") from None


async def _load(
    db: Any, caller: Caller, action: str, session_id: int
) -> tuple[MediationSession, Case]:
    row = await db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("No such session.", code="session_not_found")
    case = await db.get(Case, row.case_id)
    assert case is not None
    try:
        case_scope(caller, action, case)
    except NotFound:
        raise NotFound("No such session.", code="session_not_found") from None
    return row, case


def _hub(request: Request) -> RoomHub:
    services: Services = request.app.state.services
    hub: RoomHub = services.extras["room_hub"]
    return hub


async def add_participant(
    services: Services,
    db: Any,
    row: MediationSession,
    case: Case,
    body: ParticipantCreate,
) -> Participant:
    """Seat someone in a session, checking they belong to the case."""
    count = (
        await db.execute(
            select(func.count(Participant.id)).where(
                Participant.session_id == row.id, Participant.removed.is_(False)
            )
        )
    ).scalar_one()
    if count >= services.settings.rooms.max_participants:
        raise Conflict(
            f"A session holds at most {services.settings.rooms.max_participants} "
            "participants.",
            code="session_full",
        )
    party_ids = {p.id for p in case.parties}
    name = body.display_name
    language = body.language
    kind = body.kind
    if kind in (ParticipantKind.PARTY, ParticipantKind.REPRESENTATIVE):
        party_id = body.party_id if kind == ParticipantKind.PARTY else None
        side = (
            body.party_id if kind == ParticipantKind.PARTY else body.attached_party_id
        )
        if side not in party_ids:
            raise InvalidInput(
                "Name a party of this case.", code="party_not_in_case", field="party_id"
            )
        party = next(p for p in case.parties if p.id == side)
        if kind == ParticipantKind.PARTY:
            taken = (
                await db.execute(
                    select(Participant.id).where(
                        Participant.session_id == row.id,
                        Participant.party_id == party_id,
                        Participant.kind == ParticipantKind.PARTY,
                    )
                )
            ).first()
            if taken:
                raise Conflict("This party has a seat already.", code="already_seated")
        seat = Participant(
            session_id=row.id,
            kind=kind,
            party_id=party_id,
            attached_party_id=None if kind == ParticipantKind.PARTY else side,
            display_name=name or party.name,
            language=language or party.language,
        )
    else:
        user = await db.get(User, body.user_id) if body.user_id else None
        if user is None:
            raise InvalidInput(
                "Name a staff user.", code="user_not_found", field="user_id"
            )
        if (
            kind == ParticipantKind.INTERPRETER
            and body.attached_party_id not in party_ids
        ):
            raise InvalidInput(
                "An interpreter sits with a party of this case.",
                code="party_not_in_case",
                field="attached_party_id",
            )
        mediator = kind == ParticipantKind.MEDIATOR
        seat = Participant(
            session_id=row.id,
            kind=kind,
            user_id=user.id,
            attached_party_id=body.attached_party_id
            if kind == ParticipantKind.INTERPRETER
            else None,
            display_name=name or user.name,
            language=language or user.language,
            # mediators follow every room; they never wait in the lobby
            admitted=mediator,
            placement=JOINT if mediator else "lobby",
        )
    db.add(seat)
    await db.flush()
    await append_event(
        db,
        case,
        "session.participant_added",
        "system",
        {"session": row.id, "participant": seat.id, "kind": str(kind)},
    )
    return seat


async def seat_session(
    services: Services, db: Any, case: Case, caller: Caller, body: SessionCreate
) -> MediationSession:
    """A new session of ``case`` with its mediator, parties and interpreters seated."""
    row = MediationSession(
        case_id=case.id,
        title=body.title,
        scheduled_at=body.scheduled_at,
        status=SessionStatus.OPEN if body.open else SessionStatus.SCHEDULED,
        created_by=caller.user.id if caller.user else None,
    )
    db.add(row)
    await db.flush()
    await append_event(db, case, "session.created", caller.actor, {"session": row.id})
    if case.mediator_id is not None:
        await add_participant(
            services,
            db,
            row,
            case,
            ParticipantCreate(kind=ParticipantKind.MEDIATOR, user_id=case.mediator_id),
        )
    if body.include_parties:
        for party in case.parties:
            await add_participant(
                services,
                db,
                row,
                case,
                ParticipantCreate(kind=ParticipantKind.PARTY, party_id=party.id),
            )
        interpreters = case.interpreter_ids if body.include_interpreters else []
        for user_id in interpreters or []:
            side = await _interpreter_side(db, case, user_id)
            if side is not None:
                await add_participant(
                    services,
                    db,
                    row,
                    case,
                    ParticipantCreate(
                        kind=ParticipantKind.INTERPRETER,
                        user_id=user_id,
                        attached_party_id=side,
                    ),
                )
    return row


async def _interpreter_side(db: Any, case: Case, user_id: int) -> int | None:
    """The party an assigned interpreter sits with: the first whose language the
    interpreter speaks and the mediator does not, else the first they speak."""
    user = await db.get(User, user_id)
    if user is None or not user.active or not case.parties:
        return None
    speaks = {x for x in user.languages.split(",") if x} | {user.language}
    mediator = await db.get(User, case.mediator_id) if case.mediator_id else None
    mediator_speaks = (
        {x for x in mediator.languages.split(",") if x} | {mediator.language}
        if mediator is not None
        else set()
    )
    ordered = sorted(case.parties, key=lambda p: p.id)
    for party in ordered:
        if party.language in speaks and party.language not in mediator_speaks:
            return party.id
    for party in ordered:
        if party.language in speaks:
            return party.id
    return ordered[0].id


@endpoint(
    "/cases/{case_id}/sessions",
    "POST",
    action="session.manage",
    summary="Schedule (or open) a mediation session for a case",
    body=SessionCreate,
    response=SessionOut,
    status=201,
    tags=["sessions"],
    errors=("case_not_found",),
)
async def create_session(
    request: Request, caller: Caller, body: SessionCreate
) -> SessionOut:
    """Create a session; the case's mediator and (optionally) its parties get seats."""
    services: Services = request.app.state.services
    case_id = _int_param(request, "case_id")
    async with services.db.write() as db:
        case = await db.get(Case, case_id)
        if case is None:
            raise NotFound("No such case.", code="case_not_found")
        case_scope(caller, "session.manage", case)
        row = await seat_session(services, db, case, caller, body)
        out = await _session_out(db, row)
    logger.info("session %s created for case %s", out.id, case_id)
    return out


@endpoint(
    "/sessions/{session_id}",
    "GET",
    action="session.join",
    summary="A session and its seats",
    response=SessionOut,
    tags=["sessions"],
    errors=("session_not_found",),
)
async def get_session(request: Request, caller: Caller) -> SessionOut:
    """The session, its status and participants."""
    services: Services = request.app.state.services
    async with services.db.read() as db:
        row, _ = await _load(
            db, caller, "session.join", _int_param(request, "session_id")
        )
        return await _session_out(db, row)


@endpoint(
    "/sessions/{session_id}/participants",
    "POST",
    action="session.manage",
    summary="Seat a party, representative, interpreter, observer or mediator",
    body=ParticipantCreate,
    response=ParticipantOut,
    status=201,
    tags=["sessions"],
    errors=(
        "session_not_found",
        "session_full",
        "party_not_in_case",
        "user_not_found",
        "already_seated",
    ),
)
async def create_participant(
    request: Request, caller: Caller, body: ParticipantCreate
) -> ParticipantOut:
    """Add a seat to a session."""
    services: Services = request.app.state.services
    async with services.db.write() as db:
        row, case = await _load(
            db, caller, "session.manage", _int_param(request, "session_id")
        )
        if row.status == SessionStatus.ENDED:
            raise Conflict("The session has ended.", code="session_ended")
        seat = await add_participant(services, db, row, case, body)
        return _participant_out(seat)


async def _set_status(
    request: Request, caller: Caller, status: SessionStatus
) -> SessionOut:
    services: Services = request.app.state.services
    session_id = _int_param(request, "session_id")
    async with services.db.read() as db:
        row, _ = await _load(db, caller, "session.manage", session_id)
        current = row.status
    allowed = {
        SessionStatus.OPEN: {SessionStatus.SCHEDULED},
        SessionStatus.ENDED: {SessionStatus.SCHEDULED, SessionStatus.OPEN},
    }[status]
    if current not in allowed:
        raise Conflict(f"The session is {current}.", code="illegal_transition")
    hub = _hub(request)
    kind = "session.open" if status == SessionStatus.OPEN else "session.end"

    async def change(tx: Any) -> None:
        await tx.update_session(status=str(status))

    await hub.publish(
        session_id,
        [LineSpec(kind, JOINT, Visibility.EVERYONE, {"by": caller.actor})],
        mutate=change,
    )
    if status == SessionStatus.ENDED:
        _, seats = await hub.store.load(session_id)
        for seat in seats:
            await hub.disconnect_participant(session_id, seat.id, "session_ended")
    async with services.db.read() as db:
        row, _ = await _load(db, caller, "session.manage", session_id)
        return await _session_out(db, row)


@endpoint(
    "/sessions/{session_id}/open",
    "POST",
    action="session.manage",
    summary="Open a scheduled session",
    response=SessionOut,
    tags=["sessions"],
    errors=("session_not_found", "illegal_transition"),
)
async def open_session(request: Request, caller: Caller) -> SessionOut:
    """Open the session: events may flow."""
    return await _set_status(request, caller, SessionStatus.OPEN)


@endpoint(
    "/sessions/{session_id}/end",
    "POST",
    action="session.manage",
    summary="End a session for everyone",
    response=SessionOut,
    tags=["sessions"],
    errors=("session_not_found", "illegal_transition"),
)
async def end_session(request: Request, caller: Caller) -> SessionOut:
    """End the session; everyone connected is told and disconnected."""
    return await _set_status(request, caller, SessionStatus.ENDED)


async def _caller_seat(db: Any, caller: Caller, session_id: int) -> Participant | None:
    query = select(Participant).where(Participant.session_id == session_id)
    if caller.party is not None:
        query = query.where(
            Participant.party_id == caller.party.id,
            Participant.kind == ParticipantKind.PARTY,
        )
    elif caller.user is not None:
        query = query.where(Participant.user_id == caller.user.id)
    else:
        return None
    found: Participant | None = (
        (await db.execute(query.order_by(Participant.id))).scalars().first()
    )
    return found


@endpoint(
    "/sessions/{session_id}/token",
    "POST",
    action="session.join",
    summary="A room token for the caller's own seat",
    response=TokenOut,
    tags=["sessions"],
    errors=("session_not_found", "no_seat", "session_ended"),
)
async def issue_token(request: Request, caller: Caller) -> TokenOut:
    """Sign a join token bound to case, session, seat, role and expiry."""
    services: Services = request.app.state.services
    tokens: RoomTokens = services.extras["room_tokens"]
    session_id = _int_param(request, "session_id")
    async with services.db.read() as db:
        row, case = await _load(db, caller, "session.join", session_id)
        if row.status == SessionStatus.ENDED:
            raise Conflict("The session has ended.", code="session_ended")
        seat = await _caller_seat(db, caller, session_id)
        if seat is None or seat.removed or seat.denied:
            raise NotFound("You have no seat in this session.", code="no_seat")
        token, expires = tokens.issue(
            seat, case.id, party=caller.party, user=caller.user
        )
    return TokenOut(
        token=token,
        participant_id=seat.id,
        session_id=session_id,
        expires_at=expires,
        namespace="/room",
        path="/socket.io",
    )


async def _viewer(db: Any, caller: Caller, row: MediationSession, case: Case) -> Seat:
    """Whose eyes the transcript is read with: the caller's seat, or a stand-in."""
    seat = await _caller_seat(db, caller, row.id)
    if seat is not None:
        # a reader reads as if admitted: the lobby rule governs live rooms only
        found = seat_of(seat, case.id)
        if found.is_mediator or found.removed or found.denied:
            return found
        return Seat(**{**found.__dict__, "admitted": True, "placement": JOINT})
    if caller.user is not None and case.mediator_id == caller.user.id:
        kind = SeatKind.MEDIATOR
    elif caller.party is not None:
        return Seat(
            0,
            row.id,
            case.id,
            SeatKind.PARTY,
            "",
            JOINT,
            True,
            party_id=caller.party.id,
        )
    else:
        # an officer or administrator outside the room reads the joint record only
        kind = SeatKind.OBSERVER
    return Seat(0, row.id, case.id, kind, "", JOINT, True)


async def _transcript(
    db: Any, caller: Caller, row: MediationSession, case: Case
) -> list[dict[str, Any]]:
    from server.models import TranscriptLine

    viewer = await _viewer(db, caller, row, case)
    result = await db.execute(
        select(TranscriptLine)
        .where(TranscriptLine.session_id == row.id)
        .order_by(TranscriptLine.seq)
    )
    lines = (line_of(r) for r in result.scalars())
    return [project(viewer, line) for line in lines if may_see(viewer, line)]


@endpoint(
    "/sessions/{session_id}/transcript",
    "GET",
    action="transcript.read",
    summary="The session transcript, as far as the caller may see it",
    tags=["sessions"],
    errors=("session_not_found",),
)
async def transcript(request: Request, caller: Caller) -> dict[str, Any]:
    """Lines in seq order, filtered by the caller's entitlement."""
    services: Services = request.app.state.services
    async with services.db.read() as db:
        row, case = await _load(
            db, caller, "transcript.read", _int_param(request, "session_id")
        )
        lines = await _transcript(db, caller, row, case)
    return {
        "session_id": row.id,
        "case_id": case.id,
        "head": row.last_seq,
        "lines": lines,
    }


@endpoint(
    "/cases/{case_id}/transcript",
    "GET",
    action="transcript.read",
    summary="Export every session transcript of a case (JSON), filtered the same way",
    tags=["sessions"],
    errors=("case_not_found",),
)
async def export_transcripts(request: Request, caller: Caller) -> dict[str, Any]:
    """The case's sessions with their transcripts as the caller may see them."""
    services: Services = request.app.state.services
    case_id = _int_param(request, "case_id")
    async with services.db.read() as db:
        case = await db.get(Case, case_id)
        if case is None:
            raise NotFound("No such case.", code="case_not_found")
        case_scope(caller, "transcript.read", case)
        rows = (
            await db.execute(
                select(MediationSession)
                .where(MediationSession.case_id == case_id)
                .order_by(MediationSession.id)
            )
        ).scalars()
        sessions = []
        for row in list(rows):
            sessions.append(
                {
                    "session_id": row.id,
                    "title": row.title,
                    "status": str(row.status),
                    "lines": await _transcript(db, caller, row, case),
                }
            )
    return {"case_id": case_id, "reference": case.reference, "sessions": sessions}


routes = [
    create_session,
    get_session,
    create_participant,
    open_session,
    end_session,
    issue_token,
    transcript,
    export_transcripts,
]

__all__ = ["Party", "SqlRoomStore", "add_participant", "routes"]
