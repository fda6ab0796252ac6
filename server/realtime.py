"""Wires the live room hub (rooms/) onto the Socket.IO server."""

from __future__ import annotations

from server.services import Services


def install_realtime(services: Services) -> None:
    """Register the room hub's handlers; the rooms issue fills this in."""
    del services
