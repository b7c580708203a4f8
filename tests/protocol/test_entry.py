"""Entries: build, sign, verify; every single-byte change is caught."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.entry import EPOCH_MS, MAX_CLOCK_SKEW_MS, Payload, create_entry, decode_entry
from protocol.errors import (
    FutureTimestamp,
    InvalidEntry,
    PastTimestamp,
    ProtocolError,
    SchemaError,
)
from protocol.keys import EntryId, NodeId, content_hash
from tests.helpers import NOW, chain, key, offer_content

SIGNER = key(1)


def make(kind: str = "offer", content: dict[str, Any] | None = None, **kw: Any) -> bytes:
    fields: dict[str, Any] = {"seq": 1, "prev": None, "timestamp": NOW}
    fields.update(kw)
    entry = create_entry(SIGNER, kind=kind, content=content or offer_content(), **fields)
    return entry.encode()


def test_round_trip_keeps_bytes_and_meaning() -> None:
    data = make()
    entry = decode_entry(data, now_ms=NOW)
    assert entry.encode() == data
    assert entry.author == SIGNER.node_id
    assert entry.content == offer_content()
    assert entry.id == EntryId.of(entry.payload_bytes)


def test_envelope_is_small() -> None:
    second = chain(SIGNER, 2)[1]
    assert len(second.payload_bytes) <= 150


def test_flipping_any_byte_fails_verification() -> None:
    data = make()
    for i in range(len(data)):
        for flip in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[i] ^= flip
            with pytest.raises(ProtocolError):
                decode_entry(bytes(tampered), now_ms=NOW)


@settings(max_examples=200)
@given(st.data())
def test_random_corruption_never_verifies(data: st.DataObject) -> None:
    original = make()
    index = data.draw(st.integers(0, len(original) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != original[index]))
    corrupted = original[:index] + bytes([value]) + original[index + 1 :]
    with pytest.raises(ProtocolError):
        decode_entry(corrupted, now_ms=NOW)


def test_erased_content_still_verifies() -> None:
    entry = decode_entry(make(), now_ms=NOW)
    erased = decode_entry(entry.without_content().encode(), now_ms=NOW)
    assert erased.content is None
    assert erased.id == entry.id


def test_signature_by_another_key_refused() -> None:
    entry = decode_entry(make(), now_ms=NOW)
    forged = codec.encode([entry.payload_bytes, key(2).sign(entry.payload_bytes), None])
    with pytest.raises(InvalidEntry) as caught:
        decode_entry(forged, now_ms=NOW)
    assert caught.value.code == "bad-signature"


def test_other_content_with_valid_signature_refused() -> None:
    entry = decode_entry(make(), now_ms=NOW)
    other = codec.encode(offer_content("Something else"))
    with pytest.raises(InvalidEntry) as caught:
        decode_entry(codec.encode([entry.payload_bytes, entry.signature, other]), now_ms=NOW)
    assert caught.value.code == "bad-content-hash"


def _signed_at(timestamp: int) -> bytes:
    """An offer signed at ``timestamp`` without create_entry's own check."""
    content = codec.encode(offer_content())
    payload = Payload(SIGNER.node_id, 1, None, timestamp, "offer", content_hash(content))
    payload_bytes = payload.encode()
    return codec.encode([payload_bytes, SIGNER.sign(payload_bytes), content])


@pytest.mark.parametrize(
    ("timestamp", "refused"),
    [
        (0, True),  # 1970
        (EPOCH_MS - 1, True),  # one millisecond before the epoch
        (EPOCH_MS, False),  # the epoch itself
        (EPOCH_MS + 1, False),
    ],
)
def test_timestamps_before_the_epoch_are_refused(timestamp: int, refused: bool) -> None:
    if not refused:
        decode_entry(_signed_at(timestamp), now_ms=NOW)
        decode_entry(make(timestamp=timestamp), now_ms=NOW)
        return
    with pytest.raises(PastTimestamp) as caught:
        decode_entry(_signed_at(timestamp), now_ms=NOW)
    assert caught.value.code == "before-epoch"
    with pytest.raises(PastTimestamp, match="clock is wrong"):  # nor signed
        make(timestamp=timestamp)


def test_future_timestamp_refused_but_small_skew_allowed() -> None:
    decode_entry(make(timestamp=NOW + MAX_CLOCK_SKEW_MS), now_ms=NOW)
    with pytest.raises(FutureTimestamp):
        decode_entry(make(timestamp=NOW + MAX_CLOCK_SKEW_MS + 1), now_ms=NOW)


@pytest.mark.parametrize(
    ("kind", "content", "field"),
    [
        ("offer", {"title": "No activity"}, "activity"),
        ("offer", {"activity": "observation"}, "title"),
        ("offer", {"activity": "juggling", "title": "t"}, "activity"),
        ("offer", {"activity": "visit", "title": ""}, "title"),
        ("offer", {"activity": "visit", "title": "t", "phases": ["college"]}, "phases"),
        ("offer", {"activity": "visit", "title": "t", "from": "2027-02-30"}, "from"),
        (
            "offer",
            {"activity": "visit", "title": "t", "from": "2027-03-02", "to": "2027-03-01"},
            "to",
        ),
        ("offer", {"activity": "visit", "title": "t", "capacity": 0}, "capacity"),
        ("offer", {"activity": "visit", "title": "t", "languages": ["French"]}, "languages"),
        ("offer", {"activity": "visit", "title": "t", "focus": ["a", "a"]}, "focus"),
        ("offer", {"activity": "visit", "title": "t", "ages": [11, 7]}, "ages"),
        ("offer", {"activity": "visit", "title": "bell\x07"}, "title"),
        ("request", {"activity": "visit", "title": "t", "mode": "carrier pigeon"}, "mode"),
        ("profile", {"name": "Oakfield"}, "country"),
        ("profile", {"name": "Oakfield", "country": "UK"}, "country"),
        ("profile", {"name": "Oakfield", "country": "GB", "url": "ftp://x"}, "url"),
        (
            "event",
            {"title": "INSET", "start": "2027-01-04T09:00", "end": "2027-01-04T15:00"},
            "start",
        ),
        (
            "event",
            {"title": "INSET", "start": "2027-01-04T09:00Z", "end": "2027-01-04T08:00Z"},
            "end",
        ),
        ("withdraw", {"target": b"short"}, "target"),
    ],
)
def test_schema_errors_name_the_field(kind: str, content: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaError) as caught:
        make(kind=kind, content=content)
    assert caught.value.field == field


