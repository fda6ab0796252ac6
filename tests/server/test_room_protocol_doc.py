"""docs/protocol.md documents exactly the hub's events and error codes."""

from __future__ import annotations

import re
from pathlib import Path

import socketio

from rooms import MemoryPresence, RoomHub
from rooms.events import COMMON_ERRORS
from server.room_negotiation import NEGOTIATION_ERRORS, register_negotiation

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CONTROL = {"replay", "typing"}
SERVER_EVENTS = {"state", "line", "roster", "typing", "closing"}


def _hub() -> RoomHub:
    hub = RoomHub(socketio.AsyncServer(async_mode="asgi"), None, None, MemoryPresence())  # type: ignore[arg-type]
    # the server registers these on every hub it builds (server/realtime.py)
    register_negotiation(hub)
    return hub


def _sections(text: str, heading: str) -> set[str]:
    part = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^### `([^`]+)`", part, flags=re.M))


def test_every_client_event_is_documented_and_nothing_else() -> None:
    text = DOC.read_text()
    documented = _sections(text, "Client → server events") | _sections(
        text, "Negotiation events"
    )
    assert documented == set(_hub().registry.kinds()) | CONTROL


def test_every_server_event_is_documented() -> None:
    assert _sections(DOC.read_text(), "Server → client events") == SERVER_EVENTS


def test_every_error_code_is_documented_with_its_event() -> None:
    text = DOC.read_text()
    for code in (*COMMON_ERRORS, *NEGOTIATION_ERRORS):
        assert f"`{code}`" in text, code
    for spec in _hub().registry.specs():
        section = text.split(f"### `{spec.kind}`", 1)[1].split("\n### ", 1)[0]
        for code in spec.errors:
            assert f"`{code}`" in section, (spec.kind, code)
