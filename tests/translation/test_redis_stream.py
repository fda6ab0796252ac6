"""Translation jobs through a Redis stream to workers (needs a Redis server)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.translation.conftest import ScriptedTranslator
from translation import (
    LineForTranslation,
    ResultStatus,
    TranslationPipeline,
    TranslationResult,
)
from translation.argos import ArgosTranslator
from translation.redis_stream import RedisStreamTranslator, RedisTranslationWorker

REDIS_URL = os.environ.get("ACCORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.redis


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    """A stream key no other test uses; deleted afterwards."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    key = f"accord-test:translation:{uuid.uuid4().hex}"
    yield key
    stale = [k async for k in client.scan_iter(match=f"{key}*")]
    if stale:
        await client.delete(*stale)
    await client.aclose()


class Collector:
    def __init__(self) -> None:
        self.results: list[TranslationResult] = []

    async def __call__(self, result: TranslationResult) -> None:
        self.results.append(result)


async def run_worker(worker: RedisTranslationWorker) -> asyncio.Task[None]:
    task = asyncio.create_task(worker.run())
    await worker.advertise()
    return task


async def stop_worker(worker: RedisTranslationWorker, task: asyncio.Task[None]) -> None:
    worker.stop()
    await task
    await worker.aclose()


async def test_jobs_flow_through_the_stream_to_a_worker(stream: str) -> None:
    worker = RedisTranslationWorker(ScriptedTranslator(), REDIS_URL, stream=stream)
    task = await run_worker(worker)
    client = RedisStreamTranslator(REDIS_URL, stream=stream)
    pipeline = TranslationPipeline(client, timeout_s=5)
    got = Collector()

    for number in range(3):
        pipeline.submit(
            LineForTranslation(f"l{number}", f"第{number}行", "zh", frozenset({"de"})),
            got,
        )
    await pipeline.join()
    await pipeline.aclose()
    await client.aclose()
    await stop_worker(worker, task)

    assert [(r.line_id, r.text) for r in got.results] == [
        ("l0", "de(en(第0行))"),
        ("l1", "de(en(第1行))"),
        ("l2", "de(en(第2行))"),
    ]
    assert got.results[0].model_version == "zh-en@1+en-de@1"
    assert worker.processed == 6


async def test_worker_errors_come_back_as_unavailable(stream: str) -> None:
    worker = RedisTranslationWorker(
        ScriptedTranslator(fail_on="坏"), REDIS_URL, stream=stream
    )
    task = await run_worker(worker)
    client = RedisStreamTranslator(REDIS_URL, stream=stream)
    pipeline = TranslationPipeline(client, timeout_s=5)
    got = Collector()

    pipeline.submit(LineForTranslation("l1", "坏", "zh", frozenset({"en"})), got)
    await pipeline.join()
    await pipeline.aclose()
    await client.aclose()
    await stop_worker(worker, task)

    assert got.results[0].status is ResultStatus.UNAVAILABLE
    assert got.results[0].error_code == "backend_error"


async def test_no_worker_means_timeout_and_stale_jobs_are_skipped(stream: str) -> None:
    # a worker has advertised its pairs, then gone away
    scripted = ScriptedTranslator()
    worker = RedisTranslationWorker(scripted, REDIS_URL, stream=stream)
    await worker.advertise()
    # the job's own deadline is shorter than the pipeline's wait
    client = RedisStreamTranslator(REDIS_URL, stream=stream, job_timeout_s=0.01)
    pipeline = TranslationPipeline(client, timeout_s=0.2)
    got = Collector()

    pipeline.submit(LineForTranslation("l1", "你好", "zh", frozenset({"en"})), got)
    await pipeline.join()
    assert got.results[0].error_code == "timeout"

    # the worker comes back after the deadline: it skips the job
    task = await run_worker(worker)
    for _ in range(500):
        if worker.processed:
            break
        await asyncio.sleep(0.02)
    await stop_worker(worker, task)
    await pipeline.aclose()
    await client.aclose()

    assert worker.processed == 1
    assert scripted.calls == []


async def test_stream_worker_runs_real_argos_packages(
    stream: str, argos_packages_dir: Path
) -> None:
    argos = ArgosTranslator(argos_packages_dir, isolation="thread")
    worker = RedisTranslationWorker(argos, REDIS_URL, stream=stream)
    task = await run_worker(worker)
    client = RedisStreamTranslator(REDIS_URL, stream=stream)
    pipeline = TranslationPipeline(client, timeout_s=10)
    got = Collector()

    pipeline.submit(LineForTranslation("l1", "你好。", "zh", frozenset({"de"})), got)
    await pipeline.join()
    await pipeline.aclose()
    await client.aclose()
    await stop_worker(worker, task)
    await argos.aclose()

    assert got.results[0].status is ResultStatus.MACHINE
    assert got.results[0].model_version is not None
    assert "argos:zh-en" in got.results[0].model_version


async def test_advertised_pairs_expire_unless_renewed(stream: str) -> None:
    worker = RedisTranslationWorker(
        ScriptedTranslator(), REDIS_URL, stream=stream, advertise_ttl_s=30
    )
    await worker.advertise()
    client = aioredis.from_url(REDIS_URL)

    ttl = await client.ttl(f"{stream}:pairs")
    await client.aclose()
    await worker.aclose()

    assert 0 < ttl <= 30
