"""The LibreTranslate backend against a small real HTTP server speaking its API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from translation import (
    BackendFailed,
    BackendUnavailable,
    LanguagePair,
    LineForTranslation,
    ResultStatus,
    TranslationPipeline,
    TranslationResult,
    UnsupportedPair,
)
from translation.libretranslate import LibreTranslateTranslator

API_KEY = "test-key"
LANGUAGES = [
    {"code": "en", "name": "English", "targets": ["de", "zh"]},
    {"code": "zh", "name": "Chinese", "targets": ["en"]},
    {"code": "de", "name": "German", "targets": ["en"]},
]


def fake_libretranslate(received: list[dict[str, Any]]) -> Starlette:
    """A LibreTranslate look-alike: '[target] text', with a few scripted faults."""

    async def languages(request: Request) -> JSONResponse:
        return JSONResponse(LANGUAGES)

    async def translate(request: Request) -> Any:
        body = await request.json()
        received.append(body)
        if body.get("api_key") != API_KEY:
            return JSONResponse({"error": "Invalid API key"}, status_code=403)
        if body.get("format") != "text":
            return JSONResponse({"error": "format"}, status_code=400)
        if body["q"] == "boom":
            return JSONResponse({"error": "internal"}, status_code=500)
        if body["q"] == "slow":
            await asyncio.sleep(0.5)
        if body["q"] == "weird":
            return PlainTextResponse("not json")
        if body["q"] == "nokey":
            return JSONResponse({"translation": "x"})
        return JSONResponse({"translatedText": f"[{body['target']}] {body['q']}"})

    return Starlette(
        routes=[
            Route("/languages", languages),
            Route("/translate", translate, methods=["POST"]),
        ]
    )


@pytest.fixture
async def service() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Serve the fake on a free 127.0.0.1 port for one test."""
    received: list[dict[str, Any]] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake_libretranslate(received), lifespan="off", ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    # listening before uvicorn starts: early connections wait in the backlog
    sock.listen(16)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield f"http://127.0.0.1:{port}", received
    server.should_exit = True
    await task
    sock.close()


async def test_pairs_come_from_languages_endpoint(
    service: tuple[str, list[dict[str, Any]]],
) -> None:
    url, _ = service
    translator = LibreTranslateTranslator(url, api_key=API_KEY)

    pairs = await translator.pairs()
    await translator.aclose()

    assert set(pairs) == {
        LanguagePair("en", "de"),
        LanguagePair("en", "zh"),
        LanguagePair("zh", "en"),
        LanguagePair("de", "en"),
    }


async def test_translate_posts_text_format_and_api_key(
    service: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = service
    translator = LibreTranslateTranslator(url, api_key=API_KEY)

    text = await translator.translate("你好", "zh", "en")
    await translator.aclose()

    assert text == "[en] 你好"
    assert received == [
        {
            "q": "你好",
            "source": "zh",
            "target": "en",
            "format": "text",
            "api_key": API_KEY,
        }
    ]


async def test_pipeline_pivots_through_english_on_the_service(
    service: tuple[str, list[dict[str, Any]]],
) -> None:
    url, _ = service
    translator = LibreTranslateTranslator(url, api_key=API_KEY)
    pipeline = TranslationPipeline(translator)
    results: list[TranslationResult] = []

    async def collect(result: TranslationResult) -> None:
        results.append(result)

    pipeline.submit(LineForTranslation("l1", "你好", "zh", frozenset({"de"})), collect)
    await pipeline.join()
    await pipeline.aclose()
    await translator.aclose()

    assert results[0].text == "[de] [en] 你好"
    assert results[0].status is ResultStatus.MACHINE


@pytest.mark.parametrize(
    ("text", "api_key", "error"),
    [
        ("boom", API_KEY, BackendFailed),
        ("hello", "wrong-key", BackendFailed),
        ("weird", API_KEY, BackendFailed),
        ("nokey", API_KEY, BackendFailed),
    ],
)
async def test_bad_answers_raise_backend_failed(
    service: tuple[str, list[dict[str, Any]]],
    text: str,
    api_key: str,
    error: type[Exception],
) -> None:
    url, _ = service
    translator = LibreTranslateTranslator(url, api_key=api_key)
    try:
        with pytest.raises(error, match="expected"):
            await translator.translate(text, "en", "de")
    finally:
        await translator.aclose()


async def test_slow_service_times_out_as_unavailable(
    service: tuple[str, list[dict[str, Any]]],
) -> None:
    url, _ = service
    translator = LibreTranslateTranslator(url, api_key=API_KEY, timeout_s=0.1)
    await translator.pairs()
    pipeline = TranslationPipeline(translator)
    results: list[TranslationResult] = []

    async def collect(result: TranslationResult) -> None:
        results.append(result)

    pipeline.submit(LineForTranslation("l1", "slow", "en", frozenset({"de"})), collect)
    await pipeline.join()
    await pipeline.aclose()
    await translator.aclose()

    assert results[0].status is ResultStatus.UNAVAILABLE
    assert results[0].error_code == "backend_unavailable"


async def test_unoffered_pair_is_refused(
    service: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = service
    translator = LibreTranslateTranslator(url, api_key=API_KEY)
    try:
        with pytest.raises(UnsupportedPair):
            await translator.translate("你好", "zh", "de")
    finally:
        await translator.aclose()
    assert received == []


async def test_service_that_is_down_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    translator = LibreTranslateTranslator(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(BackendUnavailable, match="expected to reach"):
            await translator.pairs()
    finally:
        await translator.aclose()
