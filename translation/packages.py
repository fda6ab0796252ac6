"""Installing and listing argostranslate ``.argosmodel`` packages, offline.

A package is a zip holding one top-level directory with ``metadata.json``,
a CTranslate2 model in ``model/`` and a ``sentencepiece.model`` (or
``bpe.model``). Installing only validates and unzips, like argostranslate's
own installer, but without importing argostranslate (its installer pulls in
torch and stanza) and without any network access.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from translation.errors import PackageError

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes unpacked so far, total bytes) while a package unpacks."""

FINGERPRINT_FILE = "accord-fingerprint.json"
MAX_UNPACKED_BYTES = 4 * 1024**3
_REQUIRED_METADATA = ("from_code", "to_code", "package_version")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class InstalledPackage:
    """One installed translation package, as `list_packages` reports it."""

    from_code: str
    to_code: str
    from_name: str
    to_name: str
    package_version: str
    path: Path
    fingerprint: str

    @property
    def model_version(self) -> str:
        """The version string shown with every translation this model makes."""
        return (
            f"argos:{self.from_code}-{self.to_code}@{self.package_version}"
            f"#{self.fingerprint}"
        )


def install_package(
    path: Path | str,
    packages_dir: Path | str,
    progress: ProgressCallback | None = None,
    *,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> InstalledPackage:
    """Validate an ``.argosmodel`` file and unpack it into ``packages_dir``.

    An existing package with the same directory name is replaced only once
    the new one is completely unpacked, so a failed install changes nothing.
    """
    path = Path(path)
    packages_dir = Path(packages_dir)
    if not path.is_file():
        raise PackageError(f"expected an .argosmodel file, got no file at {path}")
    if not zipfile.is_zipfile(path):
        raise PackageError(
            f"expected an .argosmodel file (a zip archive), got {path.name!r}, "
            "which is not a zip archive"
        )

    try:
        with zipfile.ZipFile(path) as archive:
            top, members, total = _check_archive(archive, path, max_unpacked_bytes)
            packages_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=packages_dir))
            try:
                digest = _unpack(archive, members, staging, total, progress)
                _check_metadata(staging / top, path)
                (staging / top / FINGERPRINT_FILE).write_text(
                    json.dumps({"model_sha256": digest})
                )
                target = packages_dir / top
                _replace_dir(staging / top, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise PackageError(
            f"expected a readable zip archive, got a corrupt file {path.name!r}: {exc}"
        ) from exc
    except OSError as exc:
        raise PackageError(
            f"expected to unpack {path.name!r} into {packages_dir}, got "
            f"{type(exc).__name__}: {exc}; check the directory's permissions "
            "and free space"
        ) from exc

    installed = _read_package(target)
    if installed is None:  # pragma: no cover - checked above
        raise PackageError(f"package unpacked into {target} but cannot be read")
    logger.info(
        "translation package installed: %s>%s version %s",
        installed.from_code,
        installed.to_code,
        installed.package_version,
    )
    return installed


def list_packages(packages_dir: Path | str) -> list[InstalledPackage]:
    """The translation packages installed in ``packages_dir``, sorted by pair."""
    packages_dir = Path(packages_dir)
    if not packages_dir.is_dir():
        return []
    found = []
    for child in sorted(packages_dir.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        package = _read_package(child)
        if package is not None:
            found.append(package)
    return sorted(found, key=lambda p: (p.from_code, p.to_code, p.package_version))


def _check_archive(
    archive: zipfile.ZipFile, path: Path, max_unpacked_bytes: int
) -> tuple[str, list[zipfile.ZipInfo], int]:
    members = archive.infolist()
    if not members:
        raise PackageError(
            f"expected a package directory inside {path.name}, got an empty zip"
        )

    tops: set[str] = set()
    total = 0
    for info in members:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
            raise PackageError(
                f"expected relative paths inside {path.name}, got {info.filename!r}"
            )
        tops.add(name.parts[0])
        total += info.file_size
    if len(tops) != 1:
        raise PackageError(
            f"expected one top-level directory inside {path.name}, "
            f"got {len(tops)}: {sorted(tops)[:5]}"
        )
    if total > max_unpacked_bytes:
        raise PackageError(
            f"expected at most {max_unpacked_bytes} unpacked bytes, "
            f"got {total} in {path.name}"
        )

    top = tops.pop()
    names = {info.filename.rstrip("/") for info in members}
    wanted = [f"{top}/metadata.json", f"{top}/model/model.bin"]
    missing = [name for name in wanted if name not in names]
    if not {f"{top}/sentencepiece.model", f"{top}/bpe.model"} & names:
        missing.append(f"{top}/sentencepiece.model")
    if missing:
        raise PackageError(
            f"expected an argostranslate package in {path.name}, "
            f"but it lacks {', '.join(missing)}"
        )
    bad = archive.testzip()
    if bad is not None:
        raise PackageError(
            f"expected intact files in {path.name}, got a bad CRC in {bad!r}"
        )
    return top, members, total


def _unpack(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    into: Path,
    total: int,
    progress: ProgressCallback | None,
) -> str:
    # hash the model while unpacking: it is the fingerprint in the model version
    model_hash = hashlib.sha256()
    done = 0
    for info in members:
        dest = into / info.filename
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        is_model = PurePosixPath(info.filename).parts[1:] == ("model", "model.bin")
        with archive.open(info) as src, dest.open("wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                if is_model:
                    model_hash.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    if progress is not None:
        progress(total, total)
    return model_hash.hexdigest()


def _check_metadata(package_dir: Path, path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads((package_dir / "metadata.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(
            f"expected metadata.json in {path.name} to be JSON, got an error: {exc}"
        ) from exc
    if not isinstance(metadata, dict):
        raise PackageError(
            f"expected a JSON object in {path.name}'s metadata.json, "
            f"got {type(metadata).__name__}"
        )
    missing = [key for key in _REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        raise PackageError(
            f"expected {', '.join(_REQUIRED_METADATA)} in {path.name}'s "
            f"metadata.json, got none for {', '.join(missing)}"
        )
    kind = metadata.get("type", "translate")
    if kind != "translate":
        raise PackageError(
            f"expected a package of type 'translate' in {path.name}, got {kind!r}"
        )
    return metadata


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".replaced-{target.name}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


def _read_package(package_dir: Path) -> InstalledPackage | None:
    try:
        metadata = json.loads((package_dir / "metadata.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if (
        not isinstance(metadata, dict)
        or metadata.get("type", "translate") != "translate"
    ):
        return None
    if not all(metadata.get(key) for key in _REQUIRED_METADATA):
        return None
    return InstalledPackage(
        from_code=str(metadata["from_code"]),
        to_code=str(metadata["to_code"]),
        from_name=str(metadata.get("from_name", metadata["from_code"])),
        to_name=str(metadata.get("to_name", metadata["to_code"])),
        package_version=str(metadata["package_version"]),
        path=package_dir,
        fingerprint=_fingerprint(package_dir),
    )


def _fingerprint(package_dir: Path) -> str:
    try:
        recorded = json.loads((package_dir / FINGERPRINT_FILE).read_text("utf-8"))
        return str(recorded["model_sha256"])[:12]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    # installed by other tools: size and mtime change whenever the model does
    try:
        stat = (package_dir / "model" / "model.bin").stat()
    except OSError:
        return "unknown"
    return f"s{stat.st_size:x}m{int(stat.st_mtime):x}"
