"""Evidence: streamed upload, content checks, limits, authorisation, the chain."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.caselog import verify_chain
from server.models import Case, CaseEvent, CaseStatus, EvidenceItem, Role
from server.uploads import clean_filename
from tests.conftest import RunningApp, start_live_server
from tests.server.intake_support import (
    file_via_api,
    limited_settings,
    make_staff,
    pdf_bytes,
    png_bytes,
    staff_client,
    stray_files,
    upload,
)


@pytest.fixture
async def small_app(database_url: str, tmp_path: Path) -> AsyncIterator[RunningApp]:
    """The app with tiny upload limits: 4 KiB a file, 10 KiB and 3 files a case."""
    from server.app import create_app

    settings = limited_settings(
        database_url,
        tmp_path,
        max_file_bytes=4096,
        max_case_bytes=10_000,
        max_files_per_case=3,
    )
    running = RunningApp(create_app(settings))
    async with running.starlette.router.lifespan_context(running.starlette):
        yield running


def evidence_dir(app: RunningApp) -> Path:
    return Path(app.services.settings.storage.evidence_dir)


async def evidence_rows(app: RunningApp) -> list[EvidenceItem]:
    async with app.services.db.read() as session:
        return list(
            (await session.execute(select(EvidenceItem).order_by(EvidenceItem.id)))
            .scalars()
            .all()
        )


async def assert_nothing_stored(app: RunningApp) -> None:
    assert stray_files(evidence_dir(app)) == []
    assert await evidence_rows(app) == []
    async with app.services.db.read() as session:
        kinds = (await session.execute(select(CaseEvent.kind))).scalars().all()
    assert "evidence.added" not in kinds


async def test_upload_is_stored_hashed_chained_and_downloadable(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    content = png_bytes(8, 8)

    response = await upload(
        client,
        filed["reference"],
        filed["token"],
        content,
        name="损坏的洗衣机.png",
        description="照片：到货时的包装",
        category="photo",
    )

    assert response.status_code == 201, response.text
    item = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert item["sha256"] == digest
    assert item["size"] == len(content)
    assert item["content_type"] == "image/png"
    assert item["original_name"] == "损坏的洗衣机.png"
    assert item["category"] == "photo"
    assert item["status"] == "unverified"
    assert item["uploaded_by"] == "claimant"

    # stored under a random name, byte for byte
    (row,) = await evidence_rows(app)
    stored = evidence_dir(app) / row.storage_name
    assert stored.read_bytes() == content
    assert row.storage_name not in item["original_name"]
    assert stray_files(evidence_dir(app)) == [row.storage_name]

    # the chain carries the hash, size, type and storage name
    async with app.services.db.read() as session:
        case = await session.get(Case, row.case_id)
        assert case is not None
        events = (
            (
                await session.execute(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(CaseEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        assert [e.kind for e in events] == ["case.filed", "evidence.added"]
        assert events[1].payload == {
            "evidence_id": row.id,
            "sha256": digest,
            "size": len(content),
            "content_type": "image/png",
            "storage_name": row.storage_name,
            "category": "photo",
            "private": False,
        }
        assert events[1].actor == f"party:{filed['party_id']}"
        assert await verify_chain(session, case) == []

    # served back as an attachment that no browser will render or sniff
    download = await client.get(
        item_url(filed, row.id), headers={"Authorization": f"Bearer {filed['token']}"}
    )
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "sandbox"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%E6%8D%9F%E5%9D%8F" in disposition


def item_url(filed: dict[str, Any], evidence_id: int) -> str:
    return f"/api/cases/{filed['reference']}/evidence/{evidence_id}"


async def test_pdf_and_plain_text_are_recognised_by_content(
    client: httpx.AsyncClient,
) -> None:
    filed = await file_via_api(client)
    pdf = await upload(client, filed["reference"], filed["token"], pdf_bytes(), "合同")
    assert pdf.status_code == 201
    assert pdf.json()["content_type"] == "application/pdf"
    assert pdf.json()["original_name"] == "合同"

    chat = "2026-03-01 卖家：明天发货。\n2026-03-09 买家：还没有收到。\n".encode()
    text = await upload(client, filed["reference"], filed["token"], chat, "chat.jpg")
    assert text.status_code == 201
    assert text.json()["content_type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "photo.jpg"),
        (b"  <html><script>alert(1)</script></html>", "photo.jpg"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
            "photo.jpg",
        ),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "a.jpg"),
        (b"hello <script>alert(1)</script>", "notes.txt"),
        (b"PK\x03\x04" + b"\x00" * 200, "photo.jpg"),
        (b"MZ\x90\x00" + b"\x00" * 200 + b"\xff\xfe", "photo.jpg"),
        (b"plain text with a NUL\x00 byte", "a.txt"),
        (b"\xff\xfe\xfd not utf-8", "a.txt"),
    ],
)
async def test_files_of_refused_types_leave_nothing(
    app: RunningApp, client: httpx.AsyncClient, content: bytes, name: str
) -> None:
    filed = await file_via_api(client)
    response = await upload(client, filed["reference"], filed["token"], content, name)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unsupported_file_type", "file")
    await assert_nothing_stored(app)


async def test_an_empty_file_is_refused(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    response = await upload(client, filed["reference"], filed["token"], b"", "x.png")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_file"
    await assert_nothing_stored(app)


async def test_a_path_in_the_name_is_stripped(
    app: RunningApp, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    filed = await file_via_api(client)
    response = await upload(
        client, filed["reference"], filed["token"], png_bytes(), "../../etc/passwd.jpg"
    )
    assert response.status_code == 201
    assert response.json()["original_name"] == "passwd.jpg"
    (row,) = await evidence_rows(app)
    assert stray_files(evidence_dir(app)) == [row.storage_name]
    assert not (evidence_dir(app).parent.parent / "etc").exists()


def test_clean_filename() -> None:
    assert clean_filename("../../etc/passwd.jpg") == "passwd.jpg"
    assert clean_filename("C:\\Users\\li\\合同.pdf") == "合同.pdf"
    assert clean_filename("..") == "evidence"
    assert clean_filename("evil\u202egpj.exe") == "evilgpj.exe"
    assert clean_filename("a\x00b\r\nc.png") == "abc.png"
    long = clean_filename("照" * 400 + ".jpeg")
    assert len(long) == 180 and long.endswith(".jpeg")


async def test_an_oversized_file_is_refused_and_leaves_nothing(
    small_app: RunningApp,
) -> None:
    async with small_app.client() as client:
        filed = await file_via_api(client)
        big = png_bytes(64, 64, seed=3) + b"\x00" * 5000
        assert len(big) > 4096
        response = await upload(client, filed["reference"], filed["token"], big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("file_too_large", "file")
    await assert_nothing_stored(small_app)


async def test_an_oversized_stream_without_length_is_cut_off(
    small_app: RunningApp,
) -> None:
    """Without a Content-Length the limit is enforced while streaming."""
    async with small_app.client() as client:
        filed = await file_via_api(client)
        boundary = "b0undary"

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            yield png_bytes()
            for _ in range(10):
                yield b"\x00" * 1024
            yield f"\r\n--{boundary}--\r\n".encode()

        response = await client.post(
            f"/api/cases/{filed['reference']}/evidence",
            content=body(),
            headers={
                "Authorization": f"Bearer {filed['token']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    await assert_nothing_stored(small_app)


async def test_per_case_count_and_size_limits(small_app: RunningApp) -> None:
    async with small_app.client() as client:
        filed = await file_via_api(client)
        ref, token = filed["reference"], filed["token"]
        # 3 KiB text files: two fit in 10 000 bytes, the third does not
        for i in range(2):
            text = (f"statement {i} " * 300)[:3000].encode()
            assert (await upload(client, ref, token, text, "s.txt")).status_code == 201
        third = (await upload(client, ref, token, b"y" * 4001, "big.txt")).json()
        assert third["error"]["code"] == "case_storage_full"

        # a small third file fits, and then the count limit (3) is reached
        assert (await upload(client, ref, token, b"small", "s.txt")).status_code == 201
        fourth = await upload(client, ref, token, b"tiny", "t.txt")
    assert fourth.status_code == 409
    assert fourth.json()["error"]["code"] == "too_many_files"
    assert len(await evidence_rows(small_app)) == 3
    assert len(stray_files(evidence_dir(small_app))) == 3


async def test_the_same_file_twice_is_refused(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    content = png_bytes(seed=9)
    first = await upload(client, filed["reference"], filed["token"], content, "a.png")
    again = await upload(client, filed["reference"], filed["token"], content, "b.png")

    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate_evidence"
    assert error["details"]["evidence_id"] == first.json()["id"]
    assert len(await evidence_rows(app)) == 1
    assert len(stray_files(evidence_dir(app))) == 1

    # the same file in another case is a separate item
    other = await file_via_api(client, facts="A second dispute.")
    elsewhere = await upload(client, other["reference"], other["token"], content)
    assert elsewhere.status_code == 201


async def respondent_token(app: RunningApp, reference: str) -> str:
    async with app.services.db.read() as session:
        case = (
            await session.execute(select(Case).where(Case.reference == reference))
        ).scalar_one()
    respondent = next(p for p in case.parties if p.role.value == "respondent")
    return str(app.services.signer.party_link(respondent))


async def test_private_items_stay_with_their_side(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    ref = filed["reference"]
    other_token = await respondent_token(app, ref)
    secret = png_bytes(seed=42)
    private = (
        await upload(client, ref, filed["token"], secret, "secret.png", private="true")
    ).json()
    public = (await upload(client, ref, filed["token"], pdf_bytes(), "r.pdf")).json()
    assert private["private"] is True

    as_respondent = {"Authorization": f"Bearer {other_token}"}
    # the other side: no download, not in the list, not in the timeline
    denied = await client.get(item_url(filed, private["id"]), headers=as_respondent)
    assert denied.status_code == 404
    assert denied.json()["error"]["code"] == "evidence_not_found"
    view = (await client.get(f"/api/cases/{ref}", headers=as_respondent)).json()
    assert [e["id"] for e in view["evidence"]] == [public["id"]]
    assert [e["kind"] for e in view["timeline"]] == ["case.filed", "evidence.added"]
    assert "secret.png" not in str(view)
    ok = await client.get(item_url(filed, public["id"]), headers=as_respondent)
    assert ok.status_code == 200

    # uploading the same bytes must not reveal that the private item exists
    same = await upload(client, ref, other_token, secret, "mine.png")
    assert same.status_code == 201

    # the uploader and the case officer see it
    mine = {"Authorization": f"Bearer {filed['token']}"}
    assert (await client.get(item_url(filed, private["id"]), headers=mine)).content == (
        secret
    )
    officer = await make_staff(app, Role.CASE_OFFICER, "officer@example.org")
    async with staff_client(app, officer) as staff:
        assert (await staff.get(item_url(filed, private["id"]))).status_code == 200
        listed = (await staff.get(f"/api/cases/{ref}")).json()["evidence"]
        assert len(listed) == 3


async def test_download_authorisation(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    other = await file_via_api(client, facts="Someone else's dispute.")
    item = (
        await upload(client, filed["reference"], filed["token"], png_bytes())
    ).json()
    theirs = {"Authorization": f"Bearer {other['token']}"}

    # nobody: 401
    anonymous = await client.get(item_url(filed, item["id"]))
    assert anonymous.status_code == 401
    # a party of another case: the case does not exist for them
    response = await client.get(item_url(filed, item["id"]), headers=theirs)
    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "case_not_found",
    )
    # their own case reference with this case's item id: no such item there
    response = await client.get(item_url(other, item["id"]), headers=theirs)
    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "evidence_not_found",
    )
    # an interpreter may not read evidence at all
    interpreter = await make_staff(app, Role.INTERPRETER, "int@example.org")
    async with staff_client(app, interpreter) as staff:
        assert (await staff.get(item_url(filed, item["id"]))).status_code == 403


async def test_uploads_need_a_party_of_the_case_or_staff(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    other = await file_via_api(client, facts="Another.")
    ref = filed["reference"]

    assert (await upload(client, ref, None, png_bytes())).status_code == 401
    response = await upload(client, ref, other["token"], png_bytes())
    assert response.status_code == 404
    mediator = await make_staff(app, Role.MEDIATOR, "med@example.org")
    async with staff_client(app, mediator) as staff:
        assert (await upload(staff, ref, None, png_bytes())).status_code == 403
    officer = await make_staff(app, Role.CASE_OFFICER, "off@example.org")
    async with staff_client(app, officer) as staff:
        response = await upload(staff, ref, None, png_bytes(seed=5), "scan.png")
        assert response.status_code == 201
        assert response.json()["uploaded_by"] == "staff"
    await assert_only_rows(app, 1)


async def assert_only_rows(app: RunningApp, count: int) -> None:
    assert len(await evidence_rows(app)) == count
    assert len(stray_files(evidence_dir(app))) == count


async def test_a_cookie_upload_needs_the_csrf_header(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    async with app.client() as browser:
        browser.cookies.set("accord_party", filed["token"])
        browser.cookies.set("accord_csrf", "tok")
        refused = await upload(browser, filed["reference"], None, png_bytes())
        assert refused.json()["error"]["code"] == "csrf_failed"
        browser.headers["X-CSRF-Token"] = "tok"
        assert (
            await upload(browser, filed["reference"], None, png_bytes())
        ).status_code == 201


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"category": "selfie"}, "unknown_evidence_category", "category"),
        ({"private": "maybe"}, "invalid_input", "private"),
        ({"description": "x" * 2001}, "field_too_long", "description"),
    ],
)
async def test_bad_upload_fields_are_refused(
    app: RunningApp,
    client: httpx.AsyncClient,
    fields: dict[str, str],
    code: str,
    field: str,
) -> None:
    filed = await file_via_api(client)
    response = await upload(
        client, filed["reference"], filed["token"], png_bytes(), **fields
    )
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    await assert_nothing_stored(app)


async def test_malformed_requests_are_refused(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    ref = filed["reference"]
    bearer = {"Authorization": f"Bearer {filed['token']}"}

    as_json = await client.post(f"/api/cases/{ref}/evidence", json={}, headers=bearer)
    assert as_json.json()["error"]["code"] == "not_multipart"
    no_file = await client.post(
        f"/api/cases/{ref}/evidence",
        files={"description": (None, "no file here")},
        headers=bearer,
    )
    assert no_file.json()["error"]["code"] == "file_missing"
    wrong_field = await client.post(
        f"/api/cases/{ref}/evidence",
        files={"attachment": ("a.png", png_bytes())},
        headers=bearer,
    )
    assert wrong_field.json()["error"]["code"] == "unexpected_file_field"
    two_files = await client.post(
        f"/api/cases/{ref}/evidence",
        files=[("file", ("a.png", png_bytes())), ("file", ("b.pdf", pdf_bytes()))],
        headers=bearer,
    )
    assert two_files.json()["error"]["code"] == "one_file_per_upload"
    await assert_nothing_stored(app)


async def test_a_truncated_body_leaves_nothing(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    boundary = "cut0ff"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="a.png"\r\n\r\n'
    ).encode() + png_bytes(32, 32)  # no closing boundary: the upload stops here
    response = await client.post(
        f"/api/cases/{filed['reference']}/evidence",
        content=body,
        headers={
            "Authorization": f"Bearer {filed['token']}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.json()["error"]["code"] == "upload_incomplete"
    await assert_nothing_stored(app)


async def test_a_client_whose_body_fails_midway_leaves_nothing(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    boundary = "br0ken"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="a.png"\r\n\r\n'
        ).encode()
        yield png_bytes(16, 16)
        raise ConnectionResetError("the phone lost its signal")

    with pytest.raises(ConnectionResetError):
        await client.post(
            f"/api/cases/{filed['reference']}/evidence",
            content=body(),
            headers={
                "Authorization": f"Bearer {filed['token']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
    await assert_nothing_stored(app)


async def test_a_client_that_disconnects_over_tcp_leaves_nothing(
    settings: Any,
) -> None:
    """A real socket promises 200 kB, sends part of it and hangs up."""
    live = await start_live_server(settings)
    try:
        async with httpx.AsyncClient(base_url=live.url) as client:
            filed = await file_via_api(client)
        boundary = "tcpcut"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="video.png"\r\n\r\n'
        ).encode() + png_bytes(64, 64)
        request = (
            f"POST /api/cases/{filed['reference']}/evidence HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{live.port}\r\n"
            f"Authorization: Bearer {filed['token']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Content-Length: 200000\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
        writer.write(request + head + b"\x00" * 20_000)
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await writer.wait_closed()

        directory = Path(live.services.settings.storage.evidence_dir)
        for _ in range(50):  # the server notices the hang-up asynchronously
            if not stray_files(directory):
                break
            await asyncio.sleep(0.1)
        assert stray_files(directory) == []
        async with live.services.db.read() as session:
            count = (
                await session.execute(select(func.count(EvidenceItem.id)))
            ).scalar()
        assert count == 0

        # and the server keeps serving
        async with httpx.AsyncClient(base_url=live.url) as client:
            response = await upload(
                client, filed["reference"], filed["token"], png_bytes()
            )
            assert response.status_code == 201
    finally:
        await live.stop()


async def test_a_closed_case_takes_no_more_evidence(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    async with app.services.db.write() as session:
        case = (
            await session.execute(
                select(Case).where(Case.reference == filed["reference"])
            )
        ).scalar_one()
        case.status = CaseStatus.REJECTED
    response = await upload(client, filed["reference"], filed["token"], png_bytes())
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "case_not_open",
    )
    await assert_nothing_stored(app)


async def test_the_case_officer_sets_the_verification_status(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    item = (
        await upload(client, filed["reference"], filed["token"], png_bytes())
    ).json()
    url = item_url(filed, item["id"]) + "/verification"

    # a party may not
    as_party = await client.post(
        url,
        json={"status": "verified"},
        headers={"Authorization": f"Bearer {filed['token']}"},
    )
    assert as_party.status_code == 403

    officer = await make_staff(app, Role.CASE_OFFICER, "officer@example.org")
    async with staff_client(app, officer) as staff:
        bare = await staff.post(url, json={"status": "questioned"})
        assert (bare.status_code, bare.json()["error"]["code"]) == (
            422,
            "note_required",
        )
        bad = await staff.post(url, json={"status": "genuine"})
        assert bad.json()["error"]["field"] == "status"
        questioned = await staff.post(
            url, json={"status": "questioned", "note": "The date is cut off."}
        )
        assert questioned.status_code == 200
        assert questioned.json()["status"] == "questioned"
        assert questioned.json()["status_note"] == "The date is cut off."
        verified = await staff.post(url, json={"status": "verified"})
        assert verified.json()["status"] == "verified"
        assert verified.json()["status_note"] is None

    async with app.services.db.read() as session:
        case = (
            await session.execute(
                select(Case).where(Case.reference == filed["reference"])
            )
        ).scalar_one()
        events = (
            (
                await session.execute(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(CaseEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        assert [e.kind for e in events] == [
            "case.filed",
            "evidence.added",
            "evidence.verification",
            "evidence.verification",
        ]
        assert events[2].payload["status"] == "questioned"
        assert events[2].actor == f"user:{officer.id}"
        assert await verify_chain(session, case) == []

    # the party sees the verdict on the case page
    view = (
        await client.get(
            f"/api/cases/{filed['reference']}",
            headers={"Authorization": f"Bearer {filed['token']}"},
        )
    ).json()
    assert view["evidence"][0]["status"] == "verified"


async def test_the_upload_is_streamed_never_buffered_whole(
    app: RunningApp, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler must not fall back on Request.body() or Request.form()."""
    from starlette.requests import Request

    async def forbidden(self: Request, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the upload handler buffered the body")

    filed = await file_via_api(client)
    monkeypatch.setattr(Request, "body", forbidden)
    monkeypatch.setattr(Request, "form", forbidden)
    content = png_bytes(200, 200, seed=11) + b"\x00" * 300_000
    response = await upload(client, filed["reference"], filed["token"], content)
    assert response.status_code == 201
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()


async def test_concurrent_uploads_respect_the_count_limit(
    small_app: RunningApp,
) -> None:
    async with small_app.client() as client:
        filed = await file_via_api(client)

        async def one(i: int) -> httpx.Response:
            async with small_app.client() as c:
                return await upload(
                    c, filed["reference"], filed["token"], png_bytes(seed=i)
                )

        responses = await asyncio.gather(*(one(i) for i in range(6)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 201, 201, 409, 409, 409]
    refused = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refused == {"too_many_files"}
    assert len(await evidence_rows(small_app)) == 3
    assert len(stray_files(evidence_dir(small_app))) == 3
    async with small_app.services.db.read() as session:
        case = (
            await session.execute(
                select(Case).where(Case.reference == filed["reference"])
            )
        ).scalar_one()
        assert await verify_chain(session, case) == []
        assert case.event_count == 4
