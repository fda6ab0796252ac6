"""The intake pages over HTTP: the form, personal links, the case page."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from server.models import Case
from tests.conftest import RunningApp
from tests.server.intake_support import file_via_api, png_bytes, upload


async def test_the_form_speaks_both_languages(client: httpx.AsyncClient) -> None:
    english = await client.get("/file?lang=en")
    assert english.status_code == 200
    assert "File a dispute" in english.text
    assert 'id="filing-form"' in english.text
    assert "/static/js/intake.js" in english.text

    chinese = await client.get("/file?lang=zh-CN")
    assert "提交纠纷" in chinese.text
    assert "商品买卖" in chinese.text
    # the catalogue travels as inert JSON, never as an inline script
    assert '<script type="application/json" id="i18n">' in chinese.text
    assert "<script>" not in chinese.text


async def test_a_personal_link_becomes_a_cookie_and_leaves_the_url(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)

    response = await client.get(filed["link"])

    assert response.status_code == 303
    assert response.headers["location"] == f"/case/{filed['reference']}"
    assert filed["token"] not in response.headers["location"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"accord_party={filed['token']};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert response.headers["cache-control"] == "no-store"

    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert filed["reference"] in page.text
    assert "I paid for a washing machine" in page.text
    assert 'id="evidence-upload"' in page.text
    assert filed["token"] not in page.text


async def test_a_bad_or_revoked_link_is_refused_politely(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    response = await client.get("/p/not-a-real-token?lang=en")
    assert response.status_code == 401
    assert "This link does not work" in response.text
    assert "accord_party" not in response.headers.get("set-cookie", "")

    filed = await file_via_api(client)
    async with app.services.db.write() as session:
        case = (
            await session.execute(
                select(Case).where(Case.reference == filed["reference"])
            )
        ).scalar_one()
        for party in case.parties:
            party.link_version += 1
    assert (await client.get(filed["link"])).status_code == 401


async def test_the_case_page_needs_the_link(client: httpx.AsyncClient) -> None:
    filed = await file_via_api(client)
    response = await client.get(f"/case/{filed['reference']}?lang=en")
    assert response.status_code == 401
    assert "personal link" in response.text
    assert "washing machine" not in response.text


async def test_the_other_side_does_not_see_a_private_file_on_the_page(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    ref = filed["reference"]
    await upload(client, ref, filed["token"], png_bytes(), "secret.png", private="true")
    await upload(client, ref, filed["token"], png_bytes(seed=1), "shared.png")
    async with app.services.db.read() as session:
        case = (
            await session.execute(select(Case).where(Case.reference == ref))
        ).scalar_one()
    respondent = next(p for p in case.parties if p.role.value == "respondent")

    async with app.client() as browser:
        await browser.get(f"/p/{app.services.signer.party_link(respondent)}")
        page = await browser.get(f"/case/{ref}?lang=en")
    assert page.status_code == 200
    assert "shared.png" in page.text
    assert "secret.png" not in page.text
    assert "li.wei@example.org" not in page.text

    async with app.client() as browser:
        await browser.get(filed["link"])
        mine = await browser.get(f"/case/{ref}?lang=zh-CN")
    assert "secret.png" in mine.text and "保密" in mine.text
