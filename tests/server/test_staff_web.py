"""Staff sign-in and the staff and party pages, over HTTP."""

from __future__ import annotations

import re

import httpx

from server.models import CaseStatus, Role
from tests.conftest import RunningApp
from tests.server.casework_factories import (
    PASSWORD,
    add_evidence,
    make_case,
    make_user,
    parties,
    staff_client_cookies,
)


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password}
    )


async def test_sixth_wrong_password_is_rate_limited(app: RunningApp) -> None:
    user = await make_user(app.services, Role.CASE_OFFICER)
    async with app.client() as client:
        for _ in range(5):
            wrong = await _sign_in(client, user.email, "not the password")
            assert wrong.status_code == 401
            assert wrong.json()["error"]["code"] == "invalid_credentials"
        sixth = await _sign_in(client, user.email, "not the password")
        assert sixth.status_code == 429
        assert sixth.json()["error"]["code"] == "rate_limited"
        assert sixth.headers["retry-after"] == "60"
        # even the right password waits out the window
        right = await _sign_in(client, user.email, PASSWORD)
        assert right.status_code == 429


async def test_session_cookie_flags_and_csrf_cookie(app: RunningApp) -> None:
    user = await make_user(app.services, Role.CASE_OFFICER)
    async with app.client() as client:
        response = await _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 200
    cookies = {
        c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")
    }
    assert "httponly" in cookies["accord_staff"]
    assert "samesite=lax" in cookies["accord_staff"]
    assert "path=/" in cookies["accord_staff"]
    # the CSRF cookie is readable by the page's script, and strict
    assert "httponly" not in cookies["accord_csrf"]
    assert "samesite=strict" in cookies["accord_csrf"]


async def test_logout_everywhere_invalidates_old_cookies(app: RunningApp) -> None:
    user = await make_user(app.services, Role.CASE_OFFICER)
    async with app.client() as first, app.client() as second:
        assert (await _sign_in(first, user.email, PASSWORD)).status_code == 200
        assert (await _sign_in(second, user.email, PASSWORD)).status_code == 200
        assert (await second.get("/api/cases")).status_code == 200
        out = await first.post(
            "/api/auth/logout?everywhere=1",
            headers={"X-CSRF-Token": first.cookies["accord_csrf"]},
        )
        assert out.status_code == 200
        # the other browser's cookie is still set but no longer accepted
        assert second.cookies.get("accord_staff")
        refused = await second.get("/api/cases")
        assert refused.status_code == 401
        page = await second.get("/staff")
        assert page.status_code == 303
        assert page.headers["location"] == "/staff/login"


async def test_staff_pages_need_a_staff_sign_in(app: RunningApp) -> None:
    case = await make_case(app.services)
    claimant, _ = await parties(app.services, case)
    async with app.client() as client:
        for path in ("/staff", f"/staff/cases/{case.reference}"):
            response = await client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == "/staff/login"
        # a party's link does not open staff pages
        client.cookies.set("accord_party", app.services.signer.party_link(claimant))
        assert (await client.get("/staff")).status_code == 303
        login = await client.get("/staff/login?lang=zh-CN")
        assert login.status_code == 200
        assert "工作人员登录" in login.text
        assert 'id="login-form"' in login.text


async def test_queue_and_case_page_render_for_the_officer(app: RunningApp) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    await make_user(services, Role.MEDIATOR, name="Mediator Mei", languages="zh-CN")
    case = await make_case(services)
    claimant, _ = await parties(services, case)
    await add_evidence(services, case, claimant, b"photo", name="发票.txt")

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        queue = await staff.get("/staff?lang=zh-CN")
        assert queue.status_code == 200
        assert case.reference in queue.text
        assert "status-submitted" in queue.text and "已提交" in queue.text

        filtered = await staff.get("/staff?status=closed")
        assert case.reference not in filtered.text

        page = await staff.get(f"/staff/cases/{case.reference}")
        assert page.status_code == 200
        text = page.text
        assert "王小明" in text and "发票.txt" in text
        assert 'id="screening-form"' in text
        assert 'id="classification-form"' in text
        assert "verify-form" in text
        assert "Mediator Mei" not in text  # assignment comes after acceptance
        assert re.search(r'value="http://127\.0\.0\.1:8000/p/[^"]+"', text)
        assert "案件已提交" in text  # the timeline, in the chosen language

        missing = await staff.get("/staff/cases/ACC-0000-000000")
        assert missing.status_code == 404


async def test_mediator_sees_assigned_case_read_only(app: RunningApp) -> None:
    services = app.services
    mediator = await make_user(services, Role.MEDIATOR)
    other = await make_user(services, Role.MEDIATOR)
    mine = await make_case(
        services, status=CaseStatus.SUBMITTED, mediator_id=mediator.id
    )
    theirs = await make_case(services, mediator_id=other.id)
    async with app.client(cookies=staff_client_cookies(services, mediator)) as client:
        queue = await client.get("/staff")
        assert mine.reference in queue.text and theirs.reference not in queue.text
        page = await client.get(f"/staff/cases/{mine.reference}")
        assert page.status_code == 200
        assert "screening-form" not in page.text
        assert "assignment-form" not in page.text
        assert "link-value" not in page.text
        hidden = await client.get(f"/staff/cases/{theirs.reference}")
        assert hidden.status_code == 404


async def test_claimant_answers_a_request_for_information_on_their_page(
    app: RunningApp,
) -> None:
    services = app.services
    case = await make_case(services, status=CaseStatus.INFO_REQUESTED)
    claimant, respondent = await parties(services, case)
    async with app.client() as browser:
        opened = await browser.get(f"/p/{services.signer.party_link(claimant)}")
        assert opened.status_code == 303
        page = await browser.get("/my-case")
        assert 'id="information-form"' in page.text
        answer = await browser.post(
            f"/api/cases/{case.reference}/information",
            json={"information": "补充材料"},
            headers={"X-CSRF-Token": browser.cookies["accord_csrf"]},
        )
        assert answer.status_code == 200, answer.text
    async with app.client() as browser:
        await browser.get(f"/p/{services.signer.party_link(respondent)}")
        page = await browser.get("/my-case")
        assert "information-form" not in page.text
        assert "王小明" in page.text
        assert "claimant@example.org" not in page.text
