"""Restricted letters: writing, sealing, relaying checks and opening; letter kinds; mail frames.

Envelopes are crafted by hand (tests/vectors/generate_sealed.py builds them from the
specification, not through protocol/sealed.py) wherever a test needs one that the
reference would never seal, so that each refusal is reached through the real checks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec, frames, letters, sealed
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import DecodeError, ProtocolError, SchemaError, SealedError
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.kinds import text
from protocol.sealed import ENVELOPE_CONTEXT, LETTER_CONTEXT, Envelope, Letter
from tests.helpers import key
from tests.vectors.generate_sealed import (
    COMMENT_ID,
    KEY_A,
    KEY_B,
    KEY_C,
    KEY_D,
    POST_ID,
    PROJECT,
    A,
    B,
    C,
    D,
    envelope_fields,
    fixed,
    flip,
    letter_fields,
    pack,
    pair,
    raw_map,
    signed_envelope,
    signed_letter,
    wrap,
)

NOW = 1_790_000_000_000
RECEIPT = {"p": PROJECT, "target": POST_ID}


def write(
    author: NodeKey = KEY_A,
    recipients: tuple[NodeId, ...] = (B, C),
    *,
    kind: str = "receipt",
    content: dict[str, Any] | None = None,
    timestamp: int = NOW - 1_000,
) -> Letter:
    return sealed.write_letter(
        author,
        kind=kind,
        timestamp=timestamp,
        recipients=list(recipients),
        content=RECEIPT if content is None else content,
    )


def seal(
    letter: Letter,
    author: NodeKey = KEY_A,
    *,
    seqs: dict[NodeId, int] | None = None,
    timestamp: int = NOW - 500,
    content_key: bytes = bytes(range(32)),
    nonce: bytes = bytes(range(24)),
) -> Envelope:
    return sealed.seal(
        author,
        letter,
        seqs=seqs or dict.fromkeys(letter.recipients, 1),
        content_key=content_key,
        nonce=nonce,
        wrap_nonces={r: bytes([i + 1]) * 24 for i, r in enumerate(letter.recipients)},
        timestamp=timestamp,
    )


def received(data: bytes, now: int = NOW) -> Envelope:
    return sealed.decode_envelope(data, now_ms=now)


def refused(make: Callable[[], object]) -> str:
    """The code of the ProtocolError that ``make`` raises."""
    with pytest.raises(ProtocolError) as caught:
        make()
    return caught.value.code


def fields_of(envelope: Envelope) -> dict[str, Any]:
    decoded = codec.decode(envelope.payload, sealed.ENVELOPE_PAYLOAD_LIMITS)
    assert isinstance(decoded, dict)
    return decoded


def resigned(fields: dict[str, Any], signer: NodeKey = KEY_A) -> bytes:
    """An envelope around ``fields`` freshly signed by ``signer`` (as a forger would)."""
    return signed_envelope(fields, signer)


def base_fields(letter: bytes | None = None, label: str = "test") -> dict[str, Any]:
    """A's envelope payload to B (seq 1) and C (seq 2), built by hand."""
    inner = signed_letter(letter_fields(A, "receipt", RECEIPT, [B, C], NOW), KEY_A)
    return envelope_fields(
        KEY_A, inner if letter is None else letter, [(B, 1), (C, 2)], label=label
    )


# -- round trips --------------------------------------------------------------------------


def test_round_trip_to_one_recipient() -> None:
    letter = write(recipients=(B,), kind="project-join", content={"p": PROJECT})
    envelope = seal(letter, seqs={B: 7})
    got = received(envelope.encode())
    assert got == envelope
    assert got.encode() == envelope.encode()
    assert got.sender == A
    assert got.recipients == (B,)
    assert got.slot_for(B) == sealed.Slot(B, 7, envelope.slots[0].wrapped)
    assert got.id == EntryId.of(envelope.payload)
    opened = sealed.open_envelope(KEY_B, got)
    assert opened.encode() == letter.encode()
    assert opened.id == letter.id == EntryId.of(letter.payload)
    assert (opened.author, opened.kind, opened.timestamp) == (A, "project-join", NOW - 1_000)
    assert opened.recipients == (B,)
    assert opened.content == {"p": PROJECT}


def test_every_recipient_of_several_can_open() -> None:
    letter = write(recipients=(D, C, B))
    assert letter.recipients == tuple(sorted((B, C, D), key=bytes))
    envelope = received(seal(letter, seqs={B: 1, C: 5, D: 9}).encode())
    assert [(s.recipient, s.seq) for s in envelope.slots] == sorted(
        [(B, 1), (C, 5), (D, 9)], key=lambda s: bytes(s[0])
    )
    for reader in (KEY_B, KEY_C, KEY_D):
        assert sealed.open_envelope(reader, envelope).encode() == letter.encode()


def test_each_recipient_has_its_own_wrapped_key() -> None:
    envelope = seal(write(recipients=(B, C, D)))
    wrapped = [slot.wrapped for slot in envelope.slots]
    assert len(set(wrapped)) == 3
    for i, slot in enumerate(envelope.slots):
        assert len(slot.wrapped) == sealed.WRAPPED_SIZE == 72
        assert slot.wrapped[:24] == bytes([i + 1]) * 24  # the wrap nonce comes first


def test_non_recipient_cannot_open() -> None:
    envelope = received(seal(write(recipients=(B, C))).encode())
    assert refused(lambda: sealed.open_envelope(KEY_D, envelope)) == "not-for-us"
    # The sender is never a recipient of its own envelope either.
    assert refused(lambda: sealed.open_envelope(KEY_A, envelope)) == "not-for-us"


def test_relay_sees_who_but_not_what() -> None:
    secret = "Amira's ladybird drawing"
    content = {"p": PROJECT, "post": POST_ID, "id": COMMENT_ID, "by": "Amira"}
    letter = write(kind="comment", content={**content, "body": secret, "at": NOW})
    data = seal(letter).encode()
    assert secret.encode() not in data
    assert PROJECT.encode() not in data
    assert letter.payload not in data
    assert letter.sig not in data
    relay_view = received(data)
    assert relay_view.sender == A
    assert relay_view.recipients == (B, C)


def test_same_letter_sealed_twice_differs_only_by_key_and_nonces() -> None:
    letter = write()
    one = seal(letter, content_key=bytes(32), nonce=bytes(24))
    two = seal(letter, content_key=bytes([1]) * 32, nonce=bytes(24))
    assert one.ciphertext != two.ciphertext
    for envelope in (one, two):
        assert sealed.open_envelope(KEY_B, envelope).id == letter.id


@settings(max_examples=60, deadline=None)
@given(
    body=st.text(max_size=300),
    content_key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=24, max_size=24),
    seq=st.integers(1, 2**53 - 1),
)
def test_any_text_body_round_trips_or_is_refused_by_name(
    body: str, content_key: bytes, nonce: bytes, seq: int
) -> None:
    content = {
        "p": PROJECT,
        "id": POST_ID,
        "title": "Our pond",
        "body": body,
        "by": "Class 5",
        "at": NOW,
    }
    if text(20_000, min_len=0)(body) is not None:
        with pytest.raises(SchemaError) as caught:
            write(kind="post", content=content)
        assert caught.value.field == "body"
        return
    letter = write(kind="post", content=content)
    envelope = seal(letter, seqs={B: seq, C: 1}, content_key=content_key, nonce=nonce)
    got = received(envelope.encode())
    for reader in (KEY_B, KEY_C):
        opened = sealed.open_envelope(reader, got)
        assert opened.content["body"] == body
        assert opened.encode() == letter.encode()
    slot = got.slot_for(B)
    assert slot is not None
    assert slot.seq == seq


