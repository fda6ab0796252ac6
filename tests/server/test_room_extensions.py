"""Extension points and the remaining moderation paths, on the live server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from pydantic import Field
from sqlalchemy import select

from rooms import (
    IN_ROOM,
    Allow,
    EventContext,
    IdempotentPayload,
    Line,
    LineSpec,
    RoomHub,
    RoomTx,
    SeatKind,
    Visibility,
)
from server.models import CaseEvent, EvidenceItem, Party
from tests.conftest import LiveServer
from tests.server.roomkit import Peer, full_room, settle, staff_client, wait_for


async def _connect(setup: dict[str, Any], *names: str) -> list[Peer]:
    peers = [setup["peers"][n] for n in names]
    for peer in peers:
        await peer.connect()
    return peers


async def _close(setup: dict[str, Any], *extra: Peer) -> None:
    for peer in [*setup["peers"].values(), *extra]:
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()


class SealedBid(IdempotentPayload):
    amount_minor: int = Field(ge=0)


async def sealed_bid(ctx: EventContext, body: SealedBid, tx: RoomTx) -> list[LineSpec]:
    # a sealed bid: only the mediators and the bidder may see it
    content = {"amount_minor": body.amount_minor}
    return [
        LineSpec("bid.sealed", ctx.seat.placement, Visibility.MEDIATORS, content),
        LineSpec(
            "bid.sealed",
            ctx.seat.placement,
            Visibility.participant(ctx.seat.id),
            content,
        ),
    ]


async def test_a_registered_event_gets_idempotency_seq_visibility_and_replay(
    live_server: LiveServer,
) -> None:
    hub: RoomHub = live_server.services.extras["room_hub"]
    hub.register(
        "bid.seal",
        schema=SealedBid,
        allowed=Allow(frozenset({SeatKind.PARTY}), IN_ROOM),
        handler=sealed_bid,
        summary="test-only sealed bid",
    )
    setup = await full_room(live_server, interpreter=False)
    med, cla, res = await _connect(setup, "mediator", "claimant", "respondent")
    await med.call("lobby.admit", {"client_id": "a"})
    bid = await cla.call("bid.seal", {"client_id": "b1", "amount_minor": 73100})
    assert bid["ok"] and len(bid["seqs"]) == 2
    again = await cla.call("bid.seal", {"client_id": "b1", "amount_minor": 1})
    assert again["duplicate"] and again["seqs"] == bid["seqs"]
    bad = await cla.call("bid.seal", {"client_id": "b2", "amount_minor": -5})
    assert (
        bad["error"]["code"] == "invalid_input"
        and bad["error"]["field"] == "amount_minor"
    )
    refused = await med.call("bid.seal", {"client_id": "b3", "amount_minor": 5})
    assert refused["error"]["code"] == "forbidden_role"
    await wait_for(lambda: any(ln["kind"] == "bid.sealed" for ln in med.lines))
    await settle()
    assert "73100" not in repr(res.events)
    assert "73100" not in repr(await res.call("replay", {"since": 0}))
    assert "73100" in repr(await cla.call("replay", {"since": 0}))
    await _close(setup)


async def test_observers_and_publish_update_reach_exactly_the_original_audience(
    live_server: LiveServer,
) -> None:
    hub: RoomHub = live_server.services.extras["room_hub"]
    seen: list[Line] = []
    translated = asyncio.Event()

    async def translate(line: Line) -> None:
        seen.append(line)
        if line.kind == "chat":
            await hub.publish_update(
                line.session_id,
                line.seq,
                kind="chat.translation",
                content={"language": "zh-CN", "text": "译文"},
            )
            translated.set()

    hub.add_observer(translate)
    setup = await full_room(live_server)
    med, cla, res, itp = await _connect(
        setup, "mediator", "claimant", "respondent", "interpreter"
    )
    await med.call("lobby.admit", {"client_id": "a"})
    await med.call(
        "room.move",
        {"client_id": "m", "participant_ids": [cla.participant_id], "to": "caucus-c"},
    )
    said = await cla.call("chat.send", {"client_id": "c", "text": "caucus words"})
    await asyncio.wait_for(translated.wait(), 10)
    await wait_for(lambda: any(ln["kind"] == "chat.translation" for ln in itp.lines))
    update = next(ln for ln in itp.lines if ln["kind"] == "chat.translation")
    assert update["ref"] == said["seq"] and update["seq"] > said["seq"]
    await settle()
    assert "译文" not in repr(res.events)
    assert "译文" not in repr(await res.call("replay", {"since": 0}))
    assert any(line.kind == "chat" for line in seen)
    await _close(setup)


class FakeRouter:
    """Records what the hub asks of the media router."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def handle_offer(
        self, participant_id: int, sdp: str, type: str
    ) -> tuple[str, str]:
        return sdp, "answer"

    async def set_placement(self, participant_id: int, room_key: str | None) -> None:
        self.calls.append(("placement", participant_id, room_key))

    async def set_muted(self, participant_id: int, audio: bool, video: bool) -> None:
        self.calls.append(("muted", participant_id, audio, video))

    async def remove(self, participant_id: int) -> None:
        self.calls.append(("remove", participant_id))


