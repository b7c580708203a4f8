"""Invite codes: a signed, expiring, single-use ticket to become partners.

Text form: ``schoolmesh-invite:`` + base64url(canonical msgpack ``[payload, sig]``),
where ``payload`` is the canonical map ``{a: address, e: expires ms, n: node id,
r: random 16 bytes, v: 1}`` and ``sig`` is the inviting node's Ed25519 signature
over ``b"schoolmesh/invite/v1" + payload``. The random part makes each code
single-use: the inviting node remembers which it issued and which were redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import codec
from protocol.address import address_problem
from protocol.errors import BadSignature, ProtocolError, UserInputError, said
from protocol.keys import NodeId, NodeKey, b64url, from_b64url

PREFIX = "schoolmesh-invite:"
CONTEXT = b"schoolmesh/invite/v1"
INVITE_LIMITS = codec.Limits(max_bytes=1024, max_depth=1, max_items=8, max_str=500, max_bin=512)


@dataclass(frozen=True, slots=True)
class Invite:
    node: NodeId
    address: str
    token: bytes
    expires: int  # ms since 1970

    def _payload(self) -> bytes:
        return codec.encode(
            {"a": self.address, "e": self.expires, "n": bytes(self.node), "r": self.token, "v": 1}
        )

    def sign(self, key: NodeKey) -> str:
        payload = self._payload()
        return PREFIX + b64url(codec.encode([payload, key.sign(CONTEXT + payload)]))

    @property
    def raw(self) -> bytes:
        return self._payload()


def parse_invite(text: str, *, now_ms: int) -> tuple[Invite, bytes]:
    """Verify an invite code; return it and its exact bytes (sent in the hello)."""
    text = text.strip()
    problem = "is not a schoolmesh invite code: copy the whole code, as printed by `invite create`"
    incomplete = said("That is not a complete invite code: copy the whole code and try again.")
    if not text.startswith(PREFIX):
        raise UserInputError(f"that {problem}", page=incomplete)
    try:
        outer = from_b64url(text[len(PREFIX) :])
        invite, signed = decode_invite(outer)
    except (ValueError, ProtocolError):
        raise UserInputError(f"that {problem}", page=incomplete) from None
    if invite.expires < now_ms:
        raise UserInputError(
            "that invite code has expired: ask the other school for a new one",
            page=said("That invite code has expired: ask the other school for a new one."),
        )
    return invite, signed


#: The payload's keys, exactly (docs/protocol.md, "Invites").
_KEYS = frozenset("aenrv")
TOKEN_SIZE = 16


def decode_invite(data: bytes) -> tuple[Invite, bytes]:
    """Decode and verify the binary form ``[payload, sig]``; raises ProtocolError.

    The checks run in the order docs/protocol.md ("Invites", redeeming, step 3)
    gives, so that every implementation refuses the same invite with the same code.
    """
    parts = codec.decode(data, INVITE_LIMITS)
    if (
        not isinstance(parts, list)
        or len(parts) != 2
        or not all(isinstance(p, bytes) for p in parts)
    ):
        raise ProtocolError("an invite is [payload, signature]", code="bad-invite")
    payload, sig = parts
    body = codec.decode(payload, INVITE_LIMITS)
    if not isinstance(body, dict):
        raise ProtocolError("an invite's payload is a map", code="bad-invite")
    version = body.get("v")
    if isinstance(version, bool) or version != 1:  # first: another version may have other keys
        raise ProtocolError(
            f"invite version {version!r}: this node reads version 1 only", code="bad-invite"
        )
    if set(body) != _KEYS:
        raise ProtocolError(
            f"an invite has exactly the keys a e n r v, not {sorted(body)}", code="bad-invite"
        )
    address, expires, node, token = body["a"], body["e"], body["n"], body["r"]
    if (
        not isinstance(address, str)
        or isinstance(expires, bool)
        or not isinstance(expires, int)
        or not 0 <= expires < 2**53
        or not isinstance(node, bytes)
        or len(node) != 32
        or not isinstance(token, bytes)
        or len(token) != TOKEN_SIZE
    ):
        raise ProtocolError(
            "the invite's fields are wrong: a is text, e an integer from 0 to 2**53-1, "
            f"n 32 bytes and r {TOKEN_SIZE} bytes",
            code="bad-invite",
        )
    problem = address_problem(address)
    if problem is not None:  # it is dialled, shown and stored: the hello's rule applies
        raise ProtocolError(
            f"the invite's address is not a node address: {problem}", code="bad-invite"
        )
    invite = Invite(NodeId(node), address, token, expires)
    try:
        invite.node.verify(CONTEXT + payload, sig)
    except BadSignature as exc:
        raise ProtocolError("the invite's signature does not verify", code="bad-invite") from exc
    return invite, data