# -- write_letter and seal refuse what they must not sign ---------------------------------


@pytest.mark.parametrize(
    "recipients",
    [
        pytest.param([], id="none"),
        pytest.param([A], id="only-the-author"),
        pytest.param([B, A], id="author-among-them"),
        pytest.param([key(n).node_id for n in range(10, 75)], id="65-schools"),
    ],
)
def test_write_letter_refuses_bad_recipient_lists(recipients: list[NodeId]) -> None:
    with pytest.raises(ValueError, match="1 to 64 other schools"):
        sealed.write_letter(
            KEY_A, kind="receipt", timestamp=NOW, recipients=recipients, content=RECEIPT
        )


def test_write_letter_sorts_and_merges_recipients() -> None:
    letter = write(recipients=(C, B, C, B))
    assert letter.recipients == (B, C)
    assert bytes(B) < bytes(C)


def test_write_letter_checks_the_schema_before_signing() -> None:
    with pytest.raises(SchemaError) as caught:
        write(kind="receipt", content={"p": PROJECT})
    assert caught.value.field == "target"
    assert caught.value.code == "bad-field"


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        pytest.param(
            "post",
            {
                "p": PROJECT,
                "id": POST_ID,
                "title": "Emoji",
                "by": "Class 5",
                "at": NOW,
                "body": "\U0001f41e" * 16_385,  # within 20,000 characters, 65,540 bytes
            },
            id="post-body-over-the-64-KiB-str-limit",
        ),
        pytest.param("poll", {f"x{i:02}": i for i in range(65)}, id="map-of-65-pairs"),
        pytest.param("poll", {"x": bytes(900_001)}, id="bin-over-900000-bytes"),
        pytest.param(
            "poll", {"x": bytes(899_000), "y": "a" * 60_000}, id="payload-over-955000-bytes"
        ),
    ],
)
def test_write_letter_refuses_content_every_recipient_would_refuse(
    kind: str, content: dict[str, Any]
) -> None:
    letters.validate(kind, content)  # the schema alone allows it
    with pytest.raises(SchemaError) as caught:
        write(kind=kind, content=content)
    assert caught.value.field == "content"
    # Signed anyway, the recipients refuse it when they open it.
    inner = signed_letter(letter_fields(A, kind, content, [B, C], NOW), KEY_A)
    envelope = received(resigned(base_fields(inner)))
    assert refused(lambda: sealed.open_envelope(KEY_B, envelope)) in {"malformed", "too-large"}


def _largest_content(recipients: tuple[NodeId, ...]) -> dict[str, Any]:
    """Content of an unknown kind whose letter payload is exactly the 955,000-byte limit."""
    content = {"x": bytes(sealed.LETTER_PAYLOAD_LIMITS.max_bin), "y": ""}
    for _ in range(3):
        size = len(codec.encode(letter_fields(A, "poll", content, list(recipients), NOW)))
        content["y"] = "a" * (len(content["y"]) + sealed.LETTER_PAYLOAD_LIMITS.max_bytes - size)
    return content


def test_the_largest_letter_to_64_schools_fits_one_mail_frame() -> None:
    readers = [key(n) for n in range(10, 74)]
    recipients = tuple(r.node_id for r in readers)
    content = _largest_content(recipients)
    letter = write(recipients=recipients, kind="poll", content=content)
    assert len(letter.payload) == sealed.LETTER_PAYLOAD_LIMITS.max_bytes
    with pytest.raises(SchemaError):
        write(recipients=recipients, kind="poll", content={**content, "y": content["y"] + "a"})
    envelope = seal(letter, seqs={r: 2**53 - 1 for r in recipients})
    data = envelope.encode()
    assert len(data) <= sealed.MAX_ENVELOPE_BYTES
    frame = frames.decode(frames.encode(frames.Mail(1, [data])))
    assert isinstance(frame, frames.Mail)
    assert frame.envelopes == [data]
    got = received(frame.envelopes[0])
    assert sealed.open_envelope(readers[-1], got).id == letter.id


def test_seal_refuses_what_it_cannot_seal() -> None:
    letter = write(recipients=(B, C))
    ok: dict[str, Any] = {
        "seqs": {B: 1, C: 1},
        "content_key": bytes(32),
        "nonce": bytes(24),
        "wrap_nonces": {B: bytes(24), C: bytes([1]) * 24},
        "timestamp": NOW,
    }
    sealed.seal(KEY_A, letter, **ok)
    with pytest.raises(ValueError, match="own letters"):
        sealed.seal(KEY_B, letter, **ok)
    for name, value in [
        ("seqs", {B: 1}),
        ("seqs", {B: 1, C: 1, D: 1}),
        ("wrap_nonces", {B: bytes(24)}),
        ("content_key", bytes(31)),
        ("nonce", bytes(25)),
    ]:
        with pytest.raises(ValueError, match=r"seqs and wrap_nonces|32 bytes and the nonce 24"):
            sealed.seal(KEY_A, letter, **{**ok, name: value})


@pytest.mark.parametrize(
    ("seq", "timestamp"),
    [(0, NOW), (2**53, NOW), (1, -1)],
    ids=["seq-0", "seq-2-to-the-53", "timestamp-negative"],
)
def test_seal_refuses_numbers_receivers_refuse(seq: int, timestamp: int) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        seal(write(recipients=(B,)), seqs={B: seq}, timestamp=timestamp)


# -- tampering ----------------------------------------------------------------------------


def _open_resigned(change: Callable[[dict[str, Any]], None], reader: NodeKey = KEY_B) -> str:
    fields = base_fields()
    change(fields)
    envelope = received(resigned(fields))  # the sender's signature is good
    return refused(lambda: sealed.open_envelope(reader, envelope))


def test_base_fields_open() -> None:
    envelope = received(resigned(base_fields()))
    assert sealed.open_envelope(KEY_B, envelope).recipients == (B, C)
    assert sealed.open_envelope(KEY_C, envelope).author == A


def test_flipping_any_ciphertext_byte_makes_it_undecryptable() -> None:
    size = len(base_fields()["c"])
    for index in range(size):
        for bit in (0, 7):

            def change(fields: dict[str, Any], i: int = index, b: int = bit) -> None:
                fields["c"] = flip(fields["c"], i, b)

            assert _open_resigned(change) == "undecryptable", (index, bit)


@pytest.mark.parametrize("length", [0, 15, 16, 17])
def test_short_ciphertext_is_undecryptable(length: int) -> None:
    def change(fields: dict[str, Any]) -> None:
        fields["c"] = fields["c"][:length]

    assert _open_resigned(change) == "undecryptable"


def test_flipping_any_nonce_byte_makes_it_undecryptable() -> None:
    for index in range(24):

        def change(fields: dict[str, Any], i: int = index) -> None:
            fields["n"] = flip(fields["n"], i)

        assert _open_resigned(change) == "undecryptable", index


