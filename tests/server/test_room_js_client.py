"""The official JavaScript socket.io-client (pinned 4.8.4) under Node."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from tests.conftest import LiveServer, unavailable
from tests.server.roomkit import full_room

JS = Path(__file__).resolve().parents[1] / "js"


async def test_node_client_joins_chats_resends_and_replays(
    live_server: LiveServer,
) -> None:
    if shutil.which("node") is None:
        unavailable("Node.js", "install nodejs (20+)")
    if not (JS / "node_modules" / "socket.io-client").exists():
        unavailable("socket.io-client", "run `npm ci` in tests/js")
    setup = await full_room(live_server, interpreter=False)
    med = setup["peers"]["mediator"]
    await med.connect()
    assert (
        await med.call(
            "lobby.admit",
            {
                "client_id": "a1",
                "participant_ids": [
                    setup["peers"]["claimant"].participant_id,
                    setup["peers"]["respondent"].participant_id,
                ],
            },
        )
    )["ok"]
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS / "room-client.mjs"),
        live_server.url,
        setup["peers"]["claimant"].token,
        setup["peers"]["respondent"].token,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert "error" not in summary, (summary, err.decode())
    assert summary["refused"]["code"] == "token_invalid"
    assert summary["ack"]["ok"] is True and summary["ack"]["duplicate"] is False
    assert summary["resend"]["duplicate"] is True
    assert summary["resend"]["seq"] == summary["ack"]["seq"]
    assert summary["invalid"]["error"]["code"] == "invalid_input"
    assert summary["live"] == ["hello from node"]
    assert summary["replay"] == [[summary["ack"]["seq"], "hello from node"]]
    await med.close()
    for client in setup["http"].values():
        await client.aclose()
