"""Glossary matching, placeholders and restoring."""

from __future__ import annotations

import pytest

from translation.errors import InvalidGlossaryTerm
from translation.glossary import GlossaryTerm, InMemoryGlossary, protect, restore


def test_longest_term_wins() -> None:
    terms = [
        GlossaryTerm("en", "deposit", "押金"),
        GlossaryTerm("en", "security deposit", "保证金"),
    ]

    protected = protect("Return the security deposit, not the deposit.", terms)

    assert protected.text == "Return the [#0], not the [#1]."
    assert protected.outputs == ("保证金", "押金")


def test_latin_terms_match_whole_words_only_and_ignore_case() -> None:
    terms = [GlossaryTerm("en", "ODR", "在线纠纷解决")]

    protected = protect("odr and ODRs and (ODR)", terms)

    assert protected.text == "[#0] and ODRs and ([#1])"


def test_chinese_terms_match_inside_running_text() -> None:
    terms = [GlossaryTerm("zh", "押金")]

    protected = protect("他没退押金。", terms)

    assert protected.text == "他没退[#0]。"
    assert protected.outputs == ("押金",)  # kept as written


def test_restore_puts_renderings_back_in_any_order() -> None:
    terms = [GlossaryTerm("en", "Alice"), GlossaryTerm("en", "Bob")]
    protected = protect("Alice paid Bob", terms)

    assert (
        restore("[# 1] wurde von [#0] bezahlt", protected)
        == "Bob wurde von Alice bezahlt"
    )


def test_restore_refuses_lost_or_duplicated_placeholders() -> None:
    protected = protect("Alice paid Bob", [GlossaryTerm("en", "Alice")])

    assert restore("Jemand bezahlte Bob", protected) is None
    assert restore("[#0] [#0] bezahlte Bob", protected) is None


async def test_term_for_one_target_beats_term_for_all_targets() -> None:
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "淘宝"))
    glossary.add(GlossaryTerm("zh", "淘宝", "Taobao", target="en"))

    (for_en,) = await glossary.terms(None, "zh", "en")
    (for_de,) = await glossary.terms(None, "zh", "de")

    assert for_en.output() == "Taobao"
    assert for_de.output() == "淘宝"


async def test_terms_of_another_case_do_not_apply() -> None:
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "押金", "bond"), case_id="case-1")

    assert await glossary.terms("case-2", "zh", "en") == []
    assert len(await glossary.terms("case-1", "zh", "en")) == 1


def test_blank_terms_and_renderings_are_refused() -> None:
    glossary = InMemoryGlossary()

    with pytest.raises(InvalidGlossaryTerm, match="non-empty"):
        glossary.add(GlossaryTerm("zh", "  "))
    with pytest.raises(InvalidGlossaryTerm, match="keep it as written"):
        glossary.add(GlossaryTerm("zh", "押金", ""))
