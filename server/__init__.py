"""Accord's composition root: settings, app factory, HTTP API, persistence, CLI."""

__version__ = "0.1.0"
