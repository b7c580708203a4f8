"""Peer-session frames: what two nodes say to each other, as values and bytes.

Every frame is one WebSocket binary message holding a canonical msgpack map with
``t`` (the frame type) and ``v`` (the frame format version, 1) plus the fields
of its type. Frames are frozen dataclasses checked when built; :func:`encode`
and :func:`decode` convert. docs/protocol.md, "Peer sessions", lists them all.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from protocol import codec, interest
from protocol.address import BAD_ADDRESS, address_problem
from protocol.errors import DecodeError
from protocol.keys import ID_SIZE, SIGNATURE_SIZE

FRAME_VERSION = 1
MAX_FRAME_BYTES = 1024 * 1024
#: Pairs per clock frame: a clock larger than this is sent as several frames.
MAX_CLOCK_PAIRS = 4096
#: Entries per batch; a batch also stays under MAX_FRAME_BYTES.
MAX_BATCH_ENTRIES = 256
NONCE_SIZE = 32

FRAME_LIMITS = codec.Limits(
    max_bytes=MAX_FRAME_BYTES,
    max_depth=3,
    max_items=MAX_CLOCK_PAIRS,
    max_str=4096,
    max_bin=MAX_FRAME_BYTES,  # a sealed envelope may be nearly a whole frame
)
#: Envelopes per mail frame; a mail frame also stays under MAX_FRAME_BYTES.
MAX_MAIL_ENVELOPES = 64
#: Heads per ack: one per author of the batch, so never more than its entries.
MAX_ACK_HEADS = MAX_BATCH_ENTRIES
#: Marks per mail-ack: one per pair of the batch, and an envelope has at most 64
#: recipients (protocol/sealed.py, MAX_RECIPIENTS).
MAX_MAIL_ACK_MARKS = MAX_MAIL_ENVELOPES * 64
#: Every int in a frame (times, batch and sequence numbers) is below 2**53, as in entries.
MAX_INT = 2**53 - 1
#: Bytes of an invite in a hello (protocol/invite.py, INVITE_LIMITS).
MAX_INVITE_BYTES = 1024
#: An error frame's code: a short kebab-case word, as in docs/protocol.md's code tables.
ERROR_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_ERROR_CODE_CHARS = 64
#: An error frame's message, in characters; the sender cuts a longer one (:meth:`Error.about`).
MAX_ERROR_MESSAGE_CHARS = 500
#: Features a node announces in its hello or welcome (docs/protocol.md, "Features"):
#: each a short kebab-case word; a receiver ignores those it does not know.
FEATURE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_FEATURES = 32
MAX_FEATURE_CHARS = 32
#: Session start by set reconciliation of the heads (docs/protocol.md, "Session start").
RECONCILE = "reconcile"
#: The sets a ``reconcile`` frame may be about; ``heads`` is the only one so far.
HEADS_SET = "heads"
MAX_SET_CHARS = 64
#: Bytes of a reconciliation message in a ``reconcile`` frame (protocol/reconcile.py).
MAX_RECONCILE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    TYPE: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Hello(Frame):
    """Dialler -> listener: who I am, a fresh nonce, my clock, and an invite if redeeming one."""

    TYPE: ClassVar[str] = "hello"
    node: bytes
    nonce: bytes
    time: int
    invite: bytes | None = None  # an invite code's bytes, to become partners
    address: str | None = None  # where the dialler can be reached, if it listens
    features: list[str] | None = None  # what the dialler speaks beyond version 1

    def __post_init__(self) -> None:
        _check_bytes("node", self.node, ID_SIZE)
        _check_bytes("nonce", self.nonce, NONCE_SIZE)
        _check_int("time", self.time)
        _check_features(self.features)
        if self.invite is not None and (
            not isinstance(self.invite, bytes) or len(self.invite) > MAX_INVITE_BYTES
        ):
            raise DecodeError(
                f"invite must be binary, at most {MAX_INVITE_BYTES} bytes", code="bad-frame"
            )
        if self.address is not None:
            if not isinstance(self.address, str):
                raise DecodeError("address must be text", code="bad-frame")
            problem = address_problem(self.address)
            if problem is not None:  # never dialled, stored or logged: refused whole
                raise DecodeError(f"hello.address: {problem}", code=BAD_ADDRESS)


@dataclass(frozen=True, slots=True)
class Welcome(Frame):
    """Listener -> dialler: who I am, my nonce, and my signature over the transcript."""

    TYPE: ClassVar[str] = "welcome"
    node: bytes
    nonce: bytes
    sig: bytes
    features: list[str] | None = None  # what the listener speaks beyond version 1

    def __post_init__(self) -> None:
        _check_bytes("node", self.node, ID_SIZE)
        _check_bytes("nonce", self.nonce, NONCE_SIZE)
        _check_bytes("sig", self.sig, SIGNATURE_SIZE)
        _check_features(self.features)


def _check_features(features: Any) -> None:
    if features is None:
        return
    if (
        not isinstance(features, list)
        or len(features) > MAX_FEATURES
        or not all(
            isinstance(f, str) and len(f) <= MAX_FEATURE_CHARS and FEATURE.fullmatch(f)
            for f in features
        )
        or len(set(features)) != len(features)
    ):
        raise DecodeError(
            f"features are a list of at most {MAX_FEATURES} different kebab-case words of at "
            f"most {MAX_FEATURE_CHARS} characters",
            code="bad-frame",
        )


@dataclass(frozen=True, slots=True)
class Auth(Frame):
    """Dialler -> listener: my signature over the transcript."""

    TYPE: ClassVar[str] = "auth"
    sig: bytes

    def __post_init__(self) -> None:
        _check_bytes("sig", self.sig, SIGNATURE_SIZE)


@dataclass(frozen=True, slots=True)
class Ready(Frame):
    """Listener -> dialler: authenticated and accepted; sync frames may flow."""

    TYPE: ClassVar[str] = "ready"
    partner: bool = False  # True when an invite in the hello was redeemed

    def __post_init__(self) -> None:
        if not isinstance(self.partner, bool):
            raise DecodeError("partner must be true or false", code="bad-frame")


@dataclass(frozen=True, slots=True)
class Clock(Frame):
    """My vector clock (author -> newest sequence held), in one or more frames.

    A pair may carry a third element, the id of that newest entry, so that two
    nodes holding different entries under one number (a fork) notice it even
    though neither lacks anything by number.
    """

    TYPE: ClassVar[str] = "clock"
    heads: list[list[Any]]  # [[author (32 bytes), seq, head id (32 bytes, optional)], ...]
    final: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.final, bool):
            raise DecodeError("final must be true or false", code="bad-frame")
        _check_pairs(self.heads, MAX_CLOCK_PAIRS, with_ids=True)


@dataclass(frozen=True, slots=True)
class Entries(Frame):
    """A batch of entries in wire form, each author's in ascending sequence order."""

    TYPE: ClassVar[str] = "entries"
    batch: int
    entries: list[bytes]

    def __post_init__(self) -> None:
        _check_int("batch", self.batch)
        if not isinstance(self.entries, list):
            raise DecodeError("entries must be a list", code="bad-frame")
        if len(self.entries) > MAX_BATCH_ENTRIES or not all(
            isinstance(e, bytes) for e in self.entries
        ):
            raise DecodeError(
                f"a batch holds at most {MAX_BATCH_ENTRIES} binary entries", code="bad-frame"
            )


