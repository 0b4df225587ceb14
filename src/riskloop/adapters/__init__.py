"""Adapters: all I/O lives here (SQL, files, keys); each implements a port from domain."""
