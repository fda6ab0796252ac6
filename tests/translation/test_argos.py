"""The argostranslate backend on real (tiny, random-weight) packages."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from translation import (
    BackendUnavailable,
    LineForTranslation,
    ResultStatus,
    TranslationPipeline,
    TranslationResult,
    TranslatorBusy,
    UnsupportedPair,
)
from translation.argos import ArgosTranslator
from translation.splitter import AccordSentencizer

ROOT = Path(__file__).parents[2]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make every outgoing connection attempt fail loudly, and record it."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network access attempted during a translation test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


async def test_thread_worker_translates_with_networking_blocked(
    argos_packages_dir: Path, no_network: list[Any]
) -> None:
    translator = ArgosTranslator(argos_packages_dir, isolation="thread")
    try:
        pairs = await translator.pairs()
        text = await translator.translate("我想退款。卖家不同意！可以吗？", "zh", "en")
        again = await translator.translate("我想退款。卖家不同意！可以吗？", "zh", "en")
    finally:
        await translator.aclose()

    assert set(pairs) == {("zh", "en"), ("en", "de")}
    assert isinstance(text, str) and text == again  # gibberish, but deterministic
    assert no_network == []


async def test_real_argos_path_uses_accords_sentence_splitter(
    argos_packages_dir: Path, no_network: list[Any]
) -> None:
    import argostranslate.sbd

    translator = ArgosTranslator(argos_packages_dir, isolation="thread")
    try:
        await translator.translate("第一句。第二句！", "zh", "en")
        engine = translator._engine
        assert engine is not None
        translations = list(engine._translations.values())
    finally:
        await translator.aclose()

    assert translations
    assert all(isinstance(t.sentencizer, AccordSentencizer) for t in translations)
    # MiniSBD's detector (which downloads its model) was never built
    assert not any(
        isinstance(t.sentencizer, argostranslate.sbd.MiniSBDSentencizer)
        for t in translations
    )


async def test_pipeline_pivots_zh_to_de_through_english_on_real_packages(
    argos_packages_dir: Path, no_network: list[Any]
) -> None:
    translator = ArgosTranslator(argos_packages_dir, isolation="thread")
    pipeline = TranslationPipeline(translator)
    results: list[TranslationResult] = []

    async def collect(result: TranslationResult) -> None:
        results.append(result)

    pipeline.submit(
        LineForTranslation("l1", "押金没有退。", "zh", frozenset({"en", "de"})), collect
    )
    await pipeline.join()
    await pipeline.aclose()
    await translator.aclose()

    by_target = {r.target: r for r in results}
    assert all(r.status is ResultStatus.MACHINE for r in results)
    assert by_target["de"].model_version is not None
    zh_en, en_de = by_target["de"].model_version.split("+")
    assert zh_en.startswith("argos:zh-en@1.0#") and en_de.startswith("argos:en-de@1.0#")
    assert by_target["en"].model_version == zh_en


async def test_unknown_pair_is_refused(argos_packages_dir: Path) -> None:
    translator = ArgosTranslator(argos_packages_dir, isolation="thread")
    try:
        with pytest.raises(UnsupportedPair, match="got de>zh"):
            await translator.translate("Hallo", "de", "zh")
    finally:
        await translator.aclose()


async def test_worker_backlog_is_bounded(argos_packages_dir: Path) -> None:
    translator = ArgosTranslator(argos_packages_dir, isolation="thread", max_backlog=2)
    await translator.start()
    try:
        outcomes = await asyncio.gather(
            *(translator.translate(f"第{n}句。", "zh", "en") for n in range(6)),
            return_exceptions=True,
        )
    finally:
        await translator.aclose()

    busy = [o for o in outcomes if isinstance(o, TranslatorBusy)]
    assert len(busy) == 4
    assert sum(isinstance(o, str) for o in outcomes) == 2


async def test_empty_packages_dir_offers_no_pairs(tmp_path: Path) -> None:
    translator = ArgosTranslator(tmp_path, isolation="thread")
    try:
        assert await translator.pairs() == {}
    finally:
        await translator.aclose()


def test_process_worker_keeps_argos_and_torch_out_of_the_server_process(
    argos_packages_dir: Path, tmp_path: Path
) -> None:
    # a fresh interpreter, so imports made by other tests do not count
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from translation import TranslationPipeline, LineForTranslation
        from translation.argos import ArgosTranslator

        async def main():
            translator = ArgosTranslator(
                {str(argos_packages_dir)!r}, scratch_dir={str(tmp_path)!r}
            )
            pipeline = TranslationPipeline(translator)
            got = []

            async def collect(result):
                got.append(result)

            pipeline.submit(
                LineForTranslation("l1", "你好。", "zh", frozenset({{"de"}})), collect
            )
            await pipeline.join()
            await pipeline.aclose()
            await translator.aclose()
            assert got[0].status == "machine", got
            heavy = [m for m in ("argostranslate", "ctranslate2", "torch", "stanza")
                     if m in sys.modules]
            assert heavy == [], heavy
            print("ok")

        if __name__ == "__main__":
            asyncio.run(main())
        """
    )
    path = tmp_path / "server_side.py"
    path.write_text(script)

    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


async def test_dead_worker_process_is_reported_then_replaced(
    argos_packages_dir: Path, tmp_path: Path
) -> None:
    import os
    import signal

    translator = ArgosTranslator(argos_packages_dir, scratch_dir=tmp_path)
    try:
        await translator.translate("你好。", "zh", "en")
        executor = translator._executor
        assert executor is not None
        (pid,) = executor._processes  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)

        with pytest.raises(BackendUnavailable, match="dead"):
            for _ in range(50):  # until the pool notices the death
                await translator.translate("你好。", "zh", "en")
                await asyncio.sleep(0.05)
        text = await translator.translate("你好。", "zh", "en")
    finally:
        await translator.aclose()

    assert isinstance(text, str)


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_worker_runs_at_lower_cpu_priority_than_the_server(
    argos_packages_dir: Path, tmp_path: Path, isolation: str
) -> None:
    import os

    base = os.getpriority(os.PRIO_PROCESS, 0)
    translator = ArgosTranslator(
        argos_packages_dir,
        isolation=isolation,  # type: ignore[arg-type]
        scratch_dir=tmp_path,
        niceness=5,
    )
    try:
        await translator.start()
        executor = translator._executor
        if isolation == "thread":
            (thread,) = executor._threads  # type: ignore[union-attr]
            worker_id = thread.native_id
        else:
            (worker_id,) = executor._processes  # type: ignore[union-attr]
        worker_nice = os.getpriority(os.PRIO_PROCESS, worker_id)
    finally:
        await translator.aclose()

    assert worker_nice == min(19, base + 5)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base
