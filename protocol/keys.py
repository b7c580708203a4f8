"""Node identity: Ed25519 keys, node ids, entry ids and human fingerprints.

Keys and ids are small value objects, never raw bytes passed around. This module
draws no randomness: a new key is made from a seed the caller supplies (node/
reads it from the operating system), so tests and vectors are reproducible.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from protocol.errors import BadSignature, UserInputError, said

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
ID_SIZE = 32


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ValueError on anything else."""
    if not text.isascii() or "=" in text or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if b64url(raw) != text:  # refuse non-canonical trailing bits
        raise ValueError("not base64url")
    return raw


@dataclass(frozen=True, slots=True)
class NodeId:
    """A school node's public Ed25519 key; shown as 43 characters of base64url."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != PUBLIC_KEY_SIZE:
            raise ValueError(f"a node id is {PUBLIC_KEY_SIZE} bytes, not {len(self.key)}")

    @classmethod
    def parse(cls, text: str) -> NodeId:
        """Read a node id typed or pasted by a person."""
        text = text.strip().removeprefix("node:")  # cli/main.py adds it before a leading '-'
        try:
            return cls(from_b64url(text))
        except ValueError:
            raise UserInputError(
                f"{text!r} is not a node id: expected 43 characters of base64url, "
                "as printed by `schoolmesh id`",
                page=said("There is no such school."),
            ) from None

    def __str__(self) -> str:
        return b64url(self.key)

    def __bytes__(self) -> bytes:
        return self.key

    # Written out rather than generated: the dataclass's compare and hash build a tuple
    # each time, and ids are looked up in sets and dicts many times per entry received.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is NodeId:
            return self.key == other.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def fingerprint(self) -> str:
        """Four groups of four characters, easy to read aloud and compare by phone."""
        digest = hashlib.blake2b(self.key, digest_size=10, person=b"sm-fingerprint").digest()
        text = base64.b32encode(digest).decode("ascii")
        return "-".join(text[i : i + 4] for i in range(0, 16, 4))

    def box_public(self) -> bytes:
        """This node's X25519 public key (for sealed letters), derived from the id."""
        try:
            return bytes(nacl.signing.VerifyKey(self.key).to_curve25519_public_key())
        except nacl.exceptions.CryptoError as exc:
            raise BadSignature("this node id is not a usable public key") from exc

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise BadSignature unless ``signature`` is this node's over ``message``."""
        try:
            nacl.signing.VerifyKey(self.key).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as exc:
            raise BadSignature(f"signature does not verify for node {self}") from exc


@dataclass(frozen=True, slots=True)
class EntryId:
    """BLAKE2b-256 of an entry's payload bytes; shown as 64 hex characters."""

    digest: bytes

    def __post_init__(self) -> None:
        if len(self.digest) != ID_SIZE:
            raise ValueError(f"an entry id is {ID_SIZE} bytes, not {len(self.digest)}")

    @classmethod
    def of(cls, payload: bytes) -> EntryId:
        # Built by its slot: a digest is always ID_SIZE bytes, and this runs for every
        # entry received, twice on a hub (docs/performance.md, "Where item 6 stands").
        entry_id: EntryId = object.__new__(cls)
        _set_digest(entry_id, hashlib.blake2b(payload, digest_size=ID_SIZE).digest())
        return entry_id

    @classmethod
    def parse(cls, text: str) -> EntryId:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError:
            raise UserInputError(
                f"{text!r} is not an entry id: expected 64 hexadecimal characters, "
                "as printed by `list` commands",
                page=said("There is no page at this address. Use the menu instead."),
            ) from None

    def __str__(self) -> str:
        return self.digest.hex()

    def __bytes__(self) -> bytes:
        return self.digest

    def __eq__(self, other: object) -> bool:  # written out, as NodeId's
        if other.__class__ is EntryId:
            return self.digest == other.digest
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.digest)


_set_digest = vars(EntryId)["digest"].__set__


class NodeKey:
    """A node's private signing key. Equality is constant-time; repr hides the seed."""

    __slots__ = ("_signing",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError(f"a key seed is {SEED_SIZE} bytes, not {len(seed)}")
        self._signing = nacl.signing.SigningKey(seed)

    @property
    def seed(self) -> bytes:
        return bytes(self._signing)

    @property
    def node_id(self) -> NodeId:
        return NodeId(bytes(self._signing.verify_key))

    def box_seed(self) -> bytes:
        """The X25519 private key derived from this signing key (for sealed letters)."""
        return bytes(self._signing.to_curve25519_private_key())

    def sign(self, message: bytes) -> bytes:
        return self._signing.sign(message).signature

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodeKey) and hmac.compare_digest(self.seed, other.seed)

    def __hash__(self) -> int:
        return hash(self.node_id)

    def __repr__(self) -> str:
        return f"NodeKey(node_id={self.node_id})"


def content_hash(content: bytes) -> bytes:
    """BLAKE2b-256 of an entry's content bytes, as carried in its payload."""
    return hashlib.blake2b(content, digest_size=ID_SIZE).digest()
