"""The session handshake, with both ends wired together in memory."""

import pytest

from protocol import frames, handshake
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import HandshakeError
from protocol.handshake import DiallerHandshake, ListenerHandshake
from tests.helpers import NOW, key

DIALLER, LISTENER, OTHER = key(1), key(2), key(3)


def pair(
    *, expected=LISTENER.node_id, dialler_now: int = NOW, listener_now: int = NOW, nonce: int = 7
) -> tuple[DiallerHandshake, ListenerHandshake]:
    dialler = DiallerHandshake(
        DIALLER, nonce=bytes([nonce]) * 32, now_ms=dialler_now, expected=expected
    )
    listener = ListenerHandshake(LISTENER, nonce=bytes([nonce + 1]) * 32, now_ms=listener_now)
    return dialler, listener


def test_both_sides_learn_the_proven_identity() -> None:
    dialler, listener = pair()
    auth = dialler.receive_welcome(listener.receive_hello(dialler.hello_bytes))
    assert listener.receive_auth(auth) == DIALLER.node_id
    assert dialler.peer == LISTENER.node_id
    ready = dialler.receive_ready(frames.encode(frames.Ready()))
    assert ready.partner is False


def test_expired_hello_refused() -> None:
    dialler, listener = pair(dialler_now=NOW - MAX_CLOCK_SKEW_MS - 1)
    with pytest.raises(HandshakeError) as caught:
        listener.receive_hello(dialler.hello_bytes)
    assert caught.value.code == "expired"


def test_wrong_listener_refused_by_dialler() -> None:
    dialler, listener = pair(expected=OTHER.node_id)
    with pytest.raises(HandshakeError) as caught:
        dialler.receive_welcome(listener.receive_hello(dialler.hello_bytes))
    assert caught.value.code == "wrong-node"


def test_replayed_auth_refused() -> None:
    """An auth recorded in one session is useless in the next (fresh listener nonce)."""
    dialler, listener = pair(nonce=7)
    recorded_auth = dialler.receive_welcome(listener.receive_hello(dialler.hello_bytes))
    listener.receive_auth(recorded_auth)
    _, second = pair(nonce=9)
    second.receive_hello(dialler.hello_bytes)  # the attacker replays the old hello too
    with pytest.raises(HandshakeError) as caught:
        second.receive_auth(recorded_auth)
    assert caught.value.code == "bad-signature"


def test_impostor_listener_refused() -> None:
    """A node that claims the listener's id but cannot sign as it."""
    dialler, _ = pair()
    impostor = ListenerHandshake(OTHER, nonce=bytes(32), now_ms=NOW)
    welcome = frames.decode(impostor.receive_hello(dialler.hello_bytes))
    assert isinstance(welcome, frames.Welcome)
    forged = frames.Welcome(bytes(LISTENER.node_id), welcome.nonce, welcome.sig)
    with pytest.raises(HandshakeError) as caught:
        dialler.receive_welcome(frames.encode(forged))
    assert caught.value.code == "bad-signature"


def test_impostor_dialler_refused() -> None:
    """A dialler claiming another node's id cannot produce that node's auth signature."""
    _, listener = pair()
    lie = frames.encode(frames.Hello(bytes(DIALLER.node_id), bytes(32), NOW))
    welcome = frames.decode(listener.receive_hello(lie))
    assert isinstance(welcome, frames.Welcome)
    transcript = handshake._transcript(lie, welcome.node, welcome.nonce)
    auth = frames.Auth(OTHER.sign(handshake.DIALLER_CONTEXT + transcript))
    with pytest.raises(HandshakeError) as caught:
        listener.receive_auth(frames.encode(auth))
    assert caught.value.code == "bad-signature"


def test_auth_before_hello_refused() -> None:
    _, listener = pair()
    with pytest.raises(HandshakeError):
        listener.receive_auth(frames.encode(frames.Auth(bytes(64))))


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", frames.encode(frames.Auth(bytes(64))), frames.encode(frames.Ready())],
)
def test_wrong_or_malformed_first_frame_refused(data: bytes) -> None:
    _, listener = pair()
    with pytest.raises(HandshakeError):
        listener.receive_hello(data)


def test_refusal_from_the_other_side_is_reported() -> None:
    dialler, _ = pair()
    refusal = frames.encode(frames.Error("not-a-partner", "ask for an invite code"))
    with pytest.raises(HandshakeError, match="ask for an invite code") as caught:
        dialler.receive_welcome(refusal)
    assert caught.value.code == "not-a-partner"
