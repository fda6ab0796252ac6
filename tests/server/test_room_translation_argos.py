"""The room translating through the real argostranslate code path.

The tiny genuine .argosmodel packages of tests/translation (zh→en, en→de;
random weights, so the output is deterministic gibberish) are installed in a
temporary directory; the server is configured with ``ACCORD_TRANSLATION_BACKEND
=argos``. One run keeps the models in the default child process; one runs
them in a thread of the test process with every non-loopback connection and
name lookup refused, so nothing can be downloaded.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, make_settings, start_live_server
from tests.server.roomkit import settle, wait_for
from tests.server.translation_support import (
    close_all,
    seated_room,
    translation_into,
    updates,
)
from tests.translation.conftest import (  # noqa: F401 (fixtures)
    argos_model_files,
    argos_packages_dir,
    isolated_argos_dirs,
)

pytestmark = pytest.mark.slow

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse every connection and lookup that is not to this machine."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    real_create = socket.create_connection

    def host_of(address: Any) -> str:
        return str(address[0]) if isinstance(address, tuple) else str(address)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and (
            host_of(address) not in LOOPBACK
        ):
            attempts.append(address)
            raise OSError("networking is blocked in this test")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and str(host) not in LOOPBACK:
            attempts.append(host)
            raise OSError("name lookups are blocked in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if host_of(address) not in LOOPBACK:
            attempts.append(address)
            raise OSError("networking is blocked in this test")
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


def _env(packages: Path, isolation: str) -> dict[str, str]:
    return {
        "ACCORD_TRANSLATION_BACKEND": "argos",
        "ACCORD_TRANSLATION_PACKAGES_DIR": str(packages),
        "ACCORD_TRANSLATION_ISOLATION": isolation,
        "ACCORD_TRANSLATION_TIMEOUT_S": "30",
    }


@pytest.fixture
async def live_process(
    argos_packages_dir: Path,  # noqa: F811
    sqlite_url: str,
    tmp_path: Path,
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        sqlite_url, tmp_path, **_env(argos_packages_dir, "process")
    )
    server = await start_live_server(settings)
    yield server
    await server.stop()


@pytest.fixture
async def live_offline(
    argos_packages_dir: Path,  # noqa: F811
    sqlite_url: str,
    tmp_path: Path,
    loopback_only: list[Any],
) -> AsyncIterator[LiveServer]:
    settings = make_settings(sqlite_url, tmp_path, **_env(argos_packages_dir, "thread"))
    server = await start_live_server(settings)
    yield server
    await server.stop()


async def _zh_to_de_and_en(live: LiveServer) -> None:
    setup = await seated_room(
        live,
        {"claimant": "zh-CN", "respondent": "de", "interpreter": "en"},
    )
    peers = setup["peers"]
    cla, res, med = peers["claimant"], peers["respondent"], peers["mediator"]
    try:
        ack = await cla.call("chat.send", {"client_id": "a1", "text": "我收到了包裹。"})
        assert ack["ok"], ack
        seq = ack["seq"]
        await wait_for(lambda: translation_into(res, seq, "de") is not None, 30)
        await wait_for(lambda: translation_into(med, seq, "en") is not None, 30)
        german = translation_into(res, seq, "de")
        english = translation_into(med, seq, "en")
        assert german is not None and english is not None
        assert german["status"] == english["status"] == "machine"
        assert german["text"] and english["text"]
        # zh→de has no model: through English, naming both models
        assert english["model"].startswith("argos:zh-en@")
        first, second = german["model"].split("+")
        assert first == english["model"] and second.startswith("argos:en-de@")
        # the original came first, on every socket
        for peer in (res, med):
            order = [
                ln["seq"] for ln in peer.lines if seq in (ln["seq"], ln.get("ref"))
            ]
            assert order[0] == seq and len(order) >= 2

        # the same line again comes from the cache, with the same output
        again = await cla.call(
            "chat.send", {"client_id": "a2", "text": "我收到了包裹。"}
        )
        await wait_for(lambda: translation_into(res, again["seq"], "de") is not None)
        assert translation_into(res, again["seq"], "de")["text"] == german["text"]  # type: ignore[index]
        room = live.services.extras["room_translation"]
        assert room.pipeline.stats.cache_hits >= 2
        await settle()
        assert updates(res, kind="translation.draft") == []
    finally:
        await close_all(setup)


async def test_room_translates_with_real_packages_in_a_worker_process(
    live_process: LiveServer,
) -> None:
    await _zh_to_de_and_en(live_process)


async def test_room_translates_with_networking_blocked(
    live_offline: LiveServer, loopback_only: list[Any]
) -> None:
    await _zh_to_de_and_en(live_offline)
    assert loopback_only == []  # nothing even tried to reach the network
