"""Accord's own sentence splitter, so argostranslate never fetches a model.

Argos picks a sentence splitter per package (stanza, MiniSBD or spaCy), and
MiniSBD downloads its model from the internet the first time it runs. Chat
lines are short, so a punctuation rule is enough: Chinese and Japanese full
stops (。！？；) end a sentence wherever they appear; Latin ``.!?`` end one
when followed by a space, unless the word before is a known abbreviation or
the dot sits inside a number.
"""

from __future__ import annotations

import re

# Chinese/Japanese enders, optionally followed by closing quotes or brackets.
_CJK_END = re.compile(r"[。！？；!?…]+[”’」』）)\]]*")
# Latin enders followed by whitespace (the dot in 3.5 or e.g. is not).
_LATIN_END = re.compile(r"[.!?;]+[\"'”’)\]]*(?=\s)")
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "no", "nr", "vs", "etc", "eg",
        "ie", "inc", "ltd", "co", "jr", "sr", "art", "sec", "para", "z.b",
        "bzw", "ca", "usw", "e.g", "i.e", "approx", "fig", "p", "pp",
    }
)  # fmt: skip
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def split_sentences(text: str) -> list[str]:
    """Split a chat line into sentences; never returns an empty list for text."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(_split_paragraph(paragraph))
    if not sentences and text.strip():
        sentences.append(text.strip())
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    cuts = {m.end() for m in _CJK_END.finditer(paragraph)}
    for match in _LATIN_END.finditer(paragraph):
        if match.group().startswith(".") and _is_abbreviation(
            paragraph[: match.start()]
        ):
            continue
        cuts.add(match.end())

    pieces: list[str] = []
    start = 0
    for cut in sorted(cuts):
        piece = paragraph[start:cut].strip()
        if piece:
            pieces.append(piece)
        start = cut
    tail = paragraph[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _is_abbreviation(before: str) -> bool:
    match = _WORD_BEFORE.search(before)
    if match is None:
        return False
    word = match.group(1).lower()
    # a single capital letter is an initial ("J. Smith"), not a sentence end
    return word in _ABBREVIATIONS or (len(word) == 1 and before[-1].isupper())


class AccordSentencizer:
    """Adapter with the ``split_sentences`` method argostranslate expects."""

    def split_sentences(self, text: str) -> list[str]:
        """Split ``text`` with Accord's offline rules."""
        return split_sentences(text)
