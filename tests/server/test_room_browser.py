"""A mediator and two parties hold a session in three real Chromium contexts."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.auth import PARTY_COOKIE, STAFF_COOKIE
from server.i18n import LANG_COOKIE
from server.models import EvidenceItem, Party, User
from server.settings import Settings
from tests.conftest import LiveServer, start_live_server, unavailable
from tests.server.roomkit import seed, staff_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TIMEOUT_MS = 15000

JOINT_EN = "Joint session: everyone can see this"
PRIVATE_EN = "Private session: only you and the mediator can see this"
JOINT_ZH = "联合会谈：所有人都能看到这里的内容"


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


ROOM_API_PROBE = """async () => {
  const page = await import("/static/js/room/main.js");
  const api = page.roomApi;
  const seen = [];
  api.on("chat", (entry) => seen.push(entry.text));
  page.decorateLines((entry, mount) => {
    if (mount) {
      mount.hidden = false;
      mount.textContent = "decorated " + entry.seq;
    }
  });
  const id = "probe-1";
  const first = await api.send("chat.send", {text: "via roomApi", client_id: id});
  const again = await api.send("chat.send", {text: "changed", client_id: id});
  let error = null;
  try {
    await api.send("chat.send", {text: "   "});
  } catch (e) {
    error = e.code;
  }
  for (let i = 0; i < 100 && !seen.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const decorated = document.querySelectorAll(
    '[data-mount="translation"]:not([hidden])').length;
  return {me: api.me.kind, placement: api.placement, first, again, error, seen,
          decorated};
}"""


async def _context(
    browser: Any, live: LiveServer, cookie: tuple[str, str], language: str
) -> Any:
    context = await browser.new_context(
        locale=language, viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    cookies = [cookie, (LANG_COOKIE, language)]
    await context.add_cookies(
        [{"name": n, "value": v, "url": live.url} for n, v in cookies]
    )
    return context


def _shot_name(request: pytest.FixtureRequest, step: str, who: str) -> Path:
    database = "postgres" if "postgres" in request.node.name else "sqlite"
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"room-{database}-{step}-{who}.png"


async def test_mediator_and_two_parties_go_lobby_joint_caucus_and_back(
    live_server: LiveServer, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.async_api import expect

    services = live_server.services
    world = await seed(services)
    http = await staff_client(services, live_server.url, world.mediator)
    created = await http.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "T", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    await http.aclose()

    async with services.db.read() as db:
        mediator_user = await db.get(User, world.mediator)
        claimant_party = await db.get(Party, world.claimant)
        respondent_party = await db.get(Party, world.respondent)
        assert mediator_user and claimant_party and respondent_party
        staff_cookie = services.signer.staff_session(mediator_user)
        claimant_cookie = services.signer.party_link(claimant_party)
        respondent_cookie = services.signer.party_link(respondent_party)

    url = f"{live_server.url}/room/{session_id}"
    contexts = {
        "mediator": await _context(
            browser, live_server, (STAFF_COOKIE, staff_cookie), "en"
        ),
        "claimant": await _context(
            browser, live_server, (PARTY_COOKIE, claimant_cookie), "en"
        ),
        # the respondent reads the room in Chinese
        "respondent": await _context(
            browser, live_server, (PARTY_COOKIE, respondent_cookie), "zh-CN"
        ),
    }
    pages = {name: await ctx.new_page() for name, ctx in contexts.items()}
    problems: list[str] = []
    for name, page in pages.items():
        page.on("pageerror", lambda exc, n=name: problems.append(f"{n}: {exc}"))
        page.on(
            "console",
            lambda msg, n=name: (
                problems.append(f"{n}: {msg.text} {msg.location}")
                # base.html names no icon, so the browser asks for /favicon.ico
                if msg.type == "error" and "favicon.ico" not in str(msg.location)
                else None
            ),
        )

    async def shots(step: str) -> None:
        for name, page in pages.items():
            await page.screenshot(path=_shot_name(request, step, name), full_page=True)

    claimant, respondent, mediator = (
        pages["claimant"],
        pages["respondent"],
        pages["mediator"],
    )

    # 1. the parties land in the lobby, before the mediator is even there
    await claimant.goto(url)
    await respondent.goto(url)
    await expect(claimant.locator("#room-lobby")).to_be_visible()
    await expect(claimant.locator("#room-lobby")).to_contain_text(
        "waiting for the mediator to admit you"
    )
    await expect(respondent.locator("#room-lobby h2")).to_have_text("等候室")
    await expect(claimant.locator("#room-main")).to_be_hidden()

    await mediator.goto(url)
    console = mediator.locator("#room-console")
    await expect(console).to_be_visible()
    lobby_card = console.locator('.console-room[data-room="lobby"]')
    await expect(lobby_card.locator(".console-person")).to_have_count(2)
    await claimant.locator("#lobby-knock").click()
    await expect(console.locator(".console-knocks")).to_contain_text("Claire")
    await shots("1-lobby")

    # 2. the mediator admits everyone waiting; both parties are in the joint room
    await console.locator("#console-admit-all").click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(JOINT_EN)
    await expect(respondent.locator("#room-banner .banner-text")).to_have_text(JOINT_ZH)
    await expect(lobby_card.locator(".console-person")).to_have_count(0)

    # 3. joint chat reaches everyone
    await claimant.locator("#composer-text").fill("Hello from the claimant")
    await claimant.locator("#composer-text").press("Enter")
    await respondent.locator("#composer-text").fill("你好，我是被申请人")
    await expect(claimant.locator("#typing")).to_have_text("Ray typing…")
    await expect(claimant.locator("#people-list")).to_contain_text("typing")
    await respondent.locator("#composer-send").click()
    await expect(claimant.locator("#typing")).to_have_text("")
    for page in pages.values():
        lines = page.locator("#chat-lines")
        await expect(lines).to_contain_text("Hello from the claimant")
        await expect(lines).to_contain_text("你好，我是被申请人")
    await expect(claimant.locator("#people-list")).to_contain_text("Ray")
    await shots("2-joint")

    # 4. a caucus with the claimant: the respondent never sees what is said there
    await console.locator("#console-caucus-claimant").click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(PRIVATE_EN)
    await expect(claimant.locator("#room-banner")).to_have_class(
        "room-banner banner-caucus"
    )
    secret = "Our bottom line is 4200 (caucus secret)"
    await claimant.locator("#composer-text").fill(secret)
    await claimant.locator("#composer-send").click()
    await expect(claimant.locator("#chat-lines")).to_contain_text(secret)
    await expect(mediator.locator("#chat-lines")).to_contain_text(secret)
    await expect(mediator.locator("#room-banner")).to_contain_text("Private session")
    await mediator.locator("#composer-text").fill("Thank you, noted privately")
    await mediator.locator("#composer-send").click()
    await expect(claimant.locator("#chat-lines")).to_contain_text("noted privately")
    await respondent.locator("#composer-text").fill("Still here in the joint room")
    await respondent.locator("#composer-send").click()
    await expect(mediator.locator('#room-tabs [data-room="joint"]')).to_be_visible()
    await expect(respondent.locator("#room-banner .banner-text")).to_have_text(JOINT_ZH)
    await shots("3-caucus")

    # 5. the claimant reloads while in the caucus: back in the caucus, history replayed
    await claimant.reload()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(PRIVATE_EN)
    await expect(claimant.locator("#chat-lines")).to_contain_text(secret)
    await expect(claimant.locator("#chat-lines")).to_contain_text("noted privately")
    await shots("4-caucus-reloaded")

    # 6. everyone back to the joint room; the claimant catches up on what was said
    await console.locator("#console-all-joint").click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(JOINT_EN)
    await expect(claimant.locator("#chat-lines")).to_contain_text(
        "Still here in the joint room"
    )
    await claimant.locator("#composer-text").fill("Back in the joint session")
    await claimant.locator("#composer-send").click()
    await expect(respondent.locator("#chat-lines")).to_contain_text(
        "Back in the joint session"
    )

    # 7. the respondent reloads: the joint transcript replays, the caucus stays hidden
    await respondent.reload()
    await expect(respondent.locator("#room-banner .banner-text")).to_have_text(JOINT_ZH)
    lines = respondent.locator("#chat-lines")
    await expect(lines).to_contain_text("Hello from the claimant")
    await expect(lines).to_contain_text("Back in the joint session")
    await expect(respondent.locator("#composer-send")).to_have_text("发送")
    await shots("5-back-to-joint")

    for page in (respondent,):
        html = await page.content()
        assert secret not in html
        assert "noted privately" not in html
    assert await respondent.locator("#room-tabs .room-tab.caucus").count() == 0

    assert problems == []
    for ctx in contexts.values():
        await ctx.close()


async def test_corrections_release_knock_restart_and_end_in_the_browser(
    settings: Settings, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.async_api import expect

    from server.app import create_app

    live = await start_live_server(settings)
    services = live.services
    world = await seed(services)
    http = await staff_client(services, live.url, world.mediator)
    created = await http.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "T", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    await http.aclose()
    async with services.db.write() as db:
        db.add(
            EvidenceItem(
                case_id=world.case_id,
                party_id=world.claimant,
                original_name="bank-transfer.pdf",
                storage_name=f"room-browser-{world.case_id}",
                content_type="application/pdf",
                size=1,
                sha256="a" * 64,
            )
        )
    async with services.db.read() as db:
        mediator_user = await db.get(User, world.mediator)
        claimant_party = await db.get(Party, world.claimant)
        respondent_party = await db.get(Party, world.respondent)
        assert mediator_user and claimant_party and respondent_party
        staff_cookie = services.signer.staff_session(mediator_user)
        claimant_cookie = services.signer.party_link(claimant_party)
        respondent_cookie = services.signer.party_link(respondent_party)

    url = f"{live.url}/room/{session_id}"
    med_ctx = await _context(browser, live, (STAFF_COOKIE, staff_cookie), "en")
    cla_ctx = await _context(browser, live, (PARTY_COOKIE, claimant_cookie), "en")
    res_ctx = await _context(browser, live, (PARTY_COOKIE, respondent_cookie), "zh-CN")
    mediator = await med_ctx.new_page()
    claimant = await cla_ctx.new_page()
    respondent = await res_ctx.new_page()
    pages = {"mediator": mediator, "claimant": claimant}

    async def shots(step: str) -> None:
        for name, page in pages.items():
            await page.screenshot(
                path=_shot_name(request, f"b{step}", name), full_page=True
            )

    await claimant.goto(url)
    await respondent.goto(url)
    await mediator.goto(url)
    console = mediator.locator("#room-console")
    person = console.locator(".console-person").filter(has_text="Claire")
    await person.locator('[data-action="admit"]').click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(JOINT_EN)

    # the mediator denies the respondent: told in their language, never let in
    ray = console.locator(".console-person").filter(has_text="Ray")
    await ray.locator('[data-action="deny"]').click()
    denied = respondent.locator("#room-screen")
    await expect(denied).to_have_attribute("data-screen", "denied")
    await expect(denied.locator("h2")).to_have_text("你未被允许进入")
    await expect(ray).to_have_count(0)

    # sharing an evidence item is an explicit act the room sees
    await claimant.get_by_label("Evidence item").select_option(
        label="bank-transfer.pdf"
    )
    await claimant.get_by_role("button", name="Show this evidence in the room").click()
    await expect(mediator.locator("#chat-lines")).to_contain_text(
        "Shared evidence: bank-transfer.pdf"
    )

    # a correction: everyone reads the new text, the mediator also the history
    await claimant.locator("#composer-text").fill("I paid 100 euros")
    await claimant.locator("#composer-send").click()
    mine = claimant.locator("#chat-lines .line.mine").filter(has_text="I paid")
    await mine.get_by_role("button", name="Correct").click()
    await claimant.get_by_label("Correct your message").fill("I paid 120 euros")
    await claimant.get_by_role("button", name="Save").click()
    await expect(mine).to_contain_text("I paid 120 euros")
    await expect(mine).to_contain_text("(corrected)")
    theirs = mediator.locator("#chat-lines .line").filter(has_text="120 euros")
    await expect(theirs.locator(".line-history")).to_contain_text("I paid 100 euros")
    assert "100 euros" not in await claimant.locator("#chat-lines").inner_text()

    # a withdrawal: gone for the author, struck through for the mediator
    await claimant.locator("#composer-text").fill("Wrong window, sorry")
    await claimant.locator("#composer-send").click()
    line = claimant.locator("#chat-lines .line.mine").filter(has_text="Wrong window")
    await line.get_by_role("button", name="Withdraw").click()
    await expect(claimant.locator("#chat-lines")).to_contain_text(
        "This message was withdrawn."
    )
    await expect(claimant.locator("#chat-lines")).not_to_contain_text("Wrong window")
    await expect(mediator.locator("#chat-lines del")).to_have_text(
        "Wrong window, sorry"
    )

    # a new caucus, chosen with a checkbox and a target room
    await console.get_by_label("Name of a new private session").fill("Side A")
    await console.get_by_role("button", name="Create").click()
    await person.locator('input[type="checkbox"]').check()
    await expect(console.locator("#console-target")).to_have_value("caucus-side-a")
    await console.locator("#console-move").click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(PRIVATE_EN)

    # the claimant lets the joint room hear one caucus line, then knocks
    await claimant.locator("#composer-text").fill("We could accept 900")
    await claimant.locator("#composer-send").click()
    said = claimant.locator("#chat-lines .line.mine").filter(has_text="accept 900")
    await said.get_by_role("button", name="Share with the joint session").click()
    await expect(
        said.get_by_role("button", name="Share with the joint session")
    ).to_have_count(0)
    await expect(said).to_contain_text("Shared with the joint session")
    await claimant.locator("#knock-button").click()
    await expect(console.locator(".console-knocks")).to_contain_text(
        "Claire is calling the mediator"
    )
    await shots("1-caucus-knock")
    await claimant.set_viewport_size({"width": 390, "height": 844})
    await claimant.screenshot(
        path=_shot_name(request, "b1-phone", "claimant"), full_page=True
    )
    await claimant.set_viewport_size({"width": 1100, "height": 900})

    # back to the lobby, then admitted to the joint room: the release is there
    await person.locator('[data-action="to-lobby"]').click()
    await expect(claimant.locator("#room-lobby")).to_be_visible()
    await person.locator('[data-action="admit"]').click()
    await expect(claimant.locator("#room-banner .banner-text")).to_have_text(JOINT_EN)
    released = claimant.locator("#chat-lines .line-chat-release")
    await expect(released).to_contain_text("We could accept 900")
    await expect(released).to_contain_text("From a private session")

    # the server restarts: both pages say so, a line sent meanwhile arrives once
    port = live.port
    await live.stop()
    for page in pages.values():
        status = page.locator("#room-status")
        await expect(status).to_be_visible()
        await expect(status).to_have_attribute("data-status", "reconnecting")
    await claimant.locator("#composer-text").fill("Sent while the server was down")
    await claimant.locator("#composer-send").click()
    await expect(claimant.locator("#composer-send")).to_have_text("Sending…")
    await shots("2-reconnecting")
    live = LiveServer(
        create_app(settings.with_overrides(public_url=f"http://127.0.0.1:{port}")),
        port,
    )
    await live.start()
    try:
        for page in pages.values():
            await expect(page.locator("#room-status")).to_be_hidden(timeout=30000)
        offline = mediator.locator("#chat-lines .line").filter(
            has_text="Sent while the server was down"
        )
        await expect(offline).to_have_count(1)
        await expect(
            claimant.locator("#chat-lines .line").filter(has_text="Sent while")
        ).to_have_count(1)

        # the roomApi later features mount with, exercised in the page itself
        api = await claimant.evaluate(ROOM_API_PROBE)
        assert api["me"] == "party" and api["placement"] == "joint"
        assert api["first"]["ok"] is True and api["first"]["duplicate"] is False
        assert api["again"]["duplicate"] is True
        assert api["again"]["seq"] == api["first"]["seq"]
        assert api["error"] == "empty_message"
        assert api["seen"] == ["via roomApi"]
        assert api["decorated"] >= 1
        await expect(
            mediator.locator("#chat-lines .line").filter(has_text="via roomApi")
        ).to_have_count(1)

        # the mediator ends the session (two clicks): the party is told why
        end = console.locator("#console-end")
        await end.click()
        await expect(end).to_have_text("Click again to end the session for everyone")
        await end.click()
        screen = claimant.locator("#room-screen")
        await expect(screen).to_be_visible()
        await expect(screen).to_have_attribute("data-screen", "session_ended")
        await expect(screen.locator("h2")).to_have_text("The session has ended")
        await expect(claimant.locator("#room-main")).to_be_hidden()
        await expect(claimant.locator("#room-error")).to_be_hidden()
        await shots("3-ended")
    finally:
        for ctx in (med_ctx, cla_ctx, res_ctx):
            await ctx.close()
        await live.stop()
