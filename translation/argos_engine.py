"""The part of the argos backend that runs inside its worker thread or process.

Everything here touches argostranslate and CTranslate2 objects, which are not
thread-safe, so one `ArgosEngine` is only ever used from one worker thread.
argostranslate is imported lazily, with two adjustments that keep it light
and offline:

- ``stanza`` (which imports torch, about 5 s) is replaced by an empty module
  and ``spacy`` is hidden: argostranslate imports both at module level but
  uses them only for sentence splitting, which Accord does itself;
- every package's sentence splitter is replaced by `AccordSentencizer`, so
  MiniSBD never downloads its model.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translation.packages import list_packages
from translation.splitter import AccordSentencizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    """How the worker loads argostranslate; picklable for a worker process."""

    packages_dir: Path
    beam_size: int | None = None
    intra_threads: int = 0
    inter_threads: int = 1
    compute_type: str = "auto"
    # where argostranslate may create its settings/cache directories
    scratch_dir: Path | None = None
    niceness: int = 0


class ArgosEngine:
    """Loaded argostranslate packages, one direct translation per pair."""

    def __init__(self, config: EngineConfig) -> None:
        self._config = config
        self._translations: dict[tuple[str, str], Any] = {}

    def load(self) -> dict[tuple[str, str], str]:
        """Load every installed package; return each pair's model version."""
        translate_module, settings = _import_argos(self._config)
        import ctranslate2

        versions: dict[tuple[str, str], str] = {}
        self._translations.clear()
        for installed in list_packages(self._config.packages_dir):
            pair = (installed.from_code, installed.to_code)
            package = translate_module.package.Package(installed.path)
            translation = translate_module.PackageTranslation(
                translate_module.Language(installed.from_code, installed.from_name),
                translate_module.Language(installed.to_code, installed.to_name),
                package,
            )
            translation.sentencizer = AccordSentencizer()
            # load the model now rather than on the first chat line
            translation.translator = ctranslate2.Translator(
                str(installed.path / "model"),
                device=settings.device,
                inter_threads=settings.inter_threads,
                intra_threads=settings.intra_threads,
                compute_type=settings.compute_type,
            )
            self._translations[pair] = translation
            versions[pair] = installed.model_version
        logger.info("argos engine loaded %d translation packages", len(versions))
        return versions

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate along one loaded pair (call from the worker thread only)."""
        translation = self._translations.get((source, target))
        if translation is None:
            raise KeyError(f"{source}>{target}")
        return str(translation.translate(text))


def _import_argos(config: EngineConfig) -> tuple[Any, Any]:
    # argostranslate.sbd imports stanza and spacy unconditionally; neither is
    # used once the sentencizer is replaced, and stanza pulls in torch.
    if "stanza" not in sys.modules:
        sys.modules["stanza"] = _stub_module("stanza")
    sys.modules.setdefault("spacy", None)  # type: ignore[arg-type]

    import argostranslate.settings as settings
    import argostranslate.translate as translate_module

    if config.beam_size is not None:
        settings.beam_size = config.beam_size
    settings.intra_threads = config.intra_threads
    settings.inter_threads = config.inter_threads
    settings.compute_type = config.compute_type
    settings.package_dirs = [config.packages_dir]
    return translate_module, settings


def _stub_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__doc__ = f"Placeholder for {name}: Accord does its own sentence splitting."
    return module


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux: per thread; else no-op).

    Under CPU contention the event loop relaying chat then wins over the
    translation worker, which is what keeps chat latency flat while
    translation is saturated.
    """
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        # on Linux a thread id addresses one thread, the main one = the process
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))
    except OSError:
        logger.debug("could not lower the translation worker's priority")


# the worker-process side: one engine per process, created by the initializer
_process_engine: ArgosEngine | None = None


def process_initializer(config: EngineConfig) -> None:
    """Prepare a worker process: argostranslate's directories, then its engine."""
    global _process_engine
    lower_priority(config.niceness)
    if config.scratch_dir is not None:
        # argostranslate creates its data/config/cache directories at import
        for variable, sub in (
            ("XDG_DATA_HOME", "data"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
        ):
            os.environ[variable] = str(config.scratch_dir / sub)
    os.environ["ARGOS_PACKAGES_DIR"] = str(config.packages_dir)
    _process_engine = ArgosEngine(config)


def process_load() -> dict[tuple[str, str], str]:
    """Load the packages in this worker process."""
    assert _process_engine is not None, "process_initializer did not run"
    return _process_engine.load()


def process_translate(text: str, source: str, target: str) -> str:
    """Translate in this worker process."""
    assert _process_engine is not None, "process_initializer did not run"
    return _process_engine.translate(text, source, target)
