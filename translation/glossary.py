"""Glossary terms applied around machine translation.

A term is a phrase in the source language that must come out a fixed way
(``押金`` → ``deposit``) or stay as written (a product or a person's name).
Before translation each term is replaced by a numbered placeholder that
translation models copy through; afterwards the placeholders are replaced by
the fixed renderings. When a model mangles a placeholder, the pipeline falls
back to translating the text between the terms piece by piece, so a term is
never lost (at some cost to fluency).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from translation.errors import InvalidGlossaryTerm

_PLACEHOLDER = re.compile(r"\[\s*#\s*(\d+)\s*\]")


@dataclass(frozen=True)
class GlossaryTerm:
    """A source phrase with its fixed rendering, or None to keep it as written."""

    source: str
    term: str
    rendering: str | None = None
    # the language the rendering is for; None applies to every target
    target: str | None = None

    def applies_to(self, source: str, target: str) -> bool:
        """Whether this term matters when translating ``source`` → ``target``."""
        return self.source == source and self.target in (None, target)

    def output(self) -> str:
        """What the translation shows in place of the term."""
        return self.term if self.rendering is None else self.rendering


@runtime_checkable
class GlossaryProvider(Protocol):
    """Where the pipeline gets terms; the server feeds it from its database."""

    async def terms(
        self, case_id: str | None, source: str, target: str
    ) -> Sequence[GlossaryTerm]:
        """The terms for one case and direction; case terms win over server ones.

        Args:
            case_id: the case the line belongs to, or None for server terms only.
            source: language code of the line.
            target: language code of the translation.

        Returns:
            The applicable terms, at most one per source phrase.
        """
        ...


@dataclass
class InMemoryGlossary:
    """A glossary held in memory: server-wide terms plus terms per case."""

    server_terms: list[GlossaryTerm] = field(default_factory=list)
    case_terms: dict[str, list[GlossaryTerm]] = field(default_factory=dict)

    def add(self, term: GlossaryTerm, case_id: str | None = None) -> None:
        """Add a server-wide term, or a term for one case."""
        if not term.term.strip():
            raise InvalidGlossaryTerm(
                f"expected a non-empty glossary term, got {term.term!r}"
            )
        if term.rendering is not None and not term.rendering.strip():
            raise InvalidGlossaryTerm(
                f"expected a rendering for {term.term!r} or None to keep it as "
                f"written, got {term.rendering!r}"
            )
        if case_id is None:
            self.server_terms.append(term)
        else:
            self.case_terms.setdefault(case_id, []).append(term)

    async def terms(
        self, case_id: str | None, source: str, target: str
    ) -> Sequence[GlossaryTerm]:
        """Server terms overridden by the case's own, for one direction."""
        chosen: dict[str, GlossaryTerm] = {}
        layers = [self.server_terms]
        if case_id is not None:
            layers.append(self.case_terms.get(case_id, []))
        for layer in layers:
            # a term for this exact target beats one for every target
            for term in sorted(layer, key=lambda t: t.target is not None):
                if term.applies_to(source, target):
                    chosen[term.term.casefold()] = term
        return list(chosen.values())


@dataclass(frozen=True)
class ProtectedText:
    """Text with glossary terms cut out; ``outputs[i]`` belongs in slot ``i``."""

    text: str
    outputs: tuple[str, ...]
    # the original split as [text, term, text, term, ..., text]
    pieces: tuple[str, ...]

    @property
    def has_terms(self) -> bool:
        """Whether any glossary term occurred in the text."""
        return bool(self.outputs)


def protect(text: str, terms: Sequence[GlossaryTerm]) -> ProtectedText:
    """Replace every occurrence of a glossary term with a numbered placeholder."""
    pattern = _terms_pattern(terms)
    if pattern is None:
        return ProtectedText(text, (), (text,))
    by_key = {term.term.casefold(): term for term in terms}

    pieces: list[str] = []
    outputs: list[str] = []
    protected: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        before = text[position : match.start()]
        pieces.extend((before, match.group()))
        protected.append(before)
        protected.append(f"[#{len(outputs)}]")
        term = by_key[match.group().casefold()]
        outputs.append(match.group() if term.rendering is None else term.rendering)
        position = match.end()
    pieces.append(text[position:])
    protected.append(text[position:])
    return ProtectedText("".join(protected), tuple(outputs), tuple(pieces))


def restore(translated: str, protected: ProtectedText) -> str | None:
    """Put the renderings back; None if the model lost or repeated a placeholder."""
    if not protected.has_terms:
        return translated
    found = [int(m.group(1)) for m in _PLACEHOLDER.finditer(translated)]
    if sorted(found) != list(range(len(protected.outputs))):
        return None
    return _PLACEHOLDER.sub(lambda m: protected.outputs[int(m.group(1))], translated)


def has_placeholder_lookalike(text: str) -> bool:
    """Whether the user's own text already contains something like a placeholder."""
    return _PLACEHOLDER.search(text) is not None


def _terms_pattern(terms: Sequence[GlossaryTerm]) -> re.Pattern[str] | None:
    alternatives = []
    # longest first, so "security deposit" wins over "deposit"
    for term in sorted(
        {t.term for t in terms if t.term.strip()}, key=len, reverse=True
    ):
        body = re.escape(term)
        # word boundaries only where the term edge is a Latin letter or digit;
        # Chinese has no spaces between words
        if term[0].isascii() and term[0].isalnum():
            body = r"(?<![A-Za-z0-9])" + body
        if term[-1].isascii() and term[-1].isalnum():
            body += r"(?![A-Za-z0-9])"
        alternatives.append(body)
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)
