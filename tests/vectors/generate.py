"""(Re)generate ``tests/vectors/entries.json``, the known-answer corpus of entries.

Run ``python tests/vectors/generate.py`` to rewrite the file, or add ``--check`` to
only compare it with what this script produces (exit status 1 when they differ).
The output depends on nothing but the fixed seeds and timestamps below, so running
the script again yields the identical file; tests/protocol/test_vectors.py checks
that it does.

The corpus (described in docs/protocol.md, "Test vectors"):

* ``valid``: entries built with :func:`protocol.entry.create_entry` from a key seed
  and inputs, with every expected byte string. Content is given as JSON, where a
  msgpack bin value is written as the object ``{"$bin": "<lowercase hex>"}`` (no
  content in this corpus has a map whose only key is ``"$bin"``);
* ``invalid``: entries that :func:`protocol.entry.decode_entry` must refuse, each
  with the ``code`` of the ProtocolError it raises. Each breaks one rule only,
  unless its ``reason`` says otherwise; where a rule is checked after the
  signature, the payload is correctly signed, and where it is checked after the
  content hash, the hash matches;
* ``refused_when_stored``: entries that decode but that a receiver refuses to
  store (protocol/rules/entries.py), each with its ``code``.

Only the protocol package is used to build entries; invalid ones are crafted from
raw msgpack where the protocol's own encoder cannot express them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import codec
from protocol.entry import (
    ENTRY_LIMITS,
    ENTRY_VERSION,
    EPOCH_MS,
    MAX_CLOCK_SKEW_MS,
    PAYLOAD_LIMITS,
    Entry,
    create_entry,
    decode_entry,
)
from protocol.errors import ProtocolError
from protocol.keys import NodeKey, content_hash
from protocol.rules import entries as rules

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import from_json as from_json
from tests.vectors.common import pack as pack
from tests.vectors.common import raw_map as raw_map
from tests.vectors.common import render as render
from tests.vectors.common import to_json as to_json
from tests.vectors.common import write_or_check

VECTORS_PATH = Path(__file__).with_name("entries.json")
FORMAT = "schoolmesh-entry-vectors/1"

#: The receiver's clock for every vector unless a vector says otherwise (2026-09-21).
NOW_MS = 1_790_000_000_000

#: Key seeds of RFC 8032 section 7.1, tests 1 and 2, so that the node ids (the
#: public keys) can be checked against the RFC.
SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
KEY_A = NodeKey(SEED_A)
KEY_B = NodeKey(SEED_B)


# -- valid vectors -------------------------------------------------------------------


@dataclass(frozen=True)
class ValidSpec:
    name: str
    description: str
    key: NodeKey
    seq: int
    prev: str | None  # name of the vector whose id is prev
    timestamp: int
    kind: str
    content: dict[str, Any]
    worked: bool = False
    erased: bool = False
    now_ms: int = NOW_MS
    target: str | None = None  # withdraw: name of the vector whose id is the target
    keep: str | None = None  # continue: name of the vector whose id is the kept entry
    question: str | None = None  # answer: name of the vector whose id is the question
    answer: str | None = None  # helpful: name of the vector whose id is the answer


def _valid_specs() -> list[ValidSpec]:
    return [
        ValidSpec(
            name="profile-oakfield",
            description="A school's profile: the first entry (seq 1, prev nil) of author A.",
            key=KEY_A,
            seq=1,
            prev=None,
            timestamp=1_789_990_000_000,
            kind="profile",
            content={
                "name": "Oakfield Primary School",
                "country": "GB",
                "region": "West Yorkshire",
                "url": "https://oakfield.example.org/",
                "languages": ["en"],
                "phases": ["primary"],
            },
            worked=True,
        ),
        ValidSpec(
            name="offer-observation",
            description="An offer, author A's second entry: prev is the id of profile-oakfield.",
            key=KEY_A,
            seq=2,
            prev="profile-oakfield",
            timestamp=1_789_990_600_000,
            kind="offer",
            content={
                "activity": "observation",
                "title": "Year 5 maths mastery lessons",
                "focus": ["maths-mastery", "questioning"],
                "phases": ["primary"],
                "ages": [9, 10],
                "mode": "in-person",
                "from": "2026-10-05",
                "to": "2026-12-11",
                "capacity": 6,
            },
            worked=True,
        ),
        ValidSpec(
            name="withdraw-offer",
            description=(
                "Author A withdraws its offer: target is the id of offer-observation, "
                "carried as a 32-byte msgpack bin."
            ),
            key=KEY_A,
            seq=3,
            prev="offer-observation",
            timestamp=1_789_994_200_000,
            kind="withdraw",
            content={"reason": "All places are taken"},
            target="offer-observation",
            worked=True,
        ),
        ValidSpec(
            name="request-shadowing",
            description="A request with non-ASCII text, the first entry of author B.",
            key=KEY_B,
            seq=1,
            prev=None,
            timestamp=1_789_995_000_000,
            kind="request",
            content={
                "activity": "shadowing",
                "title": "Accueillir une directrice adjointe pendant une semaine",
                "text": "Nous cherchons une école partenaire en Angleterre.",
                "focus": ["leadership"],
                "country": "FR",
                "languages": ["fr", "en"],
                "mode": "either",
            },
        ),
        ValidSpec(
            name="event-teachmeet",
            description="A public event, author B's second entry.",
            key=KEY_B,
            seq=2,
            prev="request-shadowing",
            timestamp=1_789_996_000_000,
            kind="event",
            content={
                "title": "TeachMeet: oracy across the curriculum",
                "start": "2026-11-12T16:00+01:00",
                "end": "2026-11-12T18:00+01:00",
                "tz": "Europe/Paris",
                "where": "Online",
                "audience": "public",
                "capacity": 120,
            },
        ),
        ValidSpec(
            name="event-utc-offsets",
            description=(
                "An event whose start is written with seconds and Z and whose end with "
                "the offset -03:00: the end (16:00Z) is after the start (15:30Z) although "
                "its clock time reads earlier. Author A's fourth entry."
            ),
            key=KEY_A,
            seq=4,
            prev="withdraw-offer",
            timestamp=1_789_998_000_000,
            kind="event",
            content={
                "title": "Moderation afternoon: Key Stage 2 writing",
                "start": "2026-11-19T15:30:00Z",
                "end": "2026-11-19T13:00-03:00",
                "where": "Oakfield Primary School",
                "audience": "public",
            },
        ),
        ValidSpec(
            name="unknown-kind-endorsement",
            description=(
                "A kind this version does not know: relayed unchecked (its content "
                "only has to be a canonical msgpack map within the content limits)."
            ),
            key=KEY_B,
            seq=3,
            prev="event-teachmeet",
            timestamp=1_789_997_000_000,
            kind="endorsement",
            content={
                "subject": bytes(KEY_A.node_id),
                "statement": "Member of the Northern Maths Hub",
                "level": -3,
            },
        ),
        ValidSpec(
            name="offer-unknown-fields",
            description=(
                "An offer with fields its kind does not define, one nested to the "
                "depth limit (4): they are kept and ignored. The timestamp is exactly "
                "MAX_CLOCK_SKEW_MS ahead of now_ms, the latest a receiver accepts."
            ),
            key=KEY_B,
            seq=4,
            prev="unknown-kind-endorsement",
            timestamp=NOW_MS + MAX_CLOCK_SKEW_MS,
            kind="offer",
            content={
                "activity": "lesson-study",
                "title": "Lesson study cycle on fractions",
                "x-plan": {"weeks": [["plan", "teach", "review"], []]},
                "x-flag": True,
                "x-none": None,
            },
        ),
        ValidSpec(
            name="offer-erased",
            description=(
                "offer-observation after its content was erased: the wire form carries "
                "nil instead of the content bytes, and the signed payload still verifies."
            ),
            key=KEY_A,
            seq=2,
            prev="profile-oakfield",
            timestamp=1_789_990_600_000,
            kind="offer",
            content={
                "activity": "observation",
                "title": "Year 5 maths mastery lessons",
                "focus": ["maths-mastery", "questioning"],
                "phases": ["primary"],
                "ages": [9, 10],
                "mode": "in-person",
                "from": "2026-10-05",
                "to": "2026-12-11",
                "capacity": 6,
            },
            erased=True,
        ),
        ValidSpec(
            name="continue-after-fork",
            description=(
                'Author A ends a fork of its log (docs/protocol.md, "Continuation after a '
                "fork\"): its branches differ from entry 3, the kept branch's entry 3 is "
                "withdraw-offer (also the kept branch's head, so prev names it), and the "
                "dropped branch reached entry 4, so the continuation is numbered 5."
            ),
            key=KEY_A,
            seq=5,
            prev="withdraw-offer",
            timestamp=1_789_998_000_000,
            kind="continue",
            content={"fork": 3},
            keep="withdraw-offer",
            worked=True,
        ),
        ValidSpec(
            name="question-guided-reading",
            description=(
                "A question to the network, author B's fifth entry, its text on two "
                "lines (a new line is the only control character text may hold, with tab)."
            ),
            key=KEY_B,
            seq=5,
            prev="offer-unknown-fields",
            timestamp=1_789_999_000_000,
            kind="question",
            content={
                "title": "Guided reading with mixed-age classes?",
                "text": "We have Years 3 and 4 together.\nHow do you group them?",
                "focus": ["reading"],
                "phases": ["primary"],
                "languages": ["en", "fr"],
            },
        ),
        ValidSpec(
            name="answer-guided-reading",
            description=(
                "Author A answers it: question is the id of question-guided-reading, a "
                "32-byte msgpack bin; by is the colleague's name, given by choice."
            ),
            key=KEY_A,
            seq=6,
            prev="continue-after-fork",
            timestamp=1_789_999_100_000,
            kind="answer",
            content={"text": "Par niveau de lecture, pas par âge.", "by": "Amélie"},
            question="question-guided-reading",
        ),
        ValidSpec(
            name="helpful-answer",
            description=(
                "Author B, which asked, marks the answer helpful: answer is the id of "
                "answer-guided-reading."
            ),
            key=KEY_B,
            seq=6,
            prev="question-guided-reading",
            timestamp=1_789_999_200_000,
            kind="helpful",
            content={},
            answer="answer-guided-reading",
        ),
    ]


def _build_valid() -> tuple[list[dict[str, Any]], dict[str, Entry]]:
    built: dict[str, Entry] = {}
    vectors: list[dict[str, Any]] = []
    for spec in _valid_specs():
        content = dict(spec.content)
        if spec.target is not None:
            content["target"] = bytes(built[spec.target].id)
        if spec.keep is not None:
            content["keep"] = bytes(built[spec.keep].id)
        if spec.question is not None:
            content["question"] = bytes(built[spec.question].id)
        if spec.answer is not None:
            content["answer"] = bytes(built[spec.answer].id)
        entry = create_entry(
            spec.key,
            seq=spec.seq,
            prev=None if spec.prev is None else built[spec.prev].id,
            timestamp=spec.timestamp,
            kind=spec.kind,
            content=content,
        )
        wire = entry.without_content().encode() if spec.erased else entry.encode()
        decode_entry(wire, now_ms=spec.now_ms)  # fails loudly if the vector is not valid
        built[spec.name] = entry
        node_id = spec.key.node_id
        vectors.append(
            {
                "name": spec.name,
                "description": spec.description,
                "worked": spec.worked,
                "seed_hex": spec.key.seed.hex(),
                "public_key_hex": bytes(node_id).hex(),
                "node_id": str(node_id),
                "fingerprint": node_id.fingerprint,
                "now_ms": spec.now_ms,
                "input": {
                    "seq": spec.seq,
                    "prev_hex": None if entry.payload.prev is None else str(entry.payload.prev),
                    "timestamp_ms": spec.timestamp,
                    "kind": spec.kind,
                    "content": to_json(content),
                    "erased": spec.erased,
                },
                "expected": {
                    "content_hex": None if spec.erased else _hex(entry.content_bytes),
                    "content_hash_hex": entry.payload.content_hash.hex(),
                    "payload_hex": entry.payload_bytes.hex(),
                    "signature_hex": entry.signature.hex(),
                    "entry_hex": wire.hex(),
                    "id_hex": str(entry.id),
                },
            }
        )
    return vectors, built


def _hex(data: bytes | None) -> str:
    assert data is not None
    return data.hex()


# -- raw msgpack for hand-crafted invalid entries ---------------------------------------


def payload_fields(key: NodeKey, content_bytes: bytes) -> dict[str, Any]:
    """A valid first offer's payload map (keys in canonical order), to be changed."""
    return {
        "a": bytes(key.node_id),
        "h": content_hash(content_bytes),
        "k": "offer",
        "p": None,
        "s": 1,
        "t": NOW_MS - 60_000,
        "v": ENTRY_VERSION,
    }


