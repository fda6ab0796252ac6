"""Building the configured translator from plain settings values."""

from __future__ import annotations

from pathlib import Path

from translation.errors import ConfigurationError
from translation.translator import NoTranslator, Translator


def build_translator(
    backend: str,
    *,
    packages_dir: Path | None = None,
    libretranslate_url: str | None = None,
    libretranslate_api_key: str | None = None,
    timeout_s: float = 10.0,
    redis_url: str | None = None,
    redis_stream: str | None = None,
    isolation: str = "process",
    scratch_dir: Path | None = None,
) -> Translator:
    """The translator for ``backend`` (``none``, ``argos`` or ``libretranslate``).

    With ``redis_url`` set and backend ``argos``, the server process gets a
    `RedisStreamTranslator` and the models run in ``accord`` translation
    workers elsewhere (see `RedisTranslationWorker`).
    """
    if backend == "none":
        return NoTranslator()

    if backend == "libretranslate":
        if not libretranslate_url:
            raise ConfigurationError(
                "expected ACCORD_TRANSLATION_LIBRETRANSLATE_URL with the "
                "libretranslate backend, got no URL"
            )
        from translation.libretranslate import LibreTranslateTranslator

        return LibreTranslateTranslator(
            libretranslate_url, api_key=libretranslate_api_key, timeout_s=timeout_s
        )

    if backend == "argos":
        if redis_url:
            from translation.redis_stream import DEFAULT_STREAM, RedisStreamTranslator

            return RedisStreamTranslator(
                redis_url,
                stream=redis_stream or DEFAULT_STREAM,
                job_timeout_s=timeout_s,
            )
        if packages_dir is None:
            raise ConfigurationError(
                "expected ACCORD_TRANSLATION_PACKAGES_DIR with the argos backend, "
                "got no directory"
            )
        if isolation not in ("process", "thread"):
            raise ConfigurationError(
                f"expected isolation 'process' or 'thread', got {isolation!r}"
            )
        from translation.argos import ArgosTranslator

        return ArgosTranslator(
            packages_dir,
            isolation="process" if isolation == "process" else "thread",
            scratch_dir=scratch_dir,
        )

    raise ConfigurationError(
        f"expected translation backend none, argos or libretranslate, got {backend!r}"
    )
