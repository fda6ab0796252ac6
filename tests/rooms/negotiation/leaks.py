"""Helpers that search serialised output for a money figure in any usual form."""

from __future__ import annotations

import json
import re
from typing import Any

# ISO timestamps and hex digests are not derived from figures, but their
# digits could match one by chance, so they are blanked before searching
_NOISE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?"
    r"|\b[0-9a-f]{32,64}\b"
)


def forms(minor: int) -> set[str]:
    """Every way a minor-unit amount is commonly written."""
    major, cents = divmod(minor, 100)
    decimal = f"{major}.{cents:02d}"
    found = {
        str(minor),
        decimal,
        f"{major:,}.{cents:02d}",
        f"{major:,}.{cents:02d}".replace(",", " "),
        f"{major:,}.{cents:02d}".replace(",", "\u202f"),
        f"{major:,}.{cents:02d}".replace(",", "."),
        f"{major:,}".replace(",", ".") + f",{cents:02d}",
        f"{minor:,}",
    }
    if cents == 0:
        found |= {str(major), f"{major:,}"}
    return found


def text_of(value: Any) -> str:
    """A value as searchable text: JSON for structures, str otherwise."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def leaked(figure: int, *outputs: Any) -> list[str]:
    """The forms of ``figure`` that appear, as a whole number, in the outputs."""
    haystack = _NOISE.sub(" ", "\n".join(text_of(o) for o in outputs))
    hits = []
    for form in forms(figure):
        pattern = r"(?<![\d.,])" + re.escape(form) + r"(?![\d]|[.,]\d)"
        if re.search(pattern, haystack):
            hits.append(form)
    return hits
