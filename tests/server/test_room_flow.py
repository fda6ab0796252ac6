"""The first slice end to end: join with a token, lobby, admit, joint chat, replay."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer
from tests.server.roomkit import (
    Peer,
    party_client,
    seed,
    settle,
    staff_client,
    token_for,
    wait_for,
)


async def open_session(live: LiveServer) -> dict[str, Any]:
    """A world, an open session with both parties seated, and three peers."""
    world = await seed(live.services)
    mediator_http = await staff_client(live.services, live.url, world.mediator)
    created = await mediator_http.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "First", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    peers = {}
    for name, client in (
        ("mediator", mediator_http),
        ("claimant", await party_client(live.services, live.url, world.claimant)),
        ("respondent", await party_client(live.services, live.url, world.respondent)),
    ):
        token, pid = await token_for(client, session_id)
        peers[name] = Peer(name, token, pid, live.url)
        await client.aclose()
    return {"world": world, "session_id": session_id, "peers": peers}


async def test_lobby_admit_and_joint_chat_with_idempotent_resend(
    live_server: LiveServer,
) -> None:
    setup = await open_session(live_server)
    med, cla, res = (setup["peers"][k] for k in ("mediator", "claimant", "respondent"))
    for peer in (med, cla, res):
        await peer.connect()
    assert cla.state is not None and cla.state["you"]["placement"] == "lobby"

    # the lobby may not speak and hears nothing
    refused = await cla.call("chat.send", {"client_id": "c-0", "text": "hello?"})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "forbidden_placement"

    admitted = await med.call("lobby.admit", {"client_id": "m-1"})
    assert admitted["ok"] is True and len(admitted["seqs"]) == 3
    await wait_for(
        lambda: cla.roster is not None and cla.roster["placement"] == "joint"
    )

    ack = await cla.call("chat.send", {"client_id": "c-1", "text": "Good morning"})
    assert ack["ok"] is True and ack["duplicate"] is False
    again = await cla.call("chat.send", {"client_id": "c-1", "text": "changed text"})
    assert again["ok"] is True and again["duplicate"] is True
    assert again["seq"] == ack["seq"]

    await wait_for(
        lambda: "Good morning" in res.texts() and "Good morning" in med.texts()
    )
    await settle()
    assert res.texts().count("Good morning") == 1
    assert "changed text" not in res.texts()

    replay = await res.call("replay", {"since": 0})
    assert replay["ok"] is True
    seqs = [line["seq"] for line in replay["lines"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    texts = [
        ln["content"].get("text") for ln in replay["lines"] if ln["kind"] == "chat"
    ]
    assert texts == ["Good morning"]
    assert replay["head"] >= ack["seq"]

    for peer in (med, cla, res):
        await peer.close()
