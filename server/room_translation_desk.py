"""The interpreter desk of a live session, derived from its transcript lines.

Several workers may serve one session, so nothing here lives in process
memory: whether a line's translation into a language is still held for the
interpreter, already released, or replaced by an interpreter's text is read
from the lines that refer to it, inside the session's write transaction.

The lines involved (all with ``ref`` = the seq of the chat line):

- ``chat.correct``: a new version of the text; translations of older
  versions no longer count.
- ``translation.draft``: the machine draft of one version into one language,
  addressed to one interpreter (``participant:<id>``; mediators see it too).
- ``translation``: what readers see, with the original's room, visibility and
  audience: ``status`` machine (released as drafted), interpreter (an
  interpreter's text) or unavailable.

A session's release mode is its latest ``translation.mode`` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rooms import Line, LineSpec, RoomTx, Seat, SeatKind, Visibility, may_see
from translation import ReleaseMode, model_code

UPDATE = "translation"
DRAFT = "translation.draft"
MODE = "translation.mode"
LANGUAGE = "translation.language"
# line kinds whose text is translated for its readers
TRANSLATED = ("chat", "chat.release")
# what refers to a translated line and matters to its translations
REFERRING = ("chat.correct", "chat.withdraw", UPDATE, DRAFT)
DEFAULT_MODE = ReleaseMode.CORRECT_AFTER


@dataclass(frozen=True)
class TargetState:
    """One line's translation into one language, at its current version."""

    version: int
    draft: Line | None
    published: Line | None

    @property
    def by_interpreter(self) -> bool:
        """An interpreter's text is what readers see now."""
        return self.published is not None and (
            self.published.content.get("status") == "interpreter"
        )


def withdrawn(line: Line) -> bool:
    """Whether the author withdrew the line."""
    return bool(line.revision and line.revision.get("withdrawn"))


def current_version(line: Line, referring: Iterable[Line]) -> int:
    """The seq of the line's current text: its latest correction, else itself."""
    corrections = [r.seq for r in referring if r.kind == "chat.correct"]
    return max([line.seq, *corrections])


def current_text(line: Line) -> str:
    """The text readers see now (after corrections)."""
    return str((line.revision or line.content).get("text", ""))


def target_state(line: Line, referring: Sequence[Line], target: str) -> TargetState:
    """Draft and publication of ``line`` into ``target`` at its current version."""
    version = current_version(line, referring)
    draft = published = None
    for ref in referring:
        content = ref.content
        if content.get("target") != target or content.get("version") != version:
            continue
        if ref.kind == DRAFT:
            draft = ref
        elif ref.kind == UPDATE:
            published = ref
    return TargetState(version, draft, published)


async def session_mode(tx: RoomTx) -> ReleaseMode:
    """The mode the mediator chose last (correct after, until they choose)."""
    lines = await tx.find_lines([MODE])
    if not lines:
        return DEFAULT_MODE
    try:
        return ReleaseMode(str(lines[-1].content.get("mode")))
    except ValueError:
        return DEFAULT_MODE


def reader_languages(seats: Iterable[Seat], line: Line) -> set[str]:
    """The model codes of everyone entitled to see the line (caucus: members)."""
    return {
        model_code(seat.language)
        for seat in seats
        if not seat.removed and not seat.denied and may_see(seat, line)
    }


def interpreters_for(seats: Sequence[Seat], line: Line, target: str) -> list[Seat]:
    """The interpreters who handle this line into ``target``.

    An interpreter handles the lines to and from the party they sit with:
    lines said on that party's side, and lines into that party's language;
    and only lines they may see (never the other side's caucus).
    """
    author = next((s for s in seats if s.id == line.participant_id), None)
    author_side = author.side if author is not None else None
    found = []
    for seat in seats:
        if seat.kind != SeatKind.INTERPRETER or not seat.in_room:
            continue
        side = seat.attached_party_id
        if side is None or not may_see(seat, line):
            continue
        if author_side == side or target in side_languages(seats, side):
            found.append(seat)
    return found


def handles(seat: Seat, seats: Sequence[Seat], line: Line, target: str) -> bool:
    """Whether this interpreter may approve or correct the line into ``target``."""
    return any(s.id == seat.id for s in interpreters_for(seats, line, target))


def side_languages(seats: Iterable[Seat], side: int) -> set[str]:
    """The languages the party (and their representatives) of one side read."""
    return {
        model_code(s.language)
        for s in seats
        if s.side == side
        and s.kind in (SeatKind.PARTY, SeatKind.REPRESENTATIVE)
        and not s.removed
    }


def update_spec(line: Line, content: dict[str, Any]) -> LineSpec:
    """A translation for readers: the original's room, visibility and audience."""
    return LineSpec(
        UPDATE,
        line.room,
        line.visibility,
        content,
        audience=line.audience,
        ref_seq=line.seq,
    )


def draft_spec(line: Line, interpreter: Seat, content: dict[str, Any]) -> LineSpec:
    """A machine draft for one interpreter (and the mediators)."""
    return LineSpec(
        DRAFT,
        line.room,
        Visibility.participant(interpreter.id),
        {**content, "original": current_text(line)},
        audience=line.audience,
        ref_seq=line.seq,
    )


async def pending_releases(tx: RoomTx) -> list[LineSpec]:
    """Publications of every draft still held (when review mode ends)."""
    referring = await tx.find_lines(REFERRING)
    by_line: dict[int, list[Line]] = {}
    for ref in referring:
        if ref.ref_seq is not None:
            by_line.setdefault(ref.ref_seq, []).append(ref)

    specs = []
    for seq, refs in sorted(by_line.items()):
        drafts = [r for r in refs if r.kind == DRAFT]
        if not drafts:
            continue
        line = await tx.line(seq)
        if line is None or withdrawn(line):
            continue
        targets = dict.fromkeys(str(d.content.get("target")) for d in drafts)
        for target in targets:
            state = target_state(line, refs, target)
            draft = state.draft
            if draft is None or state.published is not None:
                continue
            if draft.content.get("status") != "machine":
                continue
            content = released_content(draft.content, released_by=None)
            specs.append(update_spec(line, content))
    return specs


def released_content(
    draft: dict[str, Any], *, released_by: int | None
) -> dict[str, Any]:
    """Readers' form of a machine draft, released unchanged."""
    content = {k: v for k, v in draft.items() if k != "original"}
    content["approved_by"] = released_by
    return content
