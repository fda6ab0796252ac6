"""Evidence items of a case: accepting uploads, visibility, download, verification.

An upload is received by server/uploads.py into a partial file (streamed,
hashed, type checked). ``store_evidence`` then re-checks the rules inside the
write transaction, adds the row and the ``evidence.added`` event, and renames
the partial file to its random storage name; if anything fails the file is
removed, so a failed upload leaves no file and no row.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import permissions
from server.auth import Caller
from server.caselog import append_event
from server.errors import Conflict, InvalidInput, NotFound
from server.intake import find_case
from server.models import Case, CaseStatus, EvidenceItem, EvidenceStatus
from server.services import Services
from server.settings import StorageSettings
from server.uploads import (
    StagedFile,
    UploadForm,
    UploadTooLarge,
    receive_upload,
)

logger = logging.getLogger(__name__)

CLOSED_STATUSES = frozenset({CaseStatus.REJECTED, CaseStatus.CLOSED})


def new_storage_name() -> str:
    """A random storage name that says nothing about the file."""
    return secrets.token_hex(20)


def evidence_path(storage: StorageSettings, storage_name: str) -> Path:
    """Where an evidence item's bytes live."""
    if not re.fullmatch(r"[0-9a-f]{40}", storage_name):
        raise ValueError(f"not a storage name: {storage_name!r}")
    return storage.evidence_dir / storage_name


# -- the case's side -----------------------------------------------------------


def may_see_evidence(caller: Caller, item: EvidenceItem) -> bool:
    """A private item is seen by the party who gave it and by staff only."""
    if not item.private:
        return True
    if caller.party is not None:
        return item.party_id == caller.party.id
    return caller.is_staff


async def _usage(session: AsyncSession, case: Case) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.count(EvidenceItem.id),
                func.coalesce(func.sum(EvidenceItem.size), 0),
            ).where(EvidenceItem.case_id == case.id)
        )
    ).one()
    return int(row[0]), int(row[1])


def _check_open(case: Case) -> None:
    if case.status in CLOSED_STATUSES:
        raise Conflict(
            f"Case {case.reference} is {case.status.value}; it takes no more evidence.",
            code="case_not_open",
        )


def _check_room(storage: StorageSettings, count: int, used: int, size: int) -> None:
    if count >= storage.max_files_per_case:
        raise Conflict(
            f"This case already has {count} files, the most allowed.",
            code="too_many_files",
            field="file",
            details={"limit": storage.max_files_per_case},
        )
    if used + size > storage.max_case_bytes:
        raise UploadTooLarge(
            f"This case's files would take {used + size} bytes; at most "
            f"{storage.max_case_bytes} are allowed per case.",
            code="case_storage_full",
            field="file",
            details={"limit": storage.max_case_bytes, "used": used},
        )


async def upload_budget(
    services: Services, caller: Caller, reference: str
) -> tuple[int, str]:
    """Check the caller may add evidence now; return the most bytes the file
    may have and the error code for going over it.

    Run before the body is read, so a refused caller never fills the disk.
    """
    storage = services.settings.storage
    async with services.db.read() as session:
        case = await find_case(session, reference)
        permissions.case_scope(caller, "evidence.upload", case)
        _check_open(case)
        count, used = await _usage(session, case)
    _check_room(storage, count, used, 1)
    room = storage.max_case_bytes - used
    if room < storage.max_file_bytes:
        return room, "case_storage_full"
    return storage.max_file_bytes, "file_too_large"


async def store_evidence(
    services: Services,
    caller: Caller,
    reference: str,
    staged: StagedFile,
    form: UploadForm,
) -> EvidenceItem:
    """Accept a staged file into the case: row, ``evidence.added`` event, rename.

    Refuses the same content twice in one case with ``duplicate_evidence``,
    unless the earlier copy is a private item the caller cannot see (saying
    so would reveal it); then the file is kept as a separate item. The staged
    file is renamed on success and deleted otherwise.
    """
    storage = services.settings.storage
    final: Path | None = None
    try:
        async with services.db.write() as session:
            case = await find_case(session, reference)
            if session.bind is not None and session.bind.dialect.name != "sqlite":
                # serialise uploads to one case so that the limits hold
                await session.execute(
                    select(Case.id).where(Case.id == case.id).with_for_update()
                )
            permissions.case_scope(caller, "evidence.upload", case)
            _check_open(case)
            count, used = await _usage(session, case)
            _check_room(storage, count, used, staged.size)
            await _check_duplicate(session, caller, case, staged)

            item = EvidenceItem(
                case_id=case.id,
                party_id=caller.party.id if caller.party is not None else None,
                uploader_user_id=caller.user.id if caller.user is not None else None,
                category=form.category,
                description=form.description,
                original_name=staged.original_name,
                storage_name=new_storage_name(),
                content_type=staged.content_type,
                size=staged.size,
                sha256=staged.sha256,
                private=form.private,
                status=EvidenceStatus.UNVERIFIED,
            )
            session.add(item)
            await session.flush()
            await append_event(
                session,
                case,
                "evidence.added",
                caller.actor,
                {
                    "evidence_id": item.id,
                    "sha256": item.sha256,
                    "size": item.size,
                    "content_type": item.content_type,
                    "storage_name": item.storage_name,
                    "category": item.category,
                    "private": item.private,
                },
            )
            # the rename is the last step before commit: if the commit fails
            # the file is removed again below
            final = evidence_path(storage, item.storage_name)
            os.replace(staged.path, final)
    except BaseException:
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    finally:
        staged.path.unlink(missing_ok=True)

    logger.info(
        "evidence %s added to case %s by %s (%s, %d bytes)",
        item.id,
        case.id,
        caller.actor,
        item.content_type,
        item.size,
    )
    return item


