"""The agreement's free-text terms in a reader's language, beside the language
of record (GET /api/cases/{ref}/agreement/translation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from tests.conftest import make_settings
from tests.server.negotiation.conftest import (  # noqa: F401 (fixtures)
    As,
    World,
    actors,
    world,
)
from tests.server.negotiation.test_settlement import drafted
from tests.server.translation_support import (
    FakeLibreTranslate,
    libretranslate_env,
    serve_fake,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeLibreTranslate]:
    async with serve_fake(FakeLibreTranslate()) as served:
        yield served


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake: FakeLibreTranslate) -> Settings:
    """The app's settings with the libretranslate backend on the look-alike."""
    return make_settings(database_url, tmp_path, **libretranslate_env(fake))


async def test_obligations_are_machine_translated_for_the_reader(
    app: Any,
    world: World,  # noqa: F811
    actors: dict[str, As],  # noqa: F811
    fake: FakeLibreTranslate,
) -> None:
    doc = await drafted(app, world, actors)
    url = f"/api/cases/{world.reference}/agreement/translation"

    chinese = await actors["claimant"].get(url, params={"language": "zh-CN"})
    assert chinese.status_code == 200, chinese.text
    body = chinese.json()
    assert body["language_of_record"] == "zh-CN" and body["language"] == "zh"
    assert body["sha256"] == doc["sha256"]
    (term,) = body["texts"]
    assert term["where"] == "1" and term["source"] == "en"
    assert term["original"] == "Collect the broken sofa"
    assert (term["status"], term["text"]) == ("machine", "[zh] Collect the broken sofa")
    assert term["model"].startswith("libretranslate:")

    english = await actors["respondent"].get(url, params={"language": "en"})
    (same,) = english.json()["texts"]
    assert (same["status"], same["text"]) == ("original", "Collect the broken sofa")
    asked = len(fake.received)

    for bad in ({"language": "no such"}, {}):
        refused = await actors["claimant"].get(url, params=bad)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_language"
    assert len(fake.received) == asked

    # the signed agreement is untouched
    again = await actors["claimant"].get(f"/api/cases/{world.reference}/agreement")
    assert again.json()["sha256"] == doc["sha256"] and again.json()["intact"]
