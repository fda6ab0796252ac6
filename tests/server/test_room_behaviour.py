"""Lobby, caucus, moves, corrections, release, moderation and limits, live."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import socketio

from tests.conftest import LiveServer
from tests.server.roomkit import Peer, full_room, settle, wait_for


async def connect_all(peers: dict[str, Peer]) -> None:
    for peer in peers.values():
        await peer.connect()


async def close_all(setup: dict[str, Any]) -> None:
    for peer in setup["peers"].values():
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()


def secrets_in(peer: Peer) -> str:
    return repr(peer.events)


async def test_caucus_is_private_interpreter_follows_and_release_reaches_joint(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    setup = await full_room(live_server)
    p = setup["peers"]
    med, cla, res, itp = p["mediator"], p["claimant"], p["respondent"], p["interpreter"]
    await connect_all(p)
    assert (await med.call("lobby.admit", {"client_id": "a1"}))["ok"]

    moved = await med.call(
        "room.move",
        {
            "client_id": "m1",
            "participant_ids": [cla.participant_id],
            "to": "caucus-claimant",
        },
    )
    assert moved["ok"], moved
    await wait_for(
        lambda: any(
            ln["kind"] == "placement"
            and ln["content"]["placement"] == "caucus-claimant"
            for ln in itp.lines
        )
    )

    said = await cla.call(
        "chat.send", {"client_id": "s1", "text": "SECRET-floor-is-500"}
    )
    assert said["ok"]
    await wait_for(
        lambda: (
            "SECRET-floor-is-500" in itp.texts()
            and "SECRET-floor-is-500" in med.texts()
        )
    )
    joint = await res.call("chat.send", {"client_id": "r1", "text": "anyone there?"})
    assert joint["ok"]
    await settle()
    assert "SECRET-floor-is-500" not in secrets_in(res)
    assert "anyone there?" not in cla.texts()  # not in the joint room now
    replay = await res.call("replay", {"since": 0})
    assert "SECRET-floor-is-500" not in repr(replay)

    # only the author may release it, and then the joint room hears it
    not_author = await itp.call("chat.release", {"client_id": "x1", "seq": said["seq"]})
    assert not not_author["ok"]
    released = await cla.call("chat.release", {"client_id": "rel1", "seq": said["seq"]})
    assert released["ok"], released
    await wait_for(lambda: "SECRET-floor-is-500" in res.texts())

    transcript = await setup["http"]["respondent"].get(
        f"/api/sessions/{setup['session_id']}/transcript"
    )
    caucus_lines = [
        ln for ln in transcript.json()["lines"] if ln["room"].startswith("caucus")
    ]
    assert caucus_lines == []
    assert not any(
        "SECRET" in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO
    )
    await close_all(setup)


async def test_correct_and_withdraw_keep_history_for_the_mediator_only(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    med, cla, res = p["mediator"], p["claimant"], p["respondent"]
    await connect_all(p)
    await med.call("lobby.admit", {"client_id": "a1"})
    first = await cla.call("chat.send", {"client_id": "c1", "text": "we want 900"})
    fixed = await cla.call(
        "chat.correct", {"client_id": "c2", "seq": first["seq"], "text": "we want 800"}
    )
    assert fixed["ok"], fixed
    other = await res.call(
        "chat.correct", {"client_id": "c3", "seq": first["seq"], "text": "x"}
    )
    assert other["error"]["code"] == "not_author"
    gone = await cla.call("chat.send", {"client_id": "c4", "text": "typo line"})
    assert (await cla.call("chat.withdraw", {"client_id": "c5", "seq": gone["seq"]}))[
        "ok"
    ]

    party_view = await res.call("replay", {"since": 0})
    text = repr([ln for ln in party_view["lines"] if ln["kind"] == "chat"])
    assert (
        "we want 800" in text and "we want 900" not in text and "typo line" not in text
    )
    mediator_view = await med.call("replay", {"since": 0})
    assert "we want 900" in repr(mediator_view) and "typo line" in repr(mediator_view)

    # a corrected line withdrawn later: no copy of any of its texts remains
    said = await cla.call("chat.send", {"client_id": "c6", "text": "offer 500"})
    await cla.call(
        "chat.correct", {"client_id": "c7", "seq": said["seq"], "text": "offer 550"}
    )
    await cla.call("chat.withdraw", {"client_id": "c8", "seq": said["seq"]})
    party_view = repr(await res.call("replay", {"since": 0}))
    assert "offer 500" not in party_view and "offer 550" not in party_view
    mediator_view = repr(await med.call("replay", {"since": 0}))
    assert "offer 500" in mediator_view and "offer 550" in mediator_view
    await close_all(setup)


async def test_lobby_situations_deny_leave_end_and_lock(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    med, cla, res = p["mediator"], p["claimant"], p["respondent"]
    await connect_all(p)
    # the mediator sees both waiting; the lobby sees nobody
    await wait_for(
        lambda: (
            med.roster is not None
            and sum(1 for x in med.roster["people"] if x["online"]) == 3
        )
    )
    assert cla.roster is not None and cla.roster["people"] == []
    assert cla.roster["mediator_online"] is True

    # the mediator leaves and returns: the lobby keeps waiting, nothing is lost
    await med.close()
    await wait_for(
        lambda: cla.roster is not None and cla.roster["mediator_online"] is False
    )
    await med.reconnect()
    await wait_for(
        lambda: cla.roster is not None and cla.roster["mediator_online"] is True
    )

    denied = await med.call(
        "lobby.deny", {"client_id": "d1", "participant_id": res.participant_id}
    )
    assert denied["ok"]
    await wait_for(lambda: not res.sio.connected)
    assert any(e == "closing" and d["reason"] == "denied" for e, d in res.events)
    again = Peer("respondent-again", res.token, res.participant_id, live_server.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    await wait_for(lambda: again.refused is not None)
    assert again.refused["data"]["code"] in ("denied", "token_revoked")

    # a party leaves while waiting and comes back: still in the lobby
    await cla.reconnect()
    assert cla.state is not None and cla.state["you"]["placement"] == "lobby"

    locked = await med.call("session.lock", {"client_id": "l1", "locked": True})
    assert locked["ok"]
    await cla.close()
    late = Peer("late", cla.token, cla.participant_id, live_server.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect()
    await wait_for(lambda: late.refused is not None)
    assert late.refused["data"]["code"] == "session_locked"
    await med.call("session.lock", {"client_id": "l2", "locked": False})

    # the session ends while someone waits: they are told and disconnected
    await cla.reconnect()
    ended = await med.call("session.end", {"client_id": "e1"})
    assert ended["ok"]
    await wait_for(lambda: not cla.sio.connected)
    assert any(e == "line" and d["kind"] == "session.end" for e, d in cla.events)
    await close_all(setup)


async def test_reconnect_returns_to_the_last_room_and_replays_from_last_seq(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    med, cla, res = p["mediator"], p["claimant"], p["respondent"]
    await connect_all(p)
    await med.call("lobby.admit", {"client_id": "a1", "room": "joint"})
    await med.call(
        "room.move",
        {
            "client_id": "m1",
            "participant_ids": [res.participant_id],
            "to": "caucus-res",
        },
    )
    await wait_for(
        lambda: any(
            ln["kind"] == "placement" and ln["content"]["placement"] == "caucus-res"
            for ln in res.lines
        )
    )
    last = max(ln["seq"] for ln in res.lines)
    await res.close()
    said = await cla.call(
        "chat.send", {"client_id": "c1", "text": "while you were out"}
    )
    said2 = await res_in_caucus_line(med)
    await res.reconnect()
    assert res.state is not None and res.state["you"]["placement"] == "caucus-res"
    replay = await res.call("replay", {"since": last})
    seqs = [ln["seq"] for ln in replay["lines"]]
    # the caucus line to them, and the joint history they are entitled to
    assert said2 in seqs and said["seq"] in seqs
    assert seqs == sorted(seqs) and all(s > last for s in seqs)
    ahead = await res.call("replay", {"since": 10_000})
    assert ahead["gap"]["reason"] == "ahead_of_server"
    await close_all(setup)


async def res_in_caucus_line(med: Peer) -> int:
    ack = await med.call(
        "chat.send",
        {"client_id": "mc1", "text": "to you in caucus", "room": "caucus-res"},
    )
    assert ack["ok"], ack
    seq: int = ack["seq"]
    return seq


async def test_bad_input_gets_stable_codes_and_the_connection_survives(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    med, cla = p["mediator"], p["claimant"]
    await connect_all(p)
    await med.call("lobby.admit", {"client_id": "a1"})
    cases = [
        ("chat.send", "not a dict", "invalid_input"),
        ("chat.send", {"text": "no id"}, "invalid_input"),
        ("chat.send", {"client_id": "x y", "text": "bad id"}, "invalid_input"),
        ("chat.send", {"client_id": "ok", "text": "x", "extra": 1}, "invalid_input"),
        ("chat.send", {"client_id": "big", "text": "x" * 4001}, "message_too_long"),
        ("chat.send", {"client_id": "blank", "text": "   "}, "empty_message"),
        ("no.such.event", {}, "unknown_event"),
        (
            "room.move",
            {"client_id": "mv", "participant_ids": [med.participant_id], "to": "joint"},
            "forbidden_role",
        ),
        (
            "chat.correct",
            {"client_id": "cc", "seq": 99999, "text": "x"},
            "line_not_found",
        ),
    ]
    for event, payload, code in cases:
        ack = await cla.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, ack)
    assert cla.sio.connected
    assert (await cla.call("chat.send", {"client_id": "fine", "text": "still here"}))[
        "ok"
    ]

    # the per-connection rate limit (30 per 10 s by default)
    codes = [
        (await cla.call("typing", {"active": True})).get("error", {}).get("code")
        for _ in range(40)
    ]
    assert "rate_limited" in codes and cla.sio.connected
    await close_all(setup)


async def test_remove_revokes_the_token_at_once(live_server: LiveServer) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    med, cla = p["mediator"], p["claimant"]
    await connect_all(p)
    await med.call("lobby.admit", {"client_id": "a1"})
    removed = await med.call(
        "room.remove", {"client_id": "rm1", "participant_id": cla.participant_id}
    )
    assert removed["ok"]
    await wait_for(lambda: not cla.sio.connected)
    again = Peer("again", cla.token, cla.participant_id, live_server.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    await wait_for(lambda: again.refused is not None)
    assert again.refused["data"]["code"] in ("token_revoked", "removed")
    await close_all(setup)


async def test_metrics_count_events_and_never_carry_text(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    p = setup["peers"]
    await connect_all(p)
    await p["mediator"].call("lobby.admit", {"client_id": "a1"})
    await p["claimant"].call("chat.send", {"client_id": "c1", "text": "METRIC-CANARY"})
    body = (await setup["http"]["mediator"].get("/metrics")).text
    assert 'accord_room_events_total{kind="chat.send",outcome="ok"} 1.0' in body
    assert "accord_room_connections 3.0" in body
    assert "accord_room_handler_seconds_bucket" in body
    assert "METRIC-CANARY" not in body
    await close_all(setup)
