"""A real browser files a case in Chinese with two files and opens the case page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.models import Case, EvidenceItem
from tests.conftest import LiveServer
from tests.server.intake_support import pdf_bytes, png_bytes

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
async def browser_page(live_server: LiveServer) -> AsyncIterator[Any]:
    """A phone-sized Chromium page that records console errors."""
    if not HAVE_CHROMIUM:
        from tests.conftest import unavailable

        unavailable("Chromium", "apt-get install chromium fonts-noto-cjk")
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS
        )
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB"
        )
        page = await context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.failed_responses = []  # type: ignore[attr-defined]
        # script errors and CSP violations; failed requests are kept apart
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and "Failed to load resource" not in msg.text
                and page.console_errors.append(msg.text)
            ),
        )
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and page.failed_responses.append((r.status, r.url.split("/", 3)[-1]))
            ),
        )
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


async def test_filing_in_chinese_with_two_files(
    live_server: LiveServer, browser_page: Any, database_url: str
) -> None:
    from playwright.async_api import expect

    page = browser_page
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    field = page.locator

    # switch the interface to Chinese
    await page.goto(f"{live_server.url}/file")
    await expect(page.locator("#filing h1")).to_have_text("File a dispute")
    await page.select_option("#lang-select", "zh-CN")
    await page.wait_for_url(re.compile(r"/file\?lang=zh-CN$"))
    await expect(page.locator("#filing h1")).to_have_text("提交纠纷")

    # fill in the application in Chinese
    await field('[data-path="claimant.name"]').fill("王小明")
    await field('[data-path="claimant.email"]').fill("xiaoming@example.cn")
    await field('[data-path="claimant.phone"]').fill("+86 138 1234 5678")
    await field('[data-path="respondents.0.name"]').fill("上海优品电器有限公司")
    await field('[data-path="respondents.0.email"]').fill("service@youpin.example")
    await field('[data-path="respondents.0.organisation"]').fill("优品电器")
    await field('[data-path="category"]').select_option("goods")
    await field('[data-path="amount"]').fill("2999.00")
    await field('[data-path="currency"]').select_option("CNY")
    await field('[data-path="facts"]').fill(
        "2026年3月1日我在网店购买了一台洗衣机并已付款，至今未收到货，客服不再回复。"
    )
    await field('[data-path="desired_outcome"]').fill("全额退款人民币2999元。")
    await page.set_input_files(
        "#evidence-files",
        files=[
            {"name": "收据.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
            {
                "name": "聊天截图.png",
                "mimeType": "image/png",
                "buffer": png_bytes(40, 30, seed=7),
            },
        ],
    )
    rows = page.locator(".evidence-row")
    await expect(rows).to_have_count(2)
    await rows.nth(0).locator(".evidence-category").select_option("receipt")
    await rows.nth(1).locator(".evidence-category").select_option("correspondence")
    await rows.nth(1).locator(".evidence-description").fill("与客服的聊天记录")

    # without consent the error appears next to the consent box
    await page.click("#submit-filing")
    consent_error = page.locator('[data-error-for="consent"]')
    await expect(consent_error).to_have_text("提交前必须同意条款。")
    await expect(page.locator("#form-errors")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / f"intake-{backend}-1-error.png")

    await page.check("#consent")
    await page.click("#submit-filing")
    reference = page.locator("#filed-reference")
    await expect(reference).to_have_text(re.compile(r"^ACC-\d{4}-\d{6}$"))
    await expect(page.locator('#upload-status li[data-state="done"]')).to_have_count(
        2, timeout=15_000
    )
    await expect(page.locator("#filed-title")).to_have_text("您的纠纷已提交")
    link = await page.locator("#filed-link").input_value()
    assert link.startswith(f"{live_server.url}/p/")
    await page.screenshot(
        path=SCREENSHOTS / f"intake-{backend}-2-filed.png", full_page=True
    )
    ref = (await reference.text_content() or "").strip()

    # the personal link sets the cookie and lands on the case page without it
    await page.click("#filed-open")
    await page.wait_for_url(f"{live_server.url}/case/{ref}")
    assert "/p/" not in page.url
    await expect(page.locator("h1")).to_have_text(f"案件 {ref}")
    await expect(page.locator("#case-status")).to_have_text("已提交，等待审查")
    items = page.locator(".evidence-item")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("收据.pdf")
    await expect(items.nth(1)).to_contain_text("聊天截图.png")
    await expect(items.nth(1)).to_contain_text("与客服的聊天记录")
    await page.screenshot(
        path=SCREENSHOTS / f"intake-{backend}-3-case.png", full_page=True
    )

    # a disguised web page is refused next to the file field
    await page.set_input_files(
        "#upload-file",
        files=[
            {
                "name": "照片.jpg",
                "mimeType": "image/jpeg",
                "buffer": b"<html><script>alert(1)</script></html>",
            }
        ],
    )
    await page.click("#evidence-upload button[type=submit]")
    await expect(page.locator('[data-error-for="file"]')).to_have_text(
        "不接受此类文件。"
    )

    # a third file added from the case page, with its progress bar
    await page.set_input_files(
        "#upload-file",
        files=[
            {
                "name": "补充说明.txt",
                "mimeType": "text/plain",
                "buffer": "快递单号：SF123456789。\n".encode(),
            }
        ],
    )
    await page.click("#evidence-upload button[type=submit]")
    await expect(page.locator(".evidence-item")).to_have_count(3, timeout=15_000)
    await page.screenshot(
        path=SCREENSHOTS / f"intake-{backend}-4-added.png", full_page=True
    )

    # the download is an attachment, with the cookie from the link
    href = await items.nth(0).locator("a").get_attribute("href")
    download = await page.request.get(f"{live_server.url}{href}")
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert await download.body() == pdf_bytes()

    assert page.console_errors == []
    # the only refusals: the missing consent, then the disguised web page
    assert [
        (status, url) for status, url in page.failed_responses if "favicon" not in url
    ] == [(422, "api/cases"), (422, f"api/cases/{ref}/evidence")]

    async with live_server.services.db.read() as session:
        case = (
            await session.execute(select(Case).where(Case.reference == ref))
        ).scalar_one()
        names = (
            (
                await session.execute(
                    select(EvidenceItem.original_name)
                    .where(EvidenceItem.case_id == case.id)
                    .order_by(EvidenceItem.id)
                )
            )
            .scalars()
            .all()
        )
    assert case.amount_minor == 299900 and case.currency == "CNY"
    assert {p.name for p in case.parties} == {"王小明", "上海优品电器有限公司"}
    assert names == ["收据.pdf", "聊天截图.png", "补充说明.txt"]
