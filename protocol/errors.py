"""The one exception tree of schoolmesh.

Every error a user or a peer can meet derives from :class:`SchoolmeshError` and
carries a message that says what was wrong and, where it helps, what to do. Errors
about bytes received from another node also carry a stable ``code`` (a short
kebab-case string) that is part of the protocol: peers report it, test vectors
name it, and docs/protocol.md lists every one.

::

    SchoolmeshError
    ├── ProtocolError                 bytes from the network broke a rule (has .code)
    │   ├── DecodeError               malformed, non-canonical, oversized, too deep
    │   ├── InvalidEntry              an entry that decodes but breaks a rule
    │   │   ├── BadSignature          the signature does not verify
    │   │   ├── SchemaError           a content field is missing or wrong (.field)
    │   │   └── FutureTimestamp       timestamp too far ahead of our clock
    │   ├── LogOrderError             sequence or prev do not follow the author's log
    │   ├── SealedError               a restricted letter that cannot be opened or trusted
    │   └── HandshakeError            a peer session could not be authenticated
    └── LocalError                    something on this machine (raised in node/, cli/)
        ├── KeyFileError              missing or unsafe key file
        ├── StorageError              the database cannot be used
        │   └── SchemaTooNewError     written by a newer schoolmesh
        ├── NotInitialisedError       no node in the data directory yet
        ├── AlreadyInitialisedError   init would overwrite a node
        ├── UserInputError            a command-line or form value is wrong
        ├── NotFoundError             no such entry, partner, ...
        ├── NotAllowedError           this person's role may not do that
        └── UnreachableError          another node could not be reached

Errors raised by libraries underneath (nacl, msgpack, sqlite) are caught at the
boundary and re-raised as one of these with ``from``.
"""

from __future__ import annotations


class SchoolmeshError(Exception):
    """Base of every error schoolmesh raises on purpose."""


class ProtocolError(SchoolmeshError):
    """Bytes received from another node (or a file) broke a protocol rule."""

    code = "protocol-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DecodeError(ProtocolError):
    """The bytes are not canonical schoolmesh msgpack within the limits."""

    code = "malformed"


class InvalidEntry(ProtocolError):
    """An entry decoded but breaks an entry rule."""

    code = "invalid-entry"


class BadSignature(InvalidEntry):
    code = "bad-signature"


class SchemaError(InvalidEntry):
    """A content or payload field is missing, of the wrong type or out of range."""

    code = "bad-field"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field = field


class FutureTimestamp(InvalidEntry):
    code = "future-timestamp"


class LogOrderError(ProtocolError):
    """The entry does not follow its author's log (sequence gap or wrong prev)."""

    code = "out-of-order"


class HandshakeError(ProtocolError):
    code = "handshake-failed"


class SealedError(ProtocolError):
    """A restricted (sealed) letter: malformed, not for us, forged or undecryptable."""

    code = "bad-envelope"


class LocalError(SchoolmeshError):
    """Something on this machine: files, database, command-line input."""


class KeyFileError(LocalError):
    pass


class StorageError(LocalError):
    pass


class SchemaTooNewError(StorageError):
    pass


class NotInitialisedError(LocalError):
    pass


class AlreadyInitialisedError(LocalError):
    pass


class UserInputError(LocalError):
    pass


class NotFoundError(LocalError):
    pass


class NotAllowedError(LocalError):
    pass


class UnreachableError(LocalError):
    pass