@dataclass(frozen=True, slots=True)
class Ack(Frame):
    """Receiver -> sender: batch stored (committed); my heads for the batch's authors."""

    TYPE: ClassVar[str] = "ack"
    batch: int
    heads: list[list[Any]]

    def __post_init__(self) -> None:
        _check_int("batch", self.batch)
        # Exactly [author, seq] (no head id), one per author, sorted: a receiver
        # reads them as a map, so a repeat or a third item would be ambiguous.
        _check_pairs(self.heads, MAX_ACK_HEADS, with_ids=False)
        _check_ascending("ack heads", [pair[0] for pair in self.heads])


@dataclass(frozen=True, slots=True)
class Reconcile(Frame):
    """One message of a set reconciliation (protocol/reconcile.py), sent only to a peer
    that announced the ``reconcile`` feature. An empty ``msg`` says the sender has
    nothing left to say: the reconciliation is over."""

    TYPE: ClassVar[str] = "reconcile"
    set: str  # which set: "heads"
    msg: bytes

    def __post_init__(self) -> None:
        if (
            not isinstance(self.set, str)
            or len(self.set) > MAX_SET_CHARS
            or not FEATURE.fullmatch(self.set)
        ):
            raise DecodeError(
                f"a reconcile frame's set is a kebab-case word of at most {MAX_SET_CHARS} "
                "characters",
                code="bad-frame",
            )
        if not isinstance(self.msg, bytes) or len(self.msg) > MAX_RECONCILE_BYTES:
            raise DecodeError(
                f"a reconcile frame's msg is binary, at most {MAX_RECONCILE_BYTES} bytes",
                code="bad-frame",
            )