async def test_moves_mutes_and_removals_drive_the_media_router(
    live_server: LiveServer,
) -> None:
    router = FakeRouter()
    live_server.services.extras["room_hub"].media = router
    setup = await full_room(live_server)
    med, cla, res, itp = await _connect(
        setup, "mediator", "claimant", "respondent", "interpreter"
    )
    await med.call(
        "lobby.admit", {"client_id": "a", "participant_ids": [cla.participant_id]}
    )
    # the interpreter followed the claimant
    assert ("placement", itp.participant_id, "joint") in router.calls
    await med.call(
        "room.move",
        {
            "client_id": "m",
            "participant_ids": [cla.participant_id, res.participant_id],
            "to": "lobby",
        },
    )
    assert ("placement", res.participant_id, None) in router.calls
    muted = await med.call(
        "room.mute",
        {
            "client_id": "mu",
            "participant_ids": [res.participant_id],
            "audio": True,
            "video": True,
        },
    )
    assert muted["ok"] and ("muted", res.participant_id, True, True) in router.calls
    await med.call(
        "room.remove", {"client_id": "rm", "participant_id": res.participant_id}
    )
    assert ("remove", res.participant_id) in router.calls
    await _close(setup)


async def test_knock_from_caucus_and_a_second_mediator_takes_over(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    med, cla, res = await _connect(setup, "mediator", "claimant", "respondent")
    world = setup["world"]
    added = await setup["http"]["mediator"].post(
        f"/api/sessions/{setup['session_id']}/participants",
        json={"kind": "mediator", "user_id": world.mediator2},
    )
    assert added.status_code == 201, added.text
    # the second mediator is not assigned to the case: the token is refused
    other = await staff_client(live_server.services, live_server.url, world.mediator2)
    refused = await other.post(f"/api/sessions/{setup['session_id']}/token")
    assert refused.status_code == 404
    await other.aclose()

    await med.call("lobby.admit", {"client_id": "a"})
    await med.call(
        "room.move",
        {"client_id": "m", "participant_ids": [cla.participant_id], "to": "caucus-c"},
    )
    from_joint = await res.call("lobby.knock", {"client_id": "k0"})
    assert from_joint["error"]["code"] == "forbidden_placement"
    knock = await cla.call("lobby.knock", {"client_id": "k1"})
    assert knock["ok"]
    await wait_for(lambda: any(ln["kind"] == "lobby.knock" for ln in med.lines))
    await settle()
    assert not any(ln["kind"] == "lobby.knock" for ln in res.lines)

    # the first mediator leaves; a second one (seated, token from the hub's
    # issuer as the case's reassigned mediator would get) carries on
    from server.models import Participant

    async with live_server.services.db.read() as db:
        seat = await db.get(Participant, added.json()["id"])
        assert seat is not None
        token, _ = live_server.services.extras["room_tokens"].issue(seat, world.case_id)
    await med.close()
    med2 = Peer("mediator2", token, added.json()["id"], live_server.url)
    await med2.connect()
    history = await med2.call("replay", {"since": 0})
    assert any(ln["kind"] == "lobby.knock" for ln in history["lines"])
    back = await med2.call(
        "room.move",
        {"client_id": "m2", "participant_ids": [cla.participant_id], "to": "joint"},
    )
    assert back["ok"]
    await wait_for(
        lambda: cla.roster is not None and cla.roster["placement"] == "joint"
    )
    await _close(setup, med2)


async def test_evidence_share_is_a_logged_act_and_private_items_stay_with_their_side(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    world = setup["world"]
    async with live_server.services.db.write() as db:
        items = []
        for party, private in ((world.claimant, False), (world.respondent, True)):
            item = EvidenceItem(
                case_id=world.case_id,
                party_id=party,
                original_name=f"receipt-{party}.pdf",
                storage_name=f"s-{party}-{private}",
                content_type="application/pdf",
                size=10,
                sha256="ab" * 32,
                private=private,
            )
            db.add(item)
            items.append(item)
        await db.flush()
        public_id, private_id = items[0].id, items[1].id
    med, cla, res = await _connect(setup, "mediator", "claimant", "respondent")
    await med.call("lobby.admit", {"client_id": "a"})
    shared = await cla.call(
        "evidence.share", {"client_id": "e1", "evidence_id": public_id}
    )
    assert shared["ok"], shared
    await wait_for(lambda: any(ln["kind"] == "evidence.share" for ln in res.lines))
    other_side = await cla.call(
        "evidence.share", {"client_id": "e2", "evidence_id": private_id}
    )
    assert other_side["error"]["code"] == "evidence_forbidden"
    missing = await cla.call(
        "evidence.share", {"client_id": "e3", "evidence_id": 999999}
    )
    assert missing["error"]["code"] == "evidence_not_found"
    async with live_server.services.db.read() as db:
        kinds = (
            (
                await db.execute(
                    select(CaseEvent.kind).where(CaseEvent.case_id == world.case_id)
                )
            )
            .scalars()
            .all()
        )
    assert list(kinds).count("evidence.shared") == 1
    await _close(setup)


async def test_revoking_a_party_link_stops_their_live_socket(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    med, cla = await _connect(setup, "mediator", "claimant")
    await med.call("lobby.admit", {"client_id": "a"})
    assert (await cla.call("chat.send", {"client_id": "c1", "text": "before"}))["ok"]
    async with live_server.services.db.write() as db:
        party = await db.get(Party, setup["world"].claimant)
        assert party is not None
        party.link_version += 1
    await asyncio.sleep(1.1)  # the per-event check may be up to one second stale
    after = await cla.call("chat.send", {"client_id": "c2", "text": "after"})
    assert after["error"]["code"] == "token_revoked"
    await wait_for(lambda: not cla.sio.connected)
    await _close(setup)


async def test_a_foreign_origin_cannot_connect(live_server: LiveServer) -> None:
    setup = await full_room(live_server, interpreter=False)
    client = socketio.AsyncClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            live_server.url,
            namespaces=["/room"],
            transports=["websocket"],
            headers={"Origin": "https://evil.example"},
            auth={"token": setup["peers"]["claimant"].token},
            wait_timeout=3,
        )
    if client.eio.http is not None:
        await client.eio.http.close()
    await _close(setup)


async def test_ending_over_http_disconnects_everyone_and_refuses_new_tokens(
    live_server: LiveServer,
) -> None:
    setup = await full_room(live_server, interpreter=False)
    med, cla = await _connect(setup, "mediator", "claimant")
    ended = await setup["http"]["mediator"].post(
        f"/api/sessions/{setup['session_id']}/end"
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    await wait_for(lambda: not cla.sio.connected and not med.sio.connected)
    again = await setup["http"]["claimant"].post(
        f"/api/sessions/{setup['session_id']}/token"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "session_ended"
    transcript = await setup["http"]["claimant"].get(
        f"/api/sessions/{setup['session_id']}/transcript"
    )
    assert [ln["kind"] for ln in transcript.json()["lines"]] == ["session.end"]
    await _close(setup)
