"""The pipeline's contract with the room hub."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.translation.conftest import ScriptedTranslator
from translation import (
    GlossaryTerm,
    InMemoryGlossary,
    LineForTranslation,
    NoTranslator,
    ResultStatus,
    SubmitStatus,
    TranslationCache,
    TranslationPipeline,
    TranslationResult,
)


def line(
    line_id: str, text: str, source: str = "zh", *targets: str
) -> LineForTranslation:
    return LineForTranslation(line_id, text, source, frozenset(targets or {"en"}))


class Collector:
    def __init__(self) -> None:
        self.results: list[TranslationResult] = []

    async def __call__(self, result: TranslationResult) -> None:
        self.results.append(result)


async def test_submit_returns_before_any_result_is_delivered(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    status = pipeline.submit(line("l1", "你好"), got)

    assert status is SubmitStatus.ACCEPTED
    assert got.results == []
    await pipeline.join()
    assert [r.text for r in got.results] == ["en(你好)"]
    await pipeline.aclose()


async def test_results_are_machine_output_with_model_version(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    pipeline.submit(line("l1", "你好"), got)
    await pipeline.join()

    (result,) = got.results
    assert result.status is ResultStatus.MACHINE
    assert result.is_machine_output
    assert result.model_version == "zh-en@1"
    assert result.to_dict()["kind"] == "machine"
    await pipeline.aclose()


async def test_one_worker_delivers_results_in_submission_order(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted, workers=1)
    got = Collector()

    for number in range(5):
        pipeline.submit(line(f"l{number}", f"第{number}行"), got)
    await pipeline.join()

    assert [r.line_id for r in got.results] == ["l0", "l1", "l2", "l3", "l4"]
    await pipeline.aclose()


async def test_line_is_translated_only_into_other_readers_languages(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    status = pipeline.submit(line("l1", "hello", "en", "en", "de"), got)
    await pipeline.join()

    assert status is SubmitStatus.ACCEPTED
    assert [(r.target, r.text) for r in got.results] == [("de", "de(hello)")]
    assert pipeline.submit(line("l2", "hello", "en", "en"), got) is (
        SubmitStatus.NOTHING_TO_DO
    )
    await pipeline.aclose()


async def test_second_identical_line_hits_the_cache(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    pipeline.submit(line("l1", "押金"), got)
    await pipeline.join()
    pipeline.submit(line("l2", "押金"), got)
    await pipeline.join()

    assert len(scripted.calls) == 1
    assert [r.from_cache for r in got.results] == [False, True]
    assert got.results[0].text == got.results[1].text
    assert pipeline.stats.cache_hits == 1
    await pipeline.aclose()


async def test_cache_key_includes_model_version(scripted: ScriptedTranslator) -> None:
    cache = TranslationCache()
    first = TranslationPipeline(scripted, cache=cache)
    got = Collector()
    first.submit(line("l1", "押金"), got)
    await first.join()

    upgraded = ScriptedTranslator({("zh", "en"): "zh-en@2"})
    second = TranslationPipeline(upgraded, cache=cache)
    second.submit(line("l2", "押金"), got)
    await second.join()

    assert len(upgraded.calls) == 1
    assert got.results[1].model_version == "zh-en@2"
    await first.aclose()
    await second.aclose()


def test_cache_is_bounded() -> None:
    from translation.cache import CacheKey

    cache = TranslationCache(max_entries=3)
    for number in range(10):
        cache.put(CacheKey(str(number), "zh", "en", "v"), "x")

    assert len(cache) == 3
    assert cache.get(CacheKey("0", "zh", "en", "v")) is None
    assert cache.get(CacheKey("9", "zh", "en", "v")) == "x"


async def test_no_direct_pair_pivots_through_english(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    pipeline.submit(line("l1", "押金", "zh", "de"), got)
    await pipeline.join()

    (result,) = got.results
    assert result.text == "de(en(押金))"
    assert result.model_version == "zh-en@1+en-de@1"
    assert [(s, t) for _, s, t in scripted.calls] == [("zh", "en"), ("en", "de")]
    await pipeline.aclose()


async def test_unreachable_language_is_reported_unavailable(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    pipeline.submit(line("l1", "押金", "zh", "fr"), got)
    await pipeline.join()

    (result,) = got.results
    assert result.status is ResultStatus.UNAVAILABLE
    assert result.error_code == "unsupported_pair"
    assert result.text is None
    await pipeline.aclose()


async def test_timeout_gives_unavailable_result(scripted: ScriptedTranslator) -> None:
    scripted.gate.clear()  # the backend never answers
    pipeline = TranslationPipeline(scripted, timeout_s=0.05)
    got = Collector()

    pipeline.submit(line("l1", "你好"), got)
    await pipeline.join()

    (result,) = got.results
    assert result.status is ResultStatus.UNAVAILABLE
    assert result.error_code == "timeout"
    assert result.to_dict()["status"] == "unavailable"
    await pipeline.aclose()


async def test_backend_error_gives_unavailable_and_pipeline_continues() -> None:
    translator = ScriptedTranslator(fail_on="坏")
    pipeline = TranslationPipeline(translator)
    got = Collector()

    pipeline.submit(line("l1", "坏"), got)
    pipeline.submit(line("l2", "好"), got)
    await pipeline.join()

    assert [(r.line_id, r.status, r.error_code) for r in got.results] == [
        ("l1", ResultStatus.UNAVAILABLE, "backend_error"),
        ("l2", ResultStatus.MACHINE, None),
    ]
    await pipeline.aclose()


async def test_unexpected_backend_exception_gives_unavailable() -> None:
    class Broken(ScriptedTranslator):
        async def translate(self, text: str, source: str, target: str) -> str:
            raise RuntimeError("model file vanished")

    pipeline = TranslationPipeline(Broken())
    got = Collector()

    pipeline.submit(line("l1", "你好"), got)
    await pipeline.join()

    assert got.results[0].error_code == "backend_error"
    await pipeline.aclose()


async def test_full_queue_refuses_with_status_and_unavailable_results(
    scripted: ScriptedTranslator,
) -> None:
    scripted.gate.clear()
    pipeline = TranslationPipeline(scripted, max_pending=2, timeout_s=5)
    got = Collector()

    statuses = [pipeline.submit(line(f"l{n}", f"第{n}行"), got) for n in range(5)]
    await asyncio.sleep(0)  # let refusals be delivered
    await asyncio.sleep(0)

    assert statuses.count(SubmitStatus.QUEUE_FULL) >= 2
    assert pipeline.pending <= 2
    refused = [r for r in got.results if r.error_code == "queue_full"]
    assert len(refused) == statuses.count(SubmitStatus.QUEUE_FULL)
    scripted.gate.set()
    await pipeline.join()
    assert len(got.results) == 5  # every line got exactly one result
    await pipeline.aclose()


async def test_line_with_more_targets_than_room_is_refused_whole(
    scripted: ScriptedTranslator,
) -> None:
    scripted.gate.clear()
    pipeline = TranslationPipeline(scripted, max_pending=1)
    got = Collector()

    status = pipeline.submit(line("l1", "hi", "en", "de", "zh", "fr"), got)

    assert status is SubmitStatus.QUEUE_FULL
    assert pipeline.pending == 0
    scripted.gate.set()
    await pipeline.join()
    assert sorted(r.target for r in got.results) == ["de", "fr", "zh"]
    await pipeline.aclose()


async def test_failing_callback_does_not_stop_the_worker(
    scripted: ScriptedTranslator, caplog: object
) -> None:
    pipeline = TranslationPipeline(scripted)
    got = Collector()

    async def explode(result: TranslationResult) -> None:
        raise RuntimeError("socket gone")

    pipeline.submit(line("l1", "一"), explode)
    pipeline.submit(line("l2", "二"), got)
    await pipeline.join()

    assert [r.line_id for r in got.results] == ["l2"]
    await pipeline.aclose()


async def test_closed_pipeline_reports_closed(scripted: ScriptedTranslator) -> None:
    pipeline = TranslationPipeline(scripted)
    await pipeline.aclose()
    got = Collector()

    assert pipeline.submit(line("l1", "一"), got) is SubmitStatus.CLOSED
    await asyncio.sleep(0)
    assert got.results[0].error_code == "closed"


async def test_none_backend_leaves_every_line_untranslated() -> None:
    pipeline = TranslationPipeline(NoTranslator())
    got = Collector()

    pipeline.submit(line("l1", "你好"), got)
    await pipeline.join()

    assert got.results[0].error_code == "unsupported_pair"
    assert await pipeline.targets_for("zh") == frozenset()
    await pipeline.aclose()


async def test_targets_for_includes_pivot_targets(scripted: ScriptedTranslator) -> None:
    pipeline = TranslationPipeline(scripted)

    assert await pipeline.targets_for("zh") == {"en", "de"}
    assert await pipeline.targets_for("en") == {"de"}


async def test_translate_now_bypasses_the_queue(scripted: ScriptedTranslator) -> None:
    pipeline = TranslationPipeline(scripted)

    result = await pipeline.translate_now("押金 100 元", "zh", "en")

    assert result.text == "en(押金 100 元)"


async def test_glossary_terms_are_rendered_fixed_way(
    scripted: ScriptedTranslator,
) -> None:
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "押金", "security deposit", target="en"))
    glossary.add(GlossaryTerm("zh", "淘宝"))  # a name: keep as written
    pipeline = TranslationPipeline(scripted, glossary=glossary)
    got = Collector()

    pipeline.submit(line("l1", "淘宝卖家扣了押金"), got)
    await pipeline.join()

    assert got.results[0].text == "en(淘宝卖家扣了security deposit)"
    # the backend never saw the terms themselves
    assert scripted.calls[0][0] == "[#0]卖家扣了[#1]"
    await pipeline.aclose()


async def test_glossary_survives_a_model_that_mangles_placeholders() -> None:
    translator = ScriptedTranslator(lose_placeholders=True)
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "押金", "deposit"))
    pipeline = TranslationPipeline(translator, glossary=glossary)
    got = Collector()

    pipeline.submit(line("l1", "退还 押金 给我"), got)
    await pipeline.join()

    assert got.results[0].text == "en(退还) deposit en(给我)"
    await pipeline.aclose()


async def test_case_glossary_overrides_server_glossary(
    scripted: ScriptedTranslator,
) -> None:
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "押金", "deposit"))
    glossary.add(GlossaryTerm("zh", "押金", "bond"), case_id="case-7")
    pipeline = TranslationPipeline(scripted, glossary=glossary)
    got = Collector()

    pipeline.submit(LineForTranslation("a", "押金", "zh", frozenset({"en"})), got)
    pipeline.submit(
        LineForTranslation("b", "押金", "zh", frozenset({"en"}), case_id="case-7"), got
    )
    await pipeline.join()

    assert [r.text for r in got.results] == ["en(deposit)", "en(bond)"]
    # both protected texts are identical, so the second came from the cache
    assert len(scripted.calls) == 1
    await pipeline.aclose()


async def test_glossary_applies_across_a_pivot(scripted: ScriptedTranslator) -> None:
    glossary = InMemoryGlossary()
    glossary.add(GlossaryTerm("zh", "押金", "Kaution", target="de"))
    pipeline = TranslationPipeline(scripted, glossary=glossary)
    got = Collector()

    pipeline.submit(line("l1", "押金", "zh", "de", "en"), got)
    await pipeline.join()

    assert {r.target: r.text for r in got.results} == {
        "de": "de(en(Kaution))",
        "en": "en(押金)",
    }
    await pipeline.aclose()


async def test_line_text_never_reaches_logs_above_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "SECRET-机密-4711"
    translator = ScriptedTranslator(fail_on="机密")
    translator.gate.clear()
    pipeline = TranslationPipeline(translator, max_pending=1, timeout_s=0.05)
    got = Collector()
    caplog.set_level(logging.DEBUG, logger="translation")

    for number in range(3):  # queued, refused, refused
        pipeline.submit(line(f"l{number}", f"{secret} {number}"), got)
    await pipeline.join()  # the queued one times out
    translator.gate.set()
    pipeline.submit(line("l9", secret), got)  # fails in the backend
    await pipeline.join()
    await pipeline.aclose()

    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert loud, "expected warnings about the full queue and failures"
    assert all(secret not in r.getMessage() for r in loud)
    assert {r.error_code for r in got.results} == {
        "timeout",
        "queue_full",
        "backend_error",
    }


async def test_overlong_text_is_not_sent_to_the_backend(
    scripted: ScriptedTranslator,
) -> None:
    pipeline = TranslationPipeline(scripted, max_text_chars=10)
    got = Collector()

    pipeline.submit(line("l1", "长" * 11), got)
    await pipeline.join()

    assert got.results[0].error_code == "too_long"
    assert scripted.calls == []
    await pipeline.aclose()


async def test_closing_reports_running_and_queued_jobs_as_closed(
    scripted: ScriptedTranslator,
) -> None:
    scripted.gate.clear()
    pipeline = TranslationPipeline(scripted)
    got = Collector()
    for number in range(3):
        pipeline.submit(line(f"l{number}", f"第{number}行"), got)
    await asyncio.sleep(0)  # the worker takes the first job

    await pipeline.aclose()

    assert sorted((r.line_id, r.error_code) for r in got.results) == [
        ("l0", "closed"),
        ("l1", "closed"),
        ("l2", "closed"),
    ]


LANGUAGES = ["zh", "en", "de", "fr", "ja"]


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(LANGUAGES), st.sets(st.sampled_from(LANGUAGES))),
        min_size=1,
        max_size=8,
    ),
    max_pending=st.integers(min_value=1, max_value=6),
)
def test_each_entitled_language_gets_exactly_one_result_and_no_other(
    lines: list[tuple[str, set[str]]], max_pending: int
) -> None:
    async def scenario() -> None:
        pipeline = TranslationPipeline(ScriptedTranslator(), max_pending=max_pending)
        got = Collector()
        for number, (source, targets) in enumerate(lines):
            pipeline.submit(
                LineForTranslation(f"l{number}", "文本", source, frozenset(targets)),
                got,
            )
        await pipeline.join()
        await pipeline.aclose()

        delivered = sorted((r.line_id, r.target) for r in got.results)
        expected = sorted(
            (f"l{number}", target)
            for number, (source, targets) in enumerate(lines)
            for target in targets
            if target != source
        )
        assert delivered == expected

    asyncio.run(scenario())
