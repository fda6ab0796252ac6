"""A client that stops reading is disconnected before server memory runs away.

A raw websocket client joins the room and then stops reading (its TCP window
closes), while the mediator floods the joint room. uvicorn then holds
engine.io's writer, the per-connection queue grows, and the bound in
rooms/backpressure.py must close that connection. The server is a separate
process so its memory (VmHWM) can be read.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect

from server.app import build_services
from tests.conftest import make_settings
from tests.server.procs import Worker, open_session_with_tokens, worker_env
from tests.server.roomkit import Peer, wait_for

TEXT_CHARS = 16_000
MESSAGES = 1_500


def _vm(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.M)
    assert match is not None
    return int(match.group(1)) * 1024


async def flood(
    tmp_path: Path, sqlite_url: str, bound: int, messages: int = MESSAGES
) -> dict[str, Any]:
    """Run the scenario with a given queue bound; return what was measured."""
    services = build_services(make_settings(sqlite_url, tmp_path))
    _, session_id, seats = await open_session_with_tokens(services)
    worker = Worker(
        worker_env(
            sqlite_url,
            tmp_path / f"data-{bound}",
            ACCORD_ROOM_MAX_PENDING_PACKETS=str(bound),
            ACCORD_ROOM_MAX_MESSAGE_CHARS=str(TEXT_CHARS),
            ACCORD_ROOM_EVENTS_PER_10S="1000000",
        ),
        tmp_path / f"slow-{bound}.log",
    )
    await worker.start()
    assert worker.proc is not None
    med = Peer("mediator", seats["mediator"][1], seats["mediator"][0], worker.url)
    reader = Peer(
        "respondent", seats["respondent"][1], seats["respondent"][0], worker.url
    )
    stalled = None
    try:
        await med.connect()
        await reader.connect()
        assert (await med.call("lobby.admit", {"client_id": "all"}))["ok"]

        # the stalled client: engine.io by hand, one frame of buffer, never read
        ws_url = (
            worker.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        )
        stalled = await ws_connect(ws_url, max_queue=1, compression=None)
        await stalled.recv()  # engine.io open packet
        auth = json.dumps({"token": seats["claimant"][1]})
        await stalled.send(f"40/room,{auth}")
        while True:
            frame = await stalled.recv()
            if isinstance(frame, str) and frame.startswith("40/room"):
                break
        # from here on, nothing is read from the socket

        before = _vm(worker.proc.pid, "VmRSS")
        text = "x" * (TEXT_CHARS - 10)
        sem = asyncio.Semaphore(16)

        async def say(i: int) -> None:
            async with sem:
                ack = await med.call(
                    "chat.send",
                    {"client_id": f"f{i}", "text": f"{i:06d}{text}"},
                    within=60,
                )
                assert ack["ok"], ack

        await asyncio.gather(*(say(i) for i in range(messages)))
        await wait_for(lambda: len(reader.lines) >= messages, within=60)
        await asyncio.sleep(1)
        peak = _vm(worker.proc.pid, "VmHWM")
        after = _vm(worker.proc.pid, "VmRSS")
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{worker.url}/metrics")).text
        found = re.search(
            r"^accord_room_slow_consumer_disconnects_total (\S+)$", metrics, flags=re.M
        )
        return {
            "before_rss": before,
            "peak_rss": peak,
            "after_rss": after,
            "growth": peak - before,
            "retained": after - before,
            "slow_disconnects": float(found.group(1)) if found else 0.0,
            "reader_lines": len(reader.lines),
            "bytes_sent": messages * TEXT_CHARS,
        }
    finally:
        if stalled is not None:
            stalled.transport.abort()
        await med.close()
        await reader.close()
        await worker.stop()
        await services.db.dispose()


async def test_a_client_that_stops_reading_is_disconnected(
    tmp_path: Path, sqlite_url: str
) -> None:
    result = await flood(tmp_path, sqlite_url, bound=256)
    print(f"slow consumer (bound 256): {result}")
    assert result["slow_disconnects"] >= 1
    # everyone else kept receiving every line
    assert result["reader_lines"] >= MESSAGES