#: Search beyond the node's view (docs/protocol.md, "Search beyond the node's view").
SEARCH = "search"
QUERY_ID_SIZE = 16
MAX_QUERY_WORDS_CHARS = 200
#: Entries per answers frame: up to 100 results and their schools' profiles.
MAX_ANSWER_ENTRIES = 200


@dataclass(frozen=True, slots=True)
class Query(Frame):
    """A search forwarded beyond the asking node's view, sent only to a peer that
    announced the ``search`` feature. Signed by ``origin`` over all but ``budget`` and
    ``hops`` (protocol/search.py, ``signed_bytes``); their limits are checked by the
    receiver, a value out of them counts a strike."""

    TYPE: ClassVar[str] = "query"
    id: bytes
    origin: bytes
    time: int
    filter: dict[str, Any]
    words: str
    limit: int
    budget: int
    hops: int
    sig: bytes

    def __post_init__(self) -> None:
        _check_bytes("id", self.id, QUERY_ID_SIZE)
        _check_bytes("origin", self.origin, ID_SIZE)
        _check_bytes("sig", self.sig, SIGNATURE_SIZE)
        for name in ("time", "limit", "budget", "hops"):
            _check_int(name, getattr(self, name))
        if not isinstance(self.filter, dict):
            raise DecodeError("a query's filter is a map", code="bad-frame")
        if not isinstance(self.words, str) or len(self.words) > MAX_QUERY_WORDS_CHARS:
            raise DecodeError(
                f"a query's words are text of at most {MAX_QUERY_WORDS_CHARS} characters",
                code="bad-frame",
            )


@dataclass(frozen=True, slots=True)
class Answers(Frame):
    """Answers to a query, back the way it came: entries in wire form (the results,
    then the profiles of their schools), each verified like any other. ``final`` ends
    what this peer sends for the query, with ``asked`` the nodes that answered through
    it; ``busy`` says the peer refused the query for now (too many from us)."""

    TYPE: ClassVar[str] = "answers"
    id: bytes
    entries: list[bytes]
    final: bool = False
    asked: int = 0
    busy: bool = False

    def __post_init__(self) -> None:
        _check_bytes("id", self.id, QUERY_ID_SIZE)
        _check_int("asked", self.asked)
        if not isinstance(self.final, bool) or not isinstance(self.busy, bool):
            raise DecodeError("final and busy must be true or false", code="bad-frame")
        if (
            not isinstance(self.entries, list)
            or len(self.entries) > MAX_ANSWER_ENTRIES
            or not all(isinstance(e, bytes) for e in self.entries)
        ):
            raise DecodeError(
                f"an answers frame holds at most {MAX_ANSWER_ENTRIES} binary entries",
                code="bad-frame",
            )


def _check_pairs(pairs: Any, limit: int, *, with_ids: bool) -> None:
    shape = "[author, seq, id?]" if with_ids else "[author, seq]"
    if not isinstance(pairs, list) or len(pairs) > limit:
        raise DecodeError(f"heads are a list of at most {limit} {shape}", code="bad-frame")
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) not in ((2, 3) if with_ids else (2,)):
            raise DecodeError(f"a head is {shape}", code="bad-frame")
        _check_bytes("author", pair[0], ID_SIZE)
        _check_int("seq", pair[1])
        if len(pair) == 3:
            _check_bytes("head id", pair[2], ID_SIZE)


