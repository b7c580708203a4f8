"""The I/O half of schoolmesh: data directory, key file, storage, and (later) peers and web.

Everything here wraps the pure pieces of ``protocol/``; see docs/architecture.md.
"""
