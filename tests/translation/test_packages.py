"""Installing and listing .argosmodel packages without network."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from translation import PackageError, install_package, list_packages


def test_install_shows_progress_and_lists_the_pair(
    argos_model_files: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []

    installed = install_package(
        argos_model_files[("zh", "en")],
        tmp_path,
        progress=lambda d, t: seen.append((d, t)),
    )

    assert (installed.from_code, installed.to_code) == ("zh", "en")
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [(p.from_code, p.to_code) for p in list_packages(tmp_path)] == [("zh", "en")]
    assert installed.model_version.startswith("argos:zh-en@1.0#")


def test_reinstall_replaces_the_package(
    argos_model_files: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    install_package(argos_model_files[("en", "de")], tmp_path)
    install_package(argos_model_files[("en", "de")], tmp_path)

    assert len(list_packages(tmp_path)) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_list_of_missing_directory_is_empty(tmp_path: Path) -> None:
    assert list_packages(tmp_path / "nothing") == []


def test_corrupt_file_gives_a_clear_error_and_installs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.argosmodel"
    bad.write_bytes(b"this is not a zip at all" * 10)
    packages = tmp_path / "packages"

    with pytest.raises(PackageError, match="not a zip archive"):
        install_package(bad, packages)
    assert list_packages(packages) == []


def test_truncated_zip_is_refused(
    argos_model_files: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    data = argos_model_files[("zh", "en")].read_bytes()
    cut = tmp_path / "cut.argosmodel"
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(PackageError):
        install_package(cut, tmp_path / "packages")
    assert list_packages(tmp_path / "packages") == []


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no file at"):
        install_package(tmp_path / "absent.argosmodel", tmp_path)


def make_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def valid_files(metadata: dict[str, str]) -> dict[str, str | bytes]:
    return {
        "pkg/metadata.json": json.dumps(metadata),
        "pkg/model/model.bin": b"\0" * 16,
        "pkg/sentencepiece.model": b"\0" * 16,
    }


def test_package_without_model_is_refused(tmp_path: Path) -> None:
    file = make_zip(tmp_path / "p.argosmodel", {"pkg/metadata.json": "{}"})

    with pytest.raises(PackageError, match="lacks pkg/model/model.bin"):
        install_package(file, tmp_path / "packages")


def test_metadata_without_language_codes_is_refused(tmp_path: Path) -> None:
    files = valid_files({"package_version": "1.0", "from_code": "zh"})
    file = make_zip(tmp_path / "p.argosmodel", files)

    with pytest.raises(PackageError, match="got none for to_code"):
        install_package(file, tmp_path / "packages")
    assert list(Path(tmp_path / "packages").iterdir()) == []


def test_metadata_that_is_not_json_is_refused(tmp_path: Path) -> None:
    files = valid_files({})
    files["pkg/metadata.json"] = "{not json"
    file = make_zip(tmp_path / "p.argosmodel", files)

    with pytest.raises(PackageError, match="to be JSON"):
        install_package(file, tmp_path / "packages")


def test_paths_escaping_the_package_are_refused(tmp_path: Path) -> None:
    files = valid_files({"package_version": "1", "from_code": "a", "to_code": "b"})
    files["pkg/../../evil.txt"] = "x"
    file = make_zip(tmp_path / "p.argosmodel", files)

    with pytest.raises(PackageError, match="relative paths"):
        install_package(file, tmp_path / "packages")
    assert not (tmp_path / "evil.txt").exists()


def test_several_top_level_directories_are_refused(tmp_path: Path) -> None:
    files = valid_files({"package_version": "1", "from_code": "a", "to_code": "b"})
    files["other/file"] = "x"
    file = make_zip(tmp_path / "p.argosmodel", files)

    with pytest.raises(PackageError, match="one top-level directory"):
        install_package(file, tmp_path / "packages")


def test_failed_reinstall_keeps_the_working_package(
    argos_model_files: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    installed = install_package(argos_model_files[("zh", "en")], tmp_path)
    top = installed.path.name
    broken = valid_files({"package_version": "2", "from_code": "zh"})
    file = make_zip(
        tmp_path.parent / "broken.argosmodel",
        {name.replace("pkg/", f"{top}/"): v for name, v in broken.items()},
    )

    with pytest.raises(PackageError):
        install_package(file, tmp_path)
    (still,) = list_packages(tmp_path)
    assert still.package_version == "1.0"
