"""Fixtures for the media router tests: loopback ICE and a router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aioice.ice
import pytest

from recording import MediaConfig, MediaRouter


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offer 127.0.0.1 as the only host candidate (aioice drops loopback)."""
    monkeypatch.setattr(
        aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    )
    yield


@pytest.fixture
async def router() -> AsyncIterator[MediaRouter]:
    """A router with no ICE servers at all, as an offline deployment runs."""
    media = MediaRouter(MediaConfig(speaker_interval=0.2))
    yield media
    await media.close()
