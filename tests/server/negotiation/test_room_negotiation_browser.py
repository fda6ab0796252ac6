"""A whole negotiation in the ROOM page, in three real Chromium contexts.

The claimant reads the room in Chinese, the respondent and the mediator in
English. The claimant makes an offer, the respondent counters, the claimant
accepts; the mediator draws the agreement up, both parties sign, the
mediator countersigns and closes the case as settled; the respondent
answers the feedback survey. Nobody leaves the room page.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.i18n import LANG_COOKIE
from server.models import Case, CaseStatus, Feedback, Signature
from server.settings import Settings
from tests.conftest import LiveServer, make_settings, unavailable
from tests.server.negotiation.conftest import (
    CLAIMANT_NAME,
    MEDIATOR_NAME,
    RESPONDENT_NAME,
    cookies_for,
    seed,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
TIMEOUT_MS = 15000


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """One backend: the socket tests cover PostgreSQL; this one covers the page."""
    return make_settings(sqlite_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="1000")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    if not HAVE_CHROMIUM:
        unavailable("Chromium", "apt-get install chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("Playwright", "pip install playwright")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield launched
        await launched.close()


async def _page(
    browser: Any, live: LiveServer, cookies: dict[str, str], language: str
) -> Any:
    context = await browser.new_context(
        locale=language, viewport={"width": 1200, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    jar = {**cookies, LANG_COOKIE: language}
    await context.add_cookies(
        [{"name": n, "value": v, "url": live.url} for n, v in jar.items()]
    )
    return await context.new_page()


async def test_offer_counter_accept_sign_countersign_close_and_feedback_in_the_room(
    live_server: LiveServer, browser: Any
) -> None:
    from playwright.async_api import expect

    services = live_server.services
    world = await seed(services)
    pages = {
        "claimant": await _page(
            browser,
            live_server,
            await cookies_for(services, party_id=world.claimant_id),
            "zh-CN",
        ),
        "respondent": await _page(
            browser,
            live_server,
            await cookies_for(services, party_id=world.respondent_id),
            "en",
        ),
        "mediator": await _page(
            browser,
            live_server,
            await cookies_for(services, user_id=world.mediator_user_id),
            "en",
        ),
    }
    problems: list[str] = []
    for name, page in pages.items():
        page.on("pageerror", lambda exc, n=name: problems.append(f"{n}: {exc}"))
        page.on(
            "console",
            lambda msg, n=name: (
                problems.append(f"{n}: {msg.text}")
                if msg.type == "error" and "favicon.ico" not in str(msg.location)
                else None
            ),
        )
    SHOTS.mkdir(parents=True, exist_ok=True)

    async def shots(step: str) -> None:
        for name, page in pages.items():
            await page.screenshot(
                path=SHOTS / f"room-negotiation-{step}-{name}.png", full_page=True
            )

    respondent, mediator = pages["respondent"], pages["mediator"]
    url = f"{live_server.url}/room/{world.session_id}"
    for page in pages.values():
        await page.goto(url)
    panels = {name: page.locator("#room-negotiation") for name, page in pages.items()}
    for panel in panels.values():
        await expect(panel).to_be_visible()
    await expect(panels["claimant"].locator("h2").first).to_have_text("协商")
    await expect(panels["respondent"].locator("h2").first).to_have_text("Negotiation")
    # the mediator's tools, the parties' own
    await expect(
        mediator.get_by_role("button", name="Open a blind bid")
    ).to_be_visible()
    await expect(mediator.get_by_role("button", name="Save issues")).to_be_visible()
    await expect(
        mediator.get_by_role("link", name="Write the mediation opinion")
    ).to_be_visible()
    await expect(
        respondent.get_by_role("button", name="Open a blind bid")
    ).to_have_count(0)
    await expect(respondent.get_by_role("button", name="Send offer")).to_be_visible()

    # 1. the claimant, in Chinese, offers 5,000.00
    offers = panels["claimant"].locator(".negotiation.offers")
    builder = offers.locator("form.offer-builder").first
    await builder.get_by_label("金额").fill("5000")
    await builder.get_by_label("备注").fill("全额退款")
    await builder.get_by_role("button", name="发送提议").click()
    first = panels["respondent"].locator('article.offer[data-offer-id="1"]')
    await expect(first).to_contain_text("CNY 5,000.00")
    await expect(first).to_have_attribute("data-status", "open")
    await expect(respondent.locator("#chat-lines")).to_contain_text(
        f"{CLAIMANT_NAME} made offer #1."
    )
    await shots("1-offer")

    # 2. the respondent, in English, counters with 3,500.00
    await first.get_by_role("button", name="Counter-offer").click()
    counter = first.locator("form.offer-builder")
    await counter.get_by_label("Amount").fill("3500")
    await counter.get_by_role("button", name="Send offer").click()
    second = panels["claimant"].locator('article.offer[data-offer-id="2"]')
    await expect(second).to_contain_text("CNY 3,500.00")
    await expect(
        panels["claimant"].locator('article.offer[data-offer-id="1"]')
    ).to_have_attribute("data-status", "countered")
    await shots("2-counter")

    # 3. the claimant accepts the counter-offer
    await second.get_by_role("button", name="接受").click()
    for name in ("claimant", "respondent", "mediator"):
        await expect(
            panels[name].locator('article.offer[data-offer-id="2"]')
        ).to_have_attribute("data-status", "accepted")
    await expect(mediator.locator("#chat-lines")).to_contain_text(
        f"{CLAIMANT_NAME} accepted offer #2: it is agreed."
    )
    await shots("3-accepted")

    # an extra obligation offered and turned down, with a reason asked in the page
    builder = panels["claimant"].locator("form.offer-builder").first
    await builder.get_by_label("其他义务（道歉、退货、维修等）").fill("书面道歉")
    await builder.get_by_role("button", name="发送提议").click()
    third = panels["respondent"].locator('article.offer[data-offer-id="3"]')
    await third.get_by_role("button", name="Reject").click()
    await third.get_by_label("Reason (optional)").fill("Not needed")
    await third.locator("form.reject").get_by_role("button", name="Reject").click()
    await expect(
        panels["claimant"].locator('article.offer[data-offer-id="3"]')
    ).to_have_attribute("data-status", "rejected")

    # 4. the mediator draws the agreement up from the accepted terms
    await mediator.get_by_role("button", name="Draw up from the accepted offer").click()
    for name in ("claimant", "respondent", "mediator"):
        await expect(panels[name].locator(".agreement-text").first).to_be_visible()
    await expect(panels["respondent"].locator(".agreement-text").first).to_contain_text(
        "3,500.00"
    )
    await expect(respondent.locator("#chat-lines")).to_contain_text(
        "The settlement agreement was drawn up (version 1)."
    )

    # 5. both parties sign inside the room
    signing = panels["claimant"].locator(".negotiation.signing")
    await signing.get_by_label("请输入您的全名").fill(CLAIMANT_NAME)
    await signing.locator('input[type="checkbox"]').check()
    await signing.get_by_role("button", name="签署").click()
    await expect(signing).to_contain_text("您已签署此版本")
    signing = panels["respondent"].locator(".negotiation.signing")
    await signing.get_by_label("Type your full name").fill(RESPONDENT_NAME)
    # the claimant's signature reaches this page meanwhile: the typing stays
    await expect(signing.locator(".signatures li")).to_have_count(1)
    await expect(signing.get_by_label("Type your full name")).to_have_value(
        RESPONDENT_NAME
    )
    await signing.locator('input[type="checkbox"]').check()
    await signing.get_by_role("button", name="Sign", exact=True).click()
    await expect(signing).to_contain_text("You have signed this version.")
    await expect(respondent.locator("#chat-lines")).to_contain_text(
        f"{CLAIMANT_NAME} signed version 1 of the agreement."
    )
    await shots("4-signed")

    # 6. the mediator countersigns: complete for everyone
    signing = panels["mediator"].locator(".negotiation.signing")
    await expect(signing.locator(".signatures li")).to_have_count(2)
    await signing.get_by_label("Type your full name").fill(MEDIATOR_NAME)
    await signing.locator('input[type="checkbox"]').check()
    await signing.get_by_role("button", name="Countersign").click()
    await expect(panels["claimant"].locator(".negotiation.signing")).to_contain_text(
        "各方均已签署，调解员已副署"
    )
    await expect(panels["respondent"].locator(".negotiation.signing")).to_contain_text(
        "Signed by every party and countersigned by the mediator."
    )

    # 7. the mediator closes the case as settled, from the room
    dialog = panels["mediator"].locator("details.closure-dialog")
    await dialog.locator("summary").click()
    await dialog.get_by_label("settled", exact=True).check()
    await dialog.get_by_label("I understand that a closed case").check()
    await dialog.get_by_role("button", name="Close the case").click()
    await expect(panels["mediator"].locator(".case-closed")).to_be_visible()
    await expect(respondent.locator("#chat-lines")).to_contain_text(
        "The case is closed: settled."
    )
    await shots("5-closed")

    # 8. the respondent answers the survey in the room
    survey = panels["respondent"].locator("form.feedback-form")
    await expect(survey).to_be_visible()
    await expect(panels["claimant"].locator("form.feedback-form")).to_be_visible()
    for question in (
        "Overall satisfaction",
        "How fair was the process?",
        "How easy was Accord to use?",
    ):
        group = survey.locator("fieldset").filter(has_text=question)
        await group.get_by_label("4", exact=True).check()
    await survey.get_by_label("I would use Accord again").check()
    await survey.get_by_role("button", name="Send feedback").click()
    await expect(panels["respondent"]).to_contain_text("Thank you for your feedback.")
    await shots("6-feedback")

    # what the pages showed is what the server stored
    async with services.db.read() as db:
        case = await db.get(Case, world.case_id)
        assert case is not None
        assert case.status == CaseStatus.CLOSED and case.closure_outcome == "settled"
        signatures = (await db.execute(select(Signature))).scalars().all()
        assert sorted(s.typed_name for s in signatures if not s.voided) == sorted(
            [CLAIMANT_NAME, RESPONDENT_NAME, MEDIATOR_NAME]
        )
        answers = (await db.execute(select(Feedback))).scalars().all()
        assert [(a.satisfaction, a.would_use_again) for a in answers] == [(4, True)]
    assert problems == []
