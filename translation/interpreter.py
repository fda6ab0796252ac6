"""Machine drafts and interpreter corrections, as pure state (no sockets).

An interpreter sits with a party and handles the lines to and from them.
For each (line, target language) the `InterpreterDesk` keeps the machine
draft and every correction; readers see the latest correction if there is
one, else the draft. The mediator picks one of two modes:

- ``review_before_release``: readers see nothing in their language until the
  interpreter approves the draft or corrects it;
- ``correct_after``: the draft goes out at once and a later correction
  replaces it for readers.

Each method returns the `Publication` the hub must send to readers (or None
when readers see nothing new); persisting and routing them is the hub's job.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from translation.errors import InterpretingError
from translation.pipeline import TranslationResult

Clock = Callable[[], float]


class ReleaseMode(enum.StrEnum):
    """How machine drafts reach readers when an interpreter is present."""

    REVIEW_BEFORE_RELEASE = "review_before_release"
    CORRECT_AFTER = "correct_after"


class RenditionKind(enum.StrEnum):
    """Who produced a translation."""

    MACHINE = "machine"
    INTERPRETER = "interpreter"


@dataclass(frozen=True)
class Rendition:
    """One translation of a line: a machine draft or an interpreter's text."""

    text: str
    kind: RenditionKind
    at: float
    model_version: str | None = None
    interpreter_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "text": self.text,
            "kind": str(self.kind),
            "at": self.at,
            "model_version": self.model_version,
            "interpreter_id": self.interpreter_id,
        }


@dataclass(frozen=True)
class LineTranslation:
    """Everything known about one line in one target language."""

    line_id: str
    source: str
    target: str
    draft: Rendition | None = None
    corrections: tuple[Rendition, ...] = ()
    released: bool = False
    # the machine's error code when no draft could be made
    error_code: str | None = None

    @property
    def current(self) -> Rendition | None:
        """The latest correction, else the draft."""
        return self.corrections[-1] if self.corrections else self.draft

    @property
    def shown(self) -> Rendition | None:
        """What readers see now (None: only the original)."""
        return self.current if self.released else None


@dataclass(frozen=True)
class Publication:
    """What the hub must now show readers of ``target`` for ``line_id``."""

    line_id: str
    target: str
    rendition: Rendition | None
    # set when there is no rendition: readers see "translation unavailable"
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the transcript update event."""
        return {
            "line_id": self.line_id,
            "target": self.target,
            "status": "unavailable" if self.rendition is None else "translated",
            "translation": None if self.rendition is None else self.rendition.to_dict(),
            "error_code": self.error_code,
        }


class InterpreterDesk:
    """The drafts and corrections for the lines one interpreter handles."""

    def __init__(self, mode: ReleaseMode, clock: Clock = time.time) -> None:
        self._mode = ReleaseMode(mode)
        self._clock = clock
        self._lines: dict[tuple[str, str], LineTranslation] = {}

    @property
    def mode(self) -> ReleaseMode:
        """The current release mode."""
        return self._mode

    def set_mode(self, mode: ReleaseMode) -> list[Publication]:
        """Change mode; leaving review releases every held draft at once."""
        self._mode = ReleaseMode(mode)
        if self._mode is not ReleaseMode.CORRECT_AFTER:
            return []
        return [self._release(entry) for entry in self.pending()]

    def receive(self, result: TranslationResult) -> Publication | None:
        """Take the pipeline's result for a line as its machine draft."""
        key = (result.line_id, result.target)
        entry = self._lines.get(key) or LineTranslation(
            result.line_id, result.source, result.target
        )
        if result.is_machine_output and result.text is not None:
            draft = Rendition(
                result.text,
                RenditionKind.MACHINE,
                self._clock(),
                model_version=result.model_version,
            )
            entry = replace(entry, draft=draft, error_code=None)
        else:
            entry = replace(entry, error_code=result.error_code or "unavailable")
        self._lines[key] = entry

        if entry.released:
            # already corrected and released: a late draft changes nothing shown
            return None
        if self._mode is ReleaseMode.CORRECT_AFTER:
            return self._release(entry)
        return None

    def correct(
        self, line_id: str, target: str, text: str, interpreter_id: str
    ) -> Publication:
        """Record an interpreter's translation; it replaces the draft for readers."""
        entry = self._entry(line_id, target)
        if not text.strip():
            raise InterpretingError(
                f"expected a correction with text for line {line_id!r}, got blank text"
            )
        correction = Rendition(
            text,
            RenditionKind.INTERPRETER,
            self._clock(),
            interpreter_id=interpreter_id,
        )
        entry = replace(entry, corrections=(*entry.corrections, correction))
        self._lines[(line_id, target)] = entry
        return self._release(entry)

    def approve(self, line_id: str, target: str) -> Publication:
        """Release the machine draft unchanged (review mode)."""
        entry = self._entry(line_id, target)
        if entry.draft is None and not entry.corrections:
            raise InterpretingError(
                f"expected a draft to approve for line {line_id!r} into {target}, "
                f"got none (machine error: {entry.error_code})"
            )
        return self._release(entry)

    def open_line(self, line_id: str, source: str, target: str) -> None:
        """Register a line before its draft arrives, so it can be corrected early."""
        self._lines.setdefault(
            (line_id, target), LineTranslation(line_id, source, target)
        )

    def pending(self) -> list[LineTranslation]:
        """Lines readers cannot see yet, oldest first (the interpreter's queue)."""
        return [entry for entry in self._lines.values() if not entry.released]

    def get(self, line_id: str, target: str) -> LineTranslation | None:
        """The state of one line in one language."""
        return self._lines.get((line_id, target))

    def lines(self) -> list[LineTranslation]:
        """Every line handled, oldest first: the bilingual transcript's source."""
        return list(self._lines.values())

    def forget(self, line_id: str) -> None:
        """Drop a line (after the hub has persisted it)."""
        for key in [key for key in self._lines if key[0] == line_id]:
            del self._lines[key]

    def _entry(self, line_id: str, target: str) -> LineTranslation:
        entry = self._lines.get((line_id, target))
        if entry is None:
            raise InterpretingError(
                f"expected a line this desk handles, got unknown line {line_id!r} "
                f"into {target!r}"
            )
        return entry

    def _release(self, entry: LineTranslation) -> Publication:
        entry = replace(entry, released=True)
        self._lines[(entry.line_id, entry.target)] = entry
        shown = entry.current
        return Publication(
            entry.line_id,
            entry.target,
            shown,
            error_code=None if shown is not None else entry.error_code,
        )
