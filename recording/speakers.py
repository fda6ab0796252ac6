"""Active-speaker detection from the Opus frames the router already forwards.

Forwarded packets carry no audio-level header extension (aiortc only computes
it when it encodes), and browsers' own levels are not exposed by aiortc's
receiver, so the router decodes each publisher's Opus once, on the side, and
measures its level. Opus decoding is cheap next to video (tens of microseconds
per 20 ms frame); it happens once per publisher, never per subscriber.
"""

from __future__ import annotations

import logging
import math

import av
import numpy
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from recording.forwarding import decoder_for

logger = logging.getLogger(__name__)

SILENCE_DBOV = -127.0
_DECAY_DB_PER_FRAME = 1.5  # about 75 dB/s at 50 frames/s: a quick release
_SWITCH_MARGIN_DB = 6.0


class AudioLevelMeter:
    """Tracks one publisher's audio level (dBov, RFC 6464 scale) from Opus frames."""

    def __init__(self) -> None:
        codec = RTCRtpCodecParameters(
            mimeType="audio/opus", clockRate=48000, channels=2, payloadType=0
        )
        self._decoder = decoder_for(codec)
        self.level = SILENCE_DBOV

    def feed(self, data: bytes) -> None:
        """Decode one Opus frame and fold its level into the running peak."""
        try:
            frames = self._decoder.decode(JitterFrame(data=data, timestamp=0))
        except Exception:  # a corrupt packet must not stop the forwarding loop
            logger.debug("audio level: undecodable Opus frame of %d bytes", len(data))
            return
        for frame in frames:
            if not isinstance(frame, av.AudioFrame):
                continue
            samples = frame.to_ndarray().astype(numpy.float64)
            rms = (
                float(numpy.sqrt(numpy.mean(samples * samples))) if samples.size else 0
            )
            level = 20 * math.log10(rms / 32768) if rms > 0 else SILENCE_DBOV
            self.level = max(level, self.level - _DECAY_DB_PER_FRAME, SILENCE_DBOV)


class ActiveSpeaker:
    """Picks one room's active speaker with a little hysteresis."""

    def __init__(self, threshold_dbov: float) -> None:
        self.threshold = threshold_dbov
        self.current: str | None = None

    def update(self, levels: dict[str, float]) -> bool:
        """Fold in the latest levels; True when the active speaker changed."""
        loudest = max(levels, key=levels.__getitem__, default=None)
        previous = self.current
        if loudest is None or levels[loudest] < self.threshold:
            self.current = None
        elif self.current not in levels or levels[self.current] < self.threshold:
            self.current = loudest
        elif levels[loudest] > levels[self.current] + _SWITCH_MARGIN_DB:
            self.current = loudest
        return self.current != previous
