"""Accord's offline sentence splitter."""

from __future__ import annotations

from translation.splitter import split_sentences


def test_chinese_punctuation_ends_sentences() -> None:
    assert split_sentences("你好。我想退款！可以吗？好的；谢谢") == [
        "你好。",
        "我想退款！",
        "可以吗？",
        "好的；",
        "谢谢",
    ]


def test_closing_quote_stays_with_its_sentence() -> None:
    assert split_sentences("他说：“不行。”然后走了。") == [
        "他说：“不行。”",
        "然后走了。",
    ]


def test_latin_sentences_split_on_space_after_punctuation() -> None:
    assert split_sentences("It broke. Is that right? Yes! Fine") == [
        "It broke.",
        "Is that right?",
        "Yes!",
        "Fine",
    ]


def test_abbreviations_initials_and_decimals_do_not_split() -> None:
    text = "Mr. J. Smith paid 3.5 EUR, e.g. by card. Done."

    assert split_sentences(text) == [
        "Mr. J. Smith paid 3.5 EUR, e.g. by card.",
        "Done.",
    ]


def test_line_breaks_split_and_blank_text_gives_nothing() -> None:
    assert split_sentences("first line\n\nsecond line") == ["first line", "second line"]
    assert split_sentences("   ") == []


def test_mixed_languages() -> None:
    assert split_sentences("订单号 A-12. 已发货。OK? 好") == [
        "订单号 A-12.",
        "已发货。",
        "OK?",
        "好",
    ]
