"""Accord's composition root: settings, app factory, HTTP API, persistence, CLI."""