def raw_payload(fields: dict[str, Any], raw: dict[str, bytes] | None = None) -> bytes:
    """The payload map with keys in the given order and values encoded by ``pack``,
    except those in ``raw``, which are used as given."""
    raw = raw or {}
    return raw_map(
        [(pack(name), raw[name] if name in raw else pack(value)) for name, value in fields.items()]
    )


def wire(payload: bytes, signature: bytes, content: bytes | None) -> bytes:
    """The canonical entry array around the given parts."""
    return codec.encode([payload, signature, content])


def signed(
    content_bytes: bytes,
    *,
    key: NodeKey = KEY_A,
    signer: NodeKey | None = None,
    raw: dict[str, bytes] | None = None,
    **fields: Any,
) -> bytes:
    """A correctly signed entry (by ``signer``, default ``key``) around ``content_bytes``.

    ``fields`` override payload values by key (``a h k p s t v``) or add keys;
    ``raw`` gives the exact encoded bytes of some payload values.
    """
    payload_map = payload_fields(key, content_bytes)
    for name, value in fields.items():
        if len(name) != 1:
            raise TypeError(f"payload keys are single letters, not {name!r}")
        payload_map[name] = value
    payload = raw_payload(payload_map, raw)
    return wire(payload, (signer or key).sign(payload), content_bytes)


