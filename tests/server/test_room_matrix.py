"""Every registered event, tried by every role from every placement.

The expected rights are written out here, independently of the registry; a
new event without a row fails the test. An unauthorised call counts as
accepted when it is acknowledged ok or refused for any reason other than an
authorisation code (meaning it got past the rights check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.models import Participant, ParticipantKind
from tests.conftest import make_settings, start_live_server
from tests.server.roomkit import Peer, full_room

AUTH = {"forbidden_role", "forbidden_placement", "session_not_open"}
SIDE = {"party", "representative", "interpreter"}
SPEAK = {"party", "representative", "interpreter", "mediator"}
ROOM = {"joint", "caucus"}
ANY = {"lobby", "joint", "caucus"}
PARTY_SIDE = {"party", "representative"}

EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "chat.send": (SPEAK, ROOM),
    "chat.correct": (SPEAK, ROOM),
    "chat.withdraw": (SPEAK, ROOM),
    "chat.release": ({"party", "representative"}, ROOM),
    "evidence.share": ({"party", "representative", "mediator"}, ROOM),
    "lobby.knock": (SIDE, {"lobby", "caucus"}),
    "lobby.admit": ({"mediator"}, ANY),
    "lobby.deny": ({"mediator"}, ANY),
    "room.move": ({"mediator"}, ANY),
    "room.mute": ({"mediator"}, ANY),
    "room.remove": ({"mediator"}, ANY),
    "session.lock": ({"mediator"}, ANY),
    "session.open": ({"mediator"}, ANY),
    "session.end": ({"mediator"}, ANY),
    # negotiation (server/room_negotiation.py)
    "offer.make": (PARTY_SIDE | {"mediator"}, ROOM),
    "offer.counter": (PARTY_SIDE, ROOM),
    "offer.accept": (PARTY_SIDE, ROOM),
    "offer.reject": (PARTY_SIDE, ROOM),
    "offer.withdraw": (PARTY_SIDE | {"mediator"}, ROOM),
    "offer.release": (PARTY_SIDE | {"mediator"}, ROOM),
    "offer.submit": (PARTY_SIDE | {"mediator"}, ROOM),
    "offer.expire": (PARTY_SIDE | {"mediator"}, ROOM),
    "bid.open": ({"mediator"}, ROOM),
    "bid.submit": (PARTY_SIDE, ROOM),
    "bid.cancel": ({"mediator"}, ROOM),
    "package.issues": ({"mediator"}, ROOM),
    "package.rate": (PARTY_SIDE, ROOM),
    "package.suggest": ({"mediator"}, ROOM),
    "package.propose": ({"mediator"}, ROOM),
    # translation (server/room_translation_events.py)
    "translation.language": (SPEAK | {"observer"}, ANY),
    "translation.mode": ({"mediator"}, ANY),
    "translation.correct": ({"interpreter"}, ROOM),
    "translation.approve": ({"interpreter"}, ROOM),
    # media: anyone may connect (observers only receive), the lobby too (it
    # then receives nothing); the mediator alone chooses a room's media
    "media.offer": (SPEAK | {"observer"}, ANY),
    "media.toggle": (SPEAK, ANY),
    "media.focus": ({"mediator"}, ANY),
    "media.report": (SPEAK | {"observer"}, ANY),
}

# payloads valid in shape that change nothing when the rights check passes
PAYLOADS: dict[str, dict[str, Any]] = {
    "chat.send": {"text": "matrix"},
    "chat.correct": {"seq": 999999, "text": "x"},
    "chat.withdraw": {"seq": 999999},
    "chat.release": {"seq": 999999},
    "evidence.share": {"evidence_id": 999999},
    "lobby.knock": {},
    "lobby.admit": {"participant_ids": [999999]},
    "lobby.deny": {"participant_id": 999999},
    "room.move": {"participant_ids": [999999], "to": "joint"},
    "room.mute": {"participant_ids": [999999]},
    "room.remove": {"participant_id": 999999},
    "session.lock": {"locked": False},
    "session.open": {},
    "session.end": {},
    "offer.make": {"terms": []},
    "offer.counter": {"offer_id": 999999, "terms": []},
    "offer.accept": {"offer_id": 999999},
    "offer.reject": {"offer_id": 999999},
    "offer.withdraw": {"offer_id": 999999},
    "offer.release": {"offer_id": 999999},
    "offer.submit": {"offer_id": 999999},
    "offer.expire": {"offer_id": 999999},
    "bid.open": {"currency": "CNY", "rounds": 0, "tolerance_minor": 1},
    "bid.submit": {"bid_round_id": 999999, "figure_minor": 1},
    "bid.cancel": {"bid_round_id": 999999},
    "package.issues": {"issues": []},
    "package.rate": {"ratings": {}},
    "package.suggest": {},
    "package.propose": {"choice": {}},
    "translation.language": {"language": "en"},
    "translation.mode": {"mode": "correct_after"},
    "translation.correct": {"seq": 999999, "target": "en", "text": "x"},
    "translation.approve": {"seq": 999999, "target": "en"},
    "media.offer": {"sdp": "v=0\r\n", "type": "offer"},
    "media.toggle": {"audio": True, "video": True},
    "media.focus": {"room": "joint"},
    "media.report": {"state": "text-only", "reason": "declined"},
}


async def test_unauthorised_calls_accepted_is_zero(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(sqlite_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="100000")
    live = await start_live_server(settings)
    try:
        await _run_matrix(live)
    finally:
        await live.stop()


async def _run_matrix(live: Any) -> None:
    setup = await full_room(live, observer=True)
    peers: dict[str, Peer] = dict(setup["peers"])
    # a representative sits with the respondent; seated and tokened directly
    services = live.services
    async with services.db.write() as db:
        rep = Participant(
            session_id=setup["session_id"],
            kind=ParticipantKind.REPRESENTATIVE,
            attached_party_id=setup["world"].respondent,
            display_name="Rep",
        )
        db.add(rep)
        await db.flush()
        token, _ = services.extras["room_tokens"].issue(rep, setup["world"].case_id)
        rep_id = rep.id
    peers["representative"] = Peer("representative", token, rep_id, live.url)
    role_of = {
        "mediator": "mediator",
        "claimant": "party",
        "respondent": "party",
        "interpreter": "interpreter",
        "observer": "observer",
        "representative": "representative",
    }
    for peer in peers.values():
        await peer.connect()
    med = peers["mediator"]
    registry = services.extras["room_hub"].registry
    assert set(registry.kinds()) == set(EXPECTED), "every event needs a matrix row"

    tried = accepted_unauthorised = refused_authorised = crashed = 0
    counter = 0

    async def place(where: str) -> None:
        others = [p.participant_id for n, p in peers.items() if n != "mediator"]
        if where == "joint":
            ack = await med.call(
                "room.move",
                {"client_id": f"pj{where}", "participant_ids": others, "to": "joint"},
            )
        elif where == "caucus":
            side = [
                p.participant_id
                for n, p in peers.items()
                if n not in ("mediator", "observer")
            ]
            ack = await med.call(
                "room.move",
                {"client_id": f"pc{where}", "participant_ids": side, "to": "caucus-x"},
            )
        else:
            return
        assert ack["ok"], ack

    for where in ("lobby", "joint", "caucus"):
        await place(where)
        for name, peer in peers.items():
            role = role_of[name]
            if role == "observer" and where == "caucus":
                continue  # observers are never placed in a caucus
            actual_where = "joint" if role == "mediator" else where
            for kind in sorted(EXPECTED):
                if kind == "session.end":
                    continue  # tried last, below
                roles, places = EXPECTED[kind]
                allowed = role in roles and actual_where in places
                counter += 1
                ack = await peer.call(
                    kind, {"client_id": f"mx{counter}", **PAYLOADS[kind]}
                )
                tried += 1
                code = None if ack.get("ok") else ack["error"]["code"]
                if not allowed and code not in AUTH:
                    accepted_unauthorised += 1
                    print("ACCEPTED", kind, role, where, ack)
                if allowed and code in AUTH:
                    refused_authorised += 1
                    print("REFUSED", kind, role, where, ack)
                if code == "internal_error":
                    crashed += 1
                    print("CRASHED", kind, role, where, ack)

    for name, peer in peers.items():
        if name == "mediator":
            continue
        ack = await peer.call("session.end", {"client_id": "end-try"})
        tried += 1
        if ack.get("ok") or ack["error"]["code"] not in AUTH:
            accepted_unauthorised += 1
    assert (await med.call("session.end", {"client_id": "end"}))["ok"]
    print(
        f"role matrix: {tried} calls, unauthorised accepted = {accepted_unauthorised}"
    )
    assert accepted_unauthorised == 0
    assert refused_authorised == 0
    assert crashed == 0
    for peer in peers.values():
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()
