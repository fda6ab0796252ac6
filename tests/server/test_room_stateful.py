"""A stateful property test over the real server with real clients.

Random sequences of join, admit, deny, move, send, disconnect, reconnect,
replay, knock, release and end. Every caucus line carries a unique secret;
after every step nothing a participant outside its audience can reach (their
sockets, their replay, the transcript API, the case export, log records at
INFO and above) may contain it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from tests.conftest import make_settings, start_live_server
from tests.server.roomkit import Peer, full_room

T = TypeVar("T")
OTHERS = ("claimant", "respondent", "interpreter", "observer")
SIDE = {"claimant": "C", "interpreter": "C", "respondent": "R", "observer": None}
ROOMS = ("joint", "lobby", "caucus-a", "caucus-b")
COUNTS = {"sequences": 0, "steps": 0, "secrets": 0}


class Harness:
    """An event loop in a thread holding the live server; rules run on it."""

    def __init__(self, settings_: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.live = self.run(start_live_server(settings_))
        self.records: list[str] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.live.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Capture(logging.Handler):
    """Keeps every record at INFO and above, formatted."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


HARNESS: Harness | None = None


class RoomMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.setup = self.h.run(full_room(self.h.live, observer=True))
        self.peers: dict[str, Peer] = self.setup["peers"]
        self.http = self.setup["http"]
        self.h.run(self.peers["mediator"].connect())
        self.place = {name: "lobby" for name in OTHERS}
        self.admitted = {name: False for name in OTHERS}
        self.denied: set[str] = set()
        self.connected: set[str] = set()
        self.ended = False
        # secret -> (audience sides, public, seq, author)
        self.secrets: dict[str, dict[str, Any]] = {}
        self.n = 0
        self.steps = 0
        COUNTS["sequences"] += 1

    # -- helpers --------------------------------------------------------------

    def cid(self) -> str:
        self.n += 1
        return f"h{self.n}"

    def in_room(self, name: str) -> bool:
        return (
            self.admitted[name]
            and self.place[name] != "lobby"
            and name not in self.denied
        )

    def call(self, name: str, event: str, payload: dict[str, Any]) -> Any:
        return self.h.run(self.peers[name].call(event, payload))

    def followers(self, name: str) -> list[str]:
        if name == "claimant" and "interpreter" not in self.denied:
            return ["claimant", "interpreter"]
        return [name]

    def audience(self, room: str) -> set[str]:
        return {
            SIDE[n]
            for n in OTHERS
            if self.in_room(n) and self.place[n] == room and SIDE[n] is not None
        }

    def step(self) -> None:
        COUNTS["steps"] += 1
        self.steps += 1

    # -- rules ----------------------------------------------------------------

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(OTHERS))
    def join(self, who: str) -> None:
        self.step()
        if who in self.connected or who in self.denied:
            return
        self.h.run(self.peers[who].reconnect())
        assert self.peers[who].state is not None
        expected = self.place[who] if self.in_room(who) else "lobby"
        assert self.peers[who].state["you"]["placement"] == expected
        self.connected.add(who)

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(OTHERS))
    def disconnect(self, who: str) -> None:
        self.step()
        self.h.run(self.peers[who].close())
        self.connected.discard(who)

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(OTHERS))
    def admit(self, who: str) -> None:
        self.step()
        pid = self.peers[who].participant_id
        ack = self.call(
            "mediator",
            "lobby.admit",
            {"client_id": self.cid(), "participant_ids": [pid]},
        )
        if who in self.denied or self.in_room(who):
            assert not ack["ok"]
            return
        assert ack["ok"], ack
        for name in self.followers(who):
            self.place[name] = "joint"
            self.admitted[name] = True

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(OTHERS))
    def deny(self, who: str) -> None:
        self.step()
        if who in self.denied or self.in_room(who):
            return
        pid = self.peers[who].participant_id
        ack = self.call(
            "mediator", "lobby.deny", {"client_id": self.cid(), "participant_id": pid}
        )
        assert ack["ok"], ack
        self.denied.add(who)
        self.connected.discard(who)

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(OTHERS), to=st.sampled_from(ROOMS))
    def move(self, who: str, to: str) -> None:
        self.step()
        pid = self.peers[who].participant_id
        ack = self.call(
            "mediator",
            "room.move",
            {"client_id": self.cid(), "participant_ids": [pid], "to": to},
        )
        if who in self.denied:
            assert not ack["ok"]
            return
        if who == "observer" and to.startswith("caucus"):
            assert ack["error"]["code"] == "placement_refused"
            return
        assert ack["ok"], ack
        for name in self.followers(who):
            self.place[name] = to
            self.admitted[name] = self.admitted[name] or to != "lobby"

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(("claimant", "respondent", "interpreter")))
    def send(self, who: str) -> None:
        self.step()
        if who not in self.connected:
            return
        room = self.place[who]
        secret = f"SECRET-{uuid.uuid4().hex[:12]}"
        ack = self.call(
            who, "chat.send", {"client_id": self.cid(), "text": f"{secret} said"}
        )
        if not self.in_room(who):
            assert ack["error"]["code"] == "forbidden_placement"
            return
        assert ack["ok"], ack
        if room.startswith("caucus"):
            self.secrets[secret] = {
                "audience": self.audience(room),
                "public": False,
                "seq": ack["seq"],
                "author": who,
            }
            COUNTS["secrets"] += 1

    @precondition(lambda self: not self.ended)
    @rule(
        who=st.sampled_from(("claimant", "respondent", "interpreter")),
        room=st.sampled_from(("caucus-a", "caucus-b")),
    )
    def caucus_turn(self, who: str, room: str) -> None:
        """Move someone into a caucus (connecting them) and have them speak."""
        self.step()
        if who in self.denied:
            return
        if self.place[who] != room or not self.in_room(who):
            self.move(who, room)
            COUNTS["steps"] -= 1
            self.steps -= 1
        if who not in self.connected:
            self.join(who)
            COUNTS["steps"] -= 1
            self.steps -= 1
        self.send(who)
        COUNTS["steps"] -= 1
        self.steps -= 1

    @precondition(lambda self: not self.ended)
    @rule(room=st.sampled_from(("caucus-a", "caucus-b")))
    def mediator_says_in_caucus(self, room: str) -> None:
        self.step()
        secret = f"SECRET-{uuid.uuid4().hex[:12]}"
        ack = self.call(
            "mediator",
            "chat.send",
            {"client_id": self.cid(), "text": secret, "room": room},
        )
        assert ack["ok"], ack
        self.secrets[secret] = {
            "audience": self.audience(room),
            "public": False,
            "seq": ack["seq"],
            "author": "mediator",
        }
        COUNTS["secrets"] += 1

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(("claimant", "respondent")))
    def release(self, who: str) -> None:
        self.step()
        if who not in self.connected:
            return
        mine = [
            s for s, d in self.secrets.items() if d["author"] == who and not d["public"]
        ]
        if not mine:
            return
        secret = mine[0]
        ack = self.call(
            who,
            "chat.release",
            {"client_id": self.cid(), "seq": self.secrets[secret]["seq"]},
        )
        if not self.in_room(who):
            assert ack["error"]["code"] == "forbidden_placement"
            return
        assert ack["ok"], ack
        self.secrets[secret]["public"] = True

    @precondition(lambda self: not self.ended)
    @rule(who=st.sampled_from(("claimant", "respondent", "interpreter")))
    def knock(self, who: str) -> None:
        self.step()
        if who not in self.connected:
            return
        ack = self.call(who, "lobby.knock", {"client_id": self.cid()})
        if self.in_room(who) and self.place[who] == "joint":
            assert ack["error"]["code"] == "forbidden_placement"
        else:
            assert ack["ok"], ack

    # ending closes the sequence; late in it, so the steps before it count
    @precondition(lambda self: not self.ended and self.steps >= 18)
    @rule()
    def end(self) -> None:
        self.step()
        assert self.call("mediator", "session.end", {"client_id": self.cid()})["ok"]
        self.ended = True
        self.connected.clear()

    @rule(who=st.sampled_from(OTHERS))
    def replay(self, who: str) -> None:
        self.step()
        if who not in self.connected or not self.peers[who].sio.connected:
            return
        answer = self.call(who, "replay", {"since": 0})
        seqs = [line["seq"] for line in answer["lines"]]
        assert seqs == sorted(set(seqs))
        if not self.in_room(who):
            assert answer["gap"]["reason"] == "in_lobby"

    # -- the invariant --------------------------------------------------------

    @invariant()
    def no_secret_reaches_anyone_outside_its_audience(self) -> None:
        for name in OTHERS:
            forbidden = [
                s
                for s, d in self.secrets.items()
                if not d["public"] and SIDE[name] not in d["audience"]
            ]
            if not forbidden:
                continue
            reachable = [repr(self.peers[name].events)]
            if name in self.connected and self.peers[name].sio.connected:
                reachable.append(repr(self.call(name, "replay", {"since": 0})))
            client = self.http[name]
            sid = self.setup["session_id"]
            case = self.setup["world"].case_id
            reachable.append(
                self.h.run(client.get(f"/api/sessions/{sid}/transcript")).text
            )
            reachable.append(
                self.h.run(client.get(f"/api/cases/{case}/transcript")).text
            )
            everything = "\n".join(reachable)
            for secret in forbidden:
                assert secret not in everything, (name, secret)
        logs = "\n".join(self.h.records)
        for secret in self.secrets:
            assert secret not in logs

    def teardown(self) -> None:
        for peer in self.peers.values():
            self.h.run(peer.close())
        for client in self.http.values():
            self.h.run(client.aclose())


def test_caucus_secrets_never_reach_anyone_outside_the_caucus(
    tmp_path: Path, sqlite_template: Path
) -> None:
    global HARNESS
    db = tmp_path / "accord.db"
    shutil.copy(sqlite_template, db)
    config = make_settings(
        f"sqlite+aiosqlite:///{db}", tmp_path, ACCORD_ROOM_EVENTS_PER_10S="100000"
    )
    HARNESS = Harness(config)
    capture = Capture(HARNESS.records)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(capture)
    try:
        machine = RoomMachine
        machine.TestCase.settings = settings(
            max_examples=10,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        machine.TestCase().runTest()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        HARNESS.close()
        HARNESS = None
    print(
        f"stateful rooms: {COUNTS['sequences']} sequences, {COUNTS['steps']} steps, "
        f"{COUNTS['secrets']} caucus secrets checked"
    )
    assert COUNTS["secrets"] > 0
