"""Multi-issue packages: private weights and ratings, and the fairest package.

Each party weights the issues (whole numbers, any scale) and rates each
option of each issue from 0 to 10. A party's satisfaction with a package is
its weighted mean rating divided by 10, a fraction between 0 and 1, kept
exact with ``Fraction``. The suggestion maximises the lowest satisfaction
over the parties by trying every combination (the option sets are small);
ties go to the larger total satisfaction, then to the earliest options in
the order the issues and options were entered.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Any

from rooms.negotiation.errors import InvalidTerms

MAX_RATING = 10
MAX_WEIGHT = 100
MAX_COMBINATIONS = 20_000
MAX_OPTIONS = 12


@dataclass(frozen=True)
class Issue:
    """One issue under negotiation and its options, in entry order."""

    key: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Preferences:
    """One party's private weights (per issue) and ratings (per issue, option)."""

    weights: Mapping[str, int]
    ratings: Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Suggestion:
    """The suggested package and each party's satisfaction with it."""

    choice: dict[str, str]
    satisfaction: dict[int, Fraction]

    @property
    def minimum(self) -> Fraction:
        return min(self.satisfaction.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (satisfactions as decimal strings, 4 places)."""
        return {
            "choice": self.choice,
            "satisfaction": {
                str(p): f"{float(s):.4f}" for p, s in self.satisfaction.items()
            },
            "minimum": f"{float(self.minimum):.4f}",
        }


def validate_issues(issues: Sequence[Issue]) -> None:
    """Raise InvalidTerms unless the issues are non-empty, distinct and small."""
    if not issues:
        raise InvalidTerms("issues: expected at least one", code="no_issues")
    keys = [i.key for i in issues]
    if len(set(keys)) != len(keys):
        raise InvalidTerms(
            "issues: each issue needs a distinct name", code="duplicate_issue"
        )
    for issue in issues:
        if not 1 <= len(issue.options) <= MAX_OPTIONS:
            raise InvalidTerms(
                f"{issue.key}: expected 1 to {MAX_OPTIONS} options, "
                f"got {len(issue.options)}",
                code="invalid_options",
            )
        if len(set(issue.options)) != len(issue.options):
            raise InvalidTerms(
                f"{issue.key}: options must be distinct", code="invalid_options"
            )
    combinations = prod(len(i.options) for i in issues)
    if combinations > MAX_COMBINATIONS:
        raise InvalidTerms(
            f"{combinations} combinations are too many for an exact search "
            f"(at most {MAX_COMBINATIONS}); remove options",
            code="package_too_large",
        )


def validate_preferences(issues: Sequence[Issue], prefs: Preferences) -> None:
    """Raise InvalidTerms unless every issue is weighted and every option rated."""
    for issue in issues:
        weight = prefs.weights.get(issue.key)
        if not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT:
            raise InvalidTerms(
                f"{issue.key}: expected a weight from 0 to {MAX_WEIGHT}, "
                f"got {weight!r}",
                code="invalid_weight",
            )
        rated = prefs.ratings.get(issue.key, {})
        for option in issue.options:
            rating = rated.get(option)
            if not isinstance(rating, int) or not 0 <= rating <= MAX_RATING:
                raise InvalidTerms(
                    f"{issue.key} / {option}: expected a rating from 0 to "
                    f"{MAX_RATING}, got {rating!r}",
                    code="invalid_rating",
                )
    if sum(prefs.weights.get(i.key, 0) for i in issues) == 0:
        raise InvalidTerms(
            "weights: at least one must be above 0", code="invalid_weight"
        )


def satisfaction(
    issues: Sequence[Issue], prefs: Preferences, choice: Mapping[str, str]
) -> Fraction:
    """A party's satisfaction with a package, exactly, between 0 and 1."""
    total_weight = sum(prefs.weights[i.key] for i in issues)
    score = sum(
        prefs.weights[i.key] * prefs.ratings[i.key][choice[i.key]] for i in issues
    )
    return Fraction(score, total_weight * MAX_RATING)


def suggest(
    issues: Sequence[Issue], preferences: Mapping[int, Preferences]
) -> Suggestion:
    """The package maximising the lowest party satisfaction (exact search)."""
    validate_issues(issues)
    if len(preferences) < 2:
        raise InvalidTerms(
            "Both parties must rate the options first.", code="ratings_missing"
        )
    for prefs in preferences.values():
        validate_preferences(issues, prefs)

    best: tuple[Fraction, Fraction] | None = None
    best_choice: dict[str, str] = {}
    # itertools.product walks the options in entry order, so keeping only a
    # strictly better package leaves ties with the earliest combination
    for combo in itertools.product(*(i.options for i in issues)):
        choice = {i.key: o for i, o in zip(issues, combo, strict=True)}
        scores = [satisfaction(issues, p, choice) for p in preferences.values()]
        key = (min(scores), sum(scores, Fraction(0)))
        if best is None or key > best:
            best, best_choice = key, choice
    return Suggestion(
        choice=best_choice,
        satisfaction={
            party: satisfaction(issues, prefs, best_choice)
            for party, prefs in sorted(preferences.items())
        },
    )
