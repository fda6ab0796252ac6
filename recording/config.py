"""The media router's configuration: ICE servers and caps, handed in by server/."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from recording.errors import RecordingError


@dataclass(frozen=True)
class MediaConfig:
    """What the media router needs from the settings; nothing public by default.

    ``stun_urls`` and ``turn_urls`` go to aiortc as they are. With both empty
    only host candidates are used, which is what an offline deployment wants;
    aiortc's built-in public STUN server is never used.
    """

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_username: str | None = None
    turn_password: str | None = None
    max_bitrate_kbps: int = 800
    max_width: int = 640
    max_height: int = 480
    max_frame_rate: int = 30
    forward_encoded: bool = True
    """False sends every stream through aiortc's decode/re-encode path (benchmarks)."""
    speaker_interval: float = 0.3
    """Seconds between active-speaker decisions."""
    speaker_threshold_dbov: float = -50.0
    """A participant quieter than this (dBov) is not speaking."""
    keyframe_interval: float = 0.3
    """Minimum seconds between two keyframe requests sent to one publisher."""
    extra_ice_servers: tuple[RTCIceServer, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.turn_urls and not (self.turn_username and self.turn_password):
            raise RecordingError(
                "expected turn_username and turn_password with turn_urls, got "
                f"username={self.turn_username!r} and "
                f"{'a' if self.turn_password else 'no'} password; set "
                "ACCORD_TURN_USERNAME and ACCORD_TURN_PASSWORD"
            )
        for name in ("max_bitrate_kbps", "max_width", "max_height", "max_frame_rate"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise RecordingError(
                    f"expected a positive integer for {name}, got {value!r}"
                )

    def ice_servers(self) -> list[RTCIceServer]:
        """The ICE servers every peer connection is given (maybe none)."""
        servers = [RTCIceServer(urls=url) for url in self.stun_urls]
        servers += [
            RTCIceServer(
                urls=url, username=self.turn_username, credential=self.turn_password
            )
            for url in self.turn_urls
        ]
        return servers + list(self.extra_ice_servers)

    def rtc_configuration(self) -> RTCConfiguration:
        """An RTCConfiguration that never falls back to aiortc's public STUN."""
        # iceServers=[] (not None) is what keeps aiortc off stun.l.google.com.
        # max-bundle: with aiortc 1.16's default "balanced" policy, the answerer
        # leaves every video section after the first on a transport that the
        # BUNDLE step then stops, so those slots never send (RFC 9143 bundles
        # all sections on the first one's transport, which is what we want).
        return RTCConfiguration(
            iceServers=self.ice_servers(), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )

    def client_constraints(self) -> dict[str, object]:
        """getUserMedia constraints the room page should use, so caps hold at source."""
        return {
            "audio": True,
            "video": {
                "width": {"max": self.max_width},
                "height": {"max": self.max_height},
                "frameRate": {"max": self.max_frame_rate},
            },
        }
