"""``accord translation install|list``: offline, with progress, all or nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from tests.translation.conftest import (  # noqa: F401 (fixtures)
    argos_model_files,
    isolated_argos_dirs,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket connection fails: installing must not need one."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("networking is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_install_shows_progress_then_list_shows_the_pair(
    argos_model_files: dict[tuple[str, str], Path],  # noqa: F811
    tmp_path: Path,
    offline: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    packages = tmp_path / "packages"
    file = argos_model_files[("zh", "en")]
    code = main(["translation", "install", str(file), "--packages-dir", str(packages)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "unpacking: 100%" in out
    assert "installed zh → en" in out
    assert "restart the server" in out

    code = main(["translation", "list", "--packages-dir", str(packages)])
    listed = capsys.readouterr().out
    assert code == 0
    assert listed.startswith("zh → en")
    assert "argos:zh-en@" in listed


def test_a_bad_file_is_refused_and_changes_nothing(
    argos_model_files: dict[tuple[str, str], Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    packages = tmp_path / "packages"
    assert (
        main(
            [
                "translation",
                "install",
                str(argos_model_files[("en", "de")]),
                "--packages-dir",
                str(packages),
            ]
        )
        == 0
    )
    before = sorted(p.relative_to(packages) for p in packages.rglob("*"))
    capsys.readouterr()

    not_zip = tmp_path / "broken.argosmodel"
    not_zip.write_bytes(b"this is not a zip archive")
    empty_zip = tmp_path / "empty.argosmodel"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("pkg/metadata.json", "{}")
    for bad in (not_zip, empty_zip, tmp_path / "missing.argosmodel"):
        code = main(
            ["translation", "install", str(bad), "--packages-dir", str(packages)]
        )
        err = capsys.readouterr().err
        assert code == 1
        assert "bad_package" in err
    assert sorted(p.relative_to(packages) for p in packages.rglob("*")) == before


def test_without_a_packages_directory_the_cli_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ACCORD_TRANSLATION_PACKAGES_DIR", raising=False)
    assert main(["translation", "list"]) == 2
    assert "ACCORD_TRANSLATION_PACKAGES_DIR" in capsys.readouterr().err


def test_list_reads_the_directory_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACCORD_TRANSLATION_PACKAGES_DIR", str(tmp_path / "none-yet"))
    assert main(["translation", "list"]) == 0
    assert "no translation packages in" in capsys.readouterr().out


def test_installing_keeps_argostranslate_and_torch_out_of_the_process(
    argos_model_files: dict[tuple[str, str], Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    file = str(argos_model_files[("zh", "en")])
    script = (
        "import sys\n"
        "from server.cli import main\n"
        f"code = main(['translation', 'install', {file!r},"
        f" '--packages-dir', {str(tmp_path / 'p')!r}])\n"
        "heavy = [m for m in ('argostranslate', 'torch', 'ctranslate2', 'stanza')"
        " if m in sys.modules]\n"
        "print('heavy:', heavy)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
