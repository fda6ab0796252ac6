"""In Chromium: both parties sign, the mediator countersigns, closes, feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server import negotiation as n
from server.models import Agreement, Case, Feedback
from server.settings import Settings
from tests.conftest import make_settings, unavailable
from tests.server.negotiation.conftest import (
    CLAIMANT_NAME,
    MEDIATOR_NAME,
    RESPONDENT_NAME,
    cookies_for,
    seed,
)

SHOTS = Path("test-output/screenshots")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go; Chromium must be installed."""
    if not CHROMIUM.exists():
        unavailable("Chromium", "apt-get install chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """One backend is enough here: the services are covered on both elsewhere."""
    return make_settings(sqlite_url, tmp_path)


async def context_for(
    browser: Any, url: str, cookies: dict[str, str], lang: str
) -> Any:
    context = await browser.new_context(
        locale=lang, viewport={"width": 900, "height": 1100}
    )
    await context.add_cookies(
        [
            {"name": k, "value": v, "url": url}
            for k, v in cookies.items()
            if k != "accord_csrf"
        ]
        + [{"name": "accord_lang", "value": lang, "url": url}]
    )
    return context


@pytest.mark.browser
async def test_parties_sign_mediator_countersigns_closes_and_party_gives_feedback(
    live_server: Any, shots: Path
) -> None:
    from playwright.async_api import async_playwright

    services = live_server.services
    world = await seed(services)
    cash = [
        {
            "type": "monetary",
            "amount_minor": 350000,
            "currency": "CNY",
            "due_date": "2026-08-01",
        }
    ]
    apology = [{"type": "obligation", "text": "Send a written apology"}]
    # offer, counter-offer, accept: through the room actions
    async with services.db.write() as db:
        first = (await n.make_offer(db, world.claimant(), {"terms": cash}))[0]
    async with services.db.write() as db:
        counter = await n.counter_offer(
            db,
            world.respondent(),
            {"offer_id": first.content["offer"]["id"], "terms": cash + apology},
        )
    async with services.db.write() as db:
        await n.accept_offer(
            db, world.claimant(), {"offer_id": counter[-1].content["offer"]["id"]}
        )

    page_url = f"{live_server.url}/case/{world.reference}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            mediator = await context_for(
                browser,
                live_server.url,
                await cookies_for(services, user_id=world.mediator_user_id),
                "en",
            )
            claimant = await context_for(
                browser,
                live_server.url,
                await cookies_for(services, party_id=world.claimant_id),
                "zh-CN",
            )
            respondent = await context_for(
                browser,
                live_server.url,
                await cookies_for(services, party_id=world.respondent_id),
                "en",
            )

            # the mediator draws the agreement up from the accepted offer
            m = await mediator.new_page()
            await m.goto(f"{page_url}/agreement")
            await m.click("#generate")
            await m.wait_for_selector("#agreement-hash")
            await m.screenshot(
                path=str(shots / "agreement-mediator-draft.png"), full_page=True
            )

            for context, name, shot in (
                (claimant, CLAIMANT_NAME, "agreement-claimant-zh"),
                (respondent, RESPONDENT_NAME, "agreement-respondent-en"),
            ):
                p = await context.new_page()
                await p.goto(f"{page_url}/agreement")
                assert CLAIMANT_NAME in await p.inner_text("main")
                await p.fill("#typed-name", name)
                await p.check("#consent")
                await p.screenshot(
                    path=str(shots / f"{shot}-before.png"), full_page=True
                )
                async with p.expect_navigation():
                    await p.click("#sign-button")
                assert name in await p.inner_text("#signatures")
                await p.screenshot(
                    path=str(shots / f"{shot}-signed.png"), full_page=True
                )

            claimant_page = claimant.pages[0]
            assert "和解协议" in await claimant_page.inner_text("main")
            assert "签名" in await claimant_page.inner_text("main")

            await m.reload()
            await m.fill("#typed-name", MEDIATOR_NAME)
            await m.check("#consent")
            async with m.expect_navigation():
                await m.click("#sign-button")
            await m.wait_for_selector("#agreement-complete")
            await m.screenshot(
                path=str(shots / "agreement-countersigned.png"), full_page=True
            )

            await m.goto(f"{page_url}/closure")
            await m.check("#outcome-settled")
            await m.check("#closure-confirm")
            await m.screenshot(path=str(shots / "closure-dialog.png"), full_page=True)
            await m.click("#closure-submit")
            await m.locator("#closure-status", has_text="closed").wait_for()
            await m.screenshot(path=str(shots / "closure-done.png"), full_page=True)

            f = await claimant.new_page()
            await f.goto(f"{page_url}/feedback")
            await f.check("#satisfaction-5")
            await f.check("#fairness-4")
            await f.check("#ease_of_use-5")
            await f.check("#would-use-again")
            await f.fill("#feedback-comment", "调解员很耐心。")
            await f.screenshot(path=str(shots / "feedback-zh.png"), full_page=True)
            await f.click("#feedback-submit")
            await f.locator("#feedback-status", has_text="感谢").wait_for()
            await f.screenshot(
                path=str(shots / "feedback-thanks-zh.png"), full_page=True
            )
        finally:
            await browser.close()

    async with services.db.read() as db:
        case = await db.get(Case, world.case_id)
        assert case is not None
        assert (case.status, case.closure_outcome) == ("closed", "settled")
        agreement = (await db.execute(select(Agreement))).scalar_one()
        assert agreement.status == "completed"
        assert (await db.execute(select(func.count(Feedback.id)))).scalar_one() == 1
