"""Headless Chromium joins through a test-only signalling page and swaps media
with an aiortc peer through the router, both ways, then is moved out of reach.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from recording import MediaConfig, MediaRouter
from tests.recording.peers import ClientPeer, tag_luma, wait_until

pytestmark = pytest.mark.browser

OUTPUT = Path("test-output")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # host candidates as plain addresses (not mDNS names aiortc cannot
    # resolve), and loopback ones, which Chromium skips by default
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
]

# A test-only page: the room client proper lives in web/ (issue 6, Web).
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord media test</title>
<style>video { width: 160px; height: 120px; background: #222; margin: 4px; }</style>
</head><body>
<h1>Accord media test</h1>
<div id="tiles"></div>
<script>
window.mediaState = "idle";
async function start(pid, slots) {
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: true, video: {width: 320, height: 240}});
  const pc = new RTCPeerConnection({iceServers: [], bundlePolicy: "max-bundle"});
  window.pc = pc;
  pc.addTransceiver(stream.getAudioTracks()[0], {direction: "sendrecv"});
  pc.addTransceiver(stream.getVideoTracks()[0], {direction: "sendrecv"});
  for (let i = 1; i < slots; i++) {
    pc.addTransceiver("audio", {direction: "recvonly"});
    pc.addTransceiver("video", {direction: "recvonly"});
  }
  pc.ontrack = (event) => {
    if (event.track.kind !== "video") return;
    const video = document.createElement("video");
    video.autoplay = true; video.muted = true; video.playsInline = true;
    video.dataset.mid = event.transceiver.mid;
    video.srcObject = new MediaStream([event.track]);
    document.getElementById("tiles").appendChild(video);
  };
  pc.onconnectionstatechange = () => { window.mediaState = pc.connectionState; };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === "complete") resolve();
    };
  });
  const response = await fetch("/offer", {
    method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({pid, sdp: pc.localDescription.sdp, type: "offer"})});
  await pc.setRemoteDescription(await response.json());
}
function luma(mid) {
  const video = document.querySelector(`video[data-mid="${mid}"]`);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4)
    sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  return sum / (data.length / 4);
}
async function inbound() {
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video")
      out[s.mid] = s.framesDecoded || 0;
  });
  return out;
}
</script></body></html>
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signalling_app(router: MediaRouter) -> Starlette:
    """The page plus one endpoint that hands the offer to the router."""

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def offer(request: Request) -> Response:
        body = await request.json()
        sdp, kind = await router.handle_offer(body["pid"], body["sdp"], body["type"])
        return JSONResponse({"sdp": sdp, "type": kind})

    return Starlette(
        routes=[Route("/", page), Route("/offer", offer, methods=["POST"])]
    )


@pytest.fixture
async def served_router() -> AsyncIterator[tuple[MediaRouter, str]]:
    """A router behind the signalling page, on a free loopback port."""
    router = MediaRouter(MediaConfig())
    port = free_port()
    config = uvicorn.Config(
        signalling_app(router), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, 10)
    yield router, f"http://127.0.0.1:{port}/"
    server.should_exit = True
    await task
    await router.close()


async def test_chromium_and_aiortc_see_each_other_through_the_router(
    served_router: tuple[MediaRouter, str],
) -> None:
    from playwright.async_api import async_playwright

    router, url = served_router
    peer = ClientPeer("aiortc", 1)
    await peer.connect(router)
    await router.set_placement("aiortc", "joint")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(url)
            await page.evaluate("start('chromium', 3)")
            await router.set_placement("chromium", "joint")

            # Chromium receives the aiortc peer's frames, forwarded
            async def decoded() -> dict[str, Any]:
                return dict(await page.evaluate("inbound()"))

            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                frames = await decoded()
                if frames.get("1", 0) > 30:
                    break
                await asyncio.sleep(0.2)
            assert frames.get("1", 0) > 30, frames
            shown = await page.evaluate("luma('1')")
            expected = (tag_luma(1) - 16) * 255 / 219  # limited-range Y to RGB
            assert shown is not None and abs(shown - expected) < 15

            # and the aiortc peer receives Chromium's fake camera
            await wait_until(
                lambda: sum(r.kind == "video" for r in peer.received) > 30, 20
            )
            stats = router.stats("chromium")
            assert stats.video_codec == "vp8" and stats.audio_codec == "opus"
            assert stats.forwarding and stats.video_size == (320, 240)

            await asyncio.to_thread(OUTPUT.mkdir, exist_ok=True)
            await page.screenshot(path=str(OUTPUT / "media-chromium.png"))

            # into caucus: the aiortc peer stops receiving Chromium at once
            await router.set_placement("chromium", "caucus")
            moved = time.monotonic()
            await asyncio.sleep(1.5)
            late = [r for r in peer.received if r.at > moved + 0.5]
            assert late == []
            assert router.audience("chromium") == {"audio": (), "video": ()}
        finally:
            await browser.close()
            await peer.close()
