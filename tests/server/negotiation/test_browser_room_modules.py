"""In Chromium: the room modules mounted on a page with a stand-in room API.

The room hub is not on this branch, so the test plays the hub: it records
what a module sends and feeds it the transcript lines the server's room
actions produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server import negotiation as n
from server import settlement
from server.auth import Caller
from server.models import Case, User
from server.settings import Settings
from tests.conftest import make_settings, unavailable
from tests.server.negotiation.conftest import (
    RESPONDENT_NAME,
    World,
    cookies_for,
    seed,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path("test-output/screenshots")

# installs a fake room API on window.__room and mounts one module into #room-test
MOUNT = """
async ([module, me]) => {
  const { mount } = await import(`/static/js/negotiation/${module}.js`);
  const sent = [];
  const handlers = {};
  window.__room = {
    sent,
    emit: (kind, content) =>
      (handlers[kind] || []).forEach((h) => h(content, { kind })),
  };
  const api = {
    me, currency: "CNY", caseRef: document.title.split(" · ").pop(),
    send: async (kind, payload) => { sent.push([kind, payload]); return { ok: true }; },
    on: (kind, handler) => { (handlers[kind] ||= []).push(handler); },
  };
  let root = document.getElementById("room-test");
  if (!root) {
    root = document.createElement("div");
    root.id = "room-test";
    document.querySelector("main").prepend(root);
  }
  mount(root, api);
}
"""


async def draw_up_agreement(services: Any, world: World) -> None:
    """An accepted offer and the agreement drawn from it, through the services."""
    terms = [{"type": "monetary", "amount_minor": 470000, "currency": "CNY"}]
    async with services.db.write() as db:
        made = await n.make_offer(db, world.claimant(), {"terms": terms})
    async with services.db.write() as db:
        await n.accept_offer(
            db, world.respondent(), {"offer_id": made[0].content["offer"]["id"]}
        )
    async with services.db.write() as db:
        mediator = await db.get(User, world.mediator_user_id)
        case = await db.get(Case, world.case_id)
        assert case is not None and mediator is not None
        await db.refresh(case, ["parties"])
        await settlement.generate_agreement(db, case, Caller(user=mediator))


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """One backend is enough: nothing here touches the database after seeding."""
    return make_settings(sqlite_url, tmp_path)


@pytest.fixture
def shots() -> Path:
    """Where screenshots go; Chromium must be installed."""
    if not CHROMIUM.exists():
        unavailable("Chromium", "apt-get install chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.mark.browser
async def test_offer_builder_and_bid_dialog_send_the_right_events(
    live_server: Any, shots: Path
) -> None:
    from playwright.async_api import async_playwright

    world = await seed(live_server.services)
    cookies = await cookies_for(live_server.services, party_id=world.respondent_id)
    me = {
        "participantId": world.respondent_seat,
        "partyId": world.respondent_id,
        "role": "party",
        "room": "joint",
    }
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(locale="zh-CN")
            await context.add_cookies(
                [
                    {
                        "name": "accord_party",
                        "value": cookies["accord_party"],
                        "url": live_server.url,
                    },
                    {"name": "accord_lang", "value": "zh-CN", "url": live_server.url},
                ]
            )
            page = await context.new_page()
            await page.goto(f"{live_server.url}/case/{world.reference}/feedback")

            # offers: a counter-offer to the claimant's offer, then accepting
            await page.evaluate(MOUNT, ["offers", me])
            await page.evaluate(
                """() => window.__room.emit("offer.made", {by: "张伟", offer: {
                    id: 7, status: "open", terms: [{type: "monetary",
                    amount_minor: 300000, currency: "CNY", due_date: null,
                    instalments: 1}], note: "", author_party_id: CLAIMANT,
                    author_role: "party", room: "joint", released: false,
                    answers_offer_id: null, acceptances: [],
                    expires_at: null}})""".replace("CLAIMANT", str(world.claimant_id))
            )
            offer = page.locator("[data-offer-id='7']")
            assert "CNY 3,000.00" in await offer.inner_text()
            await offer.get_by_role("button", name="还价").click()
            counter = offer.locator("form")
            await counter.get_by_label("金额").fill("2,450.5")
            await counter.get_by_label("其他义务（道歉、退货、维修等）").fill(
                "书面道歉"
            )
            await page.screenshot(
                path=str(shots / "room-offer-counter-zh.png"), full_page=True
            )
            await counter.get_by_role("button", name="发送提议").click()
            await offer.get_by_role("button", name="接受").click()
            sent = await page.evaluate("() => window.__room.sent")
            assert sent[0][0] == "offer.counter"
            assert sent[0][1]["offer_id"] == 7
            assert sent[0][1]["terms"] == [
                {
                    "type": "monetary",
                    "amount_minor": 245050,
                    "currency": "CNY",
                    "due_date": None,
                    "instalments": 1,
                },
                {"type": "obligation", "text": "书面道歉", "deadline": None},
            ]
            assert sent[1] == ["offer.accept", {"offer_id": 7}]

            # blind bid: the figure is sent in minor units and the field cleared
            await page.evaluate(MOUNT, ["bidding", me])
            await page.evaluate(
                """() => window.__room.emit("bid.opened", {bid_round_id: 3, round: 1,
                    rule: {currency: "CNY", rounds: 2, tolerance_percent: "10",
                           tolerance_minor: null, mediator_sees_figures: false}})"""
            )
            figure = page.get_by_label("您的密封报价")
            await figure.fill("4,800")
            await page.get_by_role("button", name="密封提交").click()
            await page.get_by_text("等待对方提交。").wait_for()
            sent = await page.evaluate("() => window.__room.sent")
            assert sent[-1] == [
                "bid.submit",
                {"bid_round_id": 3, "figure_minor": 480000},
            ]
            await page.evaluate(
                """() => window.__room.emit("bid.result", {bid_round_id: 3, round: 1,
                    settled: true, status: "settled", amount_minor: 470000,
                    currency: "CNY", next_round: null})"""
            )
            await page.get_by_text("以 CNY 4,700.00 达成和解。").wait_for()
            await page.screenshot(
                path=str(shots / "room-bid-settled-zh.png"), full_page=True
            )

            # signing inside the room: the agreement drawn up meanwhile
            await draw_up_agreement(live_server.services, world)
            await page.evaluate(MOUNT, ["signing", me])
            await page.get_by_label("请输入您的全名").fill(RESPONDENT_NAME)
            await page.get_by_label("我已阅读本协议", exact=False).check()
            await page.get_by_role("button", name="签署").click()
            await page.get_by_text("您已签署此版本。").wait_for()
            assert RESPONDENT_NAME in await page.inner_text(".signatures")
            await page.screenshot(
                path=str(shots / "room-signed-zh.png"), full_page=True
            )
        finally:
            await browser.close()
