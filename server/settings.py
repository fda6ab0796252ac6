"""The one settings object, read from ``ACCORD_*`` variables in one place."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from server.errors import ConfigurationError

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the case record lives."""

    url: str = "sqlite+aiosqlite:///./accord.db"
    echo: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class StorageSettings:
    """Evidence files and upload limits."""

    evidence_dir: Path = Path("./accord-data/evidence")
    max_file_bytes: int = 50 * 1024 * 1024
    max_case_bytes: int = 500 * 1024 * 1024
    max_files_per_case: int = 200


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server that status mail goes through; unset host = outbox only."""

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "Accord <no-reply@localhost>"
    # the outbox sender: tries per mail, first retry delay (doubled each
    # time, capped at an hour), and how often the outbox is polled
    max_attempts: int = 8
    retry_base_s: float = 30.0
    poll_s: float = 2.0
    timeout_s: float = 30.0


@dataclass(frozen=True)
class RoomSettings:
    """Limits of the live mediation rooms."""

    max_message_chars: int = 4000
    max_participants: int = 20
    events_per_10s: int = 30
    correction_window_s: int = 120
    token_ttl_s: int = 12 * 3600
    # packets queued for one connection before it counts as not reading
    max_pending_packets: int = 256
    # how often open offers past their expiry time are stored as expired
    offer_sweep_s: int = 5
    # prefix of the Redis pub/sub channel and presence keys (one per deployment)
    redis_prefix: str = "accord"
    # test seam only: exit the process after committing this event kind and
    # before acknowledging it (the durability test's SIGKILL stand-in)
    test_crash_after_commit: str = ""


@dataclass(frozen=True)
class TranslationSettings:
    """The optional machine-translation pipeline."""

    backend: str = "none"  # none | argos | libretranslate
    packages_dir: Path | None = None
    libretranslate_url: str | None = None
    libretranslate_api_key: str | None = None
    timeout_s: float = 10.0
    # argos: models in a child process (default) or a thread of the server
    isolation: str = "process"
    # argos: "local" runs the models here; "redis" queues lines on a Redis
    # stream for `accord translation worker` processes on any host
    queue: str = "local"
    # lines waiting for translation before new ones get "unavailable"
    max_pending: int = 256


@dataclass(frozen=True)
class MediaSettings:
    """WebRTC: ICE servers and caps; nothing public is contacted by default."""

    enabled: bool = True
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_username: str | None = None
    turn_password: str | None = None
    max_bitrate_kbps: int = 800
    max_width: int = 640
    max_height: int = 480
    max_frame_rate: int = 30
    # video tiles per participant: how many others one person can see at once
    slots: int = 5


@dataclass(frozen=True)
class Settings:
    """Everything Accord reads from its environment, section by section."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    rooms: RoomSettings = field(default_factory=RoomSettings)
    translation: TranslationSettings = field(default_factory=TranslationSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    redis_url: str | None = None
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path("./accord-data")
    debug: bool = False

    @property
    def origins(self) -> tuple[str, ...]:
        """The allowed browser origins: the public URL's origin plus any extras."""
        base = self.public_url.rstrip("/")
        return tuple(dict.fromkeys((base, *self.allowed_origins)))

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some top-level fields replaced (tests use this)."""
        return replace(self, **changes)


class _Reader:
    """Reads and converts ``ACCORD_*`` variables, naming the culprit on error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(f"ACCORD_{name}")
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def optional(self, name: str) -> str | None:
        return self.raw(name)

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigurationError(
                f"ACCORD_{name} must be a whole number, got {value!r}; "
                f"set it to e.g. {default} or unset it"
            ) from None
        if number < minimum:
            raise ConfigurationError(
                f"ACCORD_{name} must be at least {minimum}, got {value!r}"
            )
        return number

    def number(self, name: str, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise ConfigurationError(
                f"ACCORD_{name} must be a number, got {value!r}; "
                f"set it to e.g. {default} or unset it"
            ) from None

    def flag(self, name: str, default: bool) -> bool:
        value = self.env.get(f"ACCORD_{name}")
        if value is None:
            return default
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise ConfigurationError(f"ACCORD_{name} must be true or false, got {value!r}")

    def items(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        return tuple(item.strip() for item in value.split(",") if item.strip())

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise ConfigurationError(
                f"ACCORD_{name} must be one of {', '.join(choices)}, got {value!r}"
            )
        return value


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    if not value.startswith(schemes):
        raise ConfigurationError(
            f"ACCORD_{name} must start with one of {', '.join(schemes)}, got {value!r}"
        )
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment; a bad value raises at once."""
    read = _Reader(os.environ if env is None else env)
    data_dir = Path(read.text("DATA_DIR", "./accord-data"))

    database = DatabaseSettings(
        url=_check_url(
            "DATABASE_URL",
            read.text("DATABASE_URL", "sqlite+aiosqlite:///./accord.db"),
            ("sqlite+aiosqlite://", "postgresql+asyncpg://"),
        ),
        echo=read.flag("DATABASE_ECHO", False),
    )
    storage = StorageSettings(
        evidence_dir=Path(read.text("EVIDENCE_DIR", str(data_dir / "evidence"))),
        max_file_bytes=read.integer("MAX_FILE_BYTES", 50 * 1024 * 1024, minimum=1),
        max_case_bytes=read.integer("MAX_CASE_BYTES", 500 * 1024 * 1024, minimum=1),
        max_files_per_case=read.integer("MAX_FILES_PER_CASE", 200, minimum=1),
    )
    mail = MailSettings(
        host=read.optional("SMTP_HOST"),
        port=read.integer("SMTP_PORT", 25, minimum=1),
        username=read.optional("SMTP_USERNAME"),
        password=read.optional("SMTP_PASSWORD"),
        starttls=read.flag("SMTP_STARTTLS", False),
        sender=read.text("MAIL_FROM", "Accord <no-reply@localhost>"),
        max_attempts=read.integer("MAIL_MAX_ATTEMPTS", 8, minimum=1),
        retry_base_s=read.number("MAIL_RETRY_S", 30.0),
        poll_s=read.number("MAIL_POLL_S", 2.0),
        timeout_s=read.number("SMTP_TIMEOUT_S", 30.0),
    )
    rooms = RoomSettings(
        max_message_chars=read.integer("ROOM_MAX_MESSAGE_CHARS", 4000, minimum=1),
        max_participants=read.integer("ROOM_MAX_PARTICIPANTS", 20, minimum=2),
        events_per_10s=read.integer("ROOM_EVENTS_PER_10S", 30, minimum=1),
        correction_window_s=read.integer("ROOM_CORRECTION_WINDOW_S", 120),
        token_ttl_s=read.integer("ROOM_TOKEN_TTL_S", 12 * 3600, minimum=60),
        max_pending_packets=read.integer("ROOM_MAX_PENDING_PACKETS", 256, minimum=8),
        offer_sweep_s=read.integer("ROOM_OFFER_SWEEP_S", 5, minimum=1),
        test_crash_after_commit=read.text("ROOM_TEST_CRASH_AFTER_COMMIT", ""),
        redis_prefix=read.text("REDIS_PREFIX", "accord"),
    )
    translation = TranslationSettings(
        backend=read.choice(
            "TRANSLATION_BACKEND", "none", ("none", "argos", "libretranslate")
        ),
        packages_dir=(
            Path(p) if (p := read.optional("TRANSLATION_PACKAGES_DIR")) else None
        ),
        libretranslate_url=read.optional("LIBRETRANSLATE_URL"),
        libretranslate_api_key=read.optional("LIBRETRANSLATE_API_KEY"),
        timeout_s=read.number("TRANSLATION_TIMEOUT_S", 10.0),
        isolation=read.choice(
            "TRANSLATION_ISOLATION", "process", ("process", "thread")
        ),
        queue=read.choice("TRANSLATION_QUEUE", "local", ("local", "redis")),
        max_pending=read.integer("TRANSLATION_MAX_PENDING", 256, minimum=1),
    )
    if translation.queue == "redis" and not read.optional("REDIS_URL"):
        raise ConfigurationError(
            "ACCORD_TRANSLATION_QUEUE is 'redis' but ACCORD_REDIS_URL is unset; "
            "set it, or use ACCORD_TRANSLATION_QUEUE=local"
        )
    if translation.backend == "libretranslate" and not translation.libretranslate_url:
        raise ConfigurationError(
            "ACCORD_TRANSLATION_BACKEND is 'libretranslate' but "
            "ACCORD_LIBRETRANSLATE_URL is unset; set it to the service's base URL"
        )
    media = MediaSettings(
        enabled=read.flag("MEDIA_ENABLED", True),
        stun_urls=read.items("STUN_URLS"),
        turn_urls=read.items("TURN_URLS"),
        turn_username=read.optional("TURN_USERNAME"),
        turn_password=read.optional("TURN_PASSWORD"),
        max_bitrate_kbps=read.integer("MEDIA_MAX_BITRATE_KBPS", 800, minimum=50),
        max_width=read.integer("MEDIA_MAX_WIDTH", 640, minimum=64),
        max_height=read.integer("MEDIA_MAX_HEIGHT", 480, minimum=48),
        max_frame_rate=read.integer("MEDIA_MAX_FRAME_RATE", 30, minimum=1),
        slots=read.integer("MEDIA_SLOTS", 5, minimum=1),
    )

    redis_url = read.optional("REDIS_URL")
    if redis_url is not None:
        _check_url("REDIS_URL", redis_url, ("redis://", "rediss://", "unix://"))
    public_url = _check_url(
        "PUBLIC_URL",
        read.text("PUBLIC_URL", "http://127.0.0.1:8000"),
        ("http://", "https://"),
    ).rstrip("/")
    for origin in read.items("ALLOWED_ORIGINS"):
        _check_url("ALLOWED_ORIGINS", origin, ("http://", "https://"))

    return Settings(
        database=database,
        storage=storage,
        mail=mail,
        rooms=rooms,
        translation=translation,
        media=media,
        redis_url=redis_url,
        secret_key=read.text("SECRET_KEY", ""),
        public_url=public_url,
        allowed_origins=read.items("ALLOWED_ORIGINS"),
        data_dir=data_dir,
        debug=read.flag("DEBUG", False),
    )


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key, generating and persisting one if unset."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigurationError(
                "ACCORD_SECRET_KEY must be at least 32 characters, got "
                f"{len(settings.secret_key)}; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return settings

    path = settings.data_dir / "secret_key"
    if path.exists():
        key = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        logger.warning(
            "ACCORD_SECRET_KEY is unset: generated one and stored it in %s; "
            "set ACCORD_SECRET_KEY to keep links valid across machines",
            path,
        )
    return replace(settings, secret_key=key)
