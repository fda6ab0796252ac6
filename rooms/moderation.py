"""Lobby and moderation events: knock, admit, deny, move, mute, remove, lock, end."""

from __future__ import annotations

from pydantic import Field

from rooms.errors import RoomDenied, RoomInvalid
from rooms.events import (
    ANYWHERE,
    MEDIATORS,
    Allow,
    EventContext,
    EventRegistry,
    IdempotentPayload,
)
from rooms.model import (
    JOINT,
    LOBBY,
    LineSpec,
    Seat,
    SeatKind,
    Visibility,
)
from rooms.ports import RoomTx
from rooms.visibility import followers, may_enter

ROOM_PATTERN = r"^(joint|lobby|caucus-[a-z0-9][a-z0-9-]{0,30})$"
MAX_BATCH = 50


class Knock(IdempotentPayload):
    """Call the mediator from a caucus or the lobby."""


class Admit(IdempotentPayload):
    """Let people in from the lobby; an empty list admits everyone waiting."""

    participant_ids: list[int] = Field(default_factory=list, max_length=MAX_BATCH)
    room: str = Field(default=JOINT, pattern=ROOM_PATTERN)


class Deny(IdempotentPayload):
    """Refuse someone waiting in the lobby."""

    participant_id: int = Field(ge=1)


class Move(IdempotentPayload):
    """Move one or several people (and who follows them) to a room or the lobby."""

    participant_ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)
    to: str = Field(pattern=ROOM_PATTERN)


class Mute(IdempotentPayload):
    """Mute or unmute people's audio and video."""

    participant_ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)
    audio: bool = True
    video: bool = False


class Remove(IdempotentPayload):
    """Remove someone from the session; their tokens stop working."""

    participant_id: int = Field(ge=1)


class Lock(IdempotentPayload):
    """Lock (no newcomers may enter the lobby) or unlock the session."""

    locked: bool


class Plain(IdempotentPayload):
    """An event with nothing but its client id."""


async def _seats(tx: RoomTx, ids: list[int]) -> list[Seat]:
    found = []
    for pid in dict.fromkeys(ids):
        seat = await tx.seat(pid)
        if seat is None or seat.removed or seat.denied:
            raise RoomInvalid(
                f"No participant {pid} in this session.",
                code="participant_not_found",
                field="participant_ids",
            )
        found.append(seat)
    return found


def _placement_lines(
    ctx: EventContext, moved: list[Seat], to: str, kind: str
) -> list[LineSpec]:
    lines = [
        LineSpec(
            "placement",
            to,
            Visibility.participant(seat.id),
            {"placement": to, "by": ctx.seat.id},
        )
        for seat in moved
    ]
    lines.append(
        LineSpec(
            kind,
            to,
            Visibility.MEDIATORS,
            {"participants": [s.id for s in moved], "to": to, "by": ctx.seat.id},
        )
    )
    media = ctx.media
    if media is not None:
        ids = [seat.id for seat in moved]

        async def route() -> None:
            for pid in ids:
                await media.set_placement(pid, None if to == LOBBY else to)

        ctx.after_commit(route)
    return lines


async def _place(
    ctx: EventContext, tx: RoomTx, seats: list[Seat], to: str, kind: str
) -> list[LineSpec]:
    everyone = await tx.seats()
    moved = followers(everyone, seats)
    for seat in moved:
        if seat.is_mediator:
            raise RoomInvalid(
                "Mediators follow every room and are not moved.",
                code="cannot_move_mediator",
            )
        if not may_enter(seat, to):
            raise RoomDenied(
                f"A {seat.kind} cannot be placed in {to}.", code="placement_refused"
            )
    for seat in moved:
        await tx.update_seat(
            seat.id, placement=to, admitted=seat.admitted or to != LOBBY
        )
    return _placement_lines(ctx, moved, to, kind)


async def knock(ctx: EventContext, body: Knock, tx: RoomTx) -> list[LineSpec]:
    """Tell the mediators this person wants them."""
    seat = ctx.seat
    return [
        LineSpec(
            "lobby.knock",
            seat.placement if seat.in_room else LOBBY,
            Visibility.MEDIATORS,
            {"participant": seat.id, "from": seat.placement},
        )
    ]


async def admit(ctx: EventContext, body: Admit, tx: RoomTx) -> list[LineSpec]:
    """Move people from the lobby into a room."""
    if body.room == LOBBY:
        raise RoomInvalid("Admit into a room, not the lobby.", code="unknown_room")
    if body.participant_ids:
        seats = await _seats(tx, body.participant_ids)
    else:
        seats = [
            s
            for s in await tx.seats()
            if not s.in_room and not s.removed and not s.denied and not s.is_mediator
        ]
    for seat in seats:
        if seat.in_room:
            raise RoomInvalid(
                f"Participant {seat.id} is not in the lobby.", code="not_in_lobby"
            )
    if not seats:
        return []
    return await _place(ctx, tx, seats, body.room, "lobby.admit")


async def deny(ctx: EventContext, body: Deny, tx: RoomTx) -> list[LineSpec]:
    """Refuse someone waiting; they are told and disconnected."""
    (seat,) = await _seats(tx, [body.participant_id])
    if seat.in_room or seat.is_mediator:
        raise RoomInvalid(
            f"Participant {seat.id} is not waiting in the lobby.", code="not_in_lobby"
        )
    await tx.update_seat(seat.id, denied=True)
    ctx.disconnect_after(seat.id, "denied")
    return [
        LineSpec(
            "lobby.deny", LOBBY, Visibility.participant(seat.id), {"by": ctx.seat.id}
        ),
        LineSpec(
            "lobby.deny",
            LOBBY,
            Visibility.MEDIATORS,
            {"participant": seat.id, "by": ctx.seat.id},
        ),
    ]