def test_flipping_any_byte_of_a_wrapped_key_makes_it_undecryptable() -> None:
    for index in range(72):

        def change(fields: dict[str, Any], i: int = index) -> None:
            fields["r"][1][2] = flip(fields["r"][1][2], i, 3)

        assert _open_resigned(change, KEY_C) == "undecryptable", index
        # B's own slot is untouched, so B still reads it.
        fields = base_fields()
        fields["r"][1][2] = flip(fields["r"][1][2], index, 3)
        assert sealed.open_envelope(KEY_B, received(resigned(fields))).author == A


def test_a_key_wrapped_by_another_school_or_for_another_is_undecryptable() -> None:
    content_key = fixed("test/content-key", 32)  # the one base_fields uses
    fields = base_fields()
    fields["r"][0][2] = wrap(KEY_A, B, content_key, bytes(24))  # rewrapped correctly: fine
    assert sealed.open_envelope(KEY_B, received(resigned(fields))).author == A
    for wrapper, target in [(KEY_C, B), (KEY_A, C), (KEY_B, B), (KEY_D, A)]:

        def change(fields: dict[str, Any], w: NodeKey = wrapper, t: NodeId = target) -> None:
            fields["r"][0][2] = wrap(w, t, content_key, bytes(24))

        assert _open_resigned(change) == "undecryptable"
    # The box key of A and B is the same both ways: a key B wrapped "for A" opens for B.
    # (Only the envelope's signature says that A, not B, wrapped it.)
    fields["r"][0][2] = wrap(KEY_B, A, content_key, bytes(24))
    assert sealed.open_envelope(KEY_B, received(resigned(fields))).author == A


def test_flipping_a_signed_byte_without_resigning_is_a_bad_signature() -> None:
    fields = base_fields()
    payload = pack(fields)
    data = pair(payload, KEY_A.sign(ENVELOPE_CONTEXT + payload))
    start = data.index(payload)
    # Every byte inside a bin, or of the timestamp, changes the value but not the shape.
    inside = [fields["c"], fields["n"], fields["s"]] + [
        b for slot in fields["r"] for b in (slot[0], slot[2])
    ]
    positions = {payload.index(part) + i for part in inside for i in range(len(part))}
    timestamp = b"\xa1t" + pack(fields["t"])  # "t", then uint 64 (cf and 8 bytes)
    assert payload.count(timestamp) == 1
    assert len(timestamp) == 11
    t_at = payload.index(timestamp)
    positions |= set(range(t_at + 3, t_at + 11))
    for position in sorted(positions):
        tampered = flip(data, start + position)
        assert refused(partial(received, tampered)) == "bad-signature", position


def test_flipping_any_byte_of_an_envelope_is_refused() -> None:
    data = resigned(base_fields())
    for index in range(len(data)):
        for bit in (0, 4, 7):
            tampered = flip(data, index, bit)

            def attempt(d: bytes = tampered) -> None:
                envelope = received(d)
                sealed.open_envelope(KEY_B, envelope)

            with pytest.raises(ProtocolError):
                attempt()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_corruption_never_opens(data: st.DataObject) -> None:
    original = resigned(base_fields())
    index = data.draw(st.integers(0, len(original) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != original[index]))
    corrupted = original[:index] + bytes([value]) + original[index + 1 :]
    with pytest.raises(ProtocolError):
        sealed.open_envelope(KEY_C, received(corrupted))


def test_a_recipient_cannot_pass_a_letter_on_as_its_own_envelope() -> None:
    # B opens A's letter to B and C, then sends it on to D under its own envelope.
    letter = sealed.open_envelope(KEY_B, received(seal(write(recipients=(B, C))).encode()))
    forged = envelope_fields(KEY_B, letter.encode(), [(D, 1)], label="forged")
    envelope = received(resigned(forged, KEY_B))  # a relay sees a good envelope of B's
    assert refused(lambda: sealed.open_envelope(KEY_D, envelope)) == "wrong-signer"
    # Even to a recipient the letter names, it is not B's to send.
    to_c = received(resigned(envelope_fields(KEY_B, letter.encode(), [(C, 1)], label="c"), KEY_B))
    assert refused(lambda: sealed.open_envelope(KEY_C, to_c)) == "wrong-signer"


def test_an_envelope_must_go_to_exactly_the_letters_recipients() -> None:
    to_b_and_c = signed_letter(letter_fields(A, "receipt", RECEIPT, [B, C], NOW), KEY_A)
    fewer = envelope_fields(KEY_A, to_b_and_c, [(B, 1)], label="fewer")
    assert refused(lambda: sealed.open_envelope(KEY_B, received(resigned(fewer)))) == (
        "wrong-recipients"
    )
    to_b = signed_letter(letter_fields(A, "receipt", RECEIPT, [B], NOW), KEY_A)
    more = received(resigned(envelope_fields(KEY_A, to_b, [(B, 1), (C, 1)], label="more")))
    for reader in (KEY_B, KEY_C):
        assert refused(partial(sealed.open_envelope, reader, more)) == "wrong-recipients"
    assert bytes(D) < bytes(B)
    other = envelope_fields(KEY_A, to_b_and_c, [(D, 1), (B, 1)], label="other")
    assert refused(lambda: sealed.open_envelope(KEY_B, received(resigned(other)))) == (
        "wrong-recipients"
    )


def test_wrong_signer_is_checked_before_wrong_recipients() -> None:
    letter = signed_letter(letter_fields(A, "receipt", RECEIPT, [B, C], NOW), KEY_A)
    fields = envelope_fields(KEY_C, letter, [(B, 1)], label="both")
    assert refused(lambda: sealed.open_envelope(KEY_B, received(resigned(fields, KEY_C)))) == (
        "wrong-signer"
    )


# -- decode_envelope: each rule -----------------------------------------------------------


def _changed(**changes: Any) -> bytes:
    fields = base_fields()
    fields.update(changes)
    return resigned(fields)


def _slot(index: int, item: int, value: Any) -> bytes:
    fields = base_fields()
    fields["r"][0][item] = value
    return resigned(fields)


def _without(name: str) -> bytes:
    fields = base_fields()
    del fields[name]
    return resigned(fields)


def _slots(order: list[tuple[NodeId, int]], sender: NodeKey = KEY_A) -> bytes:
    letter = signed_letter(letter_fields(sender.node_id, "receipt", RECEIPT, [B], NOW), sender)
    return resigned(envelope_fields(sender, letter, order, label="slots"), sender)


