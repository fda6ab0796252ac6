"""The media parts of the room page: its config, the device check page, texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server import i18n
from server.auth import PARTY_COOKIE
from server.models import MediationSession, Party
from tests.conftest import RunningApp
from tests.server.roomkit import seed

ROOT = Path(__file__).resolve().parents[2]
MEDIA_JS = ROOT / "web" / "static" / "js" / "media"
CHECK = ROOT / "web" / "templates" / "room_check.html"
STATES = ("connecting", "connected", "audio-only", "receive-only", "failed")
STATES += ("closed", "text-only", "disabled")


def _embedded(html: str, element_id: str) -> dict[str, object]:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>',
        html,
        re.S,
    )
    assert match, f"no #{element_id} block"
    data: dict[str, object] = json.loads(match.group(1))
    return data


async def _party_cookie(app: RunningApp) -> tuple[int, str]:
    world = await seed(app.services)
    async with app.services.db.write() as db:
        row = MediationSession(case_id=world.case_id, title="T")
        db.add(row)
        await db.flush()
        session_id = row.id
    async with app.services.db.read() as db:
        party = await db.get(Party, world.claimant)
        assert party is not None
        return session_id, app.services.signer.party_link(party)


async def test_room_page_carries_media_config_and_the_check_page_is_guarded(
    app: RunningApp,
) -> None:
    session_id, cookie = await _party_cookie(app)
    async with app.client(cookies={PARTY_COOKIE: cookie}) as client:
        room = await client.get(f"/room/{session_id}")
        check = await client.get(f"/room/{session_id}/check?lang=zh-CN")
        missing = await client.get("/room/999999/check")
    media = _embedded(room.text, "room-data")["media"]
    assert media == {
        "enabled": True,
        "iceServers": [],  # nothing public unless configured
        "slots": 5,
        "maxBitrateKbps": 800,
        "constraints": {
            "audio": True,
            "video": {
                "width": {"ideal": 640, "max": 640},
                "height": {"ideal": 480, "max": 480},
                "frameRate": {"max": 30},
            },
        },
    }
    assert '<link rel="stylesheet" href="/static/css/media.css">' in room.text
    assert check.status_code == 200
    data = _embedded(check.text, "check-data")
    assert data["room_url"] == f"/room/{session_id}" and data["media"] == media
    assert "检查你的摄像头和麦克风" in check.text
    assert 'src="/static/js/media/check.js"' in check.text
    for tag in re.findall(r"<script\b[^>]*>", check.text):
        assert 'type="application/json"' in tag or "src=" in tag, tag
    assert missing.status_code == 404 and "check-data" not in missing.text

    async with app.client() as anonymous:
        signed_out = await anonymous.get(f"/room/{session_id}/check")
    assert signed_out.status_code == 401 and "check-data" not in signed_out.text


def test_every_media_text_the_pages_use_exists_in_both_catalogues() -> None:
    used: set[str] = set()
    for path in [*MEDIA_JS.glob("*.js"), CHECK]:
        source = path.read_text(encoding="utf-8")
        used.update(
            re.findall(
                r"""(?<![\w.])t\(\s*["']((?:media|room)\.[a-z0-9_.-]*[a-z0-9_])["']""",
                source,
            )
        )
    # keys built at run time: one per media state
    used.update(f"media.state.{state}" for state in STATES)
    used.update(f"media.muted.{kind}" for kind in ("audio", "video", "both"))
    assert len(used) > 30
    english = i18n.catalogue("en")
    chinese = i18n.catalogue("zh-CN")
    media_keys = {k for k in english if k.startswith("media.")}
    assert media_keys == {k for k in chinese if k.startswith("media.")}
    assert sorted(used - english.keys()) == []
    assert sorted(used - chinese.keys()) == []


def test_media_settings_reach_the_page_and_bad_ones_stop_start_up(
    tmp_path: Path,
) -> None:
    from server.app import create_app
    from server.errors import ConfigurationError
    from server.room_media import client_config
    from server.settings import load_settings

    env = {
        "ACCORD_STUN_URLS": "stun:stun.example.org:3478",
        "ACCORD_TURN_URLS": "turn:turn.example.org:3478",
        "ACCORD_TURN_USERNAME": "accord",
        "ACCORD_TURN_PASSWORD": "s3cret",
        "ACCORD_MEDIA_SLOTS": "3",
        "ACCORD_MEDIA_MAX_FRAME_RATE": "15",
    }
    media = load_settings(env).media
    assert (media.slots, media.max_frame_rate) == (3, 15)

    class On:
        enabled = True
        off_reason = None

    config = client_config(media, On())  # type: ignore[arg-type]
    assert config["iceServers"] == [
        {"urls": "stun:stun.example.org:3478"},
        {
            "urls": "turn:turn.example.org:3478",
            "username": "accord",
            "credential": "s3cret",
        },
    ]
    assert config["slots"] == 3
    with pytest.raises(ConfigurationError, match="ACCORD_MEDIA_SLOTS"):
        load_settings({"ACCORD_MEDIA_SLOTS": "0"})
    # TURN without credentials: refused when the app is built, not at the first call
    bad = {
        "ACCORD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "ACCORD_DATA_DIR": str(tmp_path),
        "ACCORD_SECRET_KEY": "k" * 40,
        "ACCORD_TURN_URLS": "turn:turn.example.org:3478",
    }
    with pytest.raises(ConfigurationError, match="ACCORD_TURN_USERNAME"):
        create_app(load_settings(bad))
