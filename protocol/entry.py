"""Signed entries: build, encode, decode and verify.

An entry on the wire is the canonical msgpack array ``[payload, signature,
content]`` (docs/protocol.md, "Entries"):

* ``payload`` (bin): canonical msgpack map ``{a: author, h: content hash,
  k: kind, p: prev id | nil, s: sequence, t: timestamp ms, v: version}``;
* ``signature`` (bin 64): Ed25519 by the author over the payload bytes;
* ``content`` (bin | nil): canonical msgpack map whose BLAKE2b-256 is ``h``, or nil
  once erased (a withdrawal or takedown), so the signed envelope outlives it.

The id is BLAKE2b-256 of the payload bytes. Nodes store and forward these bytes
unchanged and never re-encode what they received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol import codec, kinds
from protocol.errors import (
    DecodeError,
    FutureTimestamp,
    InvalidEntry,
    PastTimestamp,
    ProtocolError,
    SchemaError,
)
from protocol.keys import ID_SIZE, SIGNATURE_SIZE, EntryId, NodeId, NodeKey, content_hash

ENTRY_VERSION = 1
#: How far ahead of the receiver's clock an entry's timestamp may be (clock drift).
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
#: No entry is older than the protocol: 2024-01-01T00:00:00Z. An entry timestamped
#: before it is refused (``before-epoch``), so that a log back-dated to 1970 is not
#: released at once by the per-school budget (protocol/budget.py), which meters the
#: signed timestamps.
EPOCH_MS = 1_704_067_200_000
EPOCH_TEXT = "2024-01-01T00:00:00Z"

PAYLOAD_LIMITS = codec.Limits(max_bytes=512, max_depth=1, max_items=16, max_str=64, max_bin=32)
CONTENT_LIMITS = codec.Limits(max_bytes=64 * 1024, max_depth=4, max_items=64, max_str=16 * 1024)
ENTRY_LIMITS = codec.Limits(max_bytes=66 * 1024, max_depth=1, max_items=3, max_bin=64 * 1024)

_PAYLOAD_KEYS = frozenset("ahkpstv")
_PAYLOAD_ORDER = sorted(_PAYLOAD_KEYS)  # a canonical payload's keys, in its order


@dataclass(frozen=True, slots=True)
class Payload:
    """The signed envelope of an entry."""

    author: NodeId
    seq: int
    prev: EntryId | None
    timestamp: int
    kind: str
    content_hash: bytes
    version: int = ENTRY_VERSION

    def encode(self) -> bytes:
        return codec.encode(
            {
                "a": bytes(self.author),
                "h": self.content_hash,
                "k": self.kind,
                "p": None if self.prev is None else bytes(self.prev),
                "s": self.seq,
                "t": self.timestamp,
                "v": self.version,
            }
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A verified entry, with its exact bytes and their decoded meaning."""

    payload: Payload
    payload_bytes: bytes
    signature: bytes
    content_bytes: bytes | None
    content: dict[str, Any] | None
    id: EntryId = field(init=False)  # hashed once: ids are looked at many times per entry

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", EntryId.of(self.payload_bytes))

    @property
    def author(self) -> NodeId:
        return self.payload.author

    @property
    def seq(self) -> int:
        return self.payload.seq

    @property
    def kind(self) -> str:
        return self.payload.kind

    def encode(self) -> bytes:
        """The wire form: ``[payload, signature, content]``."""
        return codec.encode_binaries(self.payload_bytes, self.signature, self.content_bytes)

    def without_content(self) -> Entry:
        """This entry after its content was erased; the envelope still verifies."""
        return Entry(self.payload, self.payload_bytes, self.signature, None, None)


# Every entry received is built twice on a hub's catch-up path (checked in the verify
# process, rebuilt in the node), and a frozen dataclass's __init__ goes through
# object.__setattr__ once per field: about 1.3 µs for a Payload and 1.9 for an Entry,
# a twentieth of the limit's whole loop (docs/performance.md, "Where item 6 stands").
# These build the same objects by their slots, for values already checked.
_new = object.__new__
_payload_author = vars(Payload)["author"].__set__
_payload_seq = vars(Payload)["seq"].__set__
_payload_prev = vars(Payload)["prev"].__set__
_payload_timestamp = vars(Payload)["timestamp"].__set__
_payload_kind = vars(Payload)["kind"].__set__
_payload_content_hash = vars(Payload)["content_hash"].__set__
_payload_version = vars(Payload)["version"].__set__
_entry_payload = vars(Entry)["payload"].__set__
_entry_payload_bytes = vars(Entry)["payload_bytes"].__set__
_entry_signature = vars(Entry)["signature"].__set__
_entry_content_bytes = vars(Entry)["content_bytes"].__set__
_entry_content = vars(Entry)["content"].__set__
_entry_id = vars(Entry)["id"].__set__