DECODE_REFUSALS: list[Any] = [
    pytest.param(lambda: _changed(v=2), "unsupported-version", id="version-2"),
    pytest.param(lambda: _changed(v=0), "unsupported-version", id="version-0"),
    pytest.param(lambda: _changed(v=True), "unsupported-version", id="version-true"),
    pytest.param(lambda: _changed(v="1"), "unsupported-version", id="version-str"),
    pytest.param(lambda: _changed(x=1), "bad-envelope", id="unknown-key"),
    *[pytest.param(lambda k=k: _without(k), "bad-envelope", id=f"missing-{k}") for k in "cnrst"],
    pytest.param(lambda: _changed(s=bytes(33)), "bad-envelope", id="sender-33-bytes"),
    pytest.param(lambda: _changed(s="A"), "bad-envelope", id="sender-as-text"),
    pytest.param(lambda: _changed(s=str(A)), "malformed", id="str-over-16-bytes-sender"),
    pytest.param(lambda: _changed(t=-1), "bad-envelope", id="timestamp-negative"),
    pytest.param(lambda: _changed(t=2**53), "bad-envelope", id="timestamp-2-to-the-53"),
    pytest.param(lambda: _changed(t=True), "bad-envelope", id="timestamp-true"),
    pytest.param(lambda: _changed(t=None), "bad-envelope", id="timestamp-nil"),
    pytest.param(lambda: _changed(t=NOW + MAX_CLOCK_SKEW_MS + 1), "future-timestamp", id="future"),
    pytest.param(lambda: _changed(n=bytes(23)), "bad-envelope", id="nonce-23-bytes"),
    pytest.param(lambda: _changed(n=bytes(25)), "bad-envelope", id="nonce-25-bytes"),
    pytest.param(lambda: _changed(n=None), "bad-envelope", id="nonce-nil"),
    pytest.param(lambda: _changed(c="text"), "bad-envelope", id="ciphertext-str"),
    pytest.param(lambda: _changed(c=None), "bad-envelope", id="ciphertext-nil"),
    pytest.param(lambda: _changed(r=[]), "bad-envelope", id="no-recipients"),
    pytest.param(lambda: _changed(r=bytes(B)), "bad-envelope", id="recipients-not-a-list"),
    pytest.param(lambda: _changed(r=[bytes(B)]), "bad-envelope", id="slot-not-a-list"),
    pytest.param(lambda: _slots([(C, 1), (B, 1)]), "bad-envelope", id="unsorted"),
    pytest.param(lambda: _slots([(B, 1), (B, 1)]), "bad-envelope", id="duplicate"),
    pytest.param(lambda: _slots([(B, 1), (B, 2)]), "bad-envelope", id="duplicate-seqs"),
    pytest.param(lambda: _slots([(A, 1), (B, 1)]), "bad-envelope", id="sender-among"),
    pytest.param(lambda: _slots([(A, 1)]), "bad-envelope", id="sender-only"),
    pytest.param(lambda: _slot(0, 1, 0), "bad-envelope", id="seq-0"),
    pytest.param(lambda: _slot(0, 1, -1), "bad-envelope", id="seq-negative"),
    pytest.param(lambda: _slot(0, 1, 2**53), "bad-envelope", id="seq-2-to-the-53"),
    pytest.param(lambda: _slot(0, 1, True), "bad-envelope", id="seq-true"),
    pytest.param(lambda: _slot(0, 1, None), "bad-envelope", id="seq-nil"),
    pytest.param(lambda: _slot(0, 2, bytes(71)), "bad-envelope", id="wrapped-71"),
    pytest.param(lambda: _slot(0, 2, bytes(73)), "bad-envelope", id="wrapped-73"),
    pytest.param(lambda: _slot(0, 2, bytes(48)), "bad-envelope", id="wrapped-48"),
    pytest.param(lambda: _slot(0, 2, "wrapped"), "bad-envelope", id="wrapped-str"),
    pytest.param(lambda: _slot(0, 0, bytes(B)[:31]), "bad-envelope", id="recipient-31"),
    pytest.param(lambda: _slot(0, 0, None), "bad-envelope", id="recipient-nil"),
    pytest.param(lambda: _slot(0, 2, []), "bad-envelope", id="wrapped-as-array"),
    pytest.param(lambda: _slot(0, 2, [1]), "too-deep", id="wrapped-as-array-of-1"),
    pytest.param(lambda: _slot(0, 0, [bytes(B)]), "too-deep", id="recipient-in-array"),
    pytest.param(lambda: _changed(t=1.5), "bad-type", id="float"),
    pytest.param(
        lambda: _changed(r=[[bytes([i]) * 32, 1, bytes(72)] for i in range(65)]),
        "malformed",
        id="65-recipients",
    ),
    pytest.param(lambda: _changed(c="x" * 17), "malformed", id="str-over-16-bytes"),
    pytest.param(
        lambda: signed_envelope(None, KEY_A, payload=pack(list(base_fields().values()))),
        "bad-envelope",
        id="payload-an-array",
    ),
    pytest.param(
        lambda: signed_envelope(
            None,
            KEY_A,
            payload=raw_map([(pack(k), pack(v)) for k, v in reversed(base_fields().items())]),
        ),
        "non-canonical",
        id="payload-keys-reversed",
    ),
    pytest.param(lambda: resigned(base_fields()) + b"\x00", "malformed", id="trailing-byte"),
    pytest.param(lambda: resigned(base_fields())[:-1], "malformed", id="truncated"),
    pytest.param(
        lambda: b"\xdc\x00\x02" + resigned(base_fields())[1:], "non-canonical", id="array-16"
    ),
    pytest.param(lambda: codec.encode([pack(base_fields())]), "bad-envelope", id="array-of-1"),
    pytest.param(
        lambda: codec.encode([pack(base_fields()), bytes(64), None]), "malformed", id="array-of-3"
    ),
    pytest.param(lambda: codec.encode({"p": b"", "s": b""}), "bad-envelope", id="a-map"),
    pytest.param(lambda: codec.encode([b"", bytes(64)]), "malformed", id="empty-payload"),
    pytest.param(
        lambda: codec.encode([pack(base_fields()), None]), "bad-envelope", id="signature-nil"
    ),
    pytest.param(
        lambda: pair(pack(base_fields()), bytes(63)), "bad-envelope", id="signature-63-bytes"
    ),
    pytest.param(
        lambda: pair(pack(base_fields()), bytes(64)), "bad-signature", id="signature-zeros"
    ),
    pytest.param(lambda: resigned(base_fields(), KEY_B), "bad-signature", id="signed-by-b"),
    pytest.param(
        lambda: signed_envelope(base_fields(), KEY_A, context=b""),
        "bad-signature",
        id="signed-without-context",
    ),
    pytest.param(
        lambda: signed_envelope(base_fields(), KEY_A, context=LETTER_CONTEXT),
        "bad-signature",
        id="signed-as-a-letter",
    ),
]


@pytest.mark.parametrize(("make", "code"), DECODE_REFUSALS)
def test_decode_envelope_refuses(make: Callable[[], bytes], code: str) -> None:
    assert refused(lambda: received(make())) == code


def test_timestamp_exactly_at_the_skew_limit_is_accepted() -> None:
    data = _changed(t=NOW + MAX_CLOCK_SKEW_MS)
    assert received(data).timestamp == NOW + MAX_CLOCK_SKEW_MS
    assert refused(lambda: received(data, NOW - 1)) == "future-timestamp"
    assert received(_changed(t=0)).timestamp == 0  # old envelopes are never refused
    assert received(_changed(t=2**53 - 1), now=2**53).timestamp == 2**53 - 1


def test_seq_limits_are_accepted() -> None:
    for seq in (1, 2**53 - 1):
        assert received(_slot(0, 1, seq)).slots[0].seq == seq


def test_oversized_envelopes_are_refused_before_parsing() -> None:
    over = sealed.MAX_ENVELOPE_BYTES + 1
    big = codec.encode([bytes(over - 72), bytes(64)])
    assert len(big) == over
    assert refused(lambda: received(big)) == "too-large"
    # A payload one byte over its own limit, inside an envelope within its limit.
    fields = base_fields()
    target = sealed.ENVELOPE_PAYLOAD_LIMITS.max_bytes + 1
    for _ in range(3):
        fields["c"] = bytes(len(fields["c"]) + target - len(pack(fields)))
    assert len(pack(fields)) == target
    data = resigned(fields)
    assert len(data) <= sealed.MAX_ENVELOPE_BYTES
    assert refused(lambda: received(data)) == "too-large"