OFFER = {"activity": "observation", "title": "Year 5 maths mastery lessons"}
OFFER_BYTES = codec.encode(OFFER)


@dataclass(frozen=True)
class InvalidSpec:
    name: str
    code: str
    reason: str
    data: Callable[[], bytes]
    now_ms: int = NOW_MS


def _flip_bit(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def _good_offer() -> Entry:
    return create_entry(
        KEY_A, seq=1, prev=None, timestamp=NOW_MS - 60_000, kind="offer", content=OFFER
    )


def _flipped_signature() -> bytes:
    entry = _good_offer()
    return wire(entry.payload_bytes, _flip_bit(entry.signature, 0), entry.content_bytes)


def _tampered_content() -> bytes:
    entry = _good_offer()
    tampered = codec.encode({**OFFER, "title": "Year 6 maths mastery lessons"})
    return wire(entry.payload_bytes, entry.signature, tampered)


def _prefixed_signature() -> bytes:
    entry = _good_offer()
    return wire(entry.payload_bytes, KEY_A.sign(b"schoolmesh" + entry.payload_bytes), OFFER_BYTES)


def _short_signature() -> bytes:
    entry = _good_offer()
    return wire(entry.payload_bytes, entry.signature[:63], entry.content_bytes)


def _unsorted_payload() -> bytes:
    fields = payload_fields(KEY_A, OFFER_BYTES)
    reordered = {name: fields[name] for name in "vtskpha"}
    payload = raw_payload(reordered)
    return wire(payload, KEY_A.sign(payload), OFFER_BYTES)


def _payload_too_large() -> bytes:
    fields = payload_fields(KEY_A, OFFER_BYTES)
    payload = _grow(lambda size: raw_payload({**fields, "x": bytes(size)}), PAYLOAD_LIMITS)
    return wire(payload, KEY_A.sign(payload), OFFER_BYTES)


def _grow(make: Callable[[int], bytes], limits: codec.Limits) -> bytes:
    """``make(size)`` for the size that makes it exactly one byte over ``limits``."""
    target = limits.max_bytes + 1
    size = 0
    for _ in range(10):
        data = make(size)
        if len(data) == target:
            return data
        size += target - len(data)
    raise RuntimeError(f"no size gives exactly {target} bytes")


def _entry_too_large() -> bytes:
    # The largest valid entry is far below the entry limit, so an entry over it must
    # also break another limit: here its content bin is over ENTRY_LIMITS.max_bin.
    return _grow(lambda size: signed(codec.encode({"x": bytes(size)})), ENTRY_LIMITS)


def _too_deep() -> bytes:
    return signed(pack({**OFFER, "x-plan": {"weeks": [[["plan"]]]}}))


def _too_many_items() -> bytes:
    content = codec.encode({**OFFER, **{f"x{i:02}": i for i in range(63)}})
    return signed(content)


def _content(content: dict[str, Any], kind: str) -> Callable[[], bytes]:
    return lambda: signed(codec.encode(content), k=kind)


#: Spellings of 2027-03-04T09:00Z (or of 09:00 at +01:00) that ISO 8601 or common
#: parsers allow but a date-time does not: (name, start, what is wrong).
_EVENT_STARTS = (
    ("basic-format", "20270304T0900Z", "the ISO 8601 basic format, without - and :"),
    ("space-separator", "2027-03-04 09:00Z", "a space instead of T"),
    ("hour-only", "2027-03-04T09Z", "hours without minutes"),
    ("fraction-of-second", "2027-03-04T09:00:00.5Z", "a fraction of a second"),
    ("offset-without-colon", "2027-03-04T09:00+0100", "an offset without its colon"),
    ("lowercase-z", "2027-03-04T09:00z", "a lowercase z"),
    ("week-date", "2027-W09-4T09:00Z", "an ISO week date"),
)


def _event_start_vectors() -> list[InvalidSpec]:
    return [
        InvalidSpec(
            f"event-start-{name}",
            "bad-field",
            f"An event whose start is '{start}', written with {problem}; a date-time is "
            "exactly YYYY-MM-DDThh:mm, optionally :ss, then Z, +hh:mm or -hh:mm.",
            _content(
                {"title": "TeachMeet", "start": start, "end": "2027-03-04T17:00Z"},
                "event",
            ),
        )
        for name, start, problem in _EVENT_STARTS
    ]


def _invalid_specs() -> list[InvalidSpec]:
    offer_id = bytes(_good_offer().id)
    return [
        # -- signature ----------------------------------------------------------------
        InvalidSpec(
            "signature-bit-flipped",
            "bad-signature",
            "The lowest bit of the signature's first byte is flipped.",
            _flipped_signature,
        ),
        InvalidSpec(
            "signature-wrong-author",
            "bad-signature",
            "The payload names author B, but the signature was made with A's key.",
            lambda: signed(OFFER_BYTES, key=KEY_B, signer=KEY_A),
        ),
        InvalidSpec(
            "signature-with-prefix",
            "bad-signature",
            "Signed over b'schoolmesh' + payload: the signature covers the payload bytes "
            "alone, with no prefix or context string.",
            _prefixed_signature,
        ),
        InvalidSpec(
            "signature-63-bytes",
            "bad-signature",
            "The signature is a bin of 63 bytes; it must be exactly 64.",
            _short_signature,
        ),
        # -- content hash -------------------------------------------------------------
        InvalidSpec(
            "content-tampered",
            "bad-content-hash",
            "The content's title was changed after signing; h no longer matches.",
            _tampered_content,
        ),
        # -- canonical encoding ---------------------------------------------------------
        InvalidSpec(
            "payload-keys-unsorted",
            "non-canonical",
            "The payload map's keys are in the order v t s k p h a (signed as sent).",
            _unsorted_payload,
        ),
        InvalidSpec(
            "payload-int-not-shortest",
            "non-canonical",
            "The sequence number 1 is encoded as uint 8 (cc 01) instead of fixint (01).",
            lambda: signed(OFFER_BYTES, raw={"s": b"\xcc\x01"}),
        ),
        InvalidSpec(
            "payload-str-not-shortest",
            "non-canonical",
            "The kind 'offer' is encoded as str 8 (d9 05 ...) instead of fixstr (a5 ...).",
            lambda: signed(OFFER_BYTES, raw={"k": b"\xd9\x05offer"}),
        ),
        InvalidSpec(
            "content-duplicate-key",
            "non-canonical",
            "The content map has the key 'title' twice (with the same value).",
            lambda: signed(
                raw_map(
                    [
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                        (pack("title"), pack("Year 5")),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "entry-array-not-shortest",
            "non-canonical",
            "The entry array has an array 16 header (dc 00 03) instead of fixarray (93).",
            lambda: b"\xdc\x00\x03" + _good_offer().encode()[1:],
        ),
        # -- types ----------------------------------------------------------------------
        InvalidSpec(
            "content-float",
            "bad-type",
            "The content holds a float (capacity 6.0 as float 64); floats are not allowed.",
            lambda: signed(pack({**OFFER, "capacity": 6.0})),
        ),
        InvalidSpec(
            "content-bin-map-key",
            "bad-type",
            "A content map key is a bin (c4 01 78) rather than a str.",
            lambda: signed(
                raw_map(
                    [
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                        (b"\xc4\x01x", pack(1)),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "content-int-map-key",
            "bad-type",
            "A content map key is the integer 1 (01) rather than a str.",
            lambda: signed(
                raw_map(
                    [
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                        (pack(1), pack(1)),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "content-nil-map-key",
            "bad-type",
            "A content map key is nil (c0) rather than a str. It is written first, as "
            "it would sort in no order of str keys.",
            lambda: signed(
                raw_map(
                    [
                        (pack(None), pack(1)),
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "content-empty-ext",
            "bad-type",
            "The content holds an extension value of type 1 with no data bytes "
            "(ext 8, c7 00 01): it parses, and is then refused as a type not allowed.",
            lambda: signed(
                raw_map(
                    [
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                        (pack("x"), b"\xc7\x00\x01"),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "content-ext-type",
            "malformed",
            "The content holds an extension value (fixext 1, d4 01 00).",
            lambda: signed(
                raw_map(
                    [
                        (pack("activity"), pack("observation")),
                        (pack("title"), pack("Year 5")),
                        (pack("x"), b"\xd4\x01\x00"),
                    ]
                )
            ),
        ),
        InvalidSpec(
            "content-invalid-utf8",
            "malformed",
            "The title is a str whose bytes are not valid UTF-8 (ff).",
            lambda: signed(
                raw_map([(pack("activity"), pack("observation")), (pack("title"), b"\xa1\xff")])
            ),
        ),
        # -- structure --------------------------------------------------------------------
        InvalidSpec(
            "entry-trailing-byte",
            "malformed",
            "A valid entry followed by one more byte (c0).",
            lambda: _good_offer().encode() + b"\xc0",
        ),
        InvalidSpec(
            "entry-truncated",
            "malformed",
            "A valid entry with its last byte cut off.",
            lambda: _good_offer().encode()[:-1],
        ),
        InvalidSpec(
            "entry-array-of-2",
            "malformed",
            "The entry array has 2 items [payload, signature]; it must have 3.",
            lambda: codec.encode(
                [_good_offer().payload_bytes, _good_offer().signature],
            ),
        ),
        InvalidSpec(
            "entry-array-of-4",
            "malformed",
            "The entry array has a fourth item (nil); it must have exactly 3.",
            lambda: codec.encode(
                [_good_offer().payload_bytes, _good_offer().signature, OFFER_BYTES, None]
            ),
        ),
        InvalidSpec(
            "entry-is-a-map",
            "malformed",
            "The entry is a map {payload, signature, content} instead of an array.",
            lambda: codec.encode(
                {
                    "content": OFFER_BYTES,
                    "payload": _good_offer().payload_bytes,
                    "signature": _good_offer().signature,
                }
            ),
        ),
        InvalidSpec(
            "entry-payload-not-bin",
            "malformed",
            "The payload is given as a str (its bytes written as hex text) rather than as a bin.",
            lambda: codec.encode(
                [_good_offer().payload_bytes.hex(), _good_offer().signature, OFFER_BYTES]
            ),
        ),
        InvalidSpec(
            "entry-content-not-bin",
            "malformed",
            "The content is given as a str (its bytes written as hex text) rather than as "
            "a bin or nil.",
            lambda: codec.encode(
                [_good_offer().payload_bytes, _good_offer().signature, OFFER_BYTES.hex()]
            ),
        ),
        InvalidSpec(
            "entry-content-inline-map",
            "too-deep",
            "The content map is written inside the entry array instead of as bin bytes: "
            "the entry's depth limit is 1, so its str values at depth 2 are too deep.",
            lambda: pack([_good_offer().payload_bytes, _good_offer().signature, OFFER]),
        ),
        InvalidSpec(
            "payload-not-a-map",
            "malformed",
            "The payload bytes are a msgpack array of the seven values, signed.",
            lambda: _signed_payload_bytes(pack(list(payload_fields(KEY_A, OFFER_BYTES).values()))),
        ),
        # -- limits -----------------------------------------------------------------------
        InvalidSpec(
            "payload-too-large",
            "too-large",
            "The payload is 513 bytes, one over its 512-byte limit. No payload of seven "
            "valid fields is that large, so it also has an unknown key x holding a bin "
            "over the 32-byte bin limit; the size is checked before parsing.",
            _payload_too_large,
        ),
        InvalidSpec(
            "entry-too-large",
            "too-large",
            "The entry is 67585 bytes, one over its limit of 67584 (66 KiB). No entry "
            "within the other limits is that large, so its content bin is also over the "
            "65536-byte bin limit; the size is checked before parsing.",
            _entry_too_large,
        ),
        InvalidSpec(
            "content-too-deep",
            "too-deep",
            'The content holds {"x-plan": {"weeks": [[["plan"]]]}}: the str "plan" is '
            "at depth 5 (the content map is at depth 0); the limit is 4.",
            _too_deep,
        ),
        InvalidSpec(
            "content-too-many-items",
            "malformed",
            "The content map has 65 pairs; the limit is 64.",
            _too_many_items,
        ),
        # -- payload fields ---------------------------------------------------------------
        InvalidSpec(
            "version-2",
            "unsupported-version",
            "The payload's v is 2; this version of the protocol reads only 1.",
            lambda: signed(OFFER_BYTES, v=2),
        ),
        InvalidSpec(
            "version-true",
            "unsupported-version",
            "The payload's v is true (c3): the version is the int 1, and a bool is not an int.",
            lambda: signed(OFFER_BYTES, v=True),
        ),
        InvalidSpec(
            "version-2-new-key",
            "unsupported-version",
            "The payload's v is 2 and it has an eighth key x (1), as a newer format "
            "might. This breaks two rules on purpose: the version is checked before the "
            "key set, so the code is unsupported-version, not bad-field.",
            lambda: signed(OFFER_BYTES, v=2, x=1),
        ),
        InvalidSpec(
            "payload-missing-key",
            "bad-field",
            "The payload has no key p (nil must be written, not left out).",
            lambda: _signed_payload_bytes(
                raw_payload(
                    {k: v for k, v in payload_fields(KEY_A, OFFER_BYTES).items() if k != "p"}
                )
            ),
        ),
        InvalidSpec(
            "payload-unknown-key",
            "bad-field",
            "The payload has an eighth key x (1); payloads have exactly seven keys.",
            lambda: signed(OFFER_BYTES, x=1),
        ),
        InvalidSpec(
            "payload-bin-as-str",
            "bad-field",
            "The author key is a msgpack str of 32 bytes rather than a bin: str and bin "
            "are different types.",
            lambda: signed(OFFER_BYTES, raw={"a": b"\xd9\x20" + b"A" * 32}),
        ),
        InvalidSpec(
            "payload-author-31-bytes",
            "bad-field",
            "The author key a is a bin of 31 bytes.",
            lambda: signed(OFFER_BYTES, a=bytes(KEY_A.node_id)[:31]),
        ),
        InvalidSpec(
            "seq-1-with-prev",
            "bad-field",
            "Sequence number 1 with a prev id; the first entry's prev must be nil.",
            lambda: signed(OFFER_BYTES, p=offer_id),
        ),
        InvalidSpec(
            "seq-2-without-prev",
            "bad-field",
            "Sequence number 2 with prev nil; every entry after the first names its prev.",
            lambda: signed(OFFER_BYTES, s=2),
        ),
        InvalidSpec(
            "seq-0",
            "bad-field",
            "Sequence number 0 (with a prev, as any number but 1 needs); sequence numbers "
            "start at 1.",
            lambda: signed(OFFER_BYTES, s=0, p=offer_id),
        ),
        InvalidSpec(
            "timestamp-negative",
            "bad-field",
            "The timestamp is -1.",
            lambda: signed(OFFER_BYTES, t=-1),
        ),
        InvalidSpec(
            "kind-uppercase",
            "bad-field",
            "The kind is 'Offer'; kinds are lowercase.",
            lambda: signed(OFFER_BYTES, k="Offer"),
        ),
        InvalidSpec(
            "timestamp-in-future",
            "future-timestamp",
            "The timestamp is now_ms + 300001: one millisecond more than the allowed "
            "clock skew of 5 minutes.",
            lambda: signed(OFFER_BYTES, t=NOW_MS + MAX_CLOCK_SKEW_MS + 1),
        ),
        InvalidSpec(
            "timestamp-before-epoch",
            "before-epoch",
            "The timestamp is 1704067199999: one millisecond before the protocol's epoch, "
            "2024-01-01T00:00:00Z.",
            lambda: signed(OFFER_BYTES, t=EPOCH_MS - 1),
        ),
        # -- content schemas --------------------------------------------------------------
        InvalidSpec(
            "offer-missing-title",
            "bad-field",
            "An offer without its required field title.",
            _content({"activity": "observation"}, "offer"),
        ),
        InvalidSpec(
            "offer-unknown-activity",
            "bad-field",
            "An offer whose activity 'coffee' is not in ACTIVITIES.",
            _content({"activity": "coffee", "title": "Coffee morning"}, "offer"),
        ),
        InvalidSpec(
            "offer-title-too-long",
            "bad-field",
            "An offer whose title is 201 characters; the limit is 200.",
            _content({"activity": "visit", "title": "a" * 201}, "offer"),
        ),
        InvalidSpec(
            "offer-title-control-character",
            "bad-field",
            "An offer whose title contains a carriage return (U+000D).",
            _content({"activity": "visit", "title": "Visit\rus"}, "offer"),
        ),
        InvalidSpec(
            "offer-title-delete-character",
            "bad-field",
            "An offer whose title contains DELETE (U+007F).",
            _content({"activity": "visit", "title": "Visit\x7fus"}, "offer"),
        ),
        InvalidSpec(
            "offer-phase-not-in-vocabulary",
            "bad-field",
            "An offer whose phases list holds 'sixth-form', which is not in PHASES.",
            _content({**OFFER, "phases": ["sixth-form"]}, "offer"),
        ),
        InvalidSpec(
            "request-to-before-from",
            "bad-field",
            "A request whose 'to' date is before its 'from' date.",
            _content({**OFFER, "from": "2026-10-05", "to": "2026-10-04"}, "request"),
        ),
        InvalidSpec(
            "offer-from-week-date",
            "bad-field",
            "An offer whose 'from' is the ISO week date '2027-W10-1' (10 characters, like "
            "a calendar date); dates are written YYYY-MM-DD.",
            _content({**OFFER, "from": "2027-W10-1"}, "offer"),
        ),
        InvalidSpec(
            "offer-from-fullwidth-digits",
            "bad-field",
            "An offer whose 'from' is 2027-03-04 with its year written in fullwidth "
            "digits (U+FF12 U+FF10 U+FF12 U+FF17); dates use the ASCII digits 0 to 9.",
            _content({**OFFER, "from": "\uff12\uff10\uff12\uff17-03-04"}, "offer"),
        ),
        InvalidSpec(
            "offer-closes-not-a-real-day",
            "bad-field",
            "An offer whose 'closes' is '2027-02-29': 2027 is not a leap year.",
            _content({**OFFER, "closes": "2027-02-29"}, "offer"),
        ),
        InvalidSpec(
            "profile-bad-country",
            "bad-field",
            "A profile whose country is 'UK', which is not an ISO 3166-1 alpha-2 code "
            "(the United Kingdom is GB).",
            _content({"name": "Oakfield Primary School", "country": "UK"}, "profile"),
        ),
        InvalidSpec(
            "profile-country-as-list",
            "bad-field",
            "A profile whose country is the array ['GB'] rather than a str.",
            _content({"name": "Oakfield Primary School", "country": ["GB"]}, "profile"),
        ),
        InvalidSpec(
            "event-end-before-start",
            "bad-field",
            "An event that ends before it starts.",
            _content(
                {
                    "title": "TeachMeet",
                    "start": "2026-11-12T18:00+01:00",
                    "end": "2026-11-12T16:00+01:00",
                },
                "event",
            ),
        ),
        InvalidSpec(
            "event-time-without-offset",
            "bad-field",
            "An event whose start has no time-zone offset.",
            _content(
                {
                    "title": "TeachMeet",
                    "start": "2026-11-12T16:00",
                    "end": "2026-11-12T18:00+01:00",
                },
                "event",
            ),
        ),
        *_event_start_vectors(),
        InvalidSpec(
            "withdraw-target-as-hex-text",
            "bad-field",
            "A withdrawal whose target is the id as 64 hex characters (a str) rather "
            "than a 32-byte bin.",
            lambda: signed(codec.encode({"target": offer_id.hex()}), k="withdraw"),
        ),
        InvalidSpec(
            "withdraw-target-31-bytes",
            "bad-field",
            "A withdrawal whose target is a bin of 31 bytes.",
            lambda: signed(codec.encode({"target": offer_id[:31]}), k="withdraw"),
        ),
        InvalidSpec(
            "content-not-a-map",
            "bad-field",
            "An offer whose content is an array rather than a map.",
            lambda: signed(codec.encode(["observation", "Year 5"])),
        ),
        InvalidSpec(
            "unknown-kind-content-not-a-map",
            "bad-field",
            "An entry of an unknown kind whose content is a str: unknown kinds are not "
            "checked against a schema, but their content must still be a map.",
            lambda: signed(codec.encode("hello"), k="endorsement"),
        ),
        InvalidSpec(
            "question-text-too-long",
            "bad-field",
            "A question whose text is 10,001 characters (at most 10,000).",
            _content({"title": "Phonics?", "text": "a" * 10_001}, "question"),
        ),
        InvalidSpec(
            "answer-short-question-id",
            "bad-field",
            "An answer whose question is 31 bytes, not a 32-byte entry id.",
            _content({"question": b"\x00" * 31, "text": "Yes."}, "answer"),
        ),
        InvalidSpec(
            "helpful-without-answer",
            "bad-field",
            "A helpful mark without its required field answer.",
            _content({}, "helpful"),
        ),
        *_walk_order_specs(),
        *_key_specs(),
    ]


# -- the order of the walk (docs/protocol.md, "Decoding", step 3) -----------------------

_DEEP = pack([[[["plan"]]]])  # the str is at depth 5 as a content value: too deep
_FLOAT = pack(1.5)


def _content_map(pairs: list[tuple[Any, bytes]]) -> Callable[[], bytes]:
    """An offer whose content is a map of exactly these pairs (keys packed as given)."""
    base = [(pack(k), pack(v)) for k, v in OFFER.items()]
    return lambda: signed(raw_map(base + [(pack(k), v) for k, v in pairs]))


def _walk_order_specs() -> list[InvalidSpec]:
    return [
        InvalidSpec(
            "content-map-keys-before-values",
            "bad-type",
            "The content map's last key is the int 1, and an earlier value is nested too "
            "deep: every key of a map is checked before any of its values.",
            _content_map([("x-plan", _DEEP), (1, pack(0))]),
        ),
        InvalidSpec(
            "content-unsorted-map-walked-in-key-order",
            "too-deep",
            "The keys 'x-b' then 'x-a' are out of order; 'x-b' holds a float and 'x-a' "
            "a value nested too deep. The values of a map are walked in ascending key "
            "order, so 'x-a' is met first.",
            _content_map([("x-b", _FLOAT), ("x-a", _DEEP)]),
        ),
        InvalidSpec(
            "content-repeated-key-earlier-value-not-walked",
            "non-canonical",
            "The key 'x-a' appears twice, first with a float, then with 0: only the last "
            "value of a repeated key is walked, and the map does not re-encode to itself.",
            _content_map([("x-a", _FLOAT), ("x-a", pack(0))]),
        ),
    ]


# -- node ids and Ed25519 edge cases --------------------------------------------------

#: The order of the Ed25519 base point (RFC 8032 section 5.1: L).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
#: The neutral element (0, 1), a point of small order (order 1), encoded.
NEUTRAL = bytes([1]) + bytes(31)

#: Node ids as text that a reader must refuse: (name, text, what is wrong).
_BAD_NODE_ID_TEXTS = (
    ("padded", str(KEY_A.node_id) + "=", "'=' padding (base64url is written unpadded)"),
    ("42-characters", str(KEY_A.node_id)[:42], "42 characters instead of 43"),
    ("44-characters", str(KEY_A.node_id) + "A", "44 characters instead of 43"),
    ("standard-alphabet", "+" + str(KEY_A.node_id)[1:], "'+' from the standard alphabet"),
    (
        "unused-bits-set",
        str(KEY_A.node_id)[:42] + "p",
        "a last character ('p') whose 2 unused low bits are not zero",
    ),
    ("hex", bytes(KEY_A.node_id).hex(), "the key in hexadecimal"),
)


def _relayed_by(text: str) -> Callable[[], bytes]:
    profile = {"name": "Oakfield Primary", "country": "GB", "relays": [text]}
    return lambda: signed(codec.encode(profile), k="profile")


def _with_author(author: bytes, signature: bytes) -> Callable[[], bytes]:
    """An offer whose payload names ``author``, with ``signature`` as given."""
    return lambda: wire(
        raw_payload({**payload_fields(KEY_A, OFFER_BYTES), "a": author}), signature, OFFER_BYTES
    )


def _s_plus_order() -> bytes:
    entry = _good_offer()
    s = int.from_bytes(entry.signature[32:], "little") + GROUP_ORDER
    return wire(entry.payload_bytes, entry.signature[:32] + s.to_bytes(32, "little"), OFFER_BYTES)


def _key_specs() -> list[InvalidSpec]:
    return [
        *(
            InvalidSpec(
                f"profile-relay-node-id-{name}",
                "bad-field",
                f"A profile whose relays list a node id written with {problem}: a node id "
                "is exactly 43 characters of unpadded base64url, with one text per key.",
                _relayed_by(text),
            )
            for name, text, problem in _BAD_NODE_ID_TEXTS
        ),
        InvalidSpec(
            "payload-author-33-bytes",
            "malformed",
            "The author key a is a bin of 33 bytes: over the payload's bin limit of 32, so "
            "refused while parsing, before the payload's fields are looked at.",
            lambda: signed(OFFER_BYTES, a=bytes(KEY_A.node_id) + b"\x00"),
        ),
        InvalidSpec(
            "signature-65-bytes",
            "bad-signature",
            "The signature is a bin of 65 bytes (a good signature and a zero byte).",
            lambda: wire(
                _good_offer().payload_bytes, _good_offer().signature + b"\x00", OFFER_BYTES
            ),
        ),
        InvalidSpec(
            "signature-s-not-reduced",
            "bad-signature",
            "A good signature whose S has the group order L added (S + L < 2^253 still "
            "fits in 32 bytes): the equation holds, but S must be below L.",
            _s_plus_order,
        ),
        InvalidSpec(
            "author-neutral-point-trivial-signature",
            "bad-signature",
            "The author key is the neutral point (01 00 .. 00, small order) and the "
            "signature is R = the neutral point, S = 0, which satisfies the equation for "
            "every message: small-order keys and R values are refused.",
            _with_author(NEUTRAL, NEUTRAL + bytes(32)),
        ),
        InvalidSpec(
            "author-all-zero",
            "bad-signature",
            "The author key is 32 zero bytes (a point of small order), with the trivial "
            "signature R = neutral point, S = 0.",
            _with_author(bytes(32), NEUTRAL + bytes(32)),
        ),
        InvalidSpec(
            "author-not-a-curve-point",
            "bad-signature",
            "The author key 02 00 .. 00 (y = 2) names no point of the curve; the "
            "signature is A's good one.",
            _with_author(bytes([2]) + bytes(31), _good_offer().signature),
        ),
    ]


def _signed_payload_bytes(payload: bytes) -> bytes:
    return wire(payload, KEY_A.sign(payload), OFFER_BYTES)


def _build_invalid() -> list[dict[str, Any]]:
    vectors = []
    for spec in _invalid_specs():
        data = spec.data()
        try:
            decode_entry(data, now_ms=spec.now_ms)
        except ProtocolError as exc:
            if exc.code != spec.code:
                raise RuntimeError(
                    f"invalid vector {spec.name}: decode_entry says {exc.code} ({exc}), "
                    f"expected {spec.code}"
                ) from exc
        else:
            raise RuntimeError(f"invalid vector {spec.name}: decode_entry accepted it")
        vectors.append(
            {
                "name": spec.name,
                "entry_hex": data.hex(),
                "now_ms": spec.now_ms,
                "code": spec.code,
                "reason": spec.reason,
            }
        )
    return vectors


# -- refused when stored ------------------------------------------------------------------


#: Events that decode but that a receiver refuses to store (protocol/rules/entries.py,
#: ``bounds``): (name, start, end, what is wrong).
_UNSHOWABLE_EVENTS = (
    (
        "event-ends-on-9999-12-31",
        "9999-12-31T16:00-05:00",
        "9999-12-31T18:00-05:00",
        "The event starts and ends on 9999-12-31 (at -05:00, after the last instant "
        "of year 9999 in UTC); events are from 1970-01-02 to 9998-12-31.",
    ),
    (
        "event-starts-on-1970-01-01",
        "1970-01-01T09:00Z",
        "2027-03-04T17:00Z",
        "The event starts on 1970-01-01; events are from 1970-01-02 to 9998-12-31.",
    ),
    (
        "event-ends-in-year-9999",
        "2027-03-04T09:00Z",
        "9999-01-01T00:00Z",
        "The event ends on 9999-01-01; events are from 1970-01-02 to 9998-12-31.",
    ),
)


def _build_refused_when_stored() -> list[dict[str, Any]]:
    vectors = []
    for name, start, end, reason in _UNSHOWABLE_EVENTS:
        content = {"title": "TeachMeet", "start": start, "end": end}
        data = signed(codec.encode(content), k="event")
        entry = decode_entry(data, now_ms=NOW_MS)  # it decodes: the schema allows it
        verdict = rules.bounds(entry.kind, entry.content)
        if verdict is None:
            raise RuntimeError(f"vector {name}: the store would take it")
        vectors.append(
            {
                "name": name,
                "entry_hex": data.hex(),
                "now_ms": NOW_MS,
                "code": verdict.code,
                "reason": reason,
            }
        )
    return vectors


# -- the corpus ------------------------------------------------------------------------


def build_corpus() -> dict[str, Any]:
    """The whole corpus as a JSON-able value."""
    valid, _ = _build_valid()
    names = [v["name"] for v in [*valid, *_build_invalid(), *_build_refused_when_stored()]]
    if len(set(names)) != len(names):
        raise RuntimeError("vector names must be unique")
    return {
        "format": FORMAT,
        "description": (
            "Known-answer entries for schoolmesh protocol version 1; see docs/protocol.md, "
            "'Test vectors'. Regenerate with: python tests/vectors/generate.py"
        ),
        "conventions": {
            "hex": "All byte strings are lowercase hexadecimal.",
            "content": (
                "input.content is the content map as JSON; a msgpack bin value is written "
                'as {"$bin": "<hex>"}. Every other JSON value is the msgpack value of the '
                "same type (JSON numbers here are integers)."
            ),
            "valid": (
                "create_entry(seed, seq, prev, timestamp, kind, content) must give exactly "
                "payload_hex, signature_hex, content_hex and id_hex; entry_hex is the wire "
                "form ([payload, signature, content], or content nil when erased), which "
                "decode_entry(entry, now_ms) must accept."
            ),
            "invalid": (
                "decode_entry(entry_hex, now_ms) must refuse the entry with the error code "
                "'code'; 'reason' says which rule it breaks."
            ),
            "refused_when_stored": (
                "decode_entry(entry_hex, now_ms) must accept the entry, and a receiver must "
                "refuse to store it with the error code 'code'."
            ),
        },
        "now_ms": NOW_MS,
        "max_clock_skew_ms": MAX_CLOCK_SKEW_MS,
        "valid": valid,
        "invalid": _build_invalid(),
        "refused_when_stored": _build_refused_when_stored(),
    }


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
