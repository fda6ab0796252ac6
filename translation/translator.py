"""The `Translator` interface every backend implements, and the `none` backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Protocol, runtime_checkable

from translation.errors import UnsupportedPair


class LanguagePair(NamedTuple):
    """A direction of translation, by language code (``zh``, ``en``, ``de``)."""

    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.source}>{self.target}"


@runtime_checkable
class Translator(Protocol):
    """A machine-translation backend; implementations must not block the loop."""

    name: str

    async def pairs(self) -> Mapping[LanguagePair, str]:
        """The directly installed pairs, each mapped to its model version.

        Returns:
            A mapping from each direct pair to an opaque version string that
            changes whenever the model behind it changes (it is part of the
            cache key and is shown next to every machine translation).

        Raises:
            BackendUnavailable: the backend cannot be reached.
        """
        ...

    async def translate(self, text: str, source: str, target: str) -> str:
        """Translate one chat line along one direct pair.

        Args:
            text: the line, possibly several sentences.
            source: language code of ``text``.
            target: language code wanted.

        Returns:
            The machine translation.

        Raises:
            UnsupportedPair: the pair is not one of ``pairs()``.
            BackendUnavailable: the backend cannot be reached.
            BackendFailed: the backend answered without a translation.
            TranslatorBusy: the backend's own backlog is full.
        """
        ...

    async def aclose(self) -> None:
        """Release workers, connections and files."""
        ...


class NoTranslator:
    """The `none` backend: no pairs, so every line stays in its original."""

    name = "none"

    async def pairs(self) -> Mapping[LanguagePair, str]:
        """No pairs at all."""
        return {}

    async def translate(self, text: str, source: str, target: str) -> str:
        """Always refuse: there is nothing installed."""
        raise UnsupportedPair(
            f"expected an installed pair for {source}>{target}, "
            "got the 'none' translation backend"
        )

    async def aclose(self) -> None:
        """Nothing to release."""
