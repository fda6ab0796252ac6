"""Machine drafts and interpreter corrections in both release modes."""

from __future__ import annotations

import itertools

import pytest

from translation import (
    InterpreterDesk,
    InterpretingError,
    ReleaseMode,
    RenditionKind,
    ResultStatus,
    TranslationResult,
)


def draft(line_id: str, text: str = "machine text") -> TranslationResult:
    return TranslationResult(
        line_id, "zh", "en", ResultStatus.MACHINE, text=text, model_version="zh-en@1"
    )


def unavailable(line_id: str) -> TranslationResult:
    return TranslationResult(
        line_id, "zh", "en", ResultStatus.UNAVAILABLE, error_code="timeout"
    )


def desk(mode: ReleaseMode) -> InterpreterDesk:
    ticks = itertools.count(1000)
    return InterpreterDesk(mode, clock=lambda: float(next(ticks)))


def test_correct_after_releases_the_draft_at_once() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)

    published = interpreter.receive(draft("l1"))

    assert published is not None
    assert published.rendition is not None
    assert published.rendition.kind is RenditionKind.MACHINE
    assert published.rendition.model_version == "zh-en@1"
    assert interpreter.pending() == []


def test_correction_replaces_draft_for_readers_and_both_are_kept() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)
    interpreter.receive(draft("l1", "the deposit was not returned"))

    published = interpreter.correct("l1", "en", "The bond was not refunded.", "int-1")

    assert published.rendition is not None
    assert published.rendition.kind is RenditionKind.INTERPRETER
    assert published.rendition.interpreter_id == "int-1"
    state = interpreter.get("l1", "en")
    assert state is not None
    assert state.draft is not None
    assert state.draft.text == "the deposit was not returned"
    assert state.shown is not None
    assert state.shown.text == "The bond was not refunded."
    assert published.to_dict()["translation"]["kind"] == "interpreter"


def test_review_mode_holds_drafts_until_approved() -> None:
    interpreter = desk(ReleaseMode.REVIEW_BEFORE_RELEASE)

    assert interpreter.receive(draft("l1")) is None
    assert interpreter.receive(draft("l2")) is None
    assert [p.line_id for p in interpreter.pending()] == ["l1", "l2"]
    state = interpreter.get("l1", "en")
    assert state is not None and state.shown is None

    published = interpreter.approve("l1", "en")

    assert published.rendition is not None
    assert published.rendition.kind is RenditionKind.MACHINE
    assert [p.line_id for p in interpreter.pending()] == ["l2"]


def test_review_mode_correction_releases_the_correction_not_the_draft() -> None:
    interpreter = desk(ReleaseMode.REVIEW_BEFORE_RELEASE)
    interpreter.receive(draft("l1", "wrong"))

    published = interpreter.correct("l1", "en", "right", "int-1")

    assert published.rendition is not None
    assert published.rendition.text == "right"
    assert interpreter.pending() == []


def test_interpreter_can_translate_a_line_the_machine_could_not() -> None:
    interpreter = desk(ReleaseMode.REVIEW_BEFORE_RELEASE)
    interpreter.receive(unavailable("l1"))

    with pytest.raises(InterpretingError, match="timeout"):
        interpreter.approve("l1", "en")
    published = interpreter.correct("l1", "en", "by hand", "int-1")

    assert published.rendition is not None
    assert published.rendition.text == "by hand"


def test_unavailable_draft_in_correct_after_mode_is_published_as_unavailable() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)

    published = interpreter.receive(unavailable("l1"))

    assert published is not None
    assert published.rendition is None
    assert published.error_code == "timeout"
    assert published.to_dict()["status"] == "unavailable"


def test_late_draft_does_not_override_an_earlier_correction() -> None:
    interpreter = desk(ReleaseMode.REVIEW_BEFORE_RELEASE)
    interpreter.open_line("l1", "zh", "en")
    interpreter.correct("l1", "en", "human first", "int-1")

    assert interpreter.receive(draft("l1", "machine late")) is None
    state = interpreter.get("l1", "en")
    assert state is not None and state.shown is not None
    assert state.shown.text == "human first"
    assert state.draft is not None and state.draft.text == "machine late"


def test_switching_to_correct_after_releases_held_drafts() -> None:
    interpreter = desk(ReleaseMode.REVIEW_BEFORE_RELEASE)
    interpreter.receive(draft("l1"))
    interpreter.receive(draft("l2"))

    published = interpreter.set_mode(ReleaseMode.CORRECT_AFTER)

    assert [p.line_id for p in published] == ["l1", "l2"]
    assert interpreter.pending() == []


def test_later_correction_wins_and_history_is_kept() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)
    interpreter.receive(draft("l1"))
    interpreter.correct("l1", "en", "first try", "int-1")
    interpreter.correct("l1", "en", "second try", "int-1")

    state = interpreter.get("l1", "en")
    assert state is not None
    assert [c.text for c in state.corrections] == ["first try", "second try"]
    assert state.shown is not None and state.shown.text == "second try"
    assert state.corrections[0].at < state.corrections[1].at


def test_unknown_line_and_blank_correction_are_refused() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)

    with pytest.raises(InterpretingError, match="unknown line 'nope'"):
        interpreter.correct("nope", "en", "text", "int-1")
    interpreter.receive(draft("l1"))
    with pytest.raises(InterpretingError, match="blank"):
        interpreter.correct("l1", "en", "  ", "int-1")


def test_forget_drops_every_language_of_a_line() -> None:
    interpreter = desk(ReleaseMode.CORRECT_AFTER)
    interpreter.receive(draft("l1"))
    interpreter.forget("l1")

    assert interpreter.lines() == []
