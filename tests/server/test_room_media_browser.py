"""Two parties and a mediator see and hear each other in real Chromium, on the
room page, with an aiortc peer (the claimant's interpreter) in the room too;
then the mediator takes the claimant into caucus from the console.

Chromium's fake camera and microphone (``--use-fake-device-for-media-stream``)
publish; what a page receives is read from ``RTCPeerConnection.getStats``
(frames decoded, audio energy) and from the tiles the page shows. Screenshots
go to test-output/.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import pytest

from server.auth import PARTY_COOKIE, STAFF_COOKIE
from server.i18n import LANG_COOKIE
from server.models import Party, User
from tests.conftest import LiveServer, make_settings, start_live_server, unavailable
from tests.recording.peers import ClientPeer, tag_luma, wait_until
from tests.server.mediakit import signal_via
from tests.server.roomkit import Peer, seed, staff_client, token_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "media"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # host candidates as addresses (not mDNS names aiortc cannot resolve),
    # and loopback ones, which Chromium skips by default
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
    # play received audio without a click first
    "--autoplay-policy=no-user-gesture-required",
]

# what a page shows and receives: tiles, inbound stats per slot, the lines
PROBE = """async () => {
  const panel = document.querySelector('[data-mount="media"]').accordMedia;
  const stats = await panel.session.inbound();
  const tiles = [...document.querySelectorAll(
      '.media-tiles .tile:not(.tile-self):not([hidden])')].map((node) => ({
    slot: Number(node.dataset.slot),
    who: Number(node.dataset.participant),
    name: node.querySelector('.tile-name').textContent,
    width: node.querySelector('video').videoWidth,
  }));
  return {stats, tiles,
          audience: document.querySelector('.media-audience').textContent,
          state: document.querySelector('.media-state').textContent,
          status: panel.session.status};
}"""

LUMA = """(slot) => {
  const node = document.querySelector(`.media-tiles .tile[data-slot="${slot}"] video`);
  if (!node || !node.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = node.videoWidth; canvas.height = node.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(node, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4)
    sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  return sum / (data.length / 4);
}"""


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server and the aiortc peer offer 127.0.0.1 (aioice drops loopback)."""
    monkeypatch.setattr(
        aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    )
    yield


@pytest.fixture
async def live(tmp_path: Path, sqlite_url: str) -> AsyncIterator[LiveServer]:
    """Small video (the box is shared), four tiles, no event limit to trip on."""
    server = await start_live_server(
        make_settings(
            sqlite_url,
            tmp_path,
            ACCORD_MEDIA_MAX_WIDTH="320",
            ACCORD_MEDIA_MAX_HEIGHT="240",
            ACCORD_MEDIA_MAX_FRAME_RATE="15",
            ACCORD_MEDIA_SLOTS="4",
            ACCORD_ROOM_EVENTS_PER_10S="1000",
        )
    )
    yield server
    await server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium with a fake camera and microphone."""
    if not HAVE_CHROMIUM:
        unavailable("Chromium", "apt-get install chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def _probe(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate(PROBE))


async def _until(page: Any, check: Any, within: float = 40.0) -> dict[str, Any]:
    """Poll the page's media probe until ``check(probe)`` holds."""
    deadline = time.monotonic() + within
    while True:
        probe = await _probe(page)
        if check(probe):
            return probe
        if time.monotonic() > deadline:
            raise AssertionError(f"media condition not met in {within} s: {probe}")
        await asyncio.sleep(0.3)


async def _poll(page: Any, function: str, within: float = 20.0) -> Any:
    """Evaluate ``function`` until it returns something truthy."""
    deadline = time.monotonic() + within
    while not (value := await page.evaluate(function)):
        if time.monotonic() > deadline:
            raise AssertionError(f"{function} stayed false for {within} s")
        await asyncio.sleep(0.2)
    return value


def _receiving(probe: dict[str, Any], people: set[int], frames: int = 15) -> bool:
    """The page shows a tile for each of ``people``, with video and sound."""
    shown = {tile["who"]: tile for tile in probe["tiles"]}
    if set(shown) != people:
        return False
    for tile in shown.values():
        slot = str(tile["slot"])
        video = probe["stats"]["video"].get(slot, {})
        audio = probe["stats"]["audio"].get(slot, {})
        if video.get("frames", 0) < frames or audio.get("packets", 0) < 20:
            return False
    return True


async def _shots(pages: dict[str, Any], step: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for name, page in pages.items():
        await page.screenshot(path=str(SHOTS / f"{step}-{name}.png"), full_page=True)


async def test_parties_and_mediator_see_and_hear_each_other_and_caucus_cuts_media(
    live: LiveServer, browser: Any
) -> None:
    from playwright.async_api import expect

    services = live.services
    world = await seed(services)
    http = await staff_client(services, live.url, world.mediator)
    created = await http.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "T", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    added = await http.post(
        f"/api/sessions/{session_id}/participants",
        json={
            "kind": "interpreter",
            "user_id": world.interpreter,
            "attached_party_id": world.claimant,
        },
    )
    assert added.status_code == 201, added.text
    await http.aclose()
    interpreter_http = await staff_client(services, live.url, world.interpreter)
    token, interpreter_id = await token_for(interpreter_http, session_id)
    await interpreter_http.aclose()

    async with services.db.read() as db:
        mediator_user = await db.get(User, world.mediator)
        claimant = await db.get(Party, world.claimant)
        respondent = await db.get(Party, world.respondent)
        assert mediator_user and claimant and respondent
        cookies = {
            "mediator": (STAFF_COOKIE, services.signer.staff_session(mediator_user)),
            "claimant": (PARTY_COOKIE, services.signer.party_link(claimant)),
            "respondent": (PARTY_COOKIE, services.signer.party_link(respondent)),
        }
    languages = {"mediator": "en", "claimant": "en", "respondent": "zh-CN"}
    contexts: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    problems: list[str] = []
    for name, (cookie, value) in cookies.items():
        context = await browser.new_context(
            locale=languages[name], viewport={"width": 1100, "height": 1000}
        )
        context.set_default_timeout(20000)
        await context.add_cookies(
            [
                {"name": cookie, "value": value, "url": live.url},
                {"name": LANG_COOKIE, "value": languages[name], "url": live.url},
            ]
        )
        contexts[name] = context
        pages[name] = page = await context.new_page()
        page.on("pageerror", lambda exc, n=name: problems.append(f"{n}: {exc}"))

    interpreter = Peer("interpreter", token, interpreter_id, live.url)
    aiortc = ClientPeer("interpreter", 4, slots=4, fps=15)
    try:
        url = f"{live.url}/room/{session_id}"
        for name in ("claimant", "respondent", "mediator"):
            await pages[name].goto(url)
        await interpreter.connect()
        mediator, claimant_page, respondent_page = (
            pages["mediator"],
            pages["claimant"],
            pages["respondent"],
        )
        console = mediator.locator("#room-console")
        await expect(console.locator(".console-person")).to_have_count(3)
        await mediator.locator("#console-admit-all").click()
        await expect(claimant_page.locator("#room-media")).to_be_visible()
        await expect(respondent_page.locator("#room-media")).to_be_visible()
        await wait_until(
            lambda: (
                interpreter.roster is not None
                and interpreter.roster["placement"] == "joint"
            ),
            20,
        )
        await aiortc.negotiate(signal_via(interpreter))

        ids: dict[str, int] = {}
        for name, page in pages.items():
            ids[name] = await page.evaluate(
                "async () => (await import('/static/js/room/main.js')).roomApi.me.id"
            )
        ids["interpreter"] = interpreter_id
        everyone = set(ids.values())

        # 1. the joint session: each page sees and hears the three others
        for name, page in pages.items():
            await _until(page, lambda p, n=name: _receiving(p, everyone - {ids[n]}))
        joint = await _probe(claimant_page)
        assert "can see and hear you" in joint["audience"], joint["audience"]
        for other in ("Ray", "Interpreter", "Mediator"):
            assert other in joint["audience"], joint["audience"]
        zh = await _probe(respondent_page)
        assert "现在能看到并听到你的人" in zh["audience"], zh["audience"]

        # Chromium shows the aiortc peer's picture (its flat luma), decoded
        slot = next(t["slot"] for t in joint["tiles"] if t["who"] == interpreter_id)
        shown = await claimant_page.evaluate(LUMA, slot)
        expected = (tag_luma(4) - 16) * 255 / 219  # limited-range Y to RGB
        assert shown is not None and abs(shown - expected) < 15, (shown, expected)
        # and the aiortc peer receives the three browsers' cameras and sound
        start = time.monotonic()
        await wait_until(
            lambda: (
                len(
                    {
                        r.slot
                        for r in aiortc.received
                        if r.kind == "video" and r.at > start
                    }
                )
                == 3
            ),
            30,
        )
        audio_slots = {r.slot for r in aiortc.received if r.kind == "audio"}
        assert len(audio_slots) == 3
        energy = (await _probe(mediator))["stats"]["audio"]
        assert any(v.get("energy", 0) > 0 for v in energy.values()), energy
        await _shots(pages, "1-joint")

        # 2. caucus with the claimant: the interpreter follows; the respondent
        # stops receiving both at once
        moved_from = await _probe(respondent_page)
        cut = {
            str(t["slot"])
            for t in moved_from["tiles"]
            if t["who"] in (ids["claimant"], interpreter_id)
        }
        clicked = time.monotonic()
        await mediator.locator("#console-caucus-claimant").click()
        after = await _until(
            respondent_page,
            lambda p: {t["who"] for t in p["tiles"]} == {ids["mediator"]},
        )
        took = time.monotonic() - clicked
        print(f"caucus: the respondent's tiles changed {took:.2f} s after the click")
        await asyncio.sleep(1.0)
        later = await _probe(respondent_page)
        for slot_key in cut:
            before = after["stats"]["video"].get(slot_key, {}).get("frames", 0)
            now_frames = later["stats"]["video"].get(slot_key, {}).get("frames", 0)
            assert now_frames - before <= 1, (slot_key, before, now_frames)
        assert "Ray" not in (await _probe(claimant_page))["audience"]
        await _until(claimant_page, lambda p: _receiving(p, {interpreter_id}, frames=1))
        private = await _probe(claimant_page)
        assert "Interpreter" in private["audience"] and "Ray" not in private["audience"]
        await _shots(pages, "2-caucus")

        # 3. the mediator joins the caucus's media from the panel
        await mediator.locator("#media-focus").select_option("caucus-claimant")
        await _until(
            claimant_page,
            lambda p: _receiving(p, {interpreter_id, ids["mediator"]}, frames=1),
        )
        await _until(respondent_page, lambda p: p["tiles"] == [])
        alone = await _probe(respondent_page)
        assert "没有人能看到或听到你" in alone["audience"], alone["audience"]
        await _shots(pages, "3-mediator-in-caucus")
        assert problems == []
    finally:
        await aiortc.close()
        await interpreter.close()
        for context in contexts.values():
            await context.close()


async def test_device_check_then_audio_only_and_text_only_keep_the_chat(
    live: LiveServer, browser: Any
) -> None:
    from playwright.async_api import expect

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
    async with services.db.read() as db:
        mediator_user = await db.get(User, world.mediator)
        claimant = await db.get(Party, world.claimant)
        respondent = await db.get(Party, world.respondent)
        assert mediator_user and claimant and respondent
        cookies = {
            "mediator": (STAFF_COOKIE, services.signer.staff_session(mediator_user)),
            "claimant": (PARTY_COOKIE, services.signer.party_link(claimant)),
            "respondent": (PARTY_COOKIE, services.signer.party_link(respondent)),
        }
    contexts: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    problems: list[str] = []
    for name, (cookie, value) in cookies.items():
        context = await browser.new_context(viewport={"width": 1100, "height": 1000})
        context.set_default_timeout(20000)
        await context.add_cookies([{"name": cookie, "value": value, "url": live.url}])
        contexts[name] = context
        pages[name] = page = await context.new_page()
        page.on("pageerror", lambda exc, n=name: problems.append(f"{n}: {exc}"))
    # the respondent's browser cannot do WebRTC at all
    await contexts["respondent"].add_init_script(
        "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;"
    )
    try:
        # the claimant checks their devices first and turns the camera off
        check = pages["claimant"]
        await check.goto(f"{live.url}/room/{session_id}/check")
        await expect(check.locator("#check-message")).to_have_text(
            "Your choice is saved for the room."
        )
        # (the page's CSP forbids string evaluation, so poll with functions)
        await _poll(check, "() => document.getElementById('check-preview').videoWidth")
        await _poll(check, "() => document.getElementById('check-level').value > 0.05")
        await expect(check.locator("#check-camera option")).not_to_have_count(0)
        await _shots({"claimant": check}, "4-device-check")
        await check.get_by_label("Camera", exact=True).select_option("none")
        saved = await check.evaluate("localStorage.getItem('accord.media.devices')")
        assert '"video":"none"' in saved, saved
        await check.get_by_role("link", name="Join the room").click()
        await check.wait_for_url(f"{live.url}/room/{session_id}")

        await pages["respondent"].goto(f"{live.url}/room/{session_id}")
        mediator = pages["mediator"]
        await mediator.goto(f"{live.url}/room/{session_id}")
        await expect(mediator.locator("#room-console .console-person")).to_have_count(2)
        await mediator.locator("#console-admit-all").click()

        # audio only: the claimant is heard, not seen, and told so
        claimant_page = pages["claimant"]
        await expect(claimant_page.locator(".media-state")).to_have_text(
            "Audio only: video unavailable — chat still works."
        )
        await expect(claimant_page.locator(".media-camera")).to_be_disabled()
        ids = {
            name: await page.evaluate(
                "async () => (await import('/static/js/room/main.js')).roomApi.me.id"
            )
            for name, page in pages.items()
        }
        seen = await _until(
            mediator,
            lambda p: any(
                t["who"] == ids["claimant"]
                and p["stats"]["audio"].get(str(t["slot"]), {}).get("packets", 0) > 20
                for t in p["tiles"]
            ),
        )
        tile = next(t for t in seen["tiles"] if t["who"] == ids["claimant"])
        assert seen["stats"]["video"].get(str(tile["slot"]), {}).get("frames", 0) == 0
        await expect(
            mediator.locator(f'.tile[data-participant="{ids["claimant"]}"]')
        ).to_contain_text("camera off")

        # text only: the respondent is told, the mediator sees it, chat works
        respondent_page = pages["respondent"]
        await expect(respondent_page.locator(".media-state")).to_have_text(
            "Text only: video unavailable — chat still works."
        )
        await expect(
            mediator.locator(f'.media-people [data-participant="{ids["respondent"]}"]')
        ).to_contain_text("text only")
        await respondent_page.locator("#composer-text").fill("I can only type")
        await respondent_page.locator("#composer-send").click()
        await expect(mediator.locator("#chat-lines")).to_contain_text("I can only type")

        # the console's mute (audio and video) reaches the claimant's page, and
        # the mediator stops receiving the claimant's sound
        claimant_row = mediator.locator("#room-console .console-person").filter(
            has_text="Claire"
        )
        await claimant_row.get_by_role("button", name="Mute").click()
        await expect(claimant_page.locator(".media-muted")).to_have_text(
            "The mediator has muted your microphone and camera."
        )
        await expect(claimant_page.locator(".media-audience")).to_have_text(
            "Nobody can see or hear you right now."
        )
        slot = str(tile["slot"])
        muted = await _probe(mediator)
        await asyncio.sleep(1.0)
        later = await _probe(mediator)
        gained = (
            later["stats"]["audio"][slot]["packets"]
            - (muted["stats"]["audio"][slot]["packets"])
        )
        assert gained <= 2, gained
        await _shots(pages, "5-fallbacks")
        assert problems == []
    finally:
        for context in contexts.values():
            await context.close()