def test_decoding_keeps_the_exact_bytes() -> None:
    data = resigned(base_fields())
    envelope = received(data)
    assert envelope.encode() == data
    assert envelope.payload == pack(base_fields())


def test_a_sender_key_without_an_x25519_form_is_refused_when_opened() -> None:
    """A node id with a small-order component signs (about half the time) but has no
    X25519 key in libsodium: relays accept its envelope, recipients refuse it."""
    order_2 = bytes.fromhex("ec" + "ff" * 30 + "7f")  # the point (0, -1)
    odd = nacl.bindings.crypto_core_ed25519_add(bytes(A), order_2)
    inner = signed_letter(letter_fields(NodeId(odd), "receipt", RECEIPT, [B], NOW), KEY_A)
    for t in range(NOW - 100, NOW):
        fields = {**envelope_fields(KEY_A, inner, [(B, 1)], label="odd"), "s": odd, "t": t}
        payload = pack(fields)
        secret = KEY_A.seed + odd  # libsodium signs with the public key it is given
        sig = nacl.bindings.crypto_sign(ENVELOPE_CONTEXT + payload, secret)[:64]
        try:
            envelope = received(pair(payload, sig))
        except ProtocolError:
            continue  # this signature does not verify: try the next timestamp
        break
    else:
        pytest.fail("no signature verified")
    assert envelope.sender == NodeId(odd)
    assert refused(lambda: sealed.open_envelope(KEY_B, envelope)) == "bad-signature"


# -- the letter inside ----------------------------------------------------------------------


def _letter(**changes: Any) -> bytes:
    fields = letter_fields(A, "receipt", RECEIPT, [B, C], NOW)
    fields.update(changes)
    return signed_letter(fields, KEY_A)


def _letter_without(name: str) -> bytes:
    fields = letter_fields(A, "receipt", RECEIPT, [B, C], NOW)
    del fields[name]
    return signed_letter(fields, KEY_A)


LETTER_REFUSALS: list[Any] = [
    pytest.param(lambda: _letter(v=2), "unsupported-version", id="version-2"),
    pytest.param(lambda: _letter(v=True), "unsupported-version", id="version-true"),
    pytest.param(lambda: _letter(x=1), "bad-letter", id="unknown-key"),
    *[
        pytest.param(lambda k=k: _letter_without(k), "bad-letter", id=f"missing-{k}")
        for k in "ackrt"
    ],
    pytest.param(lambda: _letter(k=7), "bad-letter", id="kind-int"),
    pytest.param(lambda: _letter(t="now"), "bad-letter", id="timestamp-str"),
    pytest.param(lambda: _letter(t=False), "bad-letter", id="timestamp-false"),
    pytest.param(lambda: _letter(r=bytes(B)), "bad-letter", id="recipients-not-a-list"),
    pytest.param(lambda: _letter(r=[]), "bad-letter", id="no-recipients"),
    pytest.param(lambda: _letter(r=[bytes(C), bytes(B)]), "bad-letter", id="unsorted"),
    pytest.param(lambda: _letter(r=[bytes(B), bytes(B)]), "bad-letter", id="duplicate"),
    pytest.param(lambda: _letter(k="Receipt"), "bad-field", id="kind-uppercase"),
    pytest.param(lambda: _letter(k=""), "bad-field", id="kind-empty"),
    pytest.param(lambda: _letter(c=["p", PROJECT]), "bad-field", id="content-array"),
    pytest.param(lambda: _letter(c={"p": PROJECT}), "bad-field", id="content-missing-field"),
    pytest.param(lambda: _letter(c={**RECEIPT, "x": 0.5}), "bad-type", id="content-float"),
    pytest.param(
        lambda: _letter(c={**RECEIPT, "x": [[[["deep"]]]]}), "too-deep", id="content-too-deep"
    ),
    pytest.param(lambda: flip(_letter(), -1), "bad-signature", id="signature-flipped"),
    pytest.param(
        lambda: signed_letter(letter_fields(A, "receipt", RECEIPT, [B, C], NOW), KEY_B),
        "bad-signature",
        id="signed-by-b",
    ),
    pytest.param(
        lambda: pair(
            pack(letter_fields(A, "receipt", RECEIPT, [B, C], NOW)),
            KEY_A.sign(pack(letter_fields(A, "receipt", RECEIPT, [B, C], NOW))),
        ),
        "bad-signature",
        id="signed-without-context",
    ),
    pytest.param(
        lambda: pair(pack(letter_fields(A, "receipt", RECEIPT, [B, C], NOW)), bytes(63)),
        "bad-letter",
        id="signature-63-bytes",
    ),
    pytest.param(lambda: codec.encode([b"\x80", None]), "bad-letter", id="signature-nil"),
    pytest.param(lambda: codec.encode([b"\x80"]), "bad-letter", id="array-of-1"),
    pytest.param(lambda: codec.encode(["payload", bytes(64)]), "bad-letter", id="payload-str"),
    pytest.param(lambda: codec.encode([b"\x80", bytes(64), None]), "malformed", id="array-of-3"),
    pytest.param(lambda: _letter() + b"\xc0", "malformed", id="trailing-byte"),
    pytest.param(lambda: b"", "malformed", id="empty"),
    pytest.param(
        lambda: signed_letter(
            {},
            KEY_A,
            payload=raw_map(
                [
                    (pack(k), pack(v))
                    for k, v in reversed(letter_fields(A, "receipt", RECEIPT, [B, C], NOW).items())
                ]
            ),
        ),
        "non-canonical",
        id="payload-keys-reversed",
    ),
    pytest.param(lambda: signed_letter({}, KEY_A, payload=pack([1, 2])), "bad-letter", id="array"),
]


@pytest.mark.parametrize(("make", "code"), LETTER_REFUSALS)
def test_read_letter_refuses(make: Callable[[], bytes], code: str) -> None:
    assert refused(lambda: sealed.read_letter(make())) == code


@pytest.mark.parametrize(("make", "code"), LETTER_REFUSALS)
def test_open_envelope_refuses_a_bad_letter_inside(make: Callable[[], bytes], code: str) -> None:
    envelope = received(resigned(base_fields(make())))  # relays accept it: it is well sealed
    assert refused(lambda: sealed.open_envelope(KEY_B, envelope)) == code


def test_read_letter_accepts_a_well_formed_letter() -> None:
    data = _letter()
    letter = sealed.read_letter(data)
    assert letter.encode() == data
    assert letter.id == EntryId.of(pack(letter_fields(A, "receipt", RECEIPT, [B, C], NOW)))
    assert (letter.author, letter.kind, letter.timestamp) == (A, "receipt", NOW)
    assert letter.recipients == (B, C)
    assert letter.content == RECEIPT


@pytest.mark.parametrize(
    "changes",
    [{"a": bytes(31)}, {"a": str(A)}, {"r": [bytes(31)]}],
    ids=["author-31-bytes", "author-as-text", "recipient-31-bytes"],
)
def test_letter_with_a_malformed_node_id_is_a_bad_letter(changes: dict[str, Any]) -> None:
    assert refused(lambda: sealed.read_letter(_letter(**changes))) == "bad-letter"


