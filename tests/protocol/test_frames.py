"""Session frames: round trips, refusals, and every field in every shape."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec, frames
from protocol.address import address_problem
from protocol.errors import DecodeError
from protocol.keys import NodeId
from protocol.replication import Replication

SAMPLES: list[frames.Frame] = [
    frames.Hello(bytes(32), bytes(32), 1, b"invite", "http://127.0.0.1:8470"),
    frames.Hello(bytes(32), bytes(32), 1),
    frames.Welcome(bytes(32), bytes(32), bytes(64)),
    frames.Auth(bytes(64)),
    frames.Ready(partner=True),
    frames.Clock([[bytes(32), 5], [b"\x01" * 32, 1]], final=False),
    frames.Entries(3, [b"\x93\xc4\x00\xc4\x00\xc0"]),
    frames.Ack(3, [[bytes(32), 5]]),
    frames.Error("bad-frame", "why"),
    frames.Hello(bytes(32), bytes(32), 1, features=["reconcile", "search"]),
    frames.Welcome(bytes(32), bytes(32), bytes(64), features=["reconcile"]),
    frames.Reconcile("heads", b"\x92\x01\x90"),
    frames.Reconcile("heads", b""),
]


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: f.TYPE)
def test_round_trip(frame: frames.Frame) -> None:
    assert frames.decode(frames.encode(frame)) == frame


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"t": "hello", "v": 2}, "unsupported-version"),
        ({"t": "hello", "v": True}, "unsupported-version"),
        ({"t": "gossip", "v": 1}, "bad-frame"),
        ({"t": "auth", "v": 1}, "bad-frame"),
        ({"t": "auth", "v": 1, "sig": b"short"}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": [[b"x", 1]]}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": [[bytes(32), -1]]}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": "nope"}, "bad-frame"),
        ({"t": "entries", "v": 1, "batch": 1, "entries": ["text"]}, "bad-frame"),
        ({"t": "entries", "v": 1, "batch": 1, "entries": [b""] * 257}, "bad-frame"),
        ({"t": "error", "v": 1, "code": 5, "message": "x"}, "bad-frame"),
        ({"t": "ready", "v": 1, "partner": "yes"}, "bad-frame"),
    ],
)
def test_refused(body: dict[str, Any], code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode(body))
    assert caught.value.code == code


def test_oversized_frame_refused() -> None:
    data = codec.encode({"t": "entries", "v": 1, "batch": 1, "entries": [b"x" * 60_000] * 20})
    with pytest.raises(DecodeError) as caught:
        frames.decode(data)
    assert caught.value.code == "too-large"


def test_not_a_map_refused() -> None:
    with pytest.raises(DecodeError):
        frames.decode(codec.encode([1, 2]))


def test_worked_hello_example_in_the_spec_is_true() -> None:
    """docs/protocol.md shows a hello frame byte by byte; it must be what we send."""
    import re
    from pathlib import Path

    from protocol.keys import NodeKey

    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("**Hello** (105 bytes):") :]
    block = section[
        section.index("```text") + 7 : section.index("```", section.index("```text") + 7)
    ]
    shown = re.sub(r"\s+", "", block)
    dialler = NodeKey(bytes([0x01]) * 32)
    hello = frames.Hello(bytes(dialler.node_id), bytes([0x02]) * 32, 1_790_000_000_000)
    assert frames.encode(hello).hex() == shown


# -- every field, every shape ---------------------------------------------------------
#
# A hostile peer chooses every byte of a frame. Whatever it sends, decoding gives a
# frame whose fields have exactly the documented shapes, or a DecodeError with a
# documented code, never another exception; and what decodes can be handed to the
# state machine that reads it without anything but a ProtocolError.

ID = bytes(range(32))
OTHER = bytes(range(1, 33))

VALID: dict[str, dict[str, Any]] = {
    "hello": {"node": ID, "nonce": ID, "time": 1, "invite": b"i", "address": "http://a:1"},
    "welcome": {"node": ID, "nonce": ID, "sig": bytes(64)},
    "auth": {"sig": bytes(64)},
    "ready": {"partner": False},
    "clock": {"heads": [[ID, 1, OTHER]], "final": True},
    "entries": {"batch": 1, "entries": [b"x"]},
    "ack": {"batch": 1, "heads": [[ID, 1]]},
    "mail-clock": {"marks": [[ID, OTHER, 1]], "final": True, "delivered": [[ID, OTHER, 2]]},
    "mail": {"batch": 1, "envelopes": [b"e"]},
    "mail-ack": {"batch": 1, "marks": [[ID, OTHER, 1]]},
    "error": {"code": "bad-frame", "message": "why"},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([0, 1, 2**53 - 1, 2**53, 2**63, 2**64 - 1, -1]),
    st.text(max_size=40),
    st.sampled_from(["", "http://a:1", "a\nb", "a\x00", "BAD CODE", "x" * 600]),
    st.binary(max_size=70),
    st.sampled_from([ID, OTHER, bytes(64), bytes(31), bytes(33)]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5), max_leaves=20)
pair_like = st.lists(st.sampled_from([ID, OTHER, 0, 1, 2**53, -1, True, b"", "x"]), max_size=4)


def checked(body: dict[str, Any]) -> frames.Frame | None:
    """Decode ``body``; None if refused, with a documented code."""
    refused: DecodeError | None = None
    try:
        return frames.decode(codec.encode(body))
    except DecodeError as exc:
        refused = exc
    assert refused.code in {"bad-frame", "bad-address", "too-deep", "too-large"}, refused.code
    return None


def assert_well_formed(frame: frames.Frame) -> None:
    """What every decoded frame promises to the code that reads it."""
    assert frames.decode(frames.encode(frame)) == frame
    if isinstance(frame, frames.Hello) and frame.address is not None:
        assert address_problem(frame.address) is None
    if isinstance(frame, frames.Ack):
        assert len(frame.heads) <= frames.MAX_ACK_HEADS
        assert all(len(p) == 2 and 0 <= p[1] < 2**53 for p in frame.heads)
        sync = Replication()
        sync.in_flight[frame.batch] = {NodeId(ID): 1, NodeId(OTHER): 2}
        sync.acknowledged(frame)  # no ValueError, whatever the heads
    if isinstance(frame, frames.Clock):
        Replication().receive_clock(frame)
    if isinstance(frame, frames.MailAck):
        assert len(frame.marks) <= frames.MAX_MAIL_ACK_MARKS
    if isinstance(frame, frames.Error):
        assert frame.message.isprintable()


@pytest.mark.parametrize(("kind", "name"), [(k, f) for k, body in VALID.items() for f in body])
@given(value=values)
@settings(max_examples=60, deadline=None)
def test_any_value_in_any_field_decodes_well_formed_or_is_refused(
    kind: str, name: str, value: Any
) -> None:
    frame = checked({**VALID[kind], "t": kind, "v": 1, name: value})
    if frame is not None:
        assert_well_formed(frame)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("clock", "heads"), ("ack", "heads"), ("mail-clock", "marks"), ("mail-ack", "marks")],
)
@given(items=st.lists(pair_like, max_size=4))
@settings(max_examples=150, deadline=None)
def test_any_list_of_pairs_decodes_well_formed_or_is_refused(
    kind: str, name: str, items: list[list[Any]]
) -> None:
    frame = checked({**VALID[kind], "t": kind, "v": 1, name: items})
    if frame is not None:
        assert_well_formed(frame)


def test_every_valid_sample_decodes() -> None:
    for kind, body in VALID.items():
        frame = checked({**body, "t": kind, "v": 1})
        assert frame is not None, kind
        assert_well_formed(frame)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"t": "ack", "batch": 1, "heads": [[ID, 1, OTHER]]}, "an ack pair with a head id"),
        ({"t": "ack", "batch": 1, "heads": [[OTHER, 1], [ID, 1]]}, "heads out of order"),
        ({"t": "ack", "batch": 1, "heads": [[ID, 1], [ID, 2]]}, "one author twice"),
        ({"t": "ack", "batch": 1, "heads": [[ID, 2**53]]}, "a sequence number past 2**53-1"),
        ({"t": "ack", "batch": 2**64 - 1, "heads": []}, "a batch number past 2**53-1"),
        ({"t": "clock", "heads": [[ID, 2**63]]}, "a clock head past 2**53-1"),
        ({"t": "clock", "heads": [[ID, 1, OTHER, 4]]}, "a clock pair of four items"),
        ({"t": "mail-clock", "marks": [[ID, OTHER, 2**63]]}, "a mark past 2**53-1"),
        ({"t": "mail-ack", "batch": 1, "marks": [[OTHER, ID, 1], [ID, OTHER, 1]]}, "unsorted"),
        ({"t": "mail-ack", "batch": 1, "marks": [[ID, OTHER, 1], [ID, OTHER, 2]]}, "repeated"),
        ({"t": "hello", "node": ID, "nonce": ID, "time": 1, "invite": bytes(1025)}, "long invite"),
        ({"t": "error", "code": "Bad Frame", "message": "x"}, "a code that is not kebab-case"),
        ({"t": "error", "code": "x" * 65, "message": "x"}, "a code of 65 characters"),
        ({"t": "error", "code": "bad-frame", "message": "a\nforged line"}, "a line break"),
        ({"t": "error", "code": "bad-frame", "message": "\x1b[31mred"}, "a terminal escape"),
        ({"t": "error", "code": "bad-frame", "message": "x" * 501}, "501 characters"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_shapes_the_protocol_refuses(body: dict[str, Any], why: str) -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode({**body, "v": 1}))
    assert caught.value.code == "bad-frame", why


def test_an_ack_may_hold_one_head_per_entry_of_a_batch_and_no_more() -> None:
    authors = sorted(bytes([i // 256, i % 256]) * 16 for i in range(frames.MAX_ACK_HEADS + 1))
    heads = [[a, 1] for a in authors]
    assert frames.Ack(1, heads[:-1]).heads == heads[:-1]
    with pytest.raises(DecodeError, match="at most 256"):
        frames.Ack(1, heads)


def test_a_mail_ack_may_hold_a_mark_per_recipient_of_each_envelope_and_no_more() -> None:
    senders = [bytes([i]) * 32 for i in range(frames.MAX_MAIL_ENVELOPES)]
    recipients = [bytes([200, i]) * 16 for i in range(64)]
    marks = [[s, r, 1] for s in senders for r in recipients]
    assert len(frames.MailAck(1, marks).marks) == frames.MAX_MAIL_ACK_MARKS
    with pytest.raises(DecodeError, match="at most 4096"):
        frames.MailAck(1, [*marks, [bytes([255]) * 32, ID, 1]])


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("http://127.0.0.1:8470", None),
        ("http://a\nb:1", "bad-address"),
        ("http://user@host:1", "bad-address"),
        ("", "bad-address"),
    ],
)
def test_a_hello_address_is_checked_when_decoded(address: str, code: str | None) -> None:
    body = {**VALID["hello"], "address": address, "t": "hello", "v": 1}
    if code is None:
        assert isinstance(frames.decode(codec.encode(body)), frames.Hello)
        return
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode(body))
    assert caught.value.code == code


def test_our_own_error_frames_are_one_short_printable_line() -> None:
    frame = frames.Error.about("bad-frame", "first\nsecond\x00" + "x" * 1000)
    assert frame.message.isprintable()
    assert len(frame.message) == frames.MAX_ERROR_MESSAGE_CHARS
    assert frame.message.startswith("first second ")
