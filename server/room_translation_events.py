"""Room events of translation: reading language, release mode, interpreter desk.

Registered on every hub, with or without a translation backend: a
participant can always declare a language, and an interpreter can always
give a human translation of a line they handle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rooms import (
    ALL_KINDS,
    ANYWHERE,
    IN_ROOM,
    JOINT,
    MEDIATORS,
    Allow,
    EventContext,
    IdempotentPayload,
    Line,
    LineSpec,
    RoomDenied,
    RoomHub,
    RoomInvalid,
    RoomTx,
    SeatKind,
    Visibility,
    may_see,
)
from rooms.chat import MAX_TEXT
from server.room_translation_desk import (
    LANGUAGE,
    MODE,
    REFERRING,
    TRANSLATED,
    handles,
    pending_releases,
    released_content,
    target_state,
    update_spec,
    withdrawn,
)
from translation import ReleaseMode, is_language_tag, model_code

INTERPRETERS = frozenset({SeatKind.INTERPRETER})


class LanguageSet(IdempotentPayload):
    """Read (and write) the room in this language from now on."""

    language: str = Field(min_length=2, max_length=10)


class ModeSet(IdempotentPayload):
    """How machine drafts reach readers when an interpreter handles a line."""

    mode: Literal["review_before_release", "correct_after"]


class Correction(IdempotentPayload):
    """An interpreter's translation of one line into one language."""

    seq: int = Field(ge=1)
    target: str = Field(min_length=2, max_length=10)
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Approval(IdempotentPayload):
    """Release a machine draft unchanged."""

    seq: int = Field(ge=1)
    target: str = Field(min_length=2, max_length=10)


def _language(value: str, field: str) -> str:
    if not is_language_tag(value):
        raise RoomInvalid(
            f"Expected a language such as en or zh-CN, got {value!r}.",
            code="invalid_language",
            field=field,
        )
    return value


async def set_language(
    ctx: EventContext, body: LanguageSet, tx: RoomTx
) -> list[LineSpec]:
    """Change the sender's reading language; the roster shows it to the mediator."""
    language = _language(body.language, "language")
    seat = await tx.update_seat(ctx.seat.id, language=language)
    content = {"participant": seat.id, "language": language}
    room = ctx.seat.placement if not ctx.seat.is_mediator else JOINT
    return [LineSpec(LANGUAGE, room, Visibility.participant(seat.id), content)]


async def set_mode(ctx: EventContext, body: ModeSet, tx: RoomTx) -> list[LineSpec]:
    """The mediator's choice; leaving review releases every held draft."""
    mode = ReleaseMode(body.mode)
    lines = [
        LineSpec(
            MODE,
            JOINT,
            Visibility.EVERYONE,
            {"mode": str(mode), "by": ctx.seat.id},
        )
    ]
    if mode is ReleaseMode.CORRECT_AFTER:
        lines.extend(await pending_releases(tx))
    ctx.result["mode"] = str(mode)
    return lines


async def _handled_line(
    ctx: EventContext, tx: RoomTx, seq: int, target: str
) -> tuple[Line, list[Line]]:
    line = await tx.line(seq)
    # a line the interpreter may not see does not exist for them
    if line is None or line.kind not in TRANSLATED or not may_see(ctx.seat, line):
        raise RoomInvalid(f"No chat line #{seq}.", code="line_not_found", field="seq")
    if withdrawn(line):
        raise RoomDenied("This line was withdrawn.", code="line_withdrawn")
    if not handles(ctx.seat, await tx.seats(), line, target):
        raise RoomDenied(
            "You interpret the lines to and from your party only.",
            code="not_interpreting",
        )
    return line, await tx.find_lines(REFERRING, ref_seq=seq)


async def correct(ctx: EventContext, body: Correction, tx: RoomTx) -> list[LineSpec]:
    """The interpreter's text replaces the machine's for readers; both are kept."""
    target = model_code(_language(body.target, "target"))
    text = body.text
    if not text.strip():
        raise RoomInvalid(
            "The translation is empty.", code="empty_message", field="text"
        )
    if len(text) > ctx.limits.max_message_chars:
        raise RoomInvalid(
            f"The translation has {len(text)} characters; at most "
            f"{ctx.limits.max_message_chars} are allowed.",
            code="message_too_long",
            field="text",
        )
    line, referring = await _handled_line(ctx, tx, body.seq, target)
    state = target_state(line, referring, target)
    source = line.content.get("language")
    content = {
        "target": target,
        "source": model_code(str(source)) if source else None,
        "version": state.version,
        "status": "interpreter",
        "text": text,
        "model": None,
        "error": None,
        "by": ctx.seat.id,
        # the machine draft this replaces, kept in the transcript
        "replaces": state.published.seq if state.published else None,
        "draft": state.draft.seq if state.draft else None,
    }
    return [update_spec(line, content)]


async def approve(ctx: EventContext, body: Approval, tx: RoomTx) -> list[LineSpec]:
    """Release the machine draft as it is (review before release)."""
    target = model_code(_language(body.target, "target"))
    line, referring = await _handled_line(ctx, tx, body.seq, target)
    state = target_state(line, referring, target)
    if state.draft is None or state.draft.content.get("status") != "machine":
        raise RoomInvalid(
            f"No machine draft of #{body.seq} into {target} to approve.",
            code="draft_not_found",
            field="seq",
        )
    if state.published is not None:
        raise RoomDenied(
            "Readers already have a translation of this line; correct it instead.",
            code="already_released",
        )
    content = released_content(state.draft.content, released_by=ctx.seat.id)
    content["draft"] = state.draft.seq
    return [update_spec(line, content)]


def register_events(hub: RoomHub) -> None:
    """Add the translation events to the hub."""
    hub.register(
        "translation.language",
        schema=LanguageSet,
        allowed=Allow(ALL_KINDS, ANYWHERE, needs_open=False),
        handler=set_language,
        summary="Set the language you read the room in.",
        errors=("invalid_language",),
    )
    hub.register(
        "translation.mode",
        schema=ModeSet,
        allowed=Allow(MEDIATORS, ANYWHERE),
        handler=set_mode,
        summary="Choose review before release or correct after.",
    )
    hub.register(
        "translation.correct",
        schema=Correction,
        allowed=Allow(INTERPRETERS, IN_ROOM),
        handler=correct,
        summary="Replace the machine translation of a line with yours.",
        errors=(
            "invalid_language",
            "empty_message",
            "message_too_long",
            "line_not_found",
            "line_withdrawn",
            "not_interpreting",
        ),
    )
    hub.register(
        "translation.approve",
        schema=Approval,
        allowed=Allow(INTERPRETERS, IN_ROOM),
        handler=approve,
        summary="Release a machine draft unchanged.",
        errors=(
            "invalid_language",
            "line_not_found",
            "line_withdrawn",
            "not_interpreting",
            "draft_not_found",
            "already_released",
        ),
    )
