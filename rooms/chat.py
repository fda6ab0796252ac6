"""Chat events: say, correct, withdraw, release from caucus, share evidence."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from rooms.errors import RoomDenied, RoomInvalid
from rooms.events import (
    IN_ROOM,
    MEDIATORS,
    SPEAKERS,
    Allow,
    EventContext,
    EventRegistry,
    IdempotentPayload,
)
from rooms.model import (
    JOINT,
    Line,
    LineSpec,
    SeatKind,
    Visibility,
    is_caucus,
)
from rooms.ports import RoomTx
from rooms.visibility import room_visibility

CHAT_KINDS = ("chat",)
MAX_TEXT = 100_000  # the schema's hard cap; the configured limit is lower


class ChatSend(IdempotentPayload):
    """Say something in the room you are in (a mediator may name the room)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    room: str | None = Field(default=None, max_length=40)


class ChatCorrect(IdempotentPayload):
    """Replace the text of one of your own recent lines."""

    seq: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class LineRef(IdempotentPayload):
    """Refers to one earlier line by its sequence number."""

    seq: int = Field(ge=1)


class EvidenceShare(IdempotentPayload):
    """Show an evidence item of the case to the room you are in."""

    evidence_id: int = Field(ge=1)
    room: str | None = Field(default=None, max_length=40)


def _check_text(ctx: EventContext, text: str) -> str:
    if not text.strip():
        raise RoomInvalid("The message is empty.", code="empty_message", field="text")
    if len(text) > ctx.limits.max_message_chars:
        raise RoomInvalid(
            f"The message has {len(text)} characters; at most "
            f"{ctx.limits.max_message_chars} are allowed.",
            code="message_too_long",
            field="text",
        )
    return text


async def target_room(ctx: EventContext, tx: RoomTx, asked: str | None) -> str:
    """The room a line goes to: the sender's own, or the one a mediator names."""
    if not ctx.seat.is_mediator:
        if asked is not None and asked != ctx.seat.placement:
            raise RoomDenied(
                "You can only speak in the room you are in.", code="wrong_room"
            )
        return ctx.seat.placement
    room = asked or JOINT
    if room != JOINT and not is_caucus(room):
        raise RoomInvalid(f"No room {room!r}.", code="unknown_room", field="room")
    return room


async def _own_line(ctx: EventContext, tx: RoomTx, seq: int) -> Line:
    line = await tx.line(seq)
    if line is None or line.kind not in CHAT_KINDS:
        raise RoomInvalid(f"No chat line #{seq}.", code="line_not_found", field="seq")
    if line.participant_id != ctx.seat.id:
        raise RoomDenied("Only the author may do this.", code="not_author")
    return line


def _within_window(ctx: EventContext, line: Line) -> None:
    said = datetime.fromisoformat(line.created_at)
    age = (ctx.now - said).total_seconds()
    if age > ctx.limits.correction_window_s:
        raise RoomDenied(
            f"Lines can be changed for {ctx.limits.correction_window_s} s; "
            f"this one is {int(age)} s old.",
            code="correction_window_over",
        )
    if line.revision is not None and line.revision.get("withdrawn"):
        raise RoomDenied("This line was withdrawn.", code="line_withdrawn")


async def send(ctx: EventContext, body: ChatSend, tx: RoomTx) -> list[LineSpec]:
    """A chat line, in the sender's room."""
    text = _check_text(ctx, body.text)
    room = await target_room(ctx, tx, body.room)
    # the author's language travels with the line: it is the translation source
    content = {"text": text, "language": ctx.seat.language}
    return [LineSpec("chat", room, room_visibility(room), content)]


async def correct(ctx: EventContext, body: ChatCorrect, tx: RoomTx) -> list[LineSpec]:
    """A correction: the new text for everyone, the history for the mediator."""
    text = _check_text(ctx, body.text)
    line = await _own_line(ctx, tx, body.seq)
    _within_window(ctx, line)
    return [
        LineSpec(
            "chat.correct",
            line.room,
            line.visibility,
            {"text": text, "language": ctx.seat.language},
            audience=line.audience,
            ref_seq=line.seq,
            revise={"text": text, "edited": True, "language": ctx.seat.language},
        )
    ]


