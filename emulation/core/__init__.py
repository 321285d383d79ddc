"""The embedded engine's core: the WSGI front, extension interface, persistence."""