async def move(ctx: EventContext, body: Move, tx: RoomTx) -> list[LineSpec]:
    """Move people between the lobby, the joint room and caucuses in one step."""
    seats = await _seats(tx, body.participant_ids)
    return await _place(ctx, tx, seats, body.to, "room.move")


async def mute(ctx: EventContext, body: Mute, tx: RoomTx) -> list[LineSpec]:
    """Mute or unmute; the media router stops forwarding."""
    seats = await _seats(tx, body.participant_ids)
    lines = []
    for seat in seats:
        await tx.update_seat(seat.id, muted=body.audio)
        content = {"audio": body.audio, "video": body.video, "by": ctx.seat.id}
        lines.append(
            LineSpec(
                "room.mute", seat.placement, Visibility.participant(seat.id), content
            )
        )
    media = ctx.media
    if media is not None:
        ids = [seat.id for seat in seats]

        async def silence() -> None:
            for pid in ids:
                await media.set_muted(pid, body.audio, body.video)

        ctx.after_commit(silence)
    lines.append(
        LineSpec(
            "room.mute",
            JOINT,
            Visibility.MEDIATORS,
            {
                "participants": [s.id for s in seats],
                "audio": body.audio,
                "video": body.video,
                "by": ctx.seat.id,
            },
        )
    )
    return lines


async def remove(ctx: EventContext, body: Remove, tx: RoomTx) -> list[LineSpec]:
    """Remove someone for good; their connections close after the commit."""
    (seat,) = await _seats(tx, [body.participant_id])
    if seat.id == ctx.seat.id:
        raise RoomInvalid("You cannot remove yourself.", code="cannot_remove_self")
    # the notice goes out before the removal takes effect on their seat
    lines = [
        LineSpec(
            "room.remove",
            LOBBY,
            Visibility.participant(seat.id),
            {"by": ctx.seat.id},
        ),
        LineSpec(
            "room.remove",
            JOINT,
            Visibility.MEDIATORS,
            {"participant": seat.id, "by": ctx.seat.id},
        ),
    ]
    await tx.update_seat(seat.id, removed=True, placement=LOBBY)
    ctx.disconnect_after(seat.id, "removed")
    if ctx.media is not None:
        media, pid = ctx.media, seat.id
        ctx.after_commit(lambda: media.remove(pid))
    return lines


async def lock(ctx: EventContext, body: Lock, tx: RoomTx) -> list[LineSpec]:
    """Lock or unlock the session to newcomers."""
    await tx.update_session(locked=body.locked)
    return [
        LineSpec(
            "session.lock",
            JOINT,
            Visibility.EVERYONE,
            {"locked": body.locked, "by": ctx.seat.id},
        )
    ]


async def open_session(ctx: EventContext, body: Plain, tx: RoomTx) -> list[LineSpec]:
    """Open a scheduled session."""
    if ctx.session.status != "scheduled":
        raise RoomDenied(
            f"The session is {ctx.session.status}.", code="session_not_scheduled"
        )
    await tx.update_session(status="open")
    return [LineSpec("session.open", JOINT, Visibility.EVERYONE, {"by": ctx.seat.id})]


async def end(ctx: EventContext, body: Plain, tx: RoomTx) -> list[LineSpec]:
    """End the session: everyone, in the lobby too, is told and disconnected."""
    await tx.update_session(status="ended")
    for seat in await tx.seats():
        ctx.disconnect_after(seat.id, "session_ended")
    return [LineSpec("session.end", JOINT, Visibility.EVERYONE, {"by": ctx.seat.id})]


def register(registry: EventRegistry) -> None:
    """Add the lobby and moderation events."""
    side = frozenset({SeatKind.PARTY, SeatKind.REPRESENTATIVE, SeatKind.INTERPRETER})
    registry.register(
        "lobby.knock",
        schema=Knock,
        allowed=Allow(side, frozenset({"lobby", "caucus"})),
        handler=knock,
        summary="Call the mediator from the lobby or a caucus.",
    )
    mediator = Allow(MEDIATORS, ANYWHERE)
    moves = ("participant_not_found", "placement_refused", "cannot_move_mediator")
    registry.register(
        "lobby.admit",
        schema=Admit,
        allowed=mediator,
        handler=admit,
        summary="Admit people (or everyone waiting) from the lobby into a room.",
        errors=(*moves, "not_in_lobby", "unknown_room"),
    )
    registry.register(
        "lobby.deny",
        schema=Deny,
        allowed=mediator,
        handler=deny,
        summary="Refuse someone waiting in the lobby.",
        errors=("participant_not_found", "not_in_lobby"),
    )
    registry.register(
        "room.move",
        schema=Move,
        allowed=mediator,
        handler=move,
        summary="Move people (their interpreters follow) to a room or the lobby.",
        errors=moves,
    )
    registry.register(
        "room.mute",
        schema=Mute,
        allowed=mediator,
        handler=mute,
        summary="Mute or unmute people.",
        errors=("participant_not_found",),
    )
    registry.register(
        "room.remove",
        schema=Remove,
        allowed=mediator,
        handler=remove,
        summary="Remove someone from the session.",
        errors=("participant_not_found", "cannot_remove_self"),
    )
    registry.register(
        "session.lock",
        schema=Lock,
        allowed=mediator,
        handler=lock,
        summary="Lock or unlock the session to newcomers.",
    )
    registry.register(
        "session.open",
        schema=Plain,
        allowed=Allow(MEDIATORS, ANYWHERE, needs_open=False),
        handler=open_session,
        summary="Open a scheduled session.",
        errors=("session_not_scheduled",),
    )
    registry.register(
        "session.end",
        schema=Plain,
        allowed=mediator,
        handler=end,
        summary="End the session for everyone.",
    )
