"""Entrypoints: HTTP API, CLI; they build the app through bootstrap and translate errors."""
