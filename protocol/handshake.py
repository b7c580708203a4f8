"""The mutual challenge-response that opens every peer session (sans-I/O).

::

    dialler                                   listener
      hello {node, nonce_d, time, invite?, address?, features?}  ->
                              <-  welcome {node, nonce_l, sig_l, features?}
      auth {sig_d}                             ->
                              <-  ready {partner}   (or error)

``transcript = BLAKE2b-256(hello frame bytes || listener node || nonce_l)``; the
listener signs ``b"schoolmesh/handshake/v1/listener" + transcript`` and the
dialler ``b"schoolmesh/handshake/v1/dialler" + transcript``. Both nonces are
fresh per session, so a recorded signature is useless in another session
(replay), and the hello's time must be within the clock-skew window (expiry).
The context prefixes keep these signatures apart from entry signatures, whose
bytes always start with a msgpack map header. Nonces and times are handed in.

Each side may announce ``features`` (docs/protocol.md, "Features"); a side uses one
only when both announced it (:attr:`DiallerHandshake.shared`,
:attr:`ListenerHandshake.shared`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from protocol import frames
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import BadSignature, HandshakeError, ProtocolError
from protocol.keys import NodeId, NodeKey

LISTENER_CONTEXT = b"schoolmesh/handshake/v1/listener"
DIALLER_CONTEXT = b"schoolmesh/handshake/v1/dialler"


def _transcript(hello_bytes: bytes, listener: bytes, nonce: bytes) -> bytes:
    return hashlib.blake2b(hello_bytes + listener + nonce, digest_size=32).digest()


def _announce(features: frozenset[str]) -> list[str] | None:
    """The ``features`` field: sorted, and left out when there are none (as today's nodes)."""
    return sorted(features) or None


def _decode(data: bytes, expected: type[frames.Frame]) -> frames.Frame:
    try:
        frame = frames.decode(data)
    except ProtocolError as exc:
        raise HandshakeError(f"malformed handshake frame: {exc}", code=exc.code) from exc
    if isinstance(frame, frames.Error):
        raise HandshakeError(f"the other node refused: {frame.message}", code=frame.code)
    if not isinstance(frame, expected):
        raise HandshakeError(
            f"expected a {expected.TYPE} frame, got {frame.TYPE}", code="handshake-failed"
        )
    return frame


class DiallerHandshake:
    """The side that opened the connection."""

    def __init__(
        self,
        key: NodeKey,
        *,
        nonce: bytes,
        now_ms: int,
        expected: NodeId | None,
        invite: bytes | None = None,
        address: str | None = None,
        features: Iterable[str] = (),
    ) -> None:
        self._key = key
        self._expected = expected
        self._features = frozenset(features)
        hello = frames.Hello(
            bytes(key.node_id), nonce, now_ms, invite, address, _announce(self._features)
        )
        self.hello_bytes = frames.encode(hello)
        self.peer: NodeId | None = None
        #: The features both sides announced, known once the welcome has come.
        self.shared: frozenset[str] = frozenset()

    def receive_welcome(self, data: bytes) -> bytes:
        """Check the listener's proof; return the auth frame to send."""
        welcome = _decode(data, frames.Welcome)
        assert isinstance(welcome, frames.Welcome)
        listener = NodeId(welcome.node)
        if self._expected is not None and listener != self._expected:
            raise HandshakeError(
                f"the node at that address is {listener}, not the expected {self._expected}",
                code="wrong-node",
            )
        transcript = _transcript(self.hello_bytes, welcome.node, welcome.nonce)
        try:
            listener.verify(LISTENER_CONTEXT + transcript, welcome.sig)
        except BadSignature as exc:
            raise HandshakeError(
                "the other node's proof of identity does not verify", code="bad-signature"
            ) from exc
        self.peer = listener
        self.shared = self._features & frozenset(welcome.features or ())
        return frames.encode(frames.Auth(self._key.sign(DIALLER_CONTEXT + transcript)))

    def receive_ready(self, data: bytes) -> frames.Ready:
        ready = _decode(data, frames.Ready)
        assert isinstance(ready, frames.Ready)
        return ready


class ListenerHandshake:
    """The side that accepted the connection."""

    def __init__(
        self, key: NodeKey, *, nonce: bytes, now_ms: int, features: Iterable[str] = ()
    ) -> None:
        self._key = key
        self._nonce = nonce
        self._now_ms = now_ms
        self._features = frozenset(features)
        self._transcript = b""
        self.hello: frames.Hello | None = None
        #: The features both sides announced, known once the hello has come.
        self.shared: frozenset[str] = frozenset()

    def receive_hello(self, data: bytes) -> bytes:
        """Check the hello is fresh; return the welcome frame to send."""
        hello = _decode(data, frames.Hello)
        assert isinstance(hello, frames.Hello)
        if abs(hello.time - self._now_ms) > MAX_CLOCK_SKEW_MS:
            raise HandshakeError(
                "the hello is too old or too far in the future: check both computers' clocks",
                code="expired",
            )
        self.hello = hello
        self.shared = self._features & frozenset(hello.features or ())
        mine = bytes(self._key.node_id)
        self._transcript = _transcript(data, mine, self._nonce)
        sig = self._key.sign(LISTENER_CONTEXT + self._transcript)
        welcome = frames.Welcome(mine, self._nonce, sig, _announce(self._features))
        return frames.encode(welcome)

    def receive_auth(self, data: bytes) -> NodeId:
        """Check the dialler's proof; return its proven node id."""
        if self.hello is None:
            raise HandshakeError("auth before hello", code="handshake-failed")
        auth = _decode(data, frames.Auth)
        assert isinstance(auth, frames.Auth)
        dialler = NodeId(self.hello.node)
        try:
            dialler.verify(DIALLER_CONTEXT + self._transcript, auth.sig)
        except BadSignature as exc:
            raise HandshakeError(
                "the dialling node's proof of identity does not verify", code="bad-signature"
            ) from exc
        return dialler
