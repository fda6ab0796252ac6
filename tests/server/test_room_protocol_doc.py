"""docs/protocol.md documents exactly the hub's events and error codes."""

from __future__ import annotations

import re
from pathlib import Path

import socketio

from rooms import MemoryPresence, RoomHub
from rooms.events import COMMON_ERRORS

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CONTROL = {"replay", "typing"}
SERVER_EVENTS = {"state", "line", "roster", "typing", "closing"}


def _hub() -> RoomHub:
    return RoomHub(
        socketio.AsyncServer(async_mode="asgi"), None, None, MemoryPresence()
    )  # type: ignore[arg-type]


def _sections(text: str, heading: str) -> set[str]:
    part = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^### `([^`]+)`", part, flags=re.M))


def test_every_client_event_is_documented_and_nothing_else() -> None:
    text = DOC.read_text()
    documented = _sections(text, "Client → server events")
    assert documented == set(_hub().registry.kinds()) | CONTROL


def test_every_server_event_is_documented() -> None:
    assert _sections(DOC.read_text(), "Server → client events") == SERVER_EVENTS


def test_every_error_code_is_documented_with_its_event() -> None:
    text = DOC.read_text()
    for code in COMMON_ERRORS:
        assert f"`{code}`" in text, code
    for spec in _hub().registry.specs():
        section = text.split(f"### `{spec.kind}`", 1)[1].split("\n### ", 1)[0]
        for code in spec.errors:
            assert f"`{code}`" in section, (spec.kind, code)


def _media_hub() -> RoomHub:
    from server.room_media import RoomMedia
    from server.settings import MediaSettings

    hub = _hub()
    RoomMedia(MediaSettings(), hub, None).register()
    return hub


def test_every_media_event_is_documented_under_its_heading() -> None:
    from server.room_media import CLIENT_EVENTS, COMMON_MEDIA_ERRORS, SERVER_EVENTS

    text = DOC.read_text()
    hub = _media_hub()
    media_kinds = set(hub.registry.kinds()) - set(_hub().registry.kinds())
    assert media_kinds == set(CLIENT_EVENTS)
    assert _sections(text, "Media events") == media_kinds | set(SERVER_EVENTS)
    media = text.split("## Media events", 1)[1].split("\n## ", 1)[0]
    for code in COMMON_MEDIA_ERRORS:
        assert f"`{code}`" in media, code
    for kind in CLIENT_EVENTS:
        spec = hub.registry.get(kind)
        assert spec is not None
        section = media.split(f"### `{kind}`", 1)[1].split("\n### ", 1)[0]
        for code in spec.errors:
            assert f"`{code}`" in section, (kind, code)