async def withdraw(ctx: EventContext, body: LineRef, tx: RoomTx) -> list[LineSpec]:
    """A withdrawal: the text disappears for everyone but the mediator."""
    line = await _own_line(ctx, tx, body.seq)
    _within_window(ctx, line)
    # each correction carries its own copy of the text: withdraw those too
    for correction in await tx.find_lines(("chat.correct",), ref_seq=line.seq):
        await tx.revise(correction.seq, {"withdrawn": True})
    return [
        LineSpec(
            "chat.withdraw",
            line.room,
            line.visibility,
            {},
            audience=line.audience,
            ref_seq=line.seq,
            revise={"withdrawn": True},
        )
    ]


async def release(ctx: EventContext, body: LineRef, tx: RoomTx) -> list[LineSpec]:
    """The party who said a caucus line lets the joint room hear it."""
    line = await _own_line(ctx, tx, body.seq)
    if not is_caucus(line.room):
        raise RoomInvalid(
            "Only a line said in a caucus can be released.", code="not_a_caucus_line"
        )
    if line.revision is not None and line.revision.get("withdrawn"):
        raise RoomDenied("This line was withdrawn.", code="line_withdrawn")
    said = line.revision or line.content
    content = {"text": said.get("text", "")}
    if "language" in said:
        content["language"] = said["language"]
    return [
        LineSpec(
            "chat.release",
            JOINT,
            Visibility.JOINT,
            content,
            ref_seq=line.seq,
        )
    ]


async def share_evidence(
    ctx: EventContext, body: EvidenceShare, tx: RoomTx
) -> list[LineSpec]:
    """Show an evidence item to a room; logged in the case event log too."""
    room = await target_room(ctx, tx, body.room)
    item = await tx.evidence(body.evidence_id)
    if item is None or item.case_id != ctx.session.case_id:
        raise RoomInvalid(
            f"No evidence item {body.evidence_id} in this case.",
            code="evidence_not_found",
            field="evidence_id",
        )
    seat = ctx.seat
    if not seat.is_mediator and item.private and item.party_id != seat.side:
        raise RoomDenied(
            "Only its own side may share a private item.", code="evidence_forbidden"
        )
    await tx.log_case_event(
        "evidence.shared",
        ctx.actor,
        {"session": ctx.session.id, "evidence": item.id, "room": room},
    )
    content = {
        "evidence_id": item.id,
        "name": item.name,
        "sha256": item.sha256,
        "content_type": item.content_type,
    }
    return [LineSpec("evidence.share", room, room_visibility(room), content)]


def register(registry: EventRegistry) -> None:
    """Add the chat events."""
    registry.register(
        "chat.send",
        schema=ChatSend,
        allowed=Allow(SPEAKERS, IN_ROOM),
        handler=send,
        summary="Say a line in your room; resend with the same client_id is safe.",
        errors=("empty_message", "message_too_long", "wrong_room", "unknown_room"),
    )
    registry.register(
        "chat.correct",
        schema=ChatCorrect,
        allowed=Allow(SPEAKERS, IN_ROOM),
        handler=correct,
        summary="Correct your own line within the correction window.",
        errors=(
            "empty_message",
            "message_too_long",
            "line_not_found",
            "not_author",
            "correction_window_over",
            "line_withdrawn",
        ),
    )
    registry.register(
        "chat.withdraw",
        schema=LineRef,
        allowed=Allow(SPEAKERS, IN_ROOM),
        handler=withdraw,
        summary="Withdraw your own line within the correction window.",
        errors=(
            "line_not_found",
            "not_author",
            "correction_window_over",
            "line_withdrawn",
        ),
    )
    registry.register(
        "chat.release",
        schema=LineRef,
        allowed=Allow(frozenset({SeatKind.PARTY, SeatKind.REPRESENTATIVE}), IN_ROOM),
        handler=release,
        summary="Release a line you said in caucus to the joint room.",
        errors=("line_not_found", "not_author", "not_a_caucus_line", "line_withdrawn"),
    )
    registry.register(
        "evidence.share",
        schema=EvidenceShare,
        allowed=Allow(
            frozenset({SeatKind.PARTY, SeatKind.REPRESENTATIVE}) | MEDIATORS,
            IN_ROOM,
        ),
        handler=share_evidence,
        summary="Share an evidence item of the case into your room (logged).",
        errors=("evidence_not_found", "evidence_forbidden", "wrong_room"),
    )
