"""docs/protocol.md documents exactly the hub's events and error codes.

The hub is the one the application builds, so events that server modules
register (translation, negotiation, media) are held to the same rule. Client
events may be documented under any heading but "Server → client events", so
each area can keep its events in a section of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rooms import RoomHub
from rooms.events import COMMON_ERRORS
from server.room_negotiation import NEGOTIATION_ERRORS
from tests.conftest import make_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CONTROL = {"replay", "typing"}
SERVER_EVENTS = {"state", "line", "roster", "typing", "closing"}
SERVER_HEADING = "Server → client events"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> RoomHub:
    """The application's hub (built, never started: no database is touched)."""
    from server.app import create_app

    tmp = tmp_path_factory.mktemp("protocol")
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp}/unused.db", tmp))
    built: RoomHub = app.services.extras["room_hub"]
    return built


def _sections(text: str, heading: str) -> set[str]:
    part = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^### `([^`]+)`", part, flags=re.M))


def _client_sections(text: str) -> set[str]:
    before, after = text.split(f"## {SERVER_HEADING}", 1)
    rest = after.split("\n## ", 1)[1] if "\n## " in after else ""
    return set(re.findall(r"^### `([^`]+)`", before + rest, flags=re.M))


def test_every_client_event_is_documented_and_nothing_else(hub: RoomHub) -> None:
    from server.room_media import SERVER_EVENTS as MEDIA_SERVER_EVENTS

    # the media section documents its live server events beside its own
    documented = _client_sections(DOC.read_text()) - set(MEDIA_SERVER_EVENTS)
    assert documented == set(hub.registry.kinds()) | CONTROL


def test_every_server_event_is_documented() -> None:
    assert _sections(DOC.read_text(), SERVER_HEADING) == SERVER_EVENTS


def test_every_error_code_is_documented_with_its_event(hub: RoomHub) -> None:
    text = DOC.read_text()
    for code in (*COMMON_ERRORS, *NEGOTIATION_ERRORS):
        assert f"`{code}`" in text, code
    for spec in hub.registry.specs():
        section = text.split(f"### `{spec.kind}`", 1)[1].split("\n### ", 1)[0]
        for code in spec.errors:
            assert f"`{code}`" in section, (spec.kind, code)


def test_every_media_event_is_documented_under_its_heading(hub: RoomHub) -> None:
    from server.room_media import CLIENT_EVENTS, COMMON_MEDIA_ERRORS, SERVER_EVENTS

    text = DOC.read_text()
    media_kinds = {kind for kind in hub.registry.kinds() if kind.startswith("media.")}
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