def _check_marks(marks: Any, limit: int) -> None:
    if not isinstance(marks, list) or len(marks) > limit:
        raise DecodeError(
            f"marks are a list of at most {limit} [sender, recipient, seq]", code="bad-frame"
        )
    for mark in marks:
        if not isinstance(mark, list) or len(mark) != 3:
            raise DecodeError("a mark is [sender, recipient, seq]", code="bad-frame")
        _check_bytes("sender", mark[0], ID_SIZE)
        _check_bytes("recipient", mark[1], ID_SIZE)
        _check_int("seq", mark[2])


def _check_ascending(what: str, keys: list[Any]) -> None:
    if any(a >= b for a, b in itertools.pairwise(keys)):
        raise DecodeError(f"{what} must be sorted, each at most once", code="bad-frame")


@dataclass(frozen=True, slots=True)
class MailClock(Frame):
    """The restricted letters I hold, per (sender, recipient): the last of an unbroken run.

    Lists pairs whose recipient is me, and pairs whose recipient named me as its
    relay. The other side sends what follows each mark, and pairs not listed from 1.
    ``delivered`` (optional, so older peers ignore it) passes on what a recipient that
    named me as its relay confirmed to me of the other side's own letters, so that a
    sender that never meets the recipient can still empty its outbox.
    """

    TYPE: ClassVar[str] = "mail-clock"
    marks: list[list[Any]]
    final: bool = True
    delivered: list[list[Any]] | None = None

    def __post_init__(self) -> None:
        _check_marks(self.marks, MAX_CLOCK_PAIRS)
        if self.delivered is not None:
            _check_marks(self.delivered, MAX_CLOCK_PAIRS)
        if not isinstance(self.final, bool):
            raise DecodeError("final must be true or false", code="bad-frame")


@dataclass(frozen=True, slots=True)
class Mail(Frame):
    """A batch of sealed envelopes, each pair's in ascending sequence order."""

    TYPE: ClassVar[str] = "mail"
    batch: int
    envelopes: list[bytes]

    def __post_init__(self) -> None:
        _check_int("batch", self.batch)
        if (
            not isinstance(self.envelopes, list)
            or len(self.envelopes) > MAX_MAIL_ENVELOPES
            or not all(isinstance(e, bytes) for e in self.envelopes)
        ):
            raise DecodeError(
                f"a mail batch holds at most {MAX_MAIL_ENVELOPES} binary envelopes",
                code="bad-frame",
            )


@dataclass(frozen=True, slots=True)
class MailAck(Frame):
    """Receiver -> sender: mail batch stored; my marks for the batch's pairs."""

    TYPE: ClassVar[str] = "mail-ack"
    batch: int
    marks: list[list[Any]]

    def __post_init__(self) -> None:
        _check_int("batch", self.batch)
        _check_marks(self.marks, MAX_MAIL_ACK_MARKS)
        _check_ascending("mail-ack marks", [(m[0], m[1]) for m in self.marks])


