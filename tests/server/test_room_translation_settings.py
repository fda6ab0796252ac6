"""Which translator the settings build, and the Redis-stream worker path.

The last test runs the room with ``ACCORD_TRANSLATION_QUEUE=redis``: the
server keeps no model and puts each line on a Redis stream, and an
``accord translation worker`` process (the real argos packages, in a thread
of that process) translates it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.errors import ConfigurationError
from server.room_translation import build_room_translator
from server.settings import load_settings
from tests.conftest import TEST_SECRET, make_settings, start_live_server
from tests.server.roomkit import wait_for
from tests.server.translation_support import close_all, seated_room, translation_into
from tests.translation.conftest import (  # noqa: F401 (fixtures)
    argos_model_files,
    argos_packages_dir,
    isolated_argos_dirs,
)
from translation.libretranslate import LibreTranslateTranslator
from translation.redis_stream import RedisStreamTranslator

ROOT = Path(__file__).resolve().parents[2]


def _settings(**env: str) -> object:
    return load_settings({"ACCORD_SECRET_KEY": TEST_SECRET, **env})


async def test_the_settings_choose_the_backend(tmp_path: Path) -> None:
    assert build_room_translator(_settings()) is None  # type: ignore[arg-type]
    libre = build_room_translator(
        _settings(  # type: ignore[arg-type]
            ACCORD_TRANSLATION_BACKEND="libretranslate",
            ACCORD_LIBRETRANSLATE_URL="http://127.0.0.1:9",
        )
    )
    assert isinstance(libre, LibreTranslateTranslator)
    await libre.aclose()
    queued = build_room_translator(
        _settings(  # type: ignore[arg-type]
            ACCORD_TRANSLATION_BACKEND="argos",
            ACCORD_TRANSLATION_QUEUE="redis",
            ACCORD_REDIS_URL="redis://127.0.0.1:6379/0",
        )
    )
    assert isinstance(queued, RedisStreamTranslator)
    await queued.aclose()


def test_bad_translation_settings_name_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="ACCORD_TRANSLATION_QUEUE"):
        _settings(ACCORD_TRANSLATION_QUEUE="redis")
    with pytest.raises(ConfigurationError, match="ACCORD_TRANSLATION_ISOLATION"):
        _settings(ACCORD_TRANSLATION_ISOLATION="fork")
    with pytest.raises(ConfigurationError, match="ACCORD_TRANSLATION_MAX_PENDING"):
        _settings(ACCORD_TRANSLATION_MAX_PENDING="0")
    from translation import ConfigurationError as TranslationConfigurationError

    with pytest.raises(TranslationConfigurationError, match="PACKAGES_DIR"):
        build_room_translator(_settings(ACCORD_TRANSLATION_BACKEND="argos"))  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.redis
async def test_lines_queued_on_redis_are_translated_by_a_translation_worker(
    argos_packages_dir: Path,  # noqa: F811
    redis_url: str,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    env = {
        "ACCORD_TRANSLATION_BACKEND": "argos",
        "ACCORD_TRANSLATION_QUEUE": "redis",
        "ACCORD_TRANSLATION_PACKAGES_DIR": str(argos_packages_dir),
        "ACCORD_TRANSLATION_ISOLATION": "thread",
        "ACCORD_TRANSLATION_TIMEOUT_S": "30",
        "ACCORD_REDIS_URL": redis_url,
        "ACCORD_REDIS_PREFIX": f"accord-test-{tmp_path.name}",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [sys.executable, "-m", "server.cli", "translation", "worker"],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "PYTHONPATH": str(ROOT),
                "ACCORD_SECRET_KEY": TEST_SECRET,
                "ACCORD_DATA_DIR": str(tmp_path / "worker"),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    live = None
    setup = None
    try:
        for _ in range(300):
            if "translation worker serving" in log.read_text():
                break
            assert worker.poll() is None, log.read_text()
            await asyncio.sleep(0.1)
        live = await start_live_server(make_settings(sqlite_url, tmp_path, **env))
        assert "room_translation" in live.services.extras
        setup = await seated_room(
            live, {"claimant": "zh-CN", "respondent": "en"}, interpreter=False
        )
        cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
        ack = await cla.call("chat.send", {"client_id": "q1", "text": "我在这里。"})
        await wait_for(lambda: translation_into(res, ack["seq"], "en") is not None, 30)
        shown = translation_into(res, ack["seq"], "en")
        assert shown is not None
        assert shown["status"] == "machine", shown
        assert shown["model"].startswith("argos:zh-en@")
    finally:
        if setup is not None:
            await close_all(setup)
        if live is not None:
            await live.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(worker.wait, 20)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = await asyncio.to_thread(worker.wait, 5)
    assert code == 0, log.read_text()