def test_letter_with_a_malformed_node_id_is_refused() -> None:
    """Whatever its code (see the test above), such a letter is refused."""
    for changes in ({"a": bytes(31)}, {"r": [bytes(31)]}):
        with pytest.raises(SealedError):
            sealed.read_letter(_letter(**changes))


VERSION_AND_KEYS: list[Callable[[], object]] = [
    lambda: sealed.read_letter(_letter(v=2, x=1)),
    lambda: sealed.read_letter(_letter_without("v")),
    lambda: received(_changed(v=2, x=1)),
    lambda: received(_without("v")),
]
VERSION_AND_KEYS_IDS = [
    "letter-v2-new-key",
    "letter-without-v",
    "envelope-v2-new-key",
    "envelope-without-v",
]


@pytest.mark.parametrize("make", VERSION_AND_KEYS, ids=VERSION_AND_KEYS_IDS)
def test_version_is_checked_before_the_key_set(make: Callable[[], object]) -> None:
    assert refused(make) == "unsupported-version"


@pytest.mark.parametrize("make", VERSION_AND_KEYS, ids=VERSION_AND_KEYS_IDS)
def test_a_payload_of_another_version_or_without_one_is_refused(
    make: Callable[[], object],
) -> None:
    """Whatever its code (see the test above), such a payload is refused."""
    with pytest.raises(SealedError):
        make()


@pytest.mark.parametrize(
    "changes",
    [{"r": sorted([bytes(A), bytes(B)])}, {"t": -1}, {"t": 2**64 - 1}],
    ids=["author-among-recipients", "timestamp-negative", "timestamp-2-to-the-64-minus-1"],
)
def test_read_letter_refuses_what_write_letter_cannot_write(changes: dict[str, Any]) -> None:
    assert refused(lambda: sealed.read_letter(_letter(**changes))) == "bad-letter"


def test_author_among_recipients_is_refused_when_opened() -> None:
    inner = _letter(r=sorted([bytes(A), bytes(B)]))
    envelope = received(resigned(envelope_fields(KEY_A, inner, [(B, 1)], label="self")))
    assert refused(lambda: sealed.open_envelope(KEY_B, envelope)) == "bad-letter"


# -- letter kinds ---------------------------------------------------------------------------

HASH = bytes(range(32))
VALID_CONTENT: dict[str, dict[str, Any]] = {
    "project": {
        "p": PROJECT,
        "title": "Our rivers",
        "themes": ["rivers"],
        "members": [[bytes(A), "member"], [bytes(B), "invited"], [bytes(C), "left"]],
        "rev": 1,
    },
    "project-join": {"p": PROJECT},
    "project-leave": {"p": PROJECT},
    "post": {
        "p": PROJECT,
        "id": POST_ID,
        "title": "Pond life",
        "body": "",
        "by": "Amira",
        "theme": "rivers",
        "images": [[HASH, "image/jpeg"]] * 6,
        "at": 0,
    },
    "comment": {
        "p": PROJECT,
        "post": POST_ID,
        "id": COMMENT_ID,
        "by": "Léa",
        "body": "Bravo",
        "at": 2**53 - 1,
    },
    "image": {
        "p": PROJECT,
        "post": POST_ID,
        "hash": HASH,
        "type": "image/jpeg",
        "data": bytes(letters.MAX_IMAGE_BYTES),
    },
    "takedown": {"p": PROJECT, "target": POST_ID, "reason": ""},
    "receipt": {"p": PROJECT, "target": COMMENT_ID},
    "interest": {
        "id": POST_ID,
        "entry": HASH,
        "title": "Shadow our deputy head",
        "message": "Could we come in March?\nThree of us.",
        "by": "Mme Durand",
    },
    "interest-answer": {
        "id": POST_ID,
        "answer": "declined",
        "message": "",
        "by": "Mr Hughes",
        "from": "2027-03-08",
        "to": "2027-03-19",
    },
    "rsvp": {"event": HASH, "answer": "maybe", "by": "M. Petit", "at": 0},
    "event": {
        "id": HASH,
        "rev": 2,
        "audience": "project",
        "p": PROJECT,
        "cancelled": True,
        "title": "Rivers day",
        "start": "2027-03-04T09:00Z",
        "end": "2027-03-04T15:00+01:00",
        "tz": "Europe/Paris",
        "where": "Online",
        "text": "",
        "capacity": 100_000,
    },
    "observation": {
        "id": COMMENT_ID,
        "observer": "Ann Baker",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": "SDP 2: oracy",
        "day": "2027-01-20",
        "strengths": [],
        "actions": ["Try no hands up", "Wait five seconds"],
        "follow_up": "2027-03-03",
    },
    "observation-unshare": {"id": COMMENT_ID},
    "booking": {
        "id": COMMENT_ID,
        "b": POST_ID,
        "start": "2027-03-04T09:00+01:00",
        "end": "2027-03-04T12:00+01:00",
        "tz": "Europe/Paris",
        "where": "Salle 12",
        "online": False,
        "note": "Bring the Year 5 books",
        "by": "Mme Durand",
    },
    "booking-accept": {"id": COMMENT_ID, "b": POST_ID, "by": "Ms Patel"},
    "partner-request": {
        "id": COMMENT_ID,
        "message": "We found you in the directory: shall we twin our Year 5 classes?",
        "by": "Ms Patel",
        "address": "https://node.oakfield.example:7700",
    },
    "partner-answer": {"id": COMMENT_ID, "answer": "accepted", "address": "http://10.0.0.7:7700"},
    "team": {"event": HASH, "at": 1, "pupils": 6, "roles": {"speaker": 2, "audience": 4}},
    "teams": {"event": HASH, "at": 1, "teams": [[HASH, 6, {"speaker": 2}]]},
    "talk": {"event": HASH, "slot": 2, "title": "Talk partners", "speaker": "Ms Patel", "at": 1},
    "talk-cancel": {"event": HASH, "slot": 2, "at": 1},
    "cluster": {"c": PROJECT, "title": "Year 6 writing", "schools": [bytes(A), bytes(B)], "rev": 1},
    "cluster-sample": {
        "c": PROJECT,
        "id": POST_ID,
        "title": "Sample A",
        "type": "application/pdf",
        "hash": HASH,
        "data": b"%PDF-1.4",
        "at": 1_790_000_000_000,
    },
    "cluster-commit": {"c": PROJECT, "sample": POST_ID, "commitment": HASH},
    "cluster-reveal": {
        "c": PROJECT,
        "sample": POST_ID,
        "grade": "Expected",
        "comment": "",
        "salt": bytes(32),
    },
}

