"""Settings: defaults, and a clear message naming the bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import ConfigurationError
from server.settings import ensure_secret_key, load_settings


def test_defaults_use_the_embedded_sqlite_database() -> None:
    settings = load_settings({})
    assert settings.database.url == "sqlite+aiosqlite:///./accord.db"
    assert settings.redis_url is None
    assert settings.origins == ("http://127.0.0.1:8000",)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ACCORD_DATABASE_URL", "mysql://x", "ACCORD_DATABASE_URL"),
        ("ACCORD_MAX_FILE_BYTES", "ten", "'ten'"),
        ("ACCORD_SMTP_PORT", "0", "at least 1"),
        ("ACCORD_REDIS_URL", "http://r", "redis://"),
        ("ACCORD_DEBUG", "maybe", "true or false"),
        ("ACCORD_TRANSLATION_BACKEND", "google", "none, argos, libretranslate"),
        ("ACCORD_TRANSLATION_BACKEND", "libretranslate", "ACCORD_LIBRETRANSLATE_URL"),
    ],
)
def test_a_bad_value_names_variable_and_value(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({variable: value})
    assert expected in str(caught.value)


def test_secret_key_is_generated_once_and_persisted(tmp_path: Path) -> None:
    settings = load_settings({"ACCORD_DATA_DIR": str(tmp_path)})
    first = ensure_secret_key(settings)
    second = ensure_secret_key(settings)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        ensure_secret_key(load_settings({"ACCORD_SECRET_KEY": "short"}))
