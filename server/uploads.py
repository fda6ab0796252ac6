"""Receiving an evidence upload: a streamed multipart body, checked by content.

``receive_upload`` parses the multipart body chunk by chunk as it arrives,
writing the file part to a hidden ``.partial-*`` file in the evidence
directory while computing its SHA-256 and enforcing the size budget; nothing
is held in memory beyond one chunk and the first few kilobytes used to
recognise the type. The type is decided by the content (magic bytes, or valid
UTF-8 text that does not look like markup), never by the name. Any failure,
including a client that disconnects, deletes the partial file. This module
knows nothing of cases; server/evidence.py accepts the staged file into one.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
import filetype
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from server.errors import InvalidInput
from server.settings import StorageSettings

CATEGORIES = ("photo", "receipt", "contract", "correspondence", "recording", "other")

# recognised by their magic bytes (the ``filetype`` package); the name a
# client gives a file is never trusted for its type
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/x-wav",
        "audio/amr",
        "audio/x-flac",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "video/3gpp",
    }
)
PLAIN_TEXT = "text/plain; charset=utf-8"

# a text file that a browser could take for markup is refused outright, even
# though downloads are served as attachments with nosniff and a sandbox CSP
_MARKUP = re.compile(
    rb"<\s*(html|svg|script|iframe|object|embed|body|head|meta)\b|<\?xml|<!doctype",
    re.IGNORECASE,
)
SNIFF_BYTES = 8192
MAX_FIELD_BYTES = 8 * 1024
MAX_NAME_CHARS = 180
# multipart framing around one file and a few short fields
FRAMING_ALLOWANCE = 64 * 1024
PARTIAL_PREFIX = ".partial-"


class UploadTooLarge(InvalidInput):
    """Raised when an upload exceeds the per-file or per-case byte budget."""

    status = 413
    code = "file_too_large"


@dataclass
class StagedFile:
    """A received file waiting in its partial file for the database to accept it."""

    path: Path
    original_name: str
    size: int
    sha256: str
    content_type: str


@dataclass
class UploadForm:
    """The fields sent along with the file."""

    description: str = ""
    category: str = "other"
    private: bool = False


# -- names and types -----------------------------------------------------------


def clean_filename(raw: str) -> str:
    """A safe display name: no directories, no control or bidi characters.

    Unicode letters stay (合同.pdf remains 合同.pdf); the name is cut to
    MAX_NAME_CHARS keeping its extension.
    """
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").split("/")[-1]
    # category C covers control, format (bidi overrides), surrogates, unassigned
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_CHARS]
    return name or "evidence"


def looks_like_markup(head: bytes) -> bool:
    """True when the start of a text file could be read as HTML, SVG or XML."""
    return _MARKUP.search(head) is not None


def detect_type(head: bytes, text_ok: bool) -> str:
    """The content type of a file from its first bytes, or InvalidInput."""
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in ALLOWED_TYPES:
            return str(kind.mime)
        raise InvalidInput(
            f"Files of type {kind.mime} are not accepted; send images, PDF, "
            "audio, video or plain text.",
            code="unsupported_file_type",
            field="file",
        )
    if text_ok:
        if looks_like_markup(head):
            raise InvalidInput(
                "HTML, SVG and XML files are not accepted; save the page as "
                "PDF or a screenshot instead.",
                code="unsupported_file_type",
                field="file",
            )
        return PLAIN_TEXT
    raise InvalidInput(
        "This file's content is not one of the accepted kinds (images, PDF, "
        "audio, video, plain UTF-8 text), whatever its name says.",
        code="unsupported_file_type",
        field="file",
    )


# -- receiving the stream ------------------------------------------------------


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)


class _Receiver:
    """python-multipart callbacks that write the file part to a partial file."""

    def __init__(self, directory: Path, budget: int, over_code: str) -> None:
        self.directory = directory
        self.budget = budget
        self.over_code = over_code
        self.fields: dict[str, str] = {}
        self.staged: StagedFile | None = None
        self.finished = False
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._fd: int | None = None
        self._path: Path | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._text_ok = True

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._part.headers[name] = self._header_value.decode("latin-1")
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(
            self._part.headers.get("content-disposition", "")
        )
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if raw_filename is None:
            return
        self._part.filename = raw_filename.decode("utf-8", "replace")
        if self._part.name != "file":
            raise InvalidInput(
                f"Send the file in the field named 'file', not {self._part.name!r}.",
                code="unexpected_file_field",
                field=self._part.name or "file",
            )
        if self._path is not None:
            raise InvalidInput(
                "Send one file per upload.", code="one_file_per_upload", field="file"
            )
        self._path = self.directory / (PARTIAL_PREFIX + secrets.token_hex(12))
        self._fd = os.open(
            self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = bytes(data[start:end])
        if self._part.filename is None:
            if len(self._part.value) + len(chunk) > MAX_FIELD_BYTES:
                raise InvalidInput(
                    f"The field {self._part.name!r} is longer than "
                    f"{MAX_FIELD_BYTES} bytes.",
                    code="field_too_long",
                    field=self._part.name,
                )
            self._part.value += chunk
            return

        self._size += len(chunk)
        if self._size > self.budget:
            raise UploadTooLarge(
                f"The file is larger than the {self.budget} bytes still allowed.",
                code=self.over_code,
                field="file",
                details={"limit": self.budget},
            )
        self._hash.update(chunk)
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
        if self._text_ok:
            try:
                self._utf8.decode(chunk)
                self._text_ok = b"\x00" not in chunk
            except UnicodeDecodeError:
                self._text_ok = False
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def on_part_end(self) -> None:
        if self._part.filename is None:
            try:
                self.fields[self._part.name] = self._part.value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"The field {self._part.name!r} is not valid UTF-8.",
                    code="invalid_input",
                    field=self._part.name,
                ) from None
            return
        if self._text_ok:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self._text_ok = False
        assert self._path is not None
        self.staged = StagedFile(
            path=self._path,
            original_name=clean_filename(self._part.filename),
            size=self._size,
            sha256=self._hash.hexdigest(),
            content_type="",
        )

    def on_end(self) -> None:
        self.finished = True

    async def close(self) -> None:
        """Flush the partial file to disk and close it."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                await anyio.to_thread.run_sync(os.fsync, fd)
            finally:
                os.close(fd)

    def discard(self) -> None:
        """Close and delete the partial file, whatever state it is in."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def detect(self) -> str:
        return detect_type(bytes(self._head), self._text_ok)


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput(
            "Upload evidence as multipart/form-data with a 'file' field, got "
            f"{(content_type or 'no content type')!r}.",
            code="not_multipart",
        )
    return boundary


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    storage: StorageSettings,
    budget: int,
    content_length: int | None = None,
    over_code: str = "file_too_large",
) -> tuple[StagedFile, UploadForm]:
    """Stream a multipart body into a partial file; return it and the fields.

    ``budget`` is the most bytes the file may have; going over it is refused
    with ``over_code`` (``case_storage_full`` when the case's total is what
    limits the file). The partial file is
    deleted on any error; on success the caller owns it (``store_evidence``
    renames or deletes it).
    """
    boundary = _boundary(content_type)
    if content_length is not None and content_length > budget + FRAMING_ALLOWANCE:
        raise UploadTooLarge(
            f"The upload is {content_length} bytes; at most {budget} are allowed "
            "for this file.",
            code=over_code,
            field="file",
            details={"limit": budget},
        )
    storage.evidence_dir.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(storage.evidence_dir, budget, over_code)
    parser = MultipartParser(boundary, cast(Any, receiver.callbacks()))
    try:
        try:
            async for chunk in chunks:
                if chunk:
                    parser.write(chunk)
        except ClientDisconnect:
            raise InvalidInput(
                "The upload was interrupted before it finished; send it again.",
                code="upload_incomplete",
                field="file",
            ) from None
        except MultipartParseError:
            raise InvalidInput(
                "The upload is not well-formed multipart data.",
                code="malformed_upload",
                field="file",
            ) from None
        if not receiver.finished:
            raise InvalidInput(
                "The upload ended before it was complete; send it again.",
                code="upload_incomplete",
                field="file",
            )
        staged = receiver.staged
        if staged is None:
            raise InvalidInput(
                "Choose a file to upload.", code="file_missing", field="file"
            )
        if staged.size == 0:
            raise InvalidInput("The file is empty.", code="empty_file", field="file")
        staged.content_type = receiver.detect()
        form = parse_form(receiver.fields)
        await receiver.close()
    except BaseException:
        # whatever went wrong (including cancellation), leave nothing behind
        receiver.discard()
        raise
    return staged, form


def parse_form(fields: dict[str, str]) -> UploadForm:
    """Validate the description, category and private flag of an upload."""
    description = fields.get("description", "").strip()
    if len(description) > 2000:
        raise InvalidInput(
            "The description is longer than 2000 characters.",
            code="field_too_long",
            field="description",
        )
    category = fields.get("category", "other").strip() or "other"
    if category not in CATEGORIES:
        raise InvalidInput(
            f"The category must be one of {', '.join(CATEGORIES)}, got {category!r}.",
            code="unknown_evidence_category",
            field="category",
        )
    flag = fields.get("private", "").strip().lower()
    if flag not in ("", "0", "false", "off", "1", "true", "on"):
        raise InvalidInput(
            f"private must be true or false, got {flag!r}.",
            code="invalid_input",
            field="private",
        )
    return UploadForm(
        description=description,
        category=category,
        private=flag in ("1", "true", "on"),
    )
