"""A backend that calls a LibreTranslate-compatible HTTP service.

For deployments that already run LibreTranslate (it cannot share Accord's
virtual environment: its pins conflict), or any service speaking its API:
``GET /languages`` lists languages and their targets, ``POST /translate``
with ``{q, source, target, format: "text", api_key?}`` answers
``{translatedText}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from translation.errors import BackendFailed, BackendUnavailable, UnsupportedPair
from translation.translator import LanguagePair

logger = logging.getLogger(__name__)


class LibreTranslateTranslator:
    """Translates through a LibreTranslate-compatible service with httpx."""

    name = "libretranslate"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        languages_ttl_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._languages_ttl_s = languages_ttl_s
        self._client = httpx.AsyncClient(
            base_url=self._base_url, timeout=timeout_s, transport=transport
        )
        self._pairs: dict[LanguagePair, str] | None = None
        self._fetched_at = 0.0

    async def pairs(self) -> Mapping[LanguagePair, str]:
        """The service's pairs, fetched from ``/languages`` and kept a while."""
        now = time.monotonic()
        if self._pairs is None or now - self._fetched_at > self._languages_ttl_s:
            self._pairs = await self._fetch_pairs()
            self._fetched_at = now
        return dict(self._pairs)

    async def translate(self, text: str, source: str, target: str) -> str:
        """POST one line to ``/translate``."""
        if LanguagePair(source, target) not in await self.pairs():
            raise UnsupportedPair(
                f"expected a pair {self._base_url} offers, got {source}>{target}"
            )
        body: dict[str, Any] = {
            "q": text,
            "source": source,
            "target": target,
            "format": "text",
        }
        if self._api_key:
            body["api_key"] = self._api_key
        data = await self._call("POST", "/translate", json=body)
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, str):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise BackendFailed(
                f"expected {{translatedText: string}} from {self._base_url}/translate, "
                f"got {got}"
            )
        return translated

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def _fetch_pairs(self) -> dict[LanguagePair, str]:
        params = {"api_key": self._api_key} if self._api_key else None
        data = await self._call("GET", "/languages", params=params)
        if not isinstance(data, list):
            raise BackendFailed(
                f"expected a list from {self._base_url}/languages, "
                f"got {type(data).__name__}"
            )
        pairs: dict[LanguagePair, str] = {}
        codes = [
            entry["code"]
            for entry in data
            if isinstance(entry, dict) and "code" in entry
        ]
        for entry in data:
            if not isinstance(entry, dict) or "code" not in entry:
                continue
            # older servers omit "targets": they translate between all languages
            targets = entry.get("targets", codes)
            for target in targets:
                if target != entry["code"]:
                    pair = LanguagePair(str(entry["code"]), str(target))
                    pairs[pair] = f"libretranslate:{self._base_url}"
        logger.info("libretranslate offers %d pairs", len(pairs))
        return pairs

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(
                f"expected an answer from {self._base_url}{path}, got a timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"expected to reach {self._base_url}{path}, got {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise BackendFailed(
                f"expected HTTP 200 from {self._base_url}{path}, "
                f"got {response.status_code}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise BackendFailed(
                f"expected JSON from {self._base_url}{path}, got something else"
            ) from exc
