"""A Chinese-speaking party, an English-speaking party and an interpreter in
real Chromium: every line shows at once in the original, then in
translation; the interpreter corrects a line and both parties see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from server.auth import PARTY_COOKIE, STAFF_COOKIE
from server.models import Party, User
from tests.conftest import LiveServer, make_settings, start_live_server, unavailable
from tests.server.roomkit import seed, staff_client
from tests.server.test_room_browser import CHROMIUM, HAVE_CHROMIUM, _context
from tests.server.translation_support import (
    FakeLibreTranslate,
    libretranslate_env,
    serve_fake,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

ASK = "押金什么时候退还？"
ASK_EN = "When will the deposit be refunded?"
ANSWER = "Next week, once the parcel is back."
ANSWER_ZH = "下周，包裹退回之后。"
BETTER = "When will my security deposit be returned?"
HELD = "我今天可以签字。"
HELD_EN = "I can sign today."

PHRASEBOOK = {
    (ASK, "en"): ASK_EN,
    (ANSWER, "zh"): ANSWER_ZH,
    (HELD, "en"): HELD_EN,
}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium driven by Playwright (as test_room_browser.py)."""
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


@pytest.fixture
async def fake() -> AsyncIterator[FakeLibreTranslate]:
    async with serve_fake(FakeLibreTranslate(phrasebook=dict(PHRASEBOOK))) as served:
        yield served


