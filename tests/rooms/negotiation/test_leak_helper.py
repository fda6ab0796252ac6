"""The leak search itself must find a figure in each usual written form."""

from __future__ import annotations

import pytest

from tests.rooms.negotiation.leaks import leaked


@pytest.mark.parametrize(
    "text",
    [
        "bid 12345678",
        "¥123,456.78",
        "CNY 123456.78",
        "123 456.78 yuan",
        "EUR 123.456,78",
        {"figure": 12345678},
        ["x", {"amount": "123456.78"}],
    ],
)
def test_finds_a_figure_in_every_form(text: object) -> None:
    assert leaked(12345678, text)


@pytest.mark.parametrize(
    "text",
    [
        "bid 112345678",
        "1234567.8",
        "at 2026-12-03T12:34:56.123456+00:00",
        "hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ],
)
def test_does_not_flag_other_numbers(text: str) -> None:
    assert not leaked(12345678, text)
