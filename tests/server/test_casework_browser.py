"""In headless Chromium: a case officer signs in, accepts and assigns a case (zh-CN)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.models import Case, CaseStatus, Role
from tests.conftest import LiveServer, unavailable
from tests.server.casework_factories import PASSWORD, make_case, make_user

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, no browser download."""
    if not shutil.which(CHROMIUM):
        unavailable("Chromium", "install the Debian package chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        await chromium.close()


@pytest.mark.browser
async def test_officer_accepts_and_assigns_a_chinese_case(
    live_server: LiveServer, browser: Any, database_url: str
) -> None:
    services = live_server.services
    officer = await make_user(services, Role.CASE_OFFICER, name="陈静")
    mediator = await make_user(
        services, Role.MEDIATOR, name="张调解", languages="zh-CN,en"
    )
    await make_user(services, Role.MEDIATOR, name="Sam Only-English", languages="en")
    interpreter = await make_user(services, Role.INTERPRETER, name="刘译员")
    case = await make_case(
        services,
        parties=(
            {
                "role": "claimant",
                "name": "王小明",
                "email": "xiaoming@example.org",
                "language": "zh-CN",
            },
            {
                "role": "respondent",
                "name": "上海好家电器有限公司",
                "email": "shop@example.org",
                "language": "zh-CN",
            },
        ),
    )
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> str:
        return str(SCREENSHOTS / f"casework-{backend}-{name}.png")

    context = await browser.new_context(
        locale="zh-CN", viewport={"width": 1100, "height": 900}
    )
    page = await context.new_page()
    problems: list[str] = []
    failed: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    # sign in, in Chinese
    await page.goto(f"{live_server.url}/staff/login?lang=zh-CN")
    await page.get_by_label("电子邮箱").fill(officer.email)
    await page.get_by_label("密码").fill("wrong password")
    await page.get_by_role("button", name="登录").click()
    await page.locator("#login-error", has_text="电子邮箱和密码不匹配").wait_for()
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{live_server.url}/staff")
    await page.get_by_role("heading", name="案件队列").wait_for()
    await page.screenshot(path=shot("1-queue"), full_page=True)

    # open the case from the queue
    await page.get_by_role("link", name=case.reference).click()
    await page.wait_for_url(f"**/staff/cases/{case.reference}")
    await page.get_by_text("上海好家电器有限公司").first.wait_for()
    assert await page.locator("#case-status").inner_text() == "已提交"
    await page.screenshot(path=shot("2-case-submitted"), full_page=True)

    # rejecting needs a reason: the form says so without leaving the page
    await page.get_by_role("button", name="不予受理").click()
    assert await page.locator("#screening-error").inner_text() == "请填写理由。"

    # accept
    await page.get_by_role("button", name="受理案件").click()
    await page.locator("#case-status", has_text="已受理").wait_for()

    # assign: the Chinese-speaking mediator is suggested first
    select = page.get_by_label("调解员", exact=True)
    first_option = select.locator("option").first
    assert "张调解" in await first_option.inner_text()
    await select.select_option(str(mediator.id))
    await page.get_by_label("刘译员").check()
    await page.get_by_role("button", name="指派调解员").click()
    await page.locator("#case-status", has_text="已指派调解员").wait_for()
    await page.get_by_role("heading", name="时间线").scroll_into_view_if_needed()
    await page.screenshot(path=shot("3-case-assigned"), full_page=True)
    await context.close()

    async with services.db.read() as session:
        stored = await session.get(Case, case.id)
    assert stored is not None
    assert stored.status == CaseStatus.ASSIGNED
    assert stored.mediator_id == mediator.id
    assert stored.officer_id == officer.id
    assert stored.interpreter_ids == [interpreter.id]
    # no script error, no CSP violation; the only failures are the wrong
    # password and the browser's own favicon request
    assert problems == []
    assert [f for f in failed if not f.endswith("/favicon.ico")] == [
        f"401 {live_server.url}/api/auth/login"
    ]
    assert (SCREENSHOTS / f"casework-{backend}-3-case-assigned.png").stat().st_size > 0
