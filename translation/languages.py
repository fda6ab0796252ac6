"""Language tags as people declare them, and the codes translation models use."""

from __future__ import annotations

import re

# en, zh-CN, pt-BR, zh-Hant: a primary subtag and optional region or script
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
# Argos names traditional Chinese "zt"; every other language by its primary tag
_TRADITIONAL = {"zh-tw", "zh-hk", "zh-mo", "zh-hant"}


def is_language_tag(tag: str) -> bool:
    """Whether ``tag`` looks like a BCP 47 language tag Accord can store."""
    return len(tag) <= 10 and _TAG.match(tag) is not None


def model_code(tag: str) -> str:
    """The model language code for a declared language (``zh-CN`` → ``zh``)."""
    lowered = tag.strip().lower()
    if lowered in _TRADITIONAL or lowered.startswith("zh-hant"):
        return "zt"
    return lowered.split("-", 1)[0]
