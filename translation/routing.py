"""Choosing the models for a translation: direct, or through a pivot language."""

from __future__ import annotations

from collections.abc import Collection

from translation.translator import LanguagePair

Route = tuple[LanguagePair, ...]


def plan_route(
    pairs: Collection[LanguagePair], source: str, target: str, pivot: str = "en"
) -> Route | None:
    """The hops from ``source`` to ``target``: one direct pair, or two via ``pivot``.

    Returns an empty route when source and target are the same language, and
    None when no installed pairs connect them.
    """
    if source == target:
        return ()
    direct = LanguagePair(source, target)
    if direct in pairs:
        return (direct,)
    first, second = LanguagePair(source, pivot), LanguagePair(pivot, target)
    if pivot not in (source, target) and first in pairs and second in pairs:
        return (first, second)
    return None


def reachable_targets(
    pairs: Collection[LanguagePair], source: str, pivot: str = "en"
) -> frozenset[str]:
    """Every language a line in ``source`` can be translated into."""
    targets = {pair.target for pair in pairs}
    targets.add(source)
    return frozenset(
        target for target in targets if plan_route(pairs, source, target, pivot)
    ) - {source}