async def _check_duplicate(
    session: AsyncSession, caller: Caller, case: Case, staged: StagedFile
) -> None:
    same = (
        await session.execute(
            select(EvidenceItem).where(
                EvidenceItem.case_id == case.id, EvidenceItem.sha256 == staged.sha256
            )
        )
    ).scalars()
    for existing in same:
        if may_see_evidence(caller, existing):
            raise Conflict(
                f"This file is already in the case as item {existing.id} "
                f"({existing.original_name}).",
                code="duplicate_evidence",
                field="file",
                details={"evidence_id": existing.id},
            )


async def upload_from_request(
    services: Services, caller: Caller, reference: str, request: Any
) -> EvidenceItem:
    """Receive a multipart upload from a Starlette request and store it."""
    budget, over_code = await upload_budget(services, caller, reference)
    length = request.headers.get("content-length")
    staged, form = await receive_upload(
        request.stream(),
        request.headers.get("content-type"),
        services.settings.storage,
        budget,
        int(length) if length and length.isdigit() else None,
        over_code,
    )
    return await store_evidence(services, caller, reference, staged, form)


async def find_evidence(
    session: AsyncSession, caller: Caller, case: Case, evidence_id: int
) -> EvidenceItem:
    """An item of the case the caller may see, or NotFound."""
    item = await session.get(EvidenceItem, evidence_id)
    if item is None or item.case_id != case.id or not may_see_evidence(caller, item):
        raise NotFound("No such evidence item.", code="evidence_not_found")
    return item


async def open_evidence(
    services: Services, caller: Caller, reference: str, evidence_id: int
) -> tuple[EvidenceItem, Path]:
    """The item and its file, for a caller entitled to download it."""
    async with services.db.read() as session:
        case = await find_case(session, reference)
        permissions.case_scope(caller, "evidence.read", case)
        item = await find_evidence(session, caller, case, evidence_id)
    path = evidence_path(services.settings.storage, item.storage_name)
    if not path.is_file():
        logger.error("evidence %s of case %s: file missing", item.id, case.id)
        raise NotFound("The file of this item is missing.", code="evidence_missing")
    return item, path


async def set_verification(
    services: Services,
    caller: Caller,
    reference: str,
    evidence_id: int,
    status: EvidenceStatus,
    note: str | None,
) -> EvidenceItem:
    """Record the case officer's verdict on an item, with an event."""
    note = (note or "").strip() or None
    if status is EvidenceStatus.QUESTIONED and not note:
        raise InvalidInput(
            "Say why the item is questioned.", code="note_required", field="note"
        )
    async with services.db.write() as session:
        case = await find_case(session, reference)
        permissions.case_scope(caller, "evidence.verify", case)
        item = await find_evidence(session, caller, case, evidence_id)
        item.status = status
        item.status_note = note
        await append_event(
            session,
            case,
            "evidence.verification",
            caller.actor,
            {"evidence_id": item.id, "status": status.value, "note": note},
        )
    logger.info(
        "evidence %s of case %s marked %s by %s",
        item.id,
        case.id,
        status.value,
        caller.actor,
    )
    return item


async def case_evidence(
    session: AsyncSession, caller: Caller, case: Case
) -> list[EvidenceItem]:
    """The case's items the caller may see, oldest first."""
    items = (
        await session.execute(
            select(EvidenceItem)
            .where(EvidenceItem.case_id == case.id)
            .order_by(EvidenceItem.id)
        )
    ).scalars()
    return [item for item in items if may_see_evidence(caller, item)]
