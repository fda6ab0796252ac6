"""``accord translation``: install and list packages offline, run a worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from server.errors import ConfigurationError
from server.settings import Settings

logger = logging.getLogger(__name__)


def _packages_dir(args: argparse.Namespace, settings: Settings) -> Path:
    chosen: Path | None = args.packages_dir or settings.translation.packages_dir
    if chosen is None:
        raise ConfigurationError(
            "expected a packages directory, got none; set "
            "ACCORD_TRANSLATION_PACKAGES_DIR or pass --packages-dir"
        )
    return Path(chosen)


class _Progress:
    """Prints unpacking progress in whole percent, each step once."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent >= self.shown + 10 or (percent == 100 and self.shown < 100):
            self.shown = percent
            self.out.write(f"\runpacking: {percent:3d}%")
            self.out.flush()


def _install(args: argparse.Namespace, settings: Settings) -> int:
    from translation import PackageError, install_package

    target = _packages_dir(args, settings)
    target.mkdir(parents=True, exist_ok=True)
    progress = _Progress(sys.stdout)
    try:
        package = install_package(args.file, target, progress=progress)
    except PackageError as exc:
        print(f"\naccord: {exc.code}: {exc}", file=sys.stderr)
        return 1
    print()
    print(
        f"installed {package.from_code} → {package.to_code} "
        f"({package.from_name} → {package.to_name}), version "
        f"{package.package_version}, in {package.path}"
    )
    print("restart the server to use it")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from translation import list_packages

    target = _packages_dir(args, settings)
    packages = list_packages(target) if target.is_dir() else []
    if not packages:
        print(f"no translation packages in {target}")
        return 0
    for package in packages:
        print(
            f"{package.from_code} → {package.to_code}  "
            f"{package.from_name} → {package.to_name}  "
            f"v{package.package_version}  {package.model_version}"
        )
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from translation.argos import ArgosTranslator
    from translation.redis_stream import RedisTranslationWorker

    if not settings.redis_url:
        raise ConfigurationError(
            "expected ACCORD_REDIS_URL for a translation worker, got none"
        )
    isolation = settings.translation.isolation
    translator = ArgosTranslator(
        _packages_dir(args, settings),
        isolation="thread" if isolation == "thread" else "process",
    )
    worker = RedisTranslationWorker(
        translator,
        settings.redis_url,
        stream=f"{settings.rooms.redis_prefix}:translation",
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        try:
            pairs = await translator.pairs()
            print(f"translation worker serving {len(pairs)} pairs", flush=True)
            await worker.run()
        finally:
            await worker.aclose()
            await translator.aclose()

    asyncio.run(run())
    return 0


def register(sub: Any) -> None:
    """Add ``accord translation install|list|worker``."""
    translation = sub.add_parser("translation", help="machine translation packages")
    commands = translation.add_subparsers(dest="translation_command", required=True)

    install = commands.add_parser(
        "install", help="install an .argosmodel file (no network)"
    )
    install.add_argument("file", type=Path, help="the .argosmodel file")
    install.add_argument("--packages-dir", type=Path, default=None)
    install.set_defaults(handler=_install)

    listing = commands.add_parser("list", help="list the installed language pairs")
    listing.add_argument("--packages-dir", type=Path, default=None)
    listing.set_defaults(handler=_list)

    worker = commands.add_parser(
        "worker", help="translate lines queued on Redis (ACCORD_TRANSLATION_QUEUE)"
    )
    worker.add_argument("--packages-dir", type=Path, default=None)
    worker.set_defaults(handler=_worker)