@dataclass(frozen=True, slots=True)
class Error(Frame):
    """Either side: why it refuses something; the session may go on or close."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not isinstance(self.message, str):
            raise DecodeError("an error has a text code and message", code="bad-frame")
        if len(self.code) > MAX_ERROR_CODE_CHARS or not ERROR_CODE.fullmatch(self.code):
            raise DecodeError("an error code is a short kebab-case word", code="bad-frame")
        # It is shown to staff (status, logs): no line breaks, no terminal escapes.
        if len(self.message) > MAX_ERROR_MESSAGE_CHARS or not self.message.isprintable():
            raise DecodeError(
                f"an error message is one printable line of at most "
                f"{MAX_ERROR_MESSAGE_CHARS} characters",
                code="bad-frame",
            )

    @classmethod
    def about(cls, code: str, message: str) -> Error:
        """An error frame for our own refusal: its message made one short printable line."""
        line = "".join(c if c.isprintable() else " " for c in message)
        if len(line) > MAX_ERROR_MESSAGE_CHARS:
            line = line[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"
        return cls(code, line)


FRAME_TYPES: dict[str, type[Frame]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Welcome,
        Auth,
        Ready,
        Clock,
        Entries,
        Ack,
        MailClock,
        Mail,
        MailAck,
        Error,
        Reconcile,
        Query,
        Answers,
    )
}


def encode(frame: Frame) -> bytes:
    body: dict[str, Any] = {"t": frame.TYPE, "v": FRAME_VERSION}
    for field in fields(frame):
        value = getattr(frame, field.name)
        if value is not None:
            body[field.name] = value
    return codec.encode(body)


def decode(data: bytes) -> Frame:
    """Decode one frame, refusing unknown types, missing fields and wrong shapes."""
    body = codec.decode(data, FRAME_LIMITS)
    if not isinstance(body, dict):
        raise DecodeError("a frame is a map", code="bad-frame")
    if body.get("v") != FRAME_VERSION or isinstance(body.get("v"), bool):
        raise DecodeError(
            f"frame version {body.get('v')!r} is not supported (this node speaks {FRAME_VERSION})",
            code="unsupported-version",
        )
    kind = body.get("t")
    cls = FRAME_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown frame type {body.get('t')!r}", code="bad-frame")
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in body.items() if k in known}
    try:
        return cls(**values)
    except TypeError as exc:
        raise DecodeError(f"{cls.TYPE} frame: {exc}", code="bad-frame") from exc


def _check_bytes(name: str, value: Any, size: int) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise DecodeError(f"{name} must be {size} bytes", code="bad-frame")


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise DecodeError(f"{name} must be a whole number from 0 to 2**53-1", code="bad-frame")


# -- eager push and lazy announcements (docs/protocol.md, "Eager push and lazy
# announcements"; docs/scale.md, Decision 2) ----------------------------------------

#: Whole entries to a few peers, announcements to the rest (``have``, ``want``, ``prune``).
LAZY = "lazy"
#: Pairs per ``have`` or ``want`` frame, authors per ``prune`` frame: more go in several.
MAX_LAZY_ITEMS = 1024


@dataclass(frozen=True, slots=True)
class Have(Frame):
    """An announcement, sent only to a peer that announced ``lazy``: the sender holds
    each author's log up to ``seq`` (``[author, seq]`` pairs, sorted by author, each
    author once). The receiver that lacks one asks for it with ``want`` if it has not
    arrived otherwise within FETCH_AFTER_MS (protocol/horizon.py)."""

    TYPE: ClassVar[str] = "have"
    heads: list[list[Any]]

    def __post_init__(self) -> None:
        _check_pairs(self.heads, MAX_LAZY_ITEMS, with_ids=False)
        _check_ascending("have heads", [pair[0] for pair in self.heads])


@dataclass(frozen=True, slots=True)
class Want(Frame):
    """A fetch of announced entries (and Plumtree's graft): for each author, the head
    the sender holds (``[author, seq]``, sorted, each author once). The receiver sends
    the author's entries above it, as the sync would, and pushes the author's next
    entries whole to the sender."""

    TYPE: ClassVar[str] = "want"
    heads: list[list[Any]]

    def __post_init__(self) -> None:
        _check_pairs(self.heads, MAX_LAZY_ITEMS, with_ids=False)
        _check_ascending("want heads", [pair[0] for pair in self.heads])


@dataclass(frozen=True, slots=True)
class Prune(Frame):
    """Plumtree's prune: the sender received entries of these authors that it already
    held; the receiver announces their next entries instead of pushing them whole."""

    TYPE: ClassVar[str] = "prune"
    authors: list[bytes]

    def __post_init__(self) -> None:
        if not isinstance(self.authors, list) or len(self.authors) > MAX_LAZY_ITEMS:
            raise DecodeError(
                f"a prune frame's authors are a list of at most {MAX_LAZY_ITEMS} node ids",
                code="bad-frame",
            )
        for author in self.authors:
            _check_bytes("author", author, ID_SIZE)
        _check_ascending("prune authors", self.authors)


FRAME_TYPES.update({cls.TYPE: cls for cls in (Have, Want, Prune)})
#: Loose entries (docs/protocol.md, "Loose entries"): a node that announced it may take
#: an entry without its author's whole log, and is sent entries held loose, alone.
LOOSE = "loose"


#: What a node holding by horizon wants (docs/protocol.md, "Interest"): its horizon's
#: authors (a digest first), its own partners and its filters, at session start.
INTEREST = "interest"


@dataclass(frozen=True, slots=True)
class Interest(Frame):
    """What the sender wants of public entries: whole logs of ``horizon``'s authors
    (nil: the list with ``digest`` it sent before), entries of others that match one
    of ``filters``, and every newest profile. ``partners``: its own partners, from
    which the receiver learns its partners' partners."""

    TYPE: ClassVar[str] = "interest"
    digest: bytes
    filters: list[list[str]]
    partners: list[bytes]
    horizon: list[bytes] | None = None
    #: True: the sender wants every public entry (it holds everything): its horizon and
    #: filters say nothing, only its partners count.
    everything: bool | None = None

    def __post_init__(self) -> None:
        if self.everything is not None and not isinstance(self.everything, bool):
            raise DecodeError("an interest's everything is true or false", code=interest.BAD)
        if not isinstance(self.digest, bytes) or len(self.digest) != interest.DIGEST_SIZE:
            raise DecodeError("an interest's digest is 32 bytes", code=interest.BAD)
        if not isinstance(self.filters, list) or len(self.filters) > interest.MAX_FILTERS:
            raise DecodeError(
                f"an interest holds at most {interest.MAX_FILTERS} filters", code=interest.BAD
            )
        for terms in self.filters:
            interest.parse_filter(terms)
        interest.check_ids("partners", self.partners, interest.MAX_PARTNERS)
        if self.horizon is not None:
            interest.check_ids("horizon", self.horizon, interest.MAX_HORIZON)
            if interest.digest(self.horizon) != self.digest:
                raise DecodeError("an interest's digest is not its horizon's", code=interest.BAD)


@dataclass(frozen=True, slots=True)
class InterestAsk(Frame):
    """The receiver of an ``interest`` without its horizon does not hold the list with
    that digest: send it whole."""

    TYPE: ClassVar[str] = "interest-ask"
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.digest, bytes) or len(self.digest) != 32:
            raise DecodeError("an interest's digest is 32 bytes", code="bad-interest")