def _payload(
    author: NodeId, seq: int, prev: EntryId | None, timestamp: int, kind: str, content_hash: bytes
) -> Payload:
    """``Payload(...)`` of checked values, in half the time."""
    payload: Payload = _new(Payload)
    _payload_author(payload, author)
    _payload_seq(payload, seq)
    _payload_prev(payload, prev)
    _payload_timestamp(payload, timestamp)
    _payload_kind(payload, kind)
    _payload_content_hash(payload, content_hash)
    _payload_version(payload, ENTRY_VERSION)
    return payload


def _payload_of(raw: dict[str, Any]) -> Payload:
    """The payload of a decoded map whose fields were checked."""
    prev = raw["p"]
    return _payload(
        NodeId(raw["a"]),
        raw["s"],
        None if prev is None else EntryId(prev),
        raw["t"],
        raw["k"],
        raw["h"],
    )


def _entry(
    payload: Payload,
    payload_bytes: bytes,
    signature: bytes,
    content_bytes: bytes | None,
    content: dict[str, Any] | None,
) -> Entry:
    """``Entry(...)`` of checked values (its id hashed as ``__post_init__`` does)."""
    entry: Entry = _new(Entry)
    _entry_payload(entry, payload)
    _entry_payload_bytes(entry, payload_bytes)
    _entry_signature(entry, signature)
    _entry_content_bytes(entry, content_bytes)
    _entry_content(entry, content)
    _entry_id(entry, EntryId.of(payload_bytes))
    return entry


def create_entry(
    key: NodeKey,
    *,
    seq: int,
    prev: EntryId | None,
    timestamp: int,
    kind: str,
    content: dict[str, Any],
) -> Entry:
    """Build and sign a new entry; the content is checked against its kind's schema."""
    if not kinds.KIND_PATTERN.fullmatch(kind):
        raise SchemaError("kind", "must be lowercase letters, digits and hyphens")
    kinds.validate_content(kind, content)
    content_bytes = codec.encode(content, max_depth=CONTENT_LIMITS.max_depth)
    try:  # sign only what every receiver will accept, or the author's log breaks there
        codec.decode(content_bytes, CONTENT_LIMITS)
    except DecodeError as exc:
        raise SchemaError("content", f"is too large or too long: {exc}") from exc
    payload = Payload(
        author=key.node_id,
        seq=seq,
        prev=prev,
        timestamp=timestamp,
        kind=kind,
        content_hash=content_hash(content_bytes),
    )
    _check_payload(payload)
    if timestamp < EPOCH_MS:  # every receiver would refuse it: the author's log would break
        raise PastTimestamp(
            f"the time to sign with, {timestamp} ms, is before {EPOCH_TEXT}, when this "
            "protocol began: this computer's clock is wrong; set its date and time, then "
            "try again"
        )
    payload_bytes = payload.encode()
    return Entry(payload, payload_bytes, key.sign(payload_bytes), content_bytes, content)


def decode_entry(data: bytes, *, now_ms: int) -> Entry:
    """Decode and fully verify an entry received from anywhere.

    ``now_ms`` is the receiver's clock, handed in so that this stays pure.
    Raises a ProtocolError subclass whose ``code`` names the broken rule.
    """
    parts = codec.decode(data, ENTRY_LIMITS)
    if not isinstance(parts, list) or len(parts) != 3:
        raise DecodeError("an entry is an array of [payload, signature, content]")
    payload_bytes, signature, content_bytes = parts
    if not isinstance(payload_bytes, bytes):
        raise DecodeError("the entry's payload must be binary")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise InvalidEntry("the signature must be 64 bytes", code="bad-signature")
    if content_bytes is not None and not isinstance(content_bytes, bytes):
        raise DecodeError("the entry's content must be binary or nil")
    payload = decode_payload(payload_bytes)
    payload.author.verify(payload_bytes, signature)
    if payload.timestamp > now_ms + MAX_CLOCK_SKEW_MS:
        raise FutureTimestamp(
            f"timestamp {payload.timestamp} is more than {MAX_CLOCK_SKEW_MS // 60000} "
            "minutes ahead of this node's clock"
        )
    if payload.timestamp < EPOCH_MS:
        raise PastTimestamp(
            f"timestamp {payload.timestamp} is before {EPOCH_TEXT}, when this protocol "
            "began: the entry was back-dated, or signed by a computer whose clock is wrong"
        )
    content = None
    if content_bytes is not None:
        if content_hash(content_bytes) != payload.content_hash:
            raise InvalidEntry("the content does not match its hash", code="bad-content-hash")
        content = codec.decode(content_bytes, CONTENT_LIMITS)
        if payload.kind in kinds.SCHEMAS:
            kinds.validate_content(payload.kind, content)
        elif not isinstance(content, dict):
            raise SchemaError("content", "must be a map")
    return _entry(payload, payload_bytes, signature, content_bytes, content)


def decode_entries(wires: Sequence[bytes], *, now_ms: int) -> list[Entry | ProtocolError]:
    """:func:`decode_entry` for each entry of a batch, with the error in place of each
    one that fails.

    One call per batch, so that a node can hand a whole batch to another thread:
    signature checking is most of the cost and releases the GIL (PyNaCl calls
    libsodium through cffi), so it runs beside the node's other work.
    """
    results: list[Entry | ProtocolError] = []
    for wire in wires:
        try:
            results.append(decode_entry(wire, now_ms=now_ms))
        except ProtocolError as exc:
            results.append(exc)
    return results


def entry_from_checked(data: bytes) -> Entry:
    """The entry :func:`decode_entry` returned for these exact bytes, rebuilt without
    checking anything again (no signature check, no strict decoding, no schema).

    Only for bytes that :func:`decode_entry` accepted: a node's verify process
    (node/net/verify.py) checks a batch and answers only which entries passed, as
    sending the decoded entries back would cost the node more than this. Never for
    bytes from elsewhere: they would be taken unchecked."""
    payload_bytes, signature, content_bytes = codec.decode_checked(data)
    raw = codec.decode_checked(payload_bytes)
    payload = _payload_of(raw)
    content = None if content_bytes is None else codec.decode_checked(content_bytes)
    return _entry(payload, payload_bytes, signature, content_bytes, content)


def decode_payload(payload_bytes: bytes) -> Payload:
    """Decode a payload map and check its fields (not the signature)."""
    raw = codec.decode_record(payload_bytes, PAYLOAD_LIMITS, _PAYLOAD_ORDER)
    if raw is None:  # not the one valid shape: decoded in full, for the exact error
        raw = codec.decode(payload_bytes, PAYLOAD_LIMITS)
    if not isinstance(raw, dict):
        raise DecodeError("the payload must be a map")
    version = raw.get("v")
    if isinstance(version, bool) or version != ENTRY_VERSION:
        raise InvalidEntry(
            f"entry version {version!r} is not supported (this node reads version "
            f"{ENTRY_VERSION}); the author's node is newer: upgrade schoolmesh",
            code="unsupported-version",
        )
    if set(raw) != _PAYLOAD_KEYS:
        missing = sorted(_PAYLOAD_KEYS - set(raw))
        extra = sorted(set(raw) - _PAYLOAD_KEYS)
        raise SchemaError("payload", f"missing keys {missing}, unknown keys {extra}")
    for name in ("a", "h"):
        if not isinstance(raw[name], bytes) or len(raw[name]) != ID_SIZE:
            raise SchemaError(name, "must be 32 bytes")
    if raw["p"] is not None and (not isinstance(raw["p"], bytes) or len(raw["p"]) != ID_SIZE):
        raise SchemaError("p", "must be nil or a 32-byte entry id")
    for name in ("s", "t"):
        if isinstance(raw[name], bool) or not isinstance(raw[name], int):
            raise SchemaError(name, "must be an integer")
    if not isinstance(raw["k"], str):
        raise SchemaError("k", "must be text")
    payload = _payload_of(raw)
    _check_payload(payload)
    return payload


def _check_payload(payload: Payload) -> None:
    if not 1 <= payload.seq < 2**53:
        raise SchemaError("s", "the sequence number must be from 1 to 2**53-1")
    if (payload.seq == 1) != (payload.prev is None):
        raise SchemaError("p", "must be nil exactly when the sequence number is 1")
    if not 0 <= payload.timestamp < 2**53:
        raise SchemaError("t", "the timestamp must be milliseconds since 1970, not negative")
    if not kinds.KIND_PATTERN.fullmatch(payload.kind):
        raise SchemaError("k", "must be 1 to 32 lowercase letters, digits and hyphens")


def load_entry(payload_bytes: bytes, signature: bytes, content_bytes: bytes | None) -> Entry:
    """Rebuild an entry from bytes this node verified before it stored them.

    Skips the signature check (the costly part) but still decodes strictly, so a
    damaged database shows up as an error rather than as wrong data.
    """
    payload = decode_payload(payload_bytes)
    content = None if content_bytes is None else codec.decode(content_bytes, CONTENT_LIMITS)
    return _entry(payload, payload_bytes, signature, content_bytes, content)
