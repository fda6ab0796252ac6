"""A bounded least-recently-used cache of machine translations."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from translation.errors import ConfigurationError


class CacheKey(NamedTuple):
    """What identifies a translation: the text, the pair and the model version."""

    text: str
    source: str
    target: str
    model_version: str


class TranslationCache:
    """Keeps at most ``max_entries`` translations, evicting the least recent."""

    def __init__(self, max_entries: int = 10_000, max_text_chars: int = 2_000) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"expected max_entries >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.max_text_chars = max_text_chars
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[CacheKey, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> str | None:
        """The cached translation for ``key``, or None."""
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: CacheKey, translation: str) -> None:
        """Remember a translation; very long texts are not cached."""
        if len(key.text) > self.max_text_chars:
            return
        self._entries[key] = translation
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (for example after a model is replaced)."""
        self._entries.clear()