FRAME_TYPES.update({Interest.TYPE: Interest, InterestAsk.TYPE: InterestAsk})


#: Set reconciliations (heads at session start, catch-up) list 16-byte id prefixes
#: instead of whole ids (protocol/reconcile.py, ``SHORT_ID_BYTES``; docs/protocol.md,
#: "Features"): a session start after a school day apart is half the bytes.
SHORT_IDS = "short-ids"


#: Catching up loose entries at session start (docs/protocol.md, "Catching up loose
#: entries"): a holder reconciles what it holds that the peer declared it wants with
#: the peer's loose entries, then sends the difference alone.
CATCHUP = "catchup"


@dataclass(frozen=True, slots=True)
class Catchup(Frame):
    """Holder -> wanter: one message of the reconciliation of the entries the holder
    offers (from ``since`` on, in ms) with the wanter's loose entries
    (protocol/catchup.py). An empty ``msg`` ends it."""

    TYPE: ClassVar[str] = "catchup"
    since: int
    msg: bytes

    def __post_init__(self) -> None:
        _check_int("a catchup frame's since", self.since)
        _check_msg("catchup", self.msg)


@dataclass(frozen=True, slots=True)
class CatchupReply(Frame):
    """Wanter -> holder: its answer to a ``catchup`` message. An empty ``msg`` ends it."""

    TYPE: ClassVar[str] = "catchup-reply"
    msg: bytes

    def __post_init__(self) -> None:
        _check_msg("catchup-reply", self.msg)


def _check_msg(kind: str, msg: Any) -> None:
    if not isinstance(msg, bytes) or len(msg) > MAX_RECONCILE_BYTES:
        raise DecodeError(
            f"a {kind} frame's msg is binary, at most {MAX_RECONCILE_BYTES} bytes",
            code="bad-frame",
        )


FRAME_TYPES.update({Catchup.TYPE: Catchup, CatchupReply.TYPE: CatchupReply})
