"""Small, line-level SDP edits the router makes around aiortc's negotiation."""

from __future__ import annotations

import re

from recording.errors import InvalidOffer

# Most preferred first. aiortc answers with the offer's codec order, and both
# browsers and aiortc send with the first codec of the answer, so putting VP8
# (mandatory to implement, RFC 7742 section 5) and Opus first makes every
# participant's two legs agree, which forwarding needs.
_PREFERENCE = {"video": ("vp8", "h264"), "audio": ("opus",)}
_RTPMAP = re.compile(r"a=rtpmap:(\d+) ([^/\s]+)")
_MID = re.compile(r"a=mid:(\S+)")


def _sections(sdp: str) -> list[list[str]]:
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    sections: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    return sections


def _join(sections: list[list[str]]) -> str:
    return "\r\n".join(line for section in sections for line in section) + "\r\n"


def prefer_forwardable_codecs(sdp: str) -> str:
    """Reorder each audio/video section's payload types, forwardable codecs first.

    Raises:
        InvalidOffer: the text is not an SDP session description.
    """
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise InvalidOffer(
            f"expected an SDP session description starting with 'v=0', got "
            f"{str(sdp)[:20]!r}"
        )
    sections = _sections(sdp)
    for section in sections[1:]:
        fields = section[0][2:].split()
        if len(fields) < 4 or fields[0] not in _PREFERENCE:
            continue
        names = {}
        for line in section:
            match = _RTPMAP.match(line)
            if match:
                names[match.group(1)] = match.group(2).lower()
        preference = _PREFERENCE[fields[0]]
        payloads = fields[3:]
        ranked = sorted(
            payloads,
            key=lambda pt: (
                preference.index(names[pt]) if names.get(pt) in preference else 99
            ),
        )
        section[0] = "m=" + " ".join(fields[:3] + ranked)
    return _join(sections)


def first_codecs(sdp: str) -> dict[str, str]:
    """The first (sending) codec name of each media section, by mid."""
    result = {}
    for section in _sections(sdp)[1:]:
        fields = section[0][2:].split()
        mid = next((m.group(1) for m in map(_MID.match, section) if m), None)
        if mid is None or len(fields) < 4:
            continue
        for line in section:
            match = _RTPMAP.match(line)
            if match and match.group(1) == fields[3]:
                result[mid] = match.group(2)
    return result


def add_bandwidth_limit(sdp: str, max_kbps: int) -> str:
    """Cap what the remote side sends on video, with b=AS and b=TIAS.

    RFC 4566 section 5.8 (AS, kilobits per second) and RFC 3890 (TIAS, bits
    per second); browsers honour them when they appear in the answer.
    """
    sections = _sections(sdp)
    for section in sections[1:]:
        if not section[0].startswith("m=video"):
            continue
        section[:] = [line for line in section if not line.startswith("b=")]
        # b= lines go after the c= line of the media section (RFC 4566 5.8)
        position = next(
            (i + 1 for i, line in enumerate(section) if line.startswith("c=")), 1
        )
        section[position:position] = [f"b=AS:{max_kbps}", f"b=TIAS:{max_kbps * 1000}"]
    return _join(sections)


_DIRECTIONS = {"a=sendrecv": "a=recvonly", "a=sendonly": "a=inactive"}


def receive_only(sdp: str) -> str:
    """An offer whose sender sends nothing: every section at most ``recvonly``.

    For seats that may see and hear but never be seen or heard (observers):
    the router then gives them no publishing track at all (RFC 3264 section
    6.1: the answerer reverses the offered direction).
    """
    sections = _sections(sdp)
    for section in sections[1:]:
        if not section[0].startswith(("m=audio", "m=video")):
            continue
        section[:] = [_DIRECTIONS.get(line, line) for line in section]
    return _join(sections)
