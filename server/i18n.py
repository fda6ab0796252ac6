"""The user-interface catalogue: every visible string, in zh-CN and en."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "web" / "i18n"
LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "accord_lang"


@cache
def catalogue(language: str) -> dict[str, str]:
    """The flat key → text mapping of one language, from all its files.

    Each area of the client keeps its strings in its own file
    (``web/i18n/<language>/<area>.json``); a key defined twice is an error.
    """
    merged: dict[str, str] = {}
    for path in sorted((CATALOGUE_DIR / language).glob("*.json")):
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        clash = merged.keys() & data.keys()
        if clash:
            raise ValueError(f"{path.name} redefines {sorted(clash)[:3]}")
        merged.update(data)
    return merged


def normalise(language: str | None) -> str | None:
    """Map what a browser or a party says (zh, zh-cn, en-GB) to a UI language."""
    if not language:
        return None
    lowered = language.strip().lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return None


def text(language: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``language``, falling back to English, then the key."""
    template = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
    if template is None:
        return key
    return template.format(**values) if values else template


def request_language(request: Request) -> str:
    """The UI language: ?lang=, then the cookie, then Accept-Language."""
    for candidate in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
    ):
        if (lang := normalise(candidate)) is not None:
            return lang
    for part in request.headers.get("accept-language", "").split(","):
        if (lang := normalise(part.split(";")[0])) is not None:
            return lang
    return DEFAULT_LANGUAGE