REQUIRED: dict[str, set[str]] = {
    "project": {"p", "title", "members", "rev"},
    "project-join": {"p"},
    "project-leave": {"p"},
    "post": {"p", "id", "title", "body", "by", "at"},
    "comment": {"p", "post", "id", "by", "body", "at"},
    "image": {"p", "post", "hash", "type", "data"},
    "takedown": {"p", "target"},
    "receipt": {"p", "target"},
    "interest": {"id", "entry", "message"},
    "interest-answer": {"id", "answer"},
    "rsvp": {"event", "answer", "at"},
    "event": {"id", "rev", "audience", "title", "start", "end"},
    "observation": {
        "id",
        "observer",
        "observed",
        "focus",
        "priority",
        "day",
        "strengths",
        "actions",
        "follow_up",
    },
    "observation-unshare": {"id"},
    "booking": {"id", "b", "start", "end"},
    "booking-accept": {"id", "b"},
    "partner-request": {"id", "message"},
    "partner-answer": {"id", "answer"},
    "team": {"event", "at"},
    "teams": {"event", "at", "teams"},
    "talk": {"event", "slot", "title", "speaker", "at"},
    "talk-cancel": {"event", "slot", "at"},
    "cluster": {"c", "title", "schools", "rev"},
    "cluster-sample": {"c", "id", "title", "type", "hash", "data", "at"},
    "cluster-commit": {"c", "sample", "commitment"},
    "cluster-reveal": {"c", "sample", "grade", "comment", "salt"},
}

#: (kind, field, a value that breaks it)
BAD_VALUES: list[tuple[str, str, Any]] = [
    ("project", "p", PROJECT.upper()),
    ("project", "p", PROJECT[:31]),
    ("project", "p", bytes.fromhex(PROJECT)),
    ("project", "title", ""),
    ("project", "title", "t" * 201),
    ("project", "title", "line\rbreak"),
    ("project", "themes", "rivers"),
    ("project", "themes", ["rivers", "rivers"]),
    ("project", "members", []),
    ("project", "members", [[bytes(A), "member"]] * 65),
    ("project", "members", [[bytes(A)[:31], "member"]]),
    ("project", "members", [[str(A), "member"]]),
    ("project", "members", [[bytes(A), "owner"]]),
    ("project", "members", [[bytes(A), "member", 1]]),
    ("project", "members", [bytes(A)]),
    ("project", "rev", 0),
    ("project", "rev", 2**53),
    ("project", "rev", True),
    ("project-join", "p", "g" * 32),
    ("project-leave", "p", None),
    ("post", "id", POST_ID + "0"),
    ("post", "title", "x" * 201),
    ("post", "body", "b" * 20_001),
    ("post", "body", "bell\x07"),
    ("post", "by", ""),
    ("post", "by", "b" * 101),
    ("post", "theme", "t" * 101),
    ("post", "images", [[HASH, "image/jpeg"]] * 7),
    ("post", "images", [[HASH, "image/png"]]),
    ("post", "images", [[HASH[:31], "image/jpeg"]]),
    ("post", "images", [[HASH]]),
    ("post", "images", HASH),
    ("post", "at", -1),
    ("post", "at", "2026-09-21"),
    ("comment", "post", "x"),
    ("comment", "body", ""),
    ("comment", "body", "b" * 5_001),
    ("comment", "at", True),
    ("image", "hash", HASH[:31]),
    ("image", "hash", HASH.hex()),
    ("image", "type", "image/png"),
    ("image", "data", b""),
    ("image", "data", bytes(letters.MAX_IMAGE_BYTES + 1)),
    ("image", "data", "ffd8"),
    ("takedown", "target", None),
    ("takedown", "reason", "r" * 501),
    ("receipt", "target", POST_ID.upper()),
    ("interest", "id", "x" * 32),
    ("interest", "entry", HASH.hex()),
    ("interest", "message", ""),
    ("interest", "message", "m" * 2_001),
    ("interest", "by", "b" * 101),
    ("interest-answer", "answer", "maybe"),
    ("interest-answer", "message", "bell\x07"),
    ("interest-answer", "from", "8 March 2027"),
    ("interest-answer", "to", "2027-02-30"),
    ("rsvp", "event", HASH[:31]),
    ("rsvp", "answer", "Yes"),
    ("rsvp", "at", -1),
    ("event", "id", PROJECT),
    ("event", "rev", 0),
    ("event", "audience", "public"),
    ("event", "cancelled", 1),
    ("event", "start", "2027-03-04T09:00"),
    ("event", "capacity", 0),
    ("observation", "day", "2027-1-20"),
    ("observation", "strengths", "Generous wait time"),
    ("observation", "actions", [""]),
    ("observation", "actions", ["a"] * 11),
    ("observation-unshare", "id", None),
    ("booking", "b", "x" * 32),
    ("booking", "start", "2027-03-04T09:00"),
    ("booking", "online", 1),
    ("booking", "note", "n" * 2_001),
    ("booking-accept", "b", None),
    ("partner-request", "message", ""),
    ("partner-request", "message", "m" * 2_001),
    ("partner-request", "by", "b" * 101),
    ("partner-request", "address", "ftp://node.example"),
    ("partner-answer", "answer", "maybe"),
    ("partner-answer", "address", "http://user@node.example"),
    ("team", "event", HASH[:31]),
    ("team", "pupils", True),
    ("team", "roles", [["speaker", 2]]),
    ("team", "roles", {"speaker": "2"}),
    ("team", "roles", {"": 1}),
    ("team", "roles", {f"r{n}": 0 for n in range(9)}),
    ("team", "withdrawn", 1),
    ("teams", "teams", [[HASH, 6]]),
    ("teams", "teams", [[HASH[:31], 6, {}]]),
    ("teams", "teams", [[HASH, 6, {"speaker": -1}]]),
    ("teams", "teams", [[HASH, 1, {}]] * 201),
    ("talk", "slot", 0),
    ("talk", "slot", 101),
    ("talk", "title", ""),
    ("talk", "speaker", "s" * 101),
    ("talk-cancel", "event", HASH[:31]),
    ("talk-cancel", "slot", "2"),
    ("cluster", "schools", [bytes(A)]),  # a cluster has two schools at least
    ("cluster", "schools", [bytes(A), bytes(A)]),
    ("cluster", "schools", [bytes(A), bytes(B)[:31]]),
    ("cluster", "rev", 0),
    ("cluster-sample", "type", "image/png"),
    ("cluster-sample", "type", "text/html"),
    ("cluster-sample", "data", b""),
    ("cluster-sample", "data", bytes(letters.MAX_SAMPLE_BYTES + 1)),
    ("cluster-sample", "hash", HASH[:31]),
    ("cluster-commit", "commitment", HASH.hex()),
    ("cluster-reveal", "grade", ""),
    ("cluster-reveal", "grade", "g" * 41),
    ("cluster-reveal", "comment", "c" * 2_001),
    ("cluster-reveal", "salt", bytes(31)),
]


def test_every_kind_is_covered() -> None:
    assert set(VALID_CONTENT) == set(REQUIRED) == set(letters.SCHEMAS)
    for kind, fields in letters.SCHEMAS.items():
        assert {f.name for f in fields if f.required} == REQUIRED[kind], kind
    assert {kind for kind, _, _ in BAD_VALUES} == set(letters.SCHEMAS)


@pytest.mark.parametrize("kind", sorted(VALID_CONTENT))
def test_valid_content_of_each_kind_is_sealed_and_read(kind: str) -> None:
    letter = write(kind=kind, content=VALID_CONTENT[kind])
    opened = sealed.open_envelope(KEY_C, received(seal(letter).encode()))
    assert opened.kind == kind
    assert opened.content == VALID_CONTENT[kind]


