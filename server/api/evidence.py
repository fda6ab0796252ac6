"""Evidence: streamed upload, download to those entitled, verification."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import FileResponse

from server.api.base import endpoint
from server.api.intake import EvidenceOut, evidence_out
from server.auth import Caller
from server.evidence import open_evidence, set_verification, upload_from_request
from server.intake import find_case
from server.models import EvidenceItem, EvidenceStatus
from server.services import Services


class UploadFormDoc(BaseModel):
    """The multipart fields of an upload (documented; parsed by a stream)."""

    file: bytes = Field(description="the file; its type is decided by its content")
    description: str = Field(default="", max_length=2000)
    category: str = Field(
        default="other",
        description="photo, receipt, contract, correspondence, recording or other",
    )
    private: bool = Field(
        default=False, description="visible to its uploader's side and staff only"
    )


class VerificationIn(BaseModel):
    """The case officer's verdict on an item."""

    status: EvidenceStatus
    note: str | None = Field(default=None, max_length=2000)


async def _out(services: Services, reference: str, item: EvidenceItem) -> EvidenceOut:
    async with services.db.read() as session:
        case = await find_case(session, reference)
        parties = {p.id: p for p in case.parties}
    return evidence_out(case, item, parties)


@endpoint(
    "/cases/{ref}/evidence",
    "POST",
    action="evidence.upload",
    summary="Upload one evidence file (multipart/form-data, streamed)",
    response=EvidenceOut,
    status=201,
    tags=["evidence"],
    errors=(
        "not_multipart",
        "file_missing",
        "empty_file",
        "file_too_large",
        "case_storage_full",
        "too_many_files",
        "unsupported_file_type",
        "duplicate_evidence",
        "upload_incomplete",
        "malformed_upload",
        "case_not_open",
        "unknown_evidence_category",
    ),
)
async def upload_evidence(request: Request, caller: Caller) -> EvidenceOut:
    """Stream one file to disk, hashing it on the way, and add it to the case."""
    services: Services = request.app.state.services
    reference = request.path_params["ref"]
    item = await upload_from_request(services, caller, reference, request)
    return await _out(services, reference, item)


# the body is read as a stream by the handler, not by the decorator; the
# schema is attached only so that /openapi.json describes the form
upload_evidence.spec.body = UploadFormDoc  # type: ignore[attr-defined]
upload_evidence.spec.content_type = "multipart/form-data"  # type: ignore[attr-defined]


def content_disposition(name: str) -> str:
    """An RFC 6266 attachment header: ASCII fallback plus the UTF-8 name."""
    fallback = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in name
    )
    return (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


@endpoint(
    "/cases/{ref}/evidence/{evidence_id:int}",
    "GET",
    action="evidence.read",
    summary="Download an evidence file (as an attachment)",
    tags=["evidence"],
    errors=("case_not_found", "evidence_not_found", "evidence_missing"),
)
async def download_evidence(request: Request, caller: Caller) -> FileResponse:
    """The file, served so that no browser renders it in Accord's origin."""
    services: Services = request.app.state.services
    item, path = await open_evidence(
        services,
        caller,
        request.path_params["ref"],
        request.path_params["evidence_id"],
    )
    return FileResponse(
        path,
        media_type=item.content_type,
        headers={
            "Content-Disposition": content_disposition(item.original_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
            "X-Evidence-SHA256": item.sha256,
        },
    )


@endpoint(
    "/cases/{ref}/evidence/{evidence_id:int}/verification",
    "POST",
    action="evidence.verify",
    summary="Mark an evidence item verified, questioned or unverified",
    body=VerificationIn,
    response=EvidenceOut,
    tags=["evidence"],
    errors=("case_not_found", "evidence_not_found", "note_required"),
)
async def verify_evidence(
    request: Request, caller: Caller, body: VerificationIn
) -> EvidenceOut:
    """Record the case officer's verdict on one item."""
    services: Services = request.app.state.services
    reference = request.path_params["ref"]
    item = await set_verification(
        services,
        caller,
        reference,
        request.path_params["evidence_id"],
        body.status,
        body.note,
    )
    return await _out(services, reference, item)


routes = [upload_evidence, download_evidence, verify_evidence]
