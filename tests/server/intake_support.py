"""Helpers shared by the intake and evidence tests: filings, files, callers."""

from __future__ import annotations

import io
import struct
import zlib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from server.auth import hash_password
from server.models import Role, User
from tests.conftest import RunningApp, make_settings


def filing(**changes: Any) -> dict[str, Any]:
    """A valid filing body; keyword arguments replace top-level fields."""
    body: dict[str, Any] = {
        "claimant": {
            "name": "Li Wei",
            "email": "li.wei@example.org",
            "phone": "+86 138 0000 0000",
            "language": "zh-CN",
        },
        "respondents": [
            {
                "name": "Bright Shop Ltd",
                "email": "orders@bright.example",
                "organisation": "Bright Shop Ltd",
                "language": "en",
            }
        ],
        "category": "goods",
        "amount": "1200.50",
        "currency": "CNY",
        "facts": "I paid for a washing machine on 1 March; it never arrived.",
        "desired_outcome": "A full refund.",
        "languages": ["zh-CN", "en"],
        "consent": True,
    }
    body.update(changes)
    return body


def png_bytes(width: int = 2, height: int = 2, seed: int = 0) -> bytes:
    """A small valid PNG; ``seed`` changes its pixels (and so its hash)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + bytes((seed + x + y) % 256 for x in range(width * 3))
        for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(text: str = "Receipt 42") -> bytes:
    """A minimal one-page PDF."""
    stream = f"BT /F1 12 Tf 20 80 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length "
        + str(len(stream)).encode()
        + b" >>\nstream\n"
        + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


async def file_via_api(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """File a case through the API and return the response body."""
    response = await client.post("/api/cases", json=filing(**changes))
    assert response.status_code == 201, response.text
    return response.json()


async def upload(
    client: httpx.AsyncClient,
    reference: str,
    token: str | None,
    content: bytes,
    name: str = "photo.png",
    **fields: str,
) -> httpx.Response:
    """Upload one file as a party (Bearer link token) or with the client's cookies."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        f"/api/cases/{reference}/evidence",
        files={"file": (name, content, "application/octet-stream")},
        data=fields,
        headers=headers,
    )


def party_token(app: RunningApp, party: Any) -> str:
    """A fresh link token for a party row."""
    return str(app.services.signer.party_link(party))


async def make_staff(app: RunningApp, role: Role, email: str) -> User:
    """Create a staff member directly in the database."""
    async with app.services.db.write() as session:
        user = User(
            email=email,
            name=email.split("@")[0],
            password_hash=hash_password("correct horse battery"),
            role=role,
        )
        session.add(user)
        await session.flush()
    return user


@asynccontextmanager
async def staff_client(app: RunningApp, user: User) -> Any:
    """A client signed in as a staff member (session cookie + CSRF pair)."""
    async with app.client() as client:
        client.cookies.set("accord_staff", app.services.signer.staff_session(user))
        client.cookies.set("accord_csrf", "csrf-test-token")
        client.headers["X-CSRF-Token"] = "csrf-test-token"
        yield client


def stray_files(directory: Path) -> list[str]:
    """Every file left in the evidence directory (partial or not)."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def limited_settings(database_url: str, tmp_path: Path, **limits: int) -> Any:
    """Settings with small upload limits (file, case, count)."""
    env = {f"ACCORD_{k.upper()}": str(v) for k, v in limits.items()}
    return make_settings(database_url, tmp_path, **env)
