"""Who may see what: the pure rules at the heart of caucus confidentiality.

Every path that hands a line to a person (live fan-out, replay, transcript,
export) asks ``may_see``. A caucus line records, when it is written, the
party sides present in that caucus (its audience); only those sides and the
mediators may ever see it, whoever joins the caucus later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rooms.model import (
    JOINT,
    LOBBY,
    Line,
    Seat,
    SeatKind,
    Visibility,
    is_caucus,
)


def may_see(viewer: Seat, line: Line) -> bool:
    """May this seat ever see this line (in replay, transcript or export)?"""
    visibility = line.visibility
    # a notice meant for one person reaches them even as they are removed
    if visibility == Visibility.participant(viewer.id):
        return True
    if viewer.removed or viewer.denied:
        return False
    if visibility == Visibility.EVERYONE:
        return True
    if viewer.is_mediator:
        return True
    # the lobby receives nothing from any room
    if not viewer.in_room:
        return False
    if visibility == Visibility.JOINT:
        return True
    if visibility.startswith("caucus:"):
        side = viewer.side
        return side is not None and side in line.audience
    return False


def delivers_live(viewer: Seat, line: Line) -> bool:
    """Should this seat receive this line live, as it is written?

    Stricter than ``may_see``: a room's lines go live only to those placed in
    that room (and to the mediators, who follow every room).
    """
    if not may_see(viewer, line):
        return False
    if viewer.is_mediator:
        return True
    visibility = line.visibility
    if visibility in (Visibility.EVERYONE, Visibility.participant(viewer.id)):
        return True
    return viewer.placement == line.room


def caucus_audience(seats: Iterable[Seat], room: str) -> tuple[int, ...]:
    """The party sides present in a caucus now: who a new caucus line is for."""
    sides = {
        seat.side
        for seat in seats
        if seat.placement == room and seat.in_room and seat.side is not None
    }
    return tuple(sorted(s for s in sides if s is not None))


def room_visibility(room: str) -> str:
    """The visibility of a line said in a room."""
    if room == JOINT:
        return Visibility.JOINT
    if is_caucus(room):
        return Visibility.caucus(room)
    raise ValueError(f"not a room that lines are said in: {room!r}")


def may_enter(seat: Seat, placement: str) -> bool:
    """May this seat be placed there? Observers stay out of caucuses."""
    if placement in (LOBBY, JOINT):
        return True
    if not is_caucus(placement):
        return False
    return seat.kind in (
        SeatKind.PARTY,
        SeatKind.REPRESENTATIVE,
        SeatKind.INTERPRETER,
    )


def followers(seats: Iterable[Seat], moved: Iterable[Seat]) -> list[Seat]:
    """The moved seats plus the interpreters and representatives attached to them."""
    moved = list(moved)
    ids = {s.id for s in moved}
    sides = {s.party_id for s in moved if s.kind == SeatKind.PARTY}
    extra = [
        s
        for s in seats
        if s.id not in ids
        and s.attached_party_id in sides
        and s.kind in (SeatKind.INTERPRETER, SeatKind.REPRESENTATIVE)
        and not s.removed
        and not s.denied
    ]
    return moved + extra


def project(viewer: Seat, line: Line) -> dict[str, Any]:
    """The line as this viewer receives it (call only when ``may_see``)."""
    content = line.content
    revised = False
    if line.revision is not None and not viewer.is_mediator:
        content = line.revision
        revised = True
    body: dict[str, Any] = {
        "seq": line.seq,
        "kind": line.kind,
        "room": line.room,
        "visibility": line.visibility,
        "author": line.participant_id,
        "content": content,
        "at": line.created_at,
    }
    if line.client_id is not None:
        body["client_id"] = line.client_id
    if line.ref_seq is not None:
        body["ref"] = line.ref_seq
    if revised:
        body["revised"] = True
    elif line.revision is not None:
        body["revision"] = line.revision
    return body


def wire(line: Line) -> dict[str, Any]:
    """The line as broadcast live; identical for every recipient of a new line."""
    body: dict[str, Any] = {
        "seq": line.seq,
        "kind": line.kind,
        "room": line.room,
        "visibility": line.visibility,
        "author": line.participant_id,
        "content": line.content,
        "at": line.created_at,
    }
    if line.client_id is not None:
        body["client_id"] = line.client_id
    if line.ref_seq is not None:
        body["ref"] = line.ref_seq
    return body
