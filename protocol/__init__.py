"""The schoolmesh protocol, pure: bytes in, values or events out.

No sockets, no database, no clock or randomness that the caller does not hand in.
``node/`` wraps these pieces in I/O; see docs/architecture.md.

- ``errors``: the exception tree;
- ``codec``: canonical msgpack with limits;
- ``keys``: node keys, node ids, entry ids, fingerprints;
- ``kinds``: the content schema of each entry kind and the shared vocabularies;
- ``entry``: build, encode, decode and verify signed entries;
- ``log``: the rules of each author's hash-chained log, and equivocation.
"""

PROTOCOL_VERSION = 1