def test_schema_checked_on_receipt_too() -> None:
    """A well-signed entry with invalid content (another implementation's bug) is refused."""
    content = codec.encode({"activity": "observation"})
    payload = Payload(SIGNER.node_id, 1, None, NOW, "offer", content_hash(content)).encode()
    data = codec.encode([payload, SIGNER.sign(payload), content])
    with pytest.raises(SchemaError) as caught:
        decode_entry(data, now_ms=NOW)
    assert caught.value.field == "title"


def test_unknown_fields_and_kinds_are_relayed() -> None:
    decode_entry(make(content={**offer_content(), "x-newer-field": 1}), now_ms=NOW)
    entry = decode_entry(make(kind="endorsement", content={"anything": [1, 2]}), now_ms=NOW)
    assert entry.kind == "endorsement"


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"seq": 0}, "s"), ({"seq": 2, "prev": None}, "p"), ({"timestamp": -1}, "t")],
)
def test_payload_rules(fields: dict[str, Any], field: str) -> None:
    if "prev" not in fields and fields.get("seq", 1) == 1:
        fields["prev"] = None
    with pytest.raises(SchemaError) as caught:
        make(**fields)
    assert caught.value.field == field


def test_first_entry_cannot_have_prev() -> None:
    with pytest.raises(SchemaError):
        make(seq=1, prev=EntryId(bytes(32)))


def test_node_id_text_form() -> None:
    node_id = SIGNER.node_id
    assert len(str(node_id)) == 43
    assert NodeId.parse(str(node_id)) == node_id
    assert len(node_id.fingerprint) == 19


def test_entries_built_by_their_slots_are_the_entries_the_constructors_build() -> None:
    """decode_entry, entry_from_checked and load_entry build Payload and Entry by their
    slots (protocol/entry.py, for speed): every field is set, the id is the payload's
    hash, and the objects are equal, hash alike and stay frozen."""
    from dataclasses import FrozenInstanceError, fields

    from protocol.entry import Entry, entry_from_checked, load_entry

    for seq, prev in ((1, None), (2, EntryId(bytes(range(32))))):
        data = make(seq=seq, prev=prev)
        built = create_entry(
            SIGNER, seq=seq, prev=prev, timestamp=NOW, kind="offer", content=offer_content()
        )
        expected = Entry(
            built.payload, built.payload_bytes, built.signature, built.content_bytes, built.content
        )
        for entry in (
            decode_entry(data, now_ms=NOW),
            entry_from_checked(data),
            load_entry(built.payload_bytes, built.signature, built.content_bytes),
        ):
            assert entry == expected
            assert hash(entry.id) == hash(expected.id)
            assert entry.payload == expected.payload
            assert hash(entry.payload) == hash(expected.payload)
            for field in fields(Payload):
                assert getattr(entry.payload, field.name) == getattr(expected.payload, field.name)
            assert entry.id == EntryId.of(entry.payload_bytes)
            with pytest.raises(FrozenInstanceError):
                entry.payload.seq = 9  # type: ignore[misc]


def test_ids_compare_and_hash_by_their_bytes_only() -> None:
    one, same, other = NodeId(bytes(32)), NodeId(bytes(32)), NodeId(bytes([1]) * 32)
    assert one == same
    assert hash(one) == hash(same)
    assert one != other
    assert one != bytes(32)
    assert bytes(32) != one
    assert EntryId(bytes(32)) != one  # an entry id is not a node id of the same bytes
    assert EntryId.of(b"x") == EntryId.of(b"x") != EntryId.of(b"y")
    assert {one: "a"}[same] == "a"


def test_a_payload_of_another_shape_gets_the_full_decoders_error() -> None:
    """The fast path of decode_payload takes only the one valid shape; unsorted keys,
    a missing key or a boolean still get the error the full decoder gives."""
    from protocol.entry import decode_payload
    from protocol.errors import DecodeError

    payload = create_entry(
        SIGNER, seq=1, prev=None, timestamp=NOW, kind="offer", content=offer_content()
    ).payload
    fields_ = {
        "a": bytes(payload.author),
        "h": payload.content_hash,
        "k": "offer",
        "p": None,
        "s": 1,
        "t": NOW,
        "v": 1,
    }
    unsorted = msgpack_packb(dict(reversed(list(fields_.items()))))
    with pytest.raises(DecodeError) as caught:
        decode_payload(unsorted)
    assert caught.value.code == "non-canonical"
    with pytest.raises(SchemaError) as missing:
        decode_payload(codec.encode({k: v for k, v in fields_.items() if k != "k"}))
    assert "missing keys ['k']" in str(missing.value)
    with pytest.raises(SchemaError) as boolean:
        decode_payload(codec.encode({**fields_, "s": True}))
    assert boolean.value.field == "s"


def msgpack_packb(value: Any) -> bytes:
    import msgpack

    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed
