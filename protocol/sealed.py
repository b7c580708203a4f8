"""Restricted messages: a signed *letter* inside an encrypted *envelope*.

A letter (a pupil post, a comment, a project change, a takedown, a receipt) is
for a few named schools only. docs/protocol.md, "Restricted letters", gives the
format byte by byte; in short:

* **letter** = canonical ``[payload, sig]``; payload = canonical map ``{a: author,
  c: content map, k: kind, r: [recipient ids, sorted], t: ms, v: 1}``; sig =
  Ed25519 by the author over ``b"schoolmesh/letter/v1" + payload``. Its id is
  BLAKE2b-256 of the payload. Naming the recipients inside the signature stops a
  recipient from passing the letter on as if the author had sent it to others.
* **envelope** = canonical ``[payload, sig]``; payload = canonical map ``{c:
  ciphertext, n: nonce, r: [[recipient, seq, wrapped key], ...], s: sender, t: ms,
  v: 1}``; sig = Ed25519 by the sender over ``b"schoolmesh/envelope/v1" +
  payload``. The ciphertext is the letter under a random 32-byte content key
  (XSalsa20-Poly1305, NaCl ``secretbox``); the content key is wrapped once per
  recipient with NaCl ``box`` from the sender's X25519 key (derived from its
  Ed25519 key) to the recipient's. ``seq`` numbers the letters from this sender
  to that recipient, 1, 2, 3, ..., so a recipient notices a gap.

A relay can check who sent an envelope and to whom, and nothing else. The
recipient opens it and checks that the letter's author is the envelope's sender
and that the letter names exactly the envelope's recipients.

Randomness (content key, nonces) is handed in by the caller, so this stays pure
and the test vectors are reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.public
import nacl.secret

from protocol import codec, letters
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import BadSignature, DecodeError, SchemaError, SealedError
from protocol.keys import ID_SIZE, SIGNATURE_SIZE, EntryId, NodeId, NodeKey

SEALED_VERSION = 1
LETTER_CONTEXT = b"schoolmesh/letter/v1"
ENVELOPE_CONTEXT = b"schoolmesh/envelope/v1"
KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE  # 32
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24
WRAPPED_SIZE = nacl.public.Box.NONCE_SIZE + KEY_SIZE + 16  # nonce, key, Poly1305 tag: 72
MAX_RECIPIENTS = 64
#: An envelope fits in one peer-session frame (1 MiB) with room to spare.
MAX_ENVELOPE_BYTES = 1_000_000

LETTER_LIMITS = codec.Limits(
    max_bytes=960_000, max_depth=1, max_items=2, max_bin=960_000, max_str=16
)
LETTER_PAYLOAD_LIMITS = codec.Limits(
    max_bytes=955_000,
    max_depth=5,
    max_items=MAX_RECIPIENTS,
    max_str=64 * 1024,
    max_bin=900_000,
)
ENVELOPE_LIMITS = codec.Limits(
    max_bytes=MAX_ENVELOPE_BYTES, max_depth=1, max_items=2, max_bin=MAX_ENVELOPE_BYTES
)
ENVELOPE_PAYLOAD_LIMITS = codec.Limits(
    max_bytes=MAX_ENVELOPE_BYTES - 100,
    max_depth=3,
    max_items=MAX_RECIPIENTS,
    max_str=16,
    max_bin=MAX_ENVELOPE_BYTES - 100,
)


def box_secret(key: NodeKey) -> nacl.public.PrivateKey:
    """The X25519 private key derived from a node's Ed25519 key."""
    return nacl.public.PrivateKey(key.box_seed())


def box_public(node: NodeId) -> nacl.public.PublicKey:
    """The X25519 public key derived from a node id (its Ed25519 public key)."""
    return nacl.public.PublicKey(node.box_public())


@dataclass(frozen=True, slots=True)
class Letter:
    """A signed restricted message, readable once taken out of its envelope."""

    author: NodeId
    kind: str
    timestamp: int
    recipients: tuple[NodeId, ...]
    content: dict[str, Any]
    payload: bytes
    sig: bytes
    id: EntryId = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", EntryId.of(self.payload))

    def encode(self) -> bytes:
        return codec.encode([self.payload, self.sig])


def write_letter(
    key: NodeKey,
    *,
    kind: str,
    timestamp: int,
    recipients: list[NodeId],
    content: dict[str, Any],
) -> Letter:
    """Build and sign a letter; its content is checked against its kind's schema."""
    ordered = _recipients(recipients, key.node_id)
    letters.validate(kind, content)
    payload = codec.encode(
        {
            "a": bytes(key.node_id),
            "c": content,
            "k": kind,
            "r": [bytes(r) for r in ordered],
            "t": timestamp,
            "v": SEALED_VERSION,
        },
        max_depth=LETTER_PAYLOAD_LIMITS.max_depth,
    )
    try:  # sign only what every recipient will accept
        codec.decode(payload, LETTER_PAYLOAD_LIMITS)
    except DecodeError as exc:
        raise SchemaError("content", f"is too large: {exc}") from exc
    return Letter(
        key.node_id, kind, timestamp, ordered, content, payload, key.sign(LETTER_CONTEXT + payload)
    )


def read_letter(data: bytes) -> Letter:
    """Decode a letter and verify its signature and content schema."""
    payload, sig = _pair(codec.decode(data, LETTER_LIMITS), "letter")
    if len(sig) != SIGNATURE_SIZE:
        raise SealedError("the letter's signature must be 64 bytes", code="bad-letter")
    raw = codec.decode(payload, LETTER_PAYLOAD_LIMITS)
    if not isinstance(raw, dict):
        raise SealedError("a letter payload is a map", code="bad-letter")
    _check_version(raw.get("v"))  # first: a newer format may have other keys
    if set(raw) != set("ackrtv"):
        raise SealedError("a letter payload has exactly the keys a c k r t v", code="bad-letter")
    author = _node_id(raw["a"], "a", code="bad-letter")
    author.verify(LETTER_CONTEXT + payload, sig)  # BadSignature
    if not isinstance(raw["k"], str) or not _in_range(raw["t"], 0):
        raise SealedError(
            "a letter's kind is text and its time milliseconds since 1970", code="bad-letter"
        )
    if not isinstance(raw["r"], list):
        raise SealedError("a letter's recipients are a list", code="bad-letter")
    recipients = tuple(_node_id(r, "r", code="bad-letter") for r in raw["r"])
    if (
        list(recipients) != sorted(set(recipients), key=bytes)
        or not recipients
        or author in recipients
    ):
        raise SealedError(
            "recipients must be sorted, unique, not empty and not the author", code="bad-letter"
        )
    letters.validate(raw["k"], raw["c"])
    return Letter(author, raw["k"], raw["t"], recipients, raw["c"], payload, sig)


@dataclass(frozen=True, slots=True)
class Slot:
    """One recipient's place in an envelope: its sequence number and wrapped key."""

    recipient: NodeId
    seq: int
    wrapped: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: NodeId
    timestamp: int
    nonce: bytes
    ciphertext: bytes
    slots: tuple[Slot, ...]
    payload: bytes
    sig: bytes
    id: EntryId = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", EntryId.of(self.payload))

    def encode(self) -> bytes:
        return codec.encode([self.payload, self.sig])

    @property
    def recipients(self) -> tuple[NodeId, ...]:
        return tuple(s.recipient for s in self.slots)

    def slot_for(self, node: NodeId) -> Slot | None:
        return next((s for s in self.slots if s.recipient == node), None)


def seal(
    key: NodeKey,
    letter: Letter,
    *,
    seqs: Mapping[NodeId, int],
    content_key: bytes,
    nonce: bytes,
    wrap_nonces: Mapping[NodeId, bytes],
    timestamp: int,
) -> Envelope:
    """Encrypt ``letter`` for its recipients; ``seqs`` numbers it per recipient."""
    if letter.author != key.node_id:
        raise ValueError("a school seals only its own letters")
    if set(seqs) != set(letter.recipients) or set(wrap_nonces) != set(letter.recipients):
        raise ValueError("seqs and wrap_nonces must name exactly the letter's recipients")
    if len(content_key) != KEY_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("the content key is 32 bytes and the nonce 24")
    if not _in_range(timestamp, 0) or not all(_in_range(q, 1) for q in seqs.values()):
        raise ValueError("sequence numbers run from 1, times from 0, both below 2**53")
    ciphertext = nacl.secret.SecretBox(content_key).encrypt(letter.encode(), nonce).ciphertext
    secret = box_secret(key)
    slots = []
    for recipient in letter.recipients:
        box = nacl.public.Box(secret, box_public(recipient))
        wrapped = bytes(box.encrypt(content_key, wrap_nonces[recipient]))
        slots.append(Slot(recipient, seqs[recipient], wrapped))
    payload = codec.encode(
        {
            "c": ciphertext,
            "n": nonce,
            "r": [[bytes(s.recipient), s.seq, s.wrapped] for s in slots],
            "s": bytes(key.node_id),
            "t": timestamp,
            "v": SEALED_VERSION,
        }
    )
    if len(payload) > ENVELOPE_PAYLOAD_LIMITS.max_bytes:
        raise SchemaError("content", f"is too large to send ({len(payload)} bytes sealed)")
    sig = key.sign(ENVELOPE_CONTEXT + payload)
    return Envelope(key.node_id, timestamp, nonce, ciphertext, tuple(slots), payload, sig)


