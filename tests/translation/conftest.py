"""Fixtures: tiny real argostranslate packages, isolated argos directories."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from translation.errors import BackendFailed, UnsupportedPair
from translation.packages import install_package
from translation.translator import LanguagePair

BUILDER = Path(__file__).with_name("model_builder.py")
PAIRS = (("zh", "en"), ("en", "de"))


@pytest.fixture(scope="session", autouse=True)
def isolated_argos_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point HOME, XDG and ARGOS_PACKAGES_DIR at temporary directories."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        patch.setenv("XDG_CACHE_HOME", str(home / "cache"))
        patch.setenv("ARGOS_PACKAGES_DIR", str(home / "argos-packages"))
        yield home


@pytest.fixture(scope="session")
def argos_model_files(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Path]:
    """Tiny .argosmodel files for zh>en and en>de, built once and cached on disk.

    The cache key includes the builder's source, so changing the builder
    rebuilds them. Building runs in a subprocess: torch and transformers stay
    out of the test process.
    """
    digest = hashlib.sha256(BUILDER.read_bytes()).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        cache_dir = Path(cache.mkdir(f"accord-argos-{digest}"))
    else:
        cache_dir = tmp_path_factory.mktemp("argos-models")
    files = {}
    for source, target in PAIRS:
        out = cache_dir / f"{source}_{target}.argosmodel"
        if not out.exists():
            subprocess.run(
                [sys.executable, "-m", "tests.translation.model_builder", str(out),
                 source, target, "tiny"],
                check=True,
                capture_output=True,
                cwd=BUILDER.parents[2],
            )  # fmt: skip
        files[(source, target)] = out
    return files


@pytest.fixture(scope="session")
def argos_packages_dir(
    argos_model_files: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A packages directory with both tiny packages installed."""
    packages_dir = tmp_path_factory.mktemp("argos-packages")
    for file in argos_model_files.values():
        install_package(file, packages_dir)
    return packages_dir


class ScriptedTranslator:
    """A real, deterministic backend for pipeline tests: marks text per hop.

    ``translate`` returns ``"<target>(text)"``; ``gate`` holds every call
    until set, ``fail_on`` raises on texts containing it.
    """

    name = "scripted"

    def __init__(
        self,
        pairs: Mapping[tuple[str, str], str] | None = None,
        *,
        fail_on: str | None = None,
        lose_placeholders: bool = False,
    ) -> None:
        raw = pairs or {("zh", "en"): "zh-en@1", ("en", "de"): "en-de@1"}
        self._pairs = {LanguagePair(*pair): v for pair, v in raw.items()}
        self.fail_on = fail_on
        self.lose_placeholders = lose_placeholders
        self.gate = asyncio.Event()
        self.gate.set()
        self.calls: list[tuple[str, str, str]] = []

    async def pairs(self) -> Mapping[LanguagePair, str]:
        return dict(self._pairs)

    async def translate(self, text: str, source: str, target: str) -> str:
        if LanguagePair(source, target) not in self._pairs:
            raise UnsupportedPair(f"expected a known pair, got {source}>{target}")
        self.calls.append((text, source, target))
        await self.gate.wait()
        if self.fail_on is not None and self.fail_on in text:
            raise BackendFailed("expected a translation, got a scripted failure")
        if self.lose_placeholders:
            text = text.replace("[#", "(").replace("]", ")")
        return f"{target}({text})"

    async def aclose(self) -> None:
        pass


@pytest.fixture
def scripted() -> ScriptedTranslator:
    """A deterministic in-process translator (zh>en, en>de)."""
    return ScriptedTranslator()
