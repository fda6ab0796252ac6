"""Building the configured translator."""

from __future__ import annotations

from pathlib import Path

import pytest

from translation import NoTranslator, build_translator
from translation.argos import ArgosTranslator
from translation.errors import ConfigurationError
from translation.libretranslate import LibreTranslateTranslator
from translation.redis_stream import RedisStreamTranslator


async def test_each_backend_name_builds_its_translator(tmp_path: Path) -> None:
    assert isinstance(build_translator("none"), NoTranslator)

    argos = build_translator("argos", packages_dir=tmp_path)
    libre = build_translator("libretranslate", libretranslate_url="http://127.0.0.1:1")
    remote = build_translator("argos", redis_url="redis://127.0.0.1:6379/0")

    assert isinstance(argos, ArgosTranslator)
    assert isinstance(libre, LibreTranslateTranslator)
    assert isinstance(remote, RedisStreamTranslator)
    for translator in (argos, libre, remote):
        await translator.aclose()


@pytest.mark.parametrize(
    ("backend", "kwargs", "message"),
    [
        ("libretranslate", {}, "LIBRETRANSLATE_URL"),
        ("argos", {}, "PACKAGES_DIR"),
        ("argos", {"packages_dir": Path("."), "isolation": "fork"}, "got 'fork'"),
        ("deepl", {}, "got 'deepl'"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(
    backend: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_translator(backend, **kwargs)  # type: ignore[arg-type]