def decode_envelope(data: bytes, *, now_ms: int) -> Envelope:
    """Decode an envelope and verify the sender's signature (no decryption)."""
    payload, sig = _pair(codec.decode(data, ENVELOPE_LIMITS), "envelope")
    if len(sig) != SIGNATURE_SIZE:
        raise SealedError("the envelope's signature must be 64 bytes")
    raw = codec.decode(payload, ENVELOPE_PAYLOAD_LIMITS)
    if not isinstance(raw, dict):
        raise SealedError("an envelope payload is a map")
    _check_version(raw.get("v"))  # first: a newer format may have other keys
    if set(raw) != set("cnrstv"):
        raise SealedError("an envelope payload has exactly the keys c n r s t v")
    sender = _node_id(raw["s"], "s")
    try:
        sender.verify(ENVELOPE_CONTEXT + payload, sig)
    except BadSignature as exc:
        raise SealedError("the envelope's signature does not verify", code="bad-signature") from exc
    timestamp = raw["t"]
    if not _in_range(timestamp, 0):
        raise SealedError("the envelope's time must be milliseconds since 1970")
    if timestamp > now_ms + MAX_CLOCK_SKEW_MS:
        raise SealedError("the envelope is dated in the future", code="future-timestamp")
    if not isinstance(raw["n"], bytes) or len(raw["n"]) != NONCE_SIZE:
        raise SealedError(f"the nonce must be {NONCE_SIZE} bytes")
    if not isinstance(raw["c"], bytes):
        raise SealedError("the ciphertext must be binary")
    if not isinstance(raw["r"], list) or not 1 <= len(raw["r"]) <= MAX_RECIPIENTS:
        raise SealedError(f"an envelope has 1 to {MAX_RECIPIENTS} recipients")
    slots = []
    for item in raw["r"]:
        if not isinstance(item, list) or len(item) != 3:
            raise SealedError("a recipient slot is [node id, seq, wrapped key]")
        recipient, seq, wrapped = item
        if not _in_range(seq, 1):
            raise SealedError("a recipient's sequence number must be from 1 to 2**53-1")
        if not isinstance(wrapped, bytes) or len(wrapped) != WRAPPED_SIZE:
            raise SealedError(f"a wrapped key is {WRAPPED_SIZE} bytes")
        slots.append(Slot(_node_id(recipient, "r"), seq, wrapped))
    recipients = [bytes(s.recipient) for s in slots]
    if recipients != sorted(set(recipients)) or bytes(sender) in recipients:
        raise SealedError("recipients are sorted, unique, and do not include the sender")
    return Envelope(sender, timestamp, raw["n"], raw["c"], tuple(slots), payload, sig)


def open_envelope(key: NodeKey, envelope: Envelope) -> Letter:
    """Decrypt our copy and check the letter inside belongs to this envelope."""
    slot = envelope.slot_for(key.node_id)
    if slot is None:
        raise SealedError("this envelope is not addressed to this school", code="not-for-us")
    box = nacl.public.Box(box_secret(key), box_public(envelope.sender))
    try:
        content_key = box.decrypt(slot.wrapped)
        data = nacl.secret.SecretBox(content_key).decrypt(envelope.ciphertext, envelope.nonce)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise SealedError("the envelope cannot be decrypted", code="undecryptable") from exc
    letter = read_letter(data)
    if letter.author != envelope.sender:
        raise SealedError(
            "the letter inside was written by another school than the sender", code="wrong-signer"
        )
    if letter.recipients != envelope.recipients:
        raise SealedError(
            "the letter names other recipients than its envelope", code="wrong-recipients"
        )
    return letter


def _recipients(recipients: list[NodeId], author: NodeId) -> tuple[NodeId, ...]:
    unique = sorted(set(recipients), key=bytes)
    if not unique or author in unique or len(unique) > MAX_RECIPIENTS:
        raise ValueError(f"a letter goes to 1 to {MAX_RECIPIENTS} other schools")
    return tuple(unique)


def _pair(parts: Any, what: str) -> tuple[bytes, bytes]:
    if (
        not isinstance(parts, list)
        or len(parts) != 2
        or not all(isinstance(p, bytes) for p in parts)
    ):
        raise SealedError(f"a {what} is [payload, signature]", code=f"bad-{what}")
    return parts[0], parts[1]


def _node_id(value: Any, name: str, *, code: str = "bad-envelope") -> NodeId:
    if not isinstance(value, bytes) or len(value) != ID_SIZE:
        raise SealedError(f"field {name!r} must be a 32-byte node id", code=code)
    return NodeId(value)


def _in_range(value: Any, low: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value < 2**53


def _check_version(version: Any) -> None:
    if isinstance(version, bool) or version != SEALED_VERSION:
        raise SealedError(
            f"restricted letter version {version!r} is not supported (this node reads "
            f"version {SEALED_VERSION}): upgrade schoolmesh",
            code="unsupported-version",
        )