@pytest.fixture
async def live(
    fake: FakeLibreTranslate, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    settings = make_settings(sqlite_url, tmp_path, **libretranslate_env(fake))
    server = await start_live_server(settings)
    yield server
    await server.stop()


def _shot(step: str, who: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"translation-{step}-{who}.png"


async def test_chinese_and_english_parties_with_an_interpreter(
    live: LiveServer, fake: FakeLibreTranslate, browser: Any
) -> None:
    from playwright.async_api import expect

    services = live.services
    world = await seed(services)
    async with services.db.write() as db:
        # the seats take their languages from the parties and the staff
        await db.execute(
            update(Party).where(Party.id == world.claimant).values(language="zh-CN")
        )
    http = await staff_client(services, live.url, world.mediator)
    created = await http.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "T", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    seated = await http.post(
        f"/api/sessions/{session_id}/participants",
        json={
            "kind": "interpreter",
            "user_id": world.interpreter,
            "attached_party_id": world.claimant,
        },
    )
    assert seated.status_code == 201, seated.text
    await http.aclose()

    async with services.db.read() as db:
        mediator_user = await db.get(User, world.mediator)
        interpreter_user = await db.get(User, world.interpreter)
        claimant_party = await db.get(Party, world.claimant)
        respondent_party = await db.get(Party, world.respondent)
        assert mediator_user and interpreter_user
        assert claimant_party and respondent_party
        cookies = {
            "mediator": (STAFF_COOKIE, services.signer.staff_session(mediator_user)),
            "interpreter": (
                STAFF_COOKIE,
                services.signer.staff_session(interpreter_user),
            ),
            "claimant": (PARTY_COOKIE, services.signer.party_link(claimant_party)),
            "respondent": (PARTY_COOKIE, services.signer.party_link(respondent_party)),
        }
    ui = {
        "mediator": "en",
        "interpreter": "en",
        "claimant": "zh-CN",
        "respondent": "en",
    }
    contexts = {
        name: await _context(browser, live, cookies[name], ui[name]) for name in cookies
    }
    pages = {name: await ctx.new_page() for name, ctx in contexts.items()}
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

    async def shots(step: str) -> None:
        for name, page in pages.items():
            await page.screenshot(path=_shot(step, name), full_page=True)

    mediator, interpreter = pages["mediator"], pages["interpreter"]
    claimant, respondent = pages["claimant"], pages["respondent"]
    url = f"{live.url}/room/{session_id}"
    for page in pages.values():
        await page.goto(url)
    await pages["mediator"].locator("#console-admit-all").click()
    for page in (claimant, respondent, interpreter):
        await expect(page.locator("#room-main")).to_be_visible()
    # everyone has the selector, set to their own language
    await expect(claimant.locator(".translation-language select")).to_have_value("zh")
    await expect(respondent.locator(".translation-language select")).to_have_value("en")
    await expect(mediator.locator(".translation-people")).to_contain_text(
        "Claire: zh-CN"
    )

    # 1. the claimant asks in Chinese; the backend is held back, so the
    # respondent first sees the original alone, at once
    fake.gate.clear()
    await claimant.locator("#composer-text").fill(ASK)
    await claimant.locator("#composer-text").press("Enter")
    respondent_line = respondent.locator("#chat-lines li.line-chat").filter(
        has_text=ASK
    )
    await expect(respondent_line).to_be_visible()
    await expect(respondent_line.locator(".line-text")).to_have_text(ASK)
    await expect(respondent_line.locator(".line-translation")).to_be_hidden()
    await shots("1-original-first")

    # 2. then the translation arrives over the original, marked as machine output
    fake.gate.set()
    await expect(respondent_line.locator(".translation-text")).to_have_text(ASK_EN)
    await expect(respondent_line.locator(".translation-mark")).to_have_text(
        "Machine translation"
    )
    await expect(respondent_line.locator(".line-text")).to_be_hidden()
    await respondent_line.get_by_role("button", name="Show original").click()
    await expect(respondent_line.locator(".line-text")).to_be_visible()
    await expect(
        respondent_line.get_by_role("button", name="Hide original")
    ).to_have_attribute("aria-expanded", "true")

    # the answer in English reaches the claimant in Chinese
    await respondent.locator("#composer-text").fill(ANSWER)
    await respondent.locator("#composer-send").click()
    claimant_answer = claimant.locator("#chat-lines li.line-chat").filter(
        has_text=ANSWER_ZH
    )
    await expect(claimant_answer.locator(".translation-text")).to_have_text(ANSWER_ZH)
    await expect(claimant_answer.locator(".translation-mark")).to_have_text("机器翻译")
    await shots("2-translated")

    # 3. the interpreter corrects the English of the claimant's question
    card = interpreter.locator(".translation-desk .desk-card").filter(has_text=ASK)
    await expect(card).to_contain_text(ASK_EN)
    await card.get_by_role("button", name="Correct").click()
    await card.locator("textarea").fill(BETTER)
    await card.get_by_role("button", name="Release correction").click()
    await expect(respondent_line.locator(".translation-text")).to_have_text(BETTER)
    await expect(respondent_line.locator(".translation-mark")).to_have_text(
        "Interpreter's translation"
    )
    # the claimant sees, under their own line, what the other side now reads
    own = claimant.locator("#chat-lines li.line-chat").filter(has_text=ASK)
    await expect(own.locator(".translation-own")).to_contain_text(BETTER)
    await expect(own.locator(".translation-mark")).to_have_text("译员翻译")
    await shots("3-corrected")

    # 4. review before release: the respondent gets nothing until approval
    await mediator.get_by_label("Review before release", exact=False).check()
    await expect(respondent.locator(".translation-review")).to_contain_text(
        "reviews machine translations"
    )
    await claimant.locator("#composer-text").fill(HELD)
    await claimant.locator("#composer-send").click()
    held = respondent.locator("#chat-lines li.line-chat").filter(has_text=HELD)
    await expect(held.locator(".line-text")).to_have_text(HELD)
    pending = interpreter.locator(".desk-card.pending").filter(has_text=HELD)
    await expect(pending.locator("textarea")).to_have_value(HELD_EN)
    await shots("4-held-for-review")
    await expect(held.locator(".line-translation")).to_be_hidden()
    await pending.get_by_role("button", name="Approve").click()
    await expect(held.locator(".translation-text")).to_have_text(HELD_EN)
    await expect(held.locator(".translation-mark")).to_have_text(
        "Machine translation, checked by the interpreter"
    )
    await expect(interpreter.locator(".desk-card.pending")).to_have_count(0)

    # 5. the respondent reloads: the translations replay with the lines
    await respondent.reload()
    replayed = respondent.locator("#chat-lines li.line-chat").filter(has_text=ASK)
    await expect(replayed.locator(".translation-text")).to_have_text(BETTER)
    await expect(
        respondent.locator("#chat-lines li.line-chat")
        .filter(has_text=HELD)
        .locator(".translation-text")
    ).to_have_text(HELD_EN)
    await shots("5-after-reload")

    assert problems == []
    for ctx in contexts.values():
        await ctx.close()
