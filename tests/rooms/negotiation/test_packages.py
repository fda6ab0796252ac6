"""The package suggestion against a brute-force search written here."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.negotiation import packages as p
from rooms.negotiation.errors import InvalidTerms


def brute_force(
    issues: list[p.Issue], prefs: dict[int, p.Preferences]
) -> tuple[Fraction, Fraction, tuple[int, ...]]:
    """Best (min, total, option indexes) by listing every package and sorting."""
    rows = []
    for indexes in product(*(range(len(i.options)) for i in issues)):
        scores = []
        for pref in prefs.values():
            num = sum(
                pref.weights[i.key] * pref.ratings[i.key][i.options[k]]
                for i, k in zip(issues, indexes, strict=True)
            )
            den = 10 * sum(pref.weights[i.key] for i in issues)
            scores.append(Fraction(num, den))
        # best min, then best total, then the earliest indexes
        rows.append((-min(scores), -sum(scores), indexes))
    rows.sort()
    best = rows[0]
    return -best[0], -best[1], best[2]


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[p.Issue], dict[int, p.Preferences]]:
    n_issues = draw(st.integers(1, 4))
    issues = [
        p.Issue(f"issue{n}", tuple(f"o{n}.{k}" for k in range(draw(st.integers(1, 4)))))
        for n in range(n_issues)
    ]
    prefs = {}
    for party in (1, 2):
        weights = {i.key: draw(st.integers(0, 5)) for i in issues}
        if sum(weights.values()) == 0:
            weights[issues[0].key] = 1
        ratings = {
            i.key: {o: draw(st.integers(0, 10)) for o in i.options} for i in issues
        }
        prefs[party] = p.Preferences(weights, ratings)
    return issues, prefs


@settings(max_examples=300, deadline=None)
@given(problems())
def test_suggestion_matches_brute_force(
    problem: tuple[list[p.Issue], dict[int, p.Preferences]],
) -> None:
    issues, prefs = problem
    got = p.suggest(issues, prefs)
    minimum, total, indexes = brute_force(issues, prefs)
    assert got.minimum == minimum
    assert sum(got.satisfaction.values()) == total
    assert got.choice == {
        i.key: i.options[k] for i, k in zip(issues, indexes, strict=True)
    }


def test_a_fair_package_beats_a_lopsided_one() -> None:
    issues = [p.Issue("refund", ("full", "half")), p.Issue("apology", ("yes", "no"))]
    buyer = p.Preferences(
        {"refund": 3, "apology": 1},
        {"refund": {"full": 10, "half": 6}, "apology": {"yes": 10, "no": 0}},
    )
    seller = p.Preferences(
        {"refund": 3, "apology": 1},
        {"refund": {"full": 0, "half": 8}, "apology": {"yes": 6, "no": 10}},
    )
    got = p.suggest(issues, {1: buyer, 2: seller})
    assert got.choice == {"refund": "half", "apology": "yes"}
    assert got.to_dict()["minimum"] == "0.7000"


@pytest.mark.parametrize(
    ("issues", "code"),
    [
        ([], "no_issues"),
        ([p.Issue("a", ("x",)), p.Issue("a", ("y",))], "duplicate_issue"),
        ([p.Issue("a", ())], "invalid_options"),
        ([p.Issue("a", ("x", "x"))], "invalid_options"),
        (
            [p.Issue(f"i{n}", tuple("abcdefghijkl")) for n in range(5)],
            "package_too_large",
        ),
    ],
)
def test_bad_issue_sets_are_refused(issues: list[p.Issue], code: str) -> None:
    with pytest.raises(InvalidTerms) as caught:
        p.validate_issues(issues)
    assert caught.value.code == code


def test_missing_or_bad_ratings_are_refused() -> None:
    issues = [p.Issue("a", ("x", "y"))]
    good = p.Preferences({"a": 1}, {"a": {"x": 1, "y": 2}})
    with pytest.raises(InvalidTerms) as one:
        p.suggest(issues, {1: good})
    assert one.value.code == "ratings_missing"
    for bad, code in [
        (p.Preferences({"a": 1}, {"a": {"x": 1}}), "invalid_rating"),
        (p.Preferences({"a": 1}, {"a": {"x": 11, "y": 0}}), "invalid_rating"),
        (p.Preferences({}, {"a": {"x": 1, "y": 2}}), "invalid_weight"),
        (p.Preferences({"a": 0}, {"a": {"x": 1, "y": 2}}), "invalid_weight"),
    ]:
        with pytest.raises(InvalidTerms) as caught:
            p.suggest(issues, {1: good, 2: bad})
        assert caught.value.code == code