@pytest.mark.parametrize(
    ("kind", "name"), sorted((k, n) for k, names in REQUIRED.items() for n in names)
)
def test_a_missing_required_field_is_named(kind: str, name: str) -> None:
    content = {k: v for k, v in VALID_CONTENT[kind].items() if k != name}
    with pytest.raises(SchemaError) as caught:
        letters.validate(kind, content)
    assert caught.value.field == name
    assert name in str(caught.value)
    with pytest.raises(SchemaError) as written:
        write(kind=kind, content=content)
    assert written.value.field == name
    envelope = received(resigned(base_fields(_letter(k=kind, c=content))))
    with pytest.raises(SchemaError) as opened:
        sealed.open_envelope(KEY_B, envelope)
    assert opened.value.field == name
    assert opened.value.code == "bad-field"


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    BAD_VALUES,
    ids=[f"{k}-{n}-{i}" for i, (k, n, _) in enumerate(BAD_VALUES)],
)
def test_a_bad_field_value_is_named(kind: str, name: str, value: Any) -> None:
    content = {**VALID_CONTENT[kind], name: value}
    with pytest.raises(SchemaError) as caught:
        letters.validate(kind, content)
    assert caught.value.field == name
    assert caught.value.code == "bad-field"


def test_fields_a_kind_does_not_define_are_kept() -> None:
    content = {**VALID_CONTENT["receipt"], "x-note": "kept", "x-bin": b"\x00"}
    opened = sealed.open_envelope(KEY_B, received(seal(write(content=content)).encode()))
    assert opened.content == content


def test_unknown_kinds_need_only_a_map() -> None:
    letters.validate("poll", {})
    letters.validate("poll", {"anything": [1, "two", b"3", None, True, {"x": -1}]})
    for content in ("text", [1], None, b"map"):
        with pytest.raises(SchemaError) as caught:
            letters.validate("poll", content)
        assert caught.value.field == "content"


@pytest.mark.parametrize("kind", ["", "Post", "post!", "1post", "-post", "p" * 33, "post kind"])
def test_kind_names_are_checked(kind: str) -> None:
    with pytest.raises(SchemaError) as caught:
        letters.validate(kind, {})
    assert caught.value.field == "k"


def test_local_ids_and_digests() -> None:
    assert letters.local_id(PROJECT) is None
    assert letters.local_id(PROJECT + "\n") is not None
    assert letters.local_id(1) is not None
    assert letters.digest(HASH) is None
    assert letters.digest(bytearray(HASH)) is not None


# -- mail frames --------------------------------------------------------------------------

MARK = [bytes(A), bytes(B), 3]

MAIL_SAMPLES: list[frames.Frame] = [
    frames.MailClock([MARK, [bytes(C), bytes(A), 0]], final=False),
    frames.MailClock([]),
    frames.Mail(1, [b"\x92\xc4\x00\xc4\x00"]),
    frames.Mail(2, []),
    frames.MailAck(1, [MARK]),
    frames.MailAck(0, []),
]


@pytest.mark.parametrize("frame", MAIL_SAMPLES, ids=lambda f: f.TYPE)
def test_mail_frames_round_trip(frame: frames.Frame) -> None:
    assert frames.decode(frames.encode(frame)) == frame


def test_mail_frames_are_encoded_as_specified() -> None:
    assert frames.encode(frames.MailClock([MARK])) == codec.encode(
        {"final": True, "marks": [MARK], "t": "mail-clock", "v": 1}
    )
    assert frames.encode(frames.Mail(4, [b"e"])) == codec.encode(
        {"batch": 4, "envelopes": [b"e"], "t": "mail", "v": 1}
    )
    assert frames.encode(frames.MailAck(4, [MARK])) == codec.encode(
        {"batch": 4, "marks": [MARK], "t": "mail-ack", "v": 1}
    )


def test_a_real_envelope_travels_in_a_mail_frame() -> None:
    data = seal(write(recipients=(B, C, D))).encode()
    frame = frames.decode(frames.encode(frames.Mail(9, [data, data])))
    assert isinstance(frame, frames.Mail)
    assert received(frame.envelopes[1]).encode() == data


@pytest.mark.parametrize(
    "body",
    [
        {"t": "mail-clock", "v": 1},
        {"t": "mail-clock", "v": 1, "marks": "none"},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), bytes(B)]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), bytes(B), 1, 2]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(31), bytes(B), 1]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), str(B), 1]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), bytes(B), -1]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), bytes(B), True]]},
        {"t": "mail-clock", "v": 1, "marks": [[bytes(A), bytes(B), None]]},
        {"t": "mail-clock", "v": 1, "marks": [bytes(A)]},
        {"t": "mail-clock", "v": 1, "marks": [], "final": 1},
        {"t": "mail", "v": 1, "envelopes": []},
        {"t": "mail", "v": 1, "batch": 1},
        {"t": "mail", "v": 1, "batch": -1, "envelopes": []},
        {"t": "mail", "v": 1, "batch": False, "envelopes": []},
        {"t": "mail", "v": 1, "batch": 1, "envelopes": ["text"]},
        {"t": "mail", "v": 1, "batch": 1, "envelopes": [None]},
        {"t": "mail", "v": 1, "batch": 1, "envelopes": b"one"},
        {"t": "mail", "v": 1, "batch": 1, "envelopes": [b""] * 65},
        {"t": "mail-ack", "v": 1, "batch": 1},
        {"t": "mail-ack", "v": 1, "marks": []},
        {"t": "mail-ack", "v": 1, "batch": 1, "marks": [[bytes(A), bytes(B), 1, 1]]},
        {"t": "mail-ack", "v": 1, "batch": "1", "marks": []},
        {"t": "mailclock", "v": 1, "marks": []},
    ],
)
def test_bad_mail_frames_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode(body))
    assert caught.value.code == "bad-frame"


def test_a_float_in_a_mark_is_a_bad_type() -> None:
    body = {"batch": 1, "marks": [[bytes(A), bytes(B), 1.0]], "t": "mail-ack", "v": 1}
    with pytest.raises(DecodeError) as caught:
        frames.decode(pack(body))
    assert caught.value.code == "bad-type"


def test_mail_frame_version_and_size() -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode({"t": "mail", "v": 2, "batch": 1, "envelopes": []}))
    assert caught.value.code == "unsupported-version"
    over = codec.encode(
        {"batch": 1, "envelopes": [bytes(frames.MAX_FRAME_BYTES)], "t": "mail", "v": 1}
    )
    with pytest.raises(DecodeError) as too_large:
        frames.decode(over)
    assert too_large.value.code == "too-large"
    # 64 envelopes of 16 KiB fit; one frame holds at most 64.
    full = frames.Mail(1, [bytes(16_000)] * frames.MAX_MAIL_ENVELOPES)
    assert frames.decode(frames.encode(full)) == full


def test_frames_carry_envelopes_unchanged() -> None:
    """A relay hands on the bytes it received: a mail frame neither re-encodes nor checks them."""
    data = resigned(base_fields())
    tampered = flip(data, len(data) // 2)
    frame = frames.decode(frames.encode(frames.Mail(1, [tampered])))
    assert isinstance(frame, frames.Mail)
    assert frame.envelopes == [tampered]


def test_sealed_error_codes() -> None:
    assert SealedError("x").code == "bad-envelope"
    assert SealedError("x", code="not-for-us").code == "not-for-us"
    assert issubclass(SealedError, ProtocolError)
