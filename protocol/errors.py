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
    │   ├── SessionLimit              a peer asked more of a session than it allows: it ends
    │   └── HandshakeError            a peer session could not be authenticated
    └── LocalError                    something on this machine (raised in node/, cli/)
        ├── KeyFileError              missing or unsafe key file
        ├── StorageError              the database cannot be used
        │   ├── SchemaTooNewError     written by a newer schoolmesh
        │   └── DiskFullError         the disk holding the data is full (nothing was lost)
        ├── NotInitialisedError       no node in the data directory yet
        ├── AlreadyInitialisedError   init would overwrite a node
        ├── UserInputError            a command-line or form value is wrong
        │   └── PostChangedError      a post changed after the teacher read it
        │       ├── AuthorRemovedError  its pupil's account was removed since
        │       └── AuthorTakenOffError its pupil was taken off the project since
        ├── NotFoundError             no such entry, partner, ...
        │   └── PostDeletedError      a post deleted after the teacher opened it
        ├── NotAllowedError           this person's role may not do that
        └── UnreachableError          another node could not be reached

Errors raised by libraries underneath (nacl, msgpack, sqlite) are caught at the
boundary and re-raised as one of these with ``from``.

The message is for the command line and the logs: it may name commands and options
(``--title``, ``schoolmesh project list``). An error that a web page can show also
carries ``page``, the same thing in a teacher's words, made with :func:`said`::

    raise NotFoundError(
        f"no project {text!r} at this school: see `schoolmesh project list`",
        page=said("There is no such project at this school."),
    )

``said`` marks its English text for translation (it is a gettext keyword in
babel.cfg); the pages translate it into the visitor's language and fill in its
named values (``%(name)s``). This module only carries the words: the web pages
translate them (``page_text`` in node/web/app.py). docs/translating.md says more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PageMessage:
    """What a web page says for an error: English text to translate, and its named values.

    ``text`` is a gettext message id with ``%(name)s`` placeholders; ``values`` fills
    them. Values are names, numbers or ids, never English words (a state such as
    "draft" would stay English on a French page: write one message per case instead).
    """

    text: str
    values: Mapping[str, str | int] = field(default_factory=dict)


def said(text: str, /, **values: str | int) -> PageMessage:
    """An error's words for the pages (``text`` is extracted for translation)."""
    return PageMessage(text, values)


class SchoolmeshError(Exception):
    """Base of every error schoolmesh raises on purpose.

    ``page``: what a web page shows instead of the message (see the module's docstring).
    """

    def __init__(self, *args: object, page: PageMessage | None = None) -> None:
        super().__init__(*args)
        self.page = page


class ProtocolError(SchoolmeshError):
    """Bytes received from another node (or a file) broke a protocol rule."""

    code = "protocol-error"

    def __init__(
        self, message: str, *, code: str | None = None, page: PageMessage | None = None
    ) -> None:
        super().__init__(message, page=page)
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


class PastTimestamp(InvalidEntry):
    """Timestamped before the protocol's epoch (protocol/entry.py, ``EPOCH_MS``)."""

    code = "before-epoch"


class LogOrderError(ProtocolError):
    """The entry does not follow its author's log (sequence gap or wrong prev)."""

    code = "out-of-order"


class HandshakeError(ProtocolError):
    code = "handshake-failed"


class SealedError(ProtocolError):
    """A restricted (sealed) letter: malformed, not for us, forged or undecryptable."""

    code = "bad-envelope"


class SessionLimit(ProtocolError):
    """A peer went past what one session lets it make us do (docs/protocol.md, "Limits
    of a session"): not a strike but the end of the session, which the peer may dial
    again; the node serves everyone else meanwhile."""

    code = "session-limit"


class LocalError(SchoolmeshError):
    """Something on this machine: files, database, command-line input."""


class KeyFileError(LocalError):
    pass


class StorageError(LocalError):
    pass


class SchemaTooNewError(StorageError):
    pass


class DiskFullError(StorageError):
    """The disk holding the data folder is full (or refuses to grow the database):
    nothing was saved, nothing that was saved before is lost, and writing works again
    by itself once there is room (node/store.py)."""


class NotInitialisedError(LocalError):
    pass


class AlreadyInitialisedError(LocalError):
    pass


class UserInputError(LocalError):
    pass


class PostChangedError(UserInputError):
    """A pupil's post (or its author's consent) is not the version the teacher read, so
    it is not approved or returned (node/projects/approval.py)."""


class AuthorRemovedError(PostChangedError):
    """The account of the pupil who wrote a post was removed after a teacher read it: the
    post is not approved (nothing is sent) or returned, as there is no consent left to
    apply and no pupil to return it to (node/projects/approval.py)."""


class AuthorTakenOffError(PostChangedError):
    """The pupil who wrote a post or comment was taken off its project (by name, or
    with their class) after writing it: it is not approved (nothing is sent) or
    returned, as they, or their parents, no longer want them in that exchange
    (node/projects/approval.py)."""


class NotFoundError(LocalError):
    pass


class PostDeletedError(NotFoundError):
    """The post was deleted by the pupil who wrote it before a teacher's approval (or
    return) could be written: nothing was sent."""


class NotAllowedError(LocalError):
    pass


class UnreachableError(LocalError):
    pass


class RestoredError(LocalError):
    """This node was restored from a backup and has not yet fetched its own newest
    entries from a partner: signing now could fork the school's log (node/backup.py)."""
