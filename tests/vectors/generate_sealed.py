"""(Re)generate ``tests/vectors/sealed.json``, the known-answer corpus of restricted letters.

Run ``python tests/vectors/generate_sealed.py`` to rewrite the file, or add ``--check``
to only compare it with what this script produces (exit status 1 when they differ).
The output depends on nothing but the fixed seeds, timestamps, content keys and
nonces below (a real sender draws the keys and nonces at random), so running the
script again yields the identical file; tests/protocol/test_sealed_vectors.py checks
that it does.

The corpus (described in docs/protocol.md, "Restricted letters"):

* ``parties``: the four schools A, B, C and D, with their key seeds (those of
  RFC 8032 section 7.1, tests 1, 2, 3 and 1024), node ids and the X25519 keys
  derived from them;
* ``valid``: letters written with :func:`protocol.sealed.write_letter` and sealed
  with :func:`protocol.sealed.seal`, with every expected byte string. Each is also
  built a second time by hand from the specification (msgpack, Ed25519, secretbox
  and box used directly, not through protocol/sealed.py), and the two must agree;
* ``invalid``: envelopes that :func:`protocol.sealed.decode_envelope` must refuse
  (``opener`` null), or that it accepts and :func:`protocol.sealed.open_envelope`
  must refuse when the school ``opener`` opens them, each with the ``code`` of the
  ProtocolError. Each breaks one rule; every envelope is correctly signed by the
  sender it names unless its reason says otherwise, and every letter by its author.

Two refusals are not in the corpus because their bytes would be over a megabyte:
an envelope over 1,000,000 bytes and an envelope payload over 999,900 bytes (both
``too-large``); tests/protocol/test_sealed.py checks them.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings

from protocol import codec
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import ProtocolError
from protocol.keys import NodeId, NodeKey, content_hash
from protocol.rules.clusters import commitment
from protocol.sealed import (
    ENVELOPE_CONTEXT,
    LETTER_CONTEXT,
    SEALED_VERSION,
    Envelope,
    Letter,
    decode_envelope,
    open_envelope,
    seal,
    write_letter,
)

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import from_json as from_json
from tests.vectors.common import pack as pack
from tests.vectors.common import raw_map as raw_map
from tests.vectors.common import render as render
from tests.vectors.common import to_json as to_json
from tests.vectors.common import write_or_check

VECTORS_PATH = Path(__file__).with_name("sealed.json")
FORMAT = "schoolmesh-sealed-vectors/1"

#: The receiver's clock for every vector (2026-09-21T14:13:20Z), as in entries.json.
NOW_MS = 1_790_000_000_000

#: Key seeds of RFC 8032 section 7.1, tests 1, 2, 3 and 1024.
SEEDS = {
    "A": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "B": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "C": "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "D": "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
}
KEYS = {name: NodeKey(bytes.fromhex(seed)) for name, seed in SEEDS.items()}
KEY_A, KEY_B, KEY_C, KEY_D = KEYS["A"], KEYS["B"], KEYS["C"], KEYS["D"]
A, B, C, D = (KEYS[name].node_id for name in "ABCD")

#: Ids of the partnership project, a post and a comment (32 lowercase hex characters).
PROJECT = "5c1f0a3e9b7d4e2f8a6c0b1d3e5f7a9b"
POST_ID = "e2b8c4a6d0f14e3a9c7b5d1f0a2c4e6b"
COMMENT_ID = "7a9e3c1b5d0f4a2c8e6b0d2f4a6c8e0a"
#: Ids of an interest and a shared observation, and an entry (or event) id they name.
INTEREST_ID = "3d5f7a9b1c3e5a7c9e1b3d5f7a9c1e3b"
OBSERVATION_ID = "9b7d5f3a1e9c7a5e3c1a9f7d5b3e1c9a"
HASH_OF_OFFER = hashlib.blake2b(b"an offer from A", digest_size=32).digest()
#: The moderation cluster and sample of the cluster-commit and cluster-reveal vectors,
#: and B's grade, comment and salt, whose commitment is the first letter's.
CLUSTER_ID = "c1a5e7b9d1f3a5c7e9b1d3f5a7c9e1b3"
SAMPLE_ID = "5a3c1e9b7d5f3a1c9e7b5d3f1a9c7e5b"
SAMPLE_PDF = b"%PDF-1.3\n% a sample of work, cut short for the vector\n%%EOF\n"
GRADE = ("Expected", "Clear paragraphs; reasons need evidence.", bytes(range(32)))
HASH_OF_DEBATE = hashlib.blake2b(b"a debate from A", digest_size=32).digest()
TEAM_C = {"speaker": 2, "researcher": 3, "audience": 1}
#: A tiny stand-in for a JPEG file: SOI, a JFIF APP0 segment, EOI.
IMAGE_DATA = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def fixed(label: str, size: int) -> bytes:
    """Reproducible stand-in for random bytes: BLAKE2b of ``label``."""
    return hashlib.blake2b(label.encode("utf-8"), digest_size=size).digest()


def party(node: NodeId) -> str:
    return next(name for name, key in KEYS.items() if key.node_id == node)


# -- the construction, by hand from docs/protocol.md ----------------------------------


def letter_fields(
    author: NodeId, kind: str, content: Any, recipients: list[NodeId], timestamp: int
) -> dict[str, Any]:
    """A letter payload map; recipients are sorted here as the format requires."""
    return {
        "a": bytes(author),
        "c": content,
        "k": kind,
        "r": sorted(bytes(r) for r in recipients),
        "t": timestamp,
        "v": SEALED_VERSION,
    }


def pair(payload: bytes, signature: bytes) -> bytes:
    """``[payload, signature]`` as canonical msgpack: a letter's or an envelope's wire form."""
    return codec.encode([payload, signature])


def signed_letter(
    fields: dict[str, Any], signer: NodeKey, *, payload: bytes | None = None
) -> bytes:
    """A letter around ``fields`` (or exactly ``payload``), signed with the letter context."""
    body = pack(fields) if payload is None else payload
    return pair(body, signer.sign(LETTER_CONTEXT + body))


def box_key(secret: NodeKey, public: NodeId) -> bytes:
    """The NaCl box shared key: HSalsa20 of the X25519 shared secret (crypto_box_beforenm)."""
    return nacl.bindings.crypto_box_beforenm(public.box_public(), secret.box_seed())


def secretbox(message: bytes, nonce: bytes, key: bytes) -> bytes:
    """XSalsa20-Poly1305: 16-byte tag, then the encrypted message (crypto_secretbox_easy)."""
    return nacl.bindings.crypto_secretbox_easy(message, nonce, key)


def wrap(sender: NodeKey, recipient: NodeId, content_key: bytes, nonce: bytes) -> bytes:
    """A wrapped content key: the 24-byte nonce, then box(content key): 72 bytes."""
    return nonce + secretbox(content_key, nonce, box_key(sender, recipient))


def wrap_nonce(label: str, recipient: NodeId) -> bytes:
    return fixed(f"{label}/wrap-nonce/{party(recipient)}", 24)


def envelope_fields(
    sender: NodeKey,
    letter: bytes,
    slots: list[tuple[NodeId, int]],
    *,
    label: str,
    timestamp: int = NOW_MS - 60_000,
) -> dict[str, Any]:
    """A valid envelope payload map around ``letter``, with keys and nonces from ``label``."""
    content_key = fixed(f"{label}/content-key", 32)
    nonce = fixed(f"{label}/nonce", 24)
    return {
        "c": secretbox(letter, nonce, content_key),
        "n": nonce,
        "r": [
            [bytes(r), seq, wrap(sender, r, content_key, wrap_nonce(label, r))] for r, seq in slots
        ],
        "s": bytes(sender.node_id),
        "t": timestamp,
        "v": SEALED_VERSION,
    }


def signed_envelope(
    fields: dict[str, Any] | None,
    signer: NodeKey,
    *,
    payload: bytes | None = None,
    context: bytes = ENVELOPE_CONTEXT,
) -> bytes:
    """An envelope around ``fields`` (or exactly ``payload``), signed by ``signer``."""
    body = pack(fields) if payload is None else payload
    return pair(body, signer.sign(context + body))


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


# -- valid vectors ---------------------------------------------------------------------


@dataclass(frozen=True)
class ValidSpec:
    name: str
    description: str
    sender: NodeKey
    seqs: dict[NodeId, int]
    kind: str
    content: dict[str, Any]
    letter_ms: int
    envelope_ms: int
    worked: bool = False


def _valid_specs() -> list[ValidSpec]:
    post = {
        "p": PROJECT,
        "id": POST_ID,
        "title": "What lives in the River Aire",
        "body": "We went pond dipping and found:\n\tmayfly nymphs\n\tfreshwater shrimps",
        "by": "Amira, Year 5",
        "theme": "rivers",
        "images": [[content_hash(IMAGE_DATA), "image/jpeg"]],
        "at": NOW_MS - 7_200_000,
    }
    return [
        ValidSpec(
            "project-invite",
            "School A invites B and C to a partnership project: the first letter of A to each.",
            KEY_A,
            {B: 1, C: 1},
            "project",
            {
                "p": PROJECT,
                "title": "Our rivers: a Year 5 exchange",
                "themes": ["rivers", "writing"],
                "members": [[bytes(A), "member"], [bytes(B), "invited"], [bytes(C), "invited"]],
                "rev": 1,
            },
            NOW_MS - 9_000_000,
            NOW_MS - 8_999_000,
        ),
        ValidSpec(
            "project-join",
            "B joins A's project: B's first letter to A (one recipient).",
            KEY_B,
            {A: 1},
            "project-join",
            {"p": PROJECT},
            NOW_MS - 8_000_000,
            NOW_MS - 7_999_000,
        ),
        ValidSpec(
            "post-with-image",
            "A pupil's post from A to B and C (A's second letter to each), naming one "
            "image by its hash; the body holds a newline and tabs, which text allows.",
            KEY_A,
            {B: 2, C: 2},
            "post",
            post,
            NOW_MS - 7_000_000,
            NOW_MS - 6_999_000,
        ),
        ValidSpec(
            "image",
            "The image of post-with-image, its bytes in a bin (A's third letter to B and C).",
            KEY_A,
            {B: 3, C: 3},
            "image",
            {
                "p": PROJECT,
                "post": POST_ID,
                "hash": content_hash(IMAGE_DATA),
                "type": "image/jpeg",
                "data": IMAGE_DATA,
            },
            NOW_MS - 7_000_000,
            NOW_MS - 6_998_000,
        ),
        ValidSpec(
            "comment",
            "B comments on A's post: B's second letter to A, so its seq is 2.",
            KEY_B,
            {A: 2},
            "comment",
            {
                "p": PROJECT,
                "post": POST_ID,
                "id": COMMENT_ID,
                "by": "Léa, CM2",
                "body": "Nous avons trouvé des crevettes aussi !",
                "at": NOW_MS - 3_600_000,
            },
            NOW_MS - 3_600_000,
            NOW_MS - 3_599_000,
            worked=True,
        ),
        ValidSpec(
            "takedown",
            "A takes its post down (A's fourth letter to B and C).",
            KEY_A,
            {B: 4, C: 4},
            "takedown",
            {"p": PROJECT, "target": POST_ID, "reason": "A pupil's surname was shown"},
            NOW_MS - 1_800_000,
            NOW_MS - 1_799_000,
        ),
        ValidSpec(
            "receipt",
            "C confirms that it took the post down: C's first letter to A.",
            KEY_C,
            {A: 1},
            "receipt",
            {"p": PROJECT, "target": POST_ID},
            NOW_MS - 1_700_000,
            NOW_MS - 1_699_000,
        ),
        ValidSpec(
            "project-leave-at-skew-limit",
            "C leaves the project (its second letter to A). The envelope's timestamp is "
            "exactly MAX_CLOCK_SKEW_MS ahead of now_ms, the latest a receiver accepts; the "
            "letter's own timestamp is not compared with any clock.",
            KEY_C,
            {A: 2},
            "project-leave",
            {"p": PROJECT},
            NOW_MS + 10 * MAX_CLOCK_SKEW_MS,
            NOW_MS + MAX_CLOCK_SKEW_MS,
        ),
        ValidSpec(
            "unknown-kind",
            "A letter of a kind this version does not know ('poll', A's fifth letter to "
            "B): accepted, its content only has to be a map.",
            KEY_A,
            {B: 5},
            "poll",
            {"p": PROJECT, "question": "Which river shall we study next?", "options": 3},
            NOW_MS - 600_000,
            NOW_MS - 599_000,
        ),
        ValidSpec(
            "interest",
            "D tells A it is interested in A's offer (an entry id): D's first letter to A, "
            "to A alone.",
            KEY_D,
            {A: 1},
            "interest",
            {
                "id": INTEREST_ID,
                "entry": HASH_OF_OFFER,
                "title": "Shadow our deputy head in March",
                "message": "Our deputy could come on the Tuesday.",
                "by": "Mme Durand",
            },
            NOW_MS - 500_000,
            NOW_MS - 499_000,
        ),
        ValidSpec(
            "interest-answer",
            "A accepts D's interest, with the offer's dates: A's first letter to D.",
            KEY_A,
            {D: 1},
            "interest-answer",
            {
                "id": INTEREST_ID,
                "answer": "accepted",
                "message": "Welcome! Ask for reception.",
                "by": "Mr Hughes",
                "from": "2027-03-08",
                "to": "2027-03-19",
            },
            NOW_MS - 400_000,
            NOW_MS - 399_000,
        ),
        ValidSpec(
            "rsvp",
            "B answers yes to A's event (the event's id): B's third letter to A.",
            KEY_B,
            {A: 3},
            "rsvp",
            {"event": HASH_OF_OFFER, "answer": "yes", "by": "M. Petit", "at": NOW_MS - 300_000},
            NOW_MS - 300_000,
            NOW_MS - 299_000,
        ),
        ValidSpec(
            "event-for-partners",
            "A sends its partners B and C an event for partners only (revision 1).",
            KEY_A,
            {B: 6, C: 5},
            "event",
            {
                "id": HASH_OF_OFFER,
                "rev": 1,
                "audience": "partners",
                "cancelled": False,
                "title": "Moderation day: Year 6 writing",
                "start": "2027-03-04T09:00+00:00",
                "end": "2027-03-04T15:30+00:00",
                "tz": "Europe/London",
                "where": "Oakfield Primary",
                "capacity": 12,
            },
            NOW_MS - 250_000,
            NOW_MS - 249_000,
        ),
        ValidSpec(
            "observation",
            "C shares a peer observation with A, whose colleague observed: C's third letter to A.",
            KEY_C,
            {A: 3},
            "observation",
            {
                "id": OBSERVATION_ID,
                "observer": "Mr Hughes",
                "observed": "Sra. García",
                "focus": "questioning",
                "priority": "SDP 2: oracy",
                "day": "2027-01-20",
                "strengths": ["Generous wait time"],
                "actions": ["Try think-pair-share before cold calling"],
                "follow_up": "2027-03-03",
            },
            NOW_MS - 200_000,
            NOW_MS - 199_000,
        ),
        ValidSpec(
            "observation-unshare",
            "C takes the observation back: A deletes its copy (C's fourth letter to A).",
            KEY_C,
            {A: 4},
            "observation-unshare",
            {"id": OBSERVATION_ID},
            NOW_MS - 100_000,
            NOW_MS - 99_000,
        ),
        ValidSpec(
            "booking",
            "D proposes a date for the arrangement A accepted: D's second letter to A.",
            KEY_D,
            {A: 2},
            "booking",
            {
                "id": INTEREST_ID,
                "b": "7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d",
                "start": "2027-03-09T09:00+01:00",
                "end": "2027-03-09T15:30+01:00",
                "tz": "Europe/Paris",
                "where": "Oakfield Primary, reception",
                "note": "Our deputy arrives by the 8:12 train.",
                "by": "Mme Durand",
            },
            NOW_MS - 90_000,
            NOW_MS - 89_000,
        ),
        ValidSpec(
            "booking-accept",
            "A accepts D's proposed date: A's second letter to D.",
            KEY_A,
            {D: 2},
            "booking-accept",
            {"id": INTEREST_ID, "b": "7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d", "by": "Mr Hughes"},
            NOW_MS - 80_000,
            NOW_MS - 79_000,
        ),
        ValidSpec(
            "partner-request",
            "D, which found B in the directory, asks B to partner, saying where D listens: "
            "D's first letter to B, to B alone.",
            KEY_D,
            {B: 1},
            "partner-request",
            {
                "id": "5a1e7c3b9d2f4a6c8e0b1d3f5a7c9e2b",
                "message": "We found you in the directory: shall we twin our Year 5 classes?",
                "by": "Mr Hughes",
                "address": "https://node.gesamt.example:7700",
            },
            NOW_MS - 70_000,
            NOW_MS - 69_000,
        ),
        ValidSpec(
            "partner-answer",
            "B accepts D's request, saying where B listens: B's first letter to D.",
            KEY_B,
            {D: 1},
            "partner-answer",
            {
                "id": "5a1e7c3b9d2f4a6c8e0b1d3f5a7c9e2b",
                "answer": "accepted",
                "address": "http://192.0.2.10:7700",
            },
            NOW_MS - 60_000,
            NOW_MS - 59_000,
        ),
        ValidSpec(
            "team",
            "C tells A how many pupils it brings to A's debate (an entry id), and in which "
            "roles, never their names: C's fifth letter to A, to A alone.",
            KEY_C,
            {A: 5},
            "team",
            {"event": HASH_OF_DEBATE, "at": NOW_MS - 50_000, "pupils": 6, "roles": TEAM_C},
            NOW_MS - 50_000,
            NOW_MS - 49_000,
        ),
        ValidSpec(
            "teams",
            "A, the debate's organiser, shares every school's team with the schools that "
            "sent one (its own among them): A's letter to C.",
            KEY_A,
            {C: 6},
            "teams",
            {
                "event": HASH_OF_DEBATE,
                "at": NOW_MS - 40_000,
                "teams": [[bytes(A), 4, {"speaker": 4}], [bytes(C), 6, TEAM_C]],
            },
            NOW_MS - 40_000,
            NOW_MS - 39_000,
        ),
        ValidSpec(
            "talk",
            "B offers a talk for slot 2 of A's TeachMeet (the event's id), to A alone: B's "
            "sixth letter to A.",
            KEY_B,
            {A: 6},
            "talk",
            {
                "event": HASH_OF_OFFER,
                "slot": 2,
                "title": "Talk partners in Year 3",
                "speaker": "Mme Durand",
                "at": NOW_MS - 50_000,
            },
            NOW_MS - 30_000,
            NOW_MS - 29_000,
        ),
        ValidSpec(
            "talk-cancel",
            "B withdraws its talk from slot 2 of A's TeachMeet: B's seventh letter to A.",
            KEY_B,
            {A: 7},
            "talk-cancel",
            {"event": HASH_OF_OFFER, "slot": 2, "at": NOW_MS - 40_000},
            NOW_MS - 20_000,
            NOW_MS - 19_000,
        ),
        ValidSpec(
            "cluster",
            "A makes a moderation cluster with B, listing itself first (A's seventh letter to B).",
            KEY_A,
            {B: 7},
            "cluster",
            {"c": CLUSTER_ID, "title": "Year 6 writing", "schools": [bytes(A), bytes(B)], "rev": 1},
            NOW_MS - 58_000,
            NOW_MS - 57_000,
        ),
        ValidSpec(
            "cluster-sample",
            "A shares a sample of work in the cluster, a PDF in a bin with its hash (A's "
            "eighth letter to B).",
            KEY_A,
            {B: 8},
            "cluster-sample",
            {
                "c": CLUSTER_ID,
                "id": SAMPLE_ID,
                "title": "Sample A: a persuasive letter",
                "type": "application/pdf",
                "hash": content_hash(SAMPLE_PDF),
                "data": SAMPLE_PDF,
                "at": NOW_MS - 56_500,
            },
            NOW_MS - 56_000,
            NOW_MS - 55_000,
        ),
        ValidSpec(
            "cluster-commit",
            "B seals its grade for a sample of A's moderation cluster: only the hash of "
            "its grade, comment and salt (B's fourth letter to A).",
            KEY_B,
            {A: 4},
            "cluster-commit",
            {
                "c": CLUSTER_ID,
                "sample": SAMPLE_ID,
                "commitment": commitment(CLUSTER_ID, SAMPLE_ID, B, *GRADE),
            },
            NOW_MS - 50_000,
            NOW_MS - 49_000,
        ),
        ValidSpec(
            "cluster-reveal",
            "B's grade itself, sent once B holds A's commitment for the sample: it hashes "
            "to B's commitment (B's fifth letter to A).",
            KEY_B,
            {A: 5},
            "cluster-reveal",
            {
                "c": CLUSTER_ID,
                "sample": SAMPLE_ID,
                "grade": GRADE[0],
                "comment": GRADE[1],
                "salt": GRADE[2],
            },
            NOW_MS - 40_000,
            NOW_MS - 39_000,
        ),
    ]


def _built(spec: ValidSpec) -> tuple[Letter, Envelope, bytes, dict[NodeId, bytes]]:
    letter = write_letter(
        spec.sender,
        kind=spec.kind,
        timestamp=spec.letter_ms,
        recipients=list(spec.seqs),
        content=spec.content,
    )
    content_key = fixed(f"{spec.name}/content-key", 32)
    nonces = {r: wrap_nonce(spec.name, r) for r in spec.seqs}
    envelope = seal(
        spec.sender,
        letter,
        seqs=spec.seqs,
        content_key=content_key,
        nonce=fixed(f"{spec.name}/nonce", 24),
        wrap_nonces=nonces,
        timestamp=spec.envelope_ms,
    )
    return letter, envelope, content_key, nonces


def _by_hand(spec: ValidSpec) -> tuple[bytes, bytes]:
    """The letter and the envelope built from the specification alone."""
    letter = signed_letter(
        letter_fields(
            spec.sender.node_id, spec.kind, spec.content, list(spec.seqs), spec.letter_ms
        ),
        spec.sender,
    )
    slots = sorted(spec.seqs.items(), key=lambda item: bytes(item[0]))
    fields = envelope_fields(
        spec.sender, letter, slots, label=spec.name, timestamp=spec.envelope_ms
    )
    return letter, signed_envelope(fields, spec.sender)


def _build_valid() -> list[dict[str, Any]]:
    vectors = []
    for spec in _valid_specs():
        letter, envelope, content_key, nonces = _built(spec)
        if _by_hand(spec) != (letter.encode(), envelope.encode()):
            raise RuntimeError(f"valid vector {spec.name}: the reference and the spec disagree")
        received = decode_envelope(envelope.encode(), now_ms=NOW_MS)
        for recipient in letter.recipients:  # fails loudly if the vector is not valid
            if open_envelope(KEYS[party(recipient)], received).encode() != letter.encode():
                raise RuntimeError(f"valid vector {spec.name}: {party(recipient)} reads another")
        vectors.append(
            {
                "name": spec.name,
                "description": spec.description,
                "worked": spec.worked,
                "now_ms": NOW_MS,
                "input": {
                    "sender": party(spec.sender.node_id),
                    "kind": spec.kind,
                    "content": to_json(spec.content),
                    "letter_timestamp_ms": spec.letter_ms,
                    "envelope_timestamp_ms": spec.envelope_ms,
                    "content_key_hex": content_key.hex(),
                    "nonce_hex": envelope.nonce.hex(),
                    "recipients": [
                        {
                            "party": party(slot.recipient),
                            "seq": slot.seq,
                            "wrap_nonce_hex": nonces[slot.recipient].hex(),
                        }
                        for slot in envelope.slots
                    ],
                },
                "expected": {
                    "letter_payload_hex": letter.payload.hex(),
                    "letter_signature_hex": letter.sig.hex(),
                    "letter_hex": letter.encode().hex(),
                    "letter_id_hex": str(letter.id),
                    "ciphertext_hex": envelope.ciphertext.hex(),
                    "slots": [
                        {
                            "party": party(slot.recipient),
                            "box_key_hex": box_key(spec.sender, slot.recipient).hex(),
                            "wrapped_hex": slot.wrapped.hex(),
                        }
                        for slot in envelope.slots
                    ],
                    "envelope_payload_hex": envelope.payload.hex(),
                    "envelope_signature_hex": envelope.sig.hex(),
                    "envelope_hex": envelope.encode().hex(),
                    "envelope_id_hex": str(envelope.id),
                },
            }
        )
    return vectors


# -- invalid vectors -------------------------------------------------------------------

#: The letter inside most invalid envelopes: A to B and C.
BASE_CONTENT = {"p": PROJECT, "target": POST_ID}
BASE_MS = NOW_MS - 60_000


def base_letter(recipients: tuple[NodeId, ...] = (B, C), **changes: Any) -> dict[str, Any]:
    """The payload map of A's receipt letter to ``recipients``, with ``changes``."""
    fields = letter_fields(A, "receipt", BASE_CONTENT, list(recipients), BASE_MS)
    fields.update(changes)
    return fields


def base_envelope(label: str, letter: bytes | None = None, **changes: Any) -> dict[str, Any]:
    """A's envelope to B (seq 1) and C (seq 1) around ``letter``, with ``changes``."""
    inner = signed_letter(base_letter(), KEY_A) if letter is None else letter
    fields = envelope_fields(KEY_A, inner, [(B, 1), (C, 1)], label=label)
    fields.update(changes)
    return fields


@dataclass(frozen=True)
class InvalidSpec:
    name: str
    code: str
    reason: str
    data: Callable[[], bytes]
    opener: str | None = None  # the school that opens it; None: refused when decoded


def _resigned(label: str, **changes: Any) -> Callable[[], bytes]:
    return lambda: signed_envelope(base_envelope(label, **changes), KEY_A)


def _changed_slot(label: str, index: int, item: int, value: Any) -> Callable[[], bytes]:
    def make() -> bytes:
        fields = base_envelope(label)
        fields["r"][index][item] = value
        return signed_envelope(fields, KEY_A)

    return make


def _good(label: str) -> bytes:
    return signed_envelope(base_envelope(label), KEY_A)


def _payload_of(label: str) -> bytes:
    return pack(base_envelope(label))


def _short_signature() -> bytes:
    payload = _payload_of("envelope-signature-63-bytes")
    return pair(payload, KEY_A.sign(ENVELOPE_CONTEXT + payload)[:63])


def _unsigned_ciphertext_flip() -> bytes:
    fields = base_envelope("ciphertext-flipped-not-resigned")
    payload = pack(fields)
    signature = KEY_A.sign(ENVELOPE_CONTEXT + payload)
    index = payload.index(fields["c"]) + 10
    return pair(flip(payload, index), signature)


def _flipped(label: str, part: str, index: int) -> Callable[[], bytes]:
    def make() -> bytes:
        fields = base_envelope(label)
        fields[part] = flip(fields[part], index)
        return signed_envelope(fields, KEY_A)

    return make


def _wrapped_flipped(label: str, index: int) -> Callable[[], bytes]:
    def make() -> bytes:
        fields = base_envelope(label)
        fields["r"][0][2] = flip(fields["r"][0][2], index)
        return signed_envelope(fields, KEY_A)

    return make


def _wrapped_by(label: str, wrapper: NodeKey, recipient: NodeId) -> Callable[[], bytes]:
    """B's slot holds the content key wrapped by ``wrapper`` for ``recipient``."""

    def make() -> bytes:
        fields = base_envelope(label)
        content_key = fixed(f"{label}/content-key", 32)
        fields["r"][0][2] = wrap(wrapper, recipient, content_key, wrap_nonce(label, B))
        return signed_envelope(fields, KEY_A)

    return make


def _resealed_by_recipient() -> bytes:
    # B received A's letter to B and C, and sends it on to C in an envelope of its own.
    letter = signed_letter(base_letter(), KEY_A)
    fields = envelope_fields(KEY_B, letter, [(C, 7)], label="resealed-by-recipient")
    return signed_envelope(fields, KEY_B)


def _letter_in(label: str, letter: bytes, slots: list[tuple[NodeId, int]]) -> bytes:
    return signed_envelope(envelope_fields(KEY_A, letter, slots, label=label), KEY_A)


def _letter(label: str, **changes: Any) -> Callable[[], bytes]:
    """A's envelope to B and C around A's letter changed by ``changes`` (signed by A)."""
    return lambda: _letter_in(label, signed_letter(base_letter(**changes), KEY_A), [(B, 1), (C, 1)])


def _letter_bytes(label: str, letter: Callable[[], bytes]) -> Callable[[], bytes]:
    return lambda: _letter_in(label, letter(), [(B, 1), (C, 1)])


def _letter_content(label: str, kind: str, content: Any) -> Callable[[], bytes]:
    return _letter(label, k=kind, c=content)


def _unsorted_letter_payload() -> bytes:
    fields = base_letter()
    payload = raw_map([(pack(k), pack(fields[k])) for k in "vtrkca"])
    return signed_letter({}, KEY_A, payload=payload)


def _payload_with_unsorted_keys() -> bytes:
    fields = base_envelope("envelope-keys-unsorted")
    payload = raw_map([(pack(k), pack(fields[k])) for k in "vtsrnc"])
    return signed_envelope(None, KEY_A, payload=payload)


def _seq_not_shortest() -> bytes:
    fields = base_envelope("envelope-seq-not-shortest")
    fields["r"][0][1] = 1
    payload = pack(fields)
    marker = bytes(B) + b"\x01\xc4\x48"  # B's id, seq 1 as fixint, bin 8 of 72 bytes
    assert payload.count(marker) == 1
    payload = payload.replace(marker, bytes(B) + b"\xcc\x01\xc4\x48")
    return signed_envelope(None, KEY_A, payload=payload)


def _payload_as_array() -> bytes:
    fields = base_envelope("envelope-payload-not-a-map")
    return signed_envelope(None, KEY_A, payload=pack([fields[k] for k in "cnrstv"]))


def _without(label: str, key: str) -> Callable[[], bytes]:
    def make() -> bytes:
        fields = base_envelope(label)
        del fields[key]
        return signed_envelope(fields, KEY_A)

    return make


def _letter_without(label: str, key: str) -> Callable[[], bytes]:
    def make() -> bytes:
        fields = base_letter()
        del fields[key]
        return signed_letter(fields, KEY_A)

    return _letter_bytes(label, make)


def _invalid_specs() -> list[InvalidSpec]:
    letter_a = signed_letter(base_letter(), KEY_A)
    return [
        # -- the envelope's outer array and signature -------------------------------------
        InvalidSpec(
            "envelope-trailing-byte",
            "malformed",
            "A valid envelope followed by one more byte (c0).",
            lambda: _good("envelope-trailing-byte") + b"\xc0",
        ),
        InvalidSpec(
            "envelope-truncated",
            "malformed",
            "A valid envelope with its last byte cut off.",
            lambda: _good("envelope-truncated")[:-1],
        ),
        InvalidSpec(
            "envelope-array-of-3",
            "malformed",
            "The envelope array has a third item (nil); the envelope limits allow 2 items.",
            lambda: codec.encode([_payload_of("envelope-array-of-3"), bytes(64), None]),
        ),
        InvalidSpec(
            "envelope-array-of-1",
            "bad-envelope",
            "The envelope array holds the payload only.",
            lambda: codec.encode([_payload_of("envelope-array-of-1")]),
        ),
        InvalidSpec(
            "envelope-payload-as-str",
            "bad-envelope",
            "The payload is given as a str (its bytes as hex text) rather than a bin.",
            lambda: codec.encode([_payload_of("envelope-payload-as-str")[:40].hex(), bytes(64)]),
        ),
        InvalidSpec(
            "envelope-signature-63-bytes",
            "bad-envelope",
            "The signature is a bin of 63 bytes; it must be exactly 64.",
            _short_signature,
        ),
        InvalidSpec(
            "envelope-signature-bit-flipped",
            "bad-signature",
            "The lowest bit of the signature's first byte is flipped.",
            lambda: flip(_good("envelope-signature-bit-flipped"), -64),
        ),
        InvalidSpec(
            "ciphertext-flipped-not-resigned",
            "bad-signature",
            "A bit of the ciphertext was flipped after signing: the envelope's signature "
            "covers the ciphertext, so a relay can tell it was changed.",
            _unsigned_ciphertext_flip,
        ),
        InvalidSpec(
            "envelope-signed-by-recipient",
            "bad-signature",
            "The payload names sender A, but the signature was made with B's key.",
            lambda: signed_envelope(base_envelope("envelope-signed-by-recipient"), KEY_B),
        ),
        InvalidSpec(
            "envelope-signed-without-context",
            "bad-signature",
            "Signed over the payload bytes alone, without the context schoolmesh/envelope/v1.",
            lambda: signed_envelope(
                base_envelope("envelope-signed-without-context"), KEY_A, context=b""
            ),
        ),
        InvalidSpec(
            "envelope-signed-with-letter-context",
            "bad-signature",
            "Signed with the context of letters (schoolmesh/letter/v1) instead of envelopes.",
            lambda: signed_envelope(
                base_envelope("envelope-signed-with-letter-context"),
                KEY_A,
                context=LETTER_CONTEXT,
            ),
        ),
        # -- the envelope payload --------------------------------------------------------
        InvalidSpec(
            "envelope-keys-unsorted",
            "non-canonical",
            "The payload map's keys are in the order v t s r n c (signed as sent).",
            _payload_with_unsorted_keys,
        ),
        InvalidSpec(
            "envelope-seq-not-shortest",
            "non-canonical",
            "B's sequence number 1 is encoded as uint 8 (cc 01) instead of fixint (01).",
            _seq_not_shortest,
        ),
        InvalidSpec(
            "envelope-float",
            "bad-type",
            "The timestamp is a float 64 (the same number of milliseconds).",
            _resigned("envelope-float", t=float(NOW_MS - 60_000)),
        ),
        InvalidSpec(
            "envelope-too-deep",
            "too-deep",
            "B's slot holds its node id inside an array ([[id], seq, wrapped]): the id is at "
            "depth 4, and the envelope payload's depth limit is 3.",
            _changed_slot("envelope-too-deep", 0, 0, [bytes(B)]),
        ),
        InvalidSpec(
            "envelope-65-recipients",
            "malformed",
            "The recipients array has 65 slots; the limit is 64 items.",
            _resigned(
                "envelope-65-recipients",
                r=[[bytes([0x40, i]) + bytes(30), 1, bytes(72)] for i in range(65)],
            ),
        ),
        InvalidSpec(
            "envelope-payload-not-a-map",
            "bad-envelope",
            "The payload is a msgpack array of the six values, signed.",
            _payload_as_array,
        ),
        InvalidSpec(
            "envelope-missing-key",
            "bad-envelope",
            "The payload has no key t.",
            _without("envelope-missing-key", "t"),
        ),
        InvalidSpec(
            "envelope-unknown-key",
            "bad-envelope",
            "The payload has a seventh key x (1); payloads have exactly six.",
            _resigned("envelope-unknown-key", x=1),
        ),
        InvalidSpec(
            "envelope-version-2",
            "unsupported-version",
            "The payload's v is 2; this version reads only 1.",
            _resigned("envelope-version-2", v=2),
        ),
        InvalidSpec(
            "envelope-version-true",
            "unsupported-version",
            "The payload's v is true (c3): a bool is not the int 1.",
            _resigned("envelope-version-true", v=True),
        ),
        InvalidSpec(
            "sender-31-bytes",
            "bad-envelope",
            "The sender s is a bin of 31 bytes (checked before the signature).",
            _resigned("sender-31-bytes", s=bytes(A)[:31]),
        ),
        InvalidSpec(
            "envelope-in-future",
            "future-timestamp",
            "The envelope's timestamp is now_ms + 300001: one millisecond more than the "
            "allowed clock skew of 5 minutes.",
            _resigned("envelope-in-future", t=NOW_MS + MAX_CLOCK_SKEW_MS + 1),
        ),
        InvalidSpec(
            "envelope-timestamp-negative",
            "bad-envelope",
            "The envelope's timestamp is -1.",
            _resigned("envelope-timestamp-negative", t=-1),
        ),
        InvalidSpec(
            "envelope-timestamp-true",
            "bad-envelope",
            "The envelope's timestamp is true: a bool is not an int.",
            _resigned("envelope-timestamp-true", t=True),
        ),
        InvalidSpec(
            "nonce-23-bytes",
            "bad-envelope",
            "The nonce n is a bin of 23 bytes; it must be 24.",
            _resigned("nonce-23-bytes", n=bytes(23)),
        ),
        InvalidSpec(
            "ciphertext-as-str",
            "bad-envelope",
            "The ciphertext c is a str rather than a bin.",
            _resigned("ciphertext-as-str", c="ciphertext"),
        ),
        InvalidSpec(
            "no-recipients",
            "bad-envelope",
            "The recipients array r is empty.",
            _resigned("no-recipients", r=[]),
        ),
        InvalidSpec(
            "recipients-unsorted",
            "bad-envelope",
            "The slots are in the order C, B: recipients are sorted by their bytes.",
            lambda: signed_envelope(
                envelope_fields(KEY_A, letter_a, [(C, 1), (B, 1)], label="recipients-unsorted"),
                KEY_A,
            ),
        ),
        InvalidSpec(
            "recipient-twice",
            "bad-envelope",
            "B has two slots (seq 1 and seq 2).",
            lambda: signed_envelope(
                envelope_fields(KEY_A, letter_a, [(B, 1), (B, 2)], label="recipient-twice"),
                KEY_A,
            ),
        ),
        InvalidSpec(
            "sender-among-recipients",
            "bad-envelope",
            "A seals a letter to B and to itself; the sender is never a recipient.",
            lambda: signed_envelope(
                envelope_fields(
                    KEY_A,
                    signed_letter(base_letter((B, A)), KEY_A),
                    [(B, 1), (A, 1)],
                    label="sender-among-recipients",
                ),
                KEY_A,
            ),
        ),
        InvalidSpec(
            "recipient-31-bytes",
            "bad-envelope",
            "B's slot names a recipient of 31 bytes.",
            _changed_slot("recipient-31-bytes", 0, 0, bytes(B)[:31]),
        ),
        InvalidSpec(
            "slot-of-2",
            "bad-envelope",
            "B's slot is [recipient, seq], without its wrapped key.",
            lambda: _resigned("slot-of-2", r=[[bytes(B), 1], base_envelope("slot-of-2")["r"][1]])(),
        ),
        InvalidSpec(
            "slot-seq-0",
            "bad-envelope",
            "B's sequence number is 0; numbers start at 1.",
            _changed_slot("slot-seq-0", 0, 1, 0),
        ),
        InvalidSpec(
            "slot-seq-2-to-the-53",
            "bad-envelope",
            "B's sequence number is 2^53; the largest is 2^53-1.",
            _changed_slot("slot-seq-2-to-the-53", 0, 1, 2**53),
        ),
        InvalidSpec(
            "slot-seq-true",
            "bad-envelope",
            "B's sequence number is true: a bool is not an int.",
            _changed_slot("slot-seq-true", 0, 1, True),
        ),
        InvalidSpec(
            "wrapped-71-bytes",
            "bad-envelope",
            "B's wrapped key is 71 bytes (its last byte cut off); it must be 72.",
            lambda: _changed_slot(
                "wrapped-71-bytes", 0, 2, base_envelope("wrapped-71-bytes")["r"][0][2][:71]
            )(),
        ),
        InvalidSpec(
            "wrapped-without-nonce",
            "bad-envelope",
            "B's wrapped key is the 48-byte box output without the 24-byte nonce before it.",
            lambda: _changed_slot(
                "wrapped-without-nonce",
                0,
                2,
                base_envelope("wrapped-without-nonce")["r"][0][2][24:],
            )(),
        ),
        # -- opening: the recipient's own checks ----------------------------------------
        InvalidSpec(
            "not-for-us",
            "not-for-us",
            "A valid envelope of A to B and C, opened by D.",
            lambda: _good("not-for-us"),
            opener="D",
        ),
        InvalidSpec(
            "ciphertext-flipped",
            "undecryptable",
            "A bit of the ciphertext's first byte (part of the Poly1305 tag) was flipped "
            "before signing.",
            _flipped("ciphertext-flipped", "c", 0),
            opener="B",
        ),
        InvalidSpec(
            "ciphertext-last-byte-flipped",
            "undecryptable",
            "A bit of the ciphertext's last byte (the encrypted letter) was flipped before "
            "signing.",
            _flipped("ciphertext-last-byte-flipped", "c", -1),
            opener="C",
        ),
        InvalidSpec(
            "nonce-flipped",
            "undecryptable",
            "A bit of the envelope's nonce was flipped before signing.",
            _flipped("nonce-flipped", "n", 23),
            opener="B",
        ),
        InvalidSpec(
            "wrap-nonce-flipped",
            "undecryptable",
            "A bit of the nonce at the start of B's wrapped key was flipped before signing.",
            _wrapped_flipped("wrap-nonce-flipped", 0),
            opener="B",
        ),
        InvalidSpec(
            "wrapped-key-flipped",
            "undecryptable",
            "A bit of the boxed content key in B's wrapped key was flipped before signing.",
            _wrapped_flipped("wrapped-key-flipped", 71),
            opener="B",
        ),
        InvalidSpec(
            "wrapped-by-another-school",
            "undecryptable",
            "B's wrapped key was boxed with C's X25519 key instead of A's, the sender's.",
            _wrapped_by("wrapped-by-another-school", KEY_C, B),
            opener="B",
        ),
        InvalidSpec(
            "wrapped-for-another-school",
            "undecryptable",
            "B's slot holds the content key boxed for C.",
            _wrapped_by("wrapped-for-another-school", KEY_A, C),
            opener="B",
        ),
        InvalidSpec(
            "resealed-by-recipient",
            "wrong-signer",
            "B sends A's letter to B and C on to C, in an envelope of its own (sender B, "
            "seq 7): the letter's author A is not the envelope's sender.",
            _resealed_by_recipient,
            opener="C",
        ),
        InvalidSpec(
            "letter-names-more-recipients",
            "wrong-recipients",
            "A's letter names B and C, but the envelope goes to B only.",
            lambda: _letter_in("letter-names-more-recipients", letter_a, [(B, 1)]),
            opener="B",
        ),
        InvalidSpec(
            "letter-names-fewer-recipients",
            "wrong-recipients",
            "A's letter names B only, but the envelope goes to B and C; C opens it.",
            lambda: _letter_in(
                "letter-names-fewer-recipients",
                signed_letter(base_letter((B,)), KEY_A),
                [(B, 1), (C, 1)],
            ),
            opener="C",
        ),
        # -- opening: the letter inside ------------------------------------------------
        InvalidSpec(
            "letter-not-msgpack",
            "malformed",
            "The plaintext is not msgpack (the single byte c1, which msgpack never uses).",
            _letter_bytes("letter-not-msgpack", lambda: b"\xc1"),
            opener="B",
        ),
        InvalidSpec(
            "letter-array-of-3",
            "malformed",
            "The letter array has a third item (nil); the letter limits allow 2 items.",
            _letter_bytes(
                "letter-array-of-3",
                lambda: codec.encode([*codec.decode(letter_a, codec.Limits(4096)), None]),
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-unsigned",
            "bad-letter",
            "The letter is [payload, nil]: its signature is missing.",
            _letter_bytes("letter-unsigned", lambda: codec.encode([pack(base_letter()), None])),
            opener="B",
        ),
        InvalidSpec(
            "letter-signature-63-bytes",
            "bad-letter",
            "The letter's signature is a bin of 63 bytes.",
            _letter_bytes(
                "letter-signature-63-bytes",
                lambda: pair(
                    pack(base_letter()), KEY_A.sign(LETTER_CONTEXT + pack(base_letter()))[:63]
                ),
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-signature-bit-flipped",
            "bad-signature",
            "The lowest bit of the letter signature's first byte is flipped.",
            _letter_bytes("letter-signature-bit-flipped", lambda: flip(letter_a, -64)),
            opener="B",
        ),
        InvalidSpec(
            "letter-signed-with-envelope-context",
            "bad-signature",
            "The letter is signed with the envelope context instead of schoolmesh/letter/v1.",
            _letter_bytes(
                "letter-signed-with-envelope-context",
                lambda: pair(
                    pack(base_letter()), KEY_A.sign(ENVELOPE_CONTEXT + pack(base_letter()))
                ),
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-signed-by-recipient",
            "bad-signature",
            "The letter names author A but was signed with B's key; the envelope is A's.",
            _letter_bytes(
                "letter-signed-by-recipient", lambda: signed_letter(base_letter(), KEY_B)
            ),
            opener="C",
        ),
        InvalidSpec(
            "letter-payload-keys-unsorted",
            "non-canonical",
            "The letter payload's keys are in the order v t r k c a (signed as sent).",
            _letter_bytes("letter-payload-keys-unsorted", _unsorted_letter_payload),
            opener="B",
        ),
        InvalidSpec(
            "letter-content-float",
            "bad-type",
            "The letter's content holds a float.",
            _letter("letter-content-float", c={**BASE_CONTENT, "x-score": 0.5}),
            opener="B",
        ),
        InvalidSpec(
            "letter-missing-key",
            "bad-letter",
            "The letter payload has no key t.",
            _letter_without("letter-missing-key", "t"),
            opener="B",
        ),
        InvalidSpec(
            "letter-unknown-key",
            "bad-letter",
            "The letter payload has a seventh key x (1).",
            _letter("letter-unknown-key", x=1),
            opener="B",
        ),
        InvalidSpec(
            "letter-version-2",
            "unsupported-version",
            "The letter payload's v is 2.",
            _letter("letter-version-2", v=2),
            opener="B",
        ),
        InvalidSpec(
            "letter-kind-not-text",
            "bad-letter",
            "The letter's kind k is the int 7.",
            _letter("letter-kind-not-text", k=7),
            opener="B",
        ),
        InvalidSpec(
            "letter-timestamp-true",
            "bad-letter",
            "The letter's timestamp t is true: a bool is not an int.",
            _letter("letter-timestamp-true", t=True),
            opener="B",
        ),
        InvalidSpec(
            "letter-recipients-not-a-list",
            "bad-letter",
            "The letter's r is B's node id itself rather than a list of ids.",
            _letter("letter-recipients-not-a-list", r=bytes(B)),
            opener="B",
        ),
        InvalidSpec(
            "letter-recipients-unsorted",
            "bad-letter",
            "The letter names C then B (the envelope's slots are sorted): the letter's "
            "recipients are checked before they are compared with the envelope's.",
            _letter("letter-recipients-unsorted", r=[bytes(C), bytes(B)]),
            opener="B",
        ),
        InvalidSpec(
            "letter-kind-uppercase",
            "bad-field",
            "The letter's kind is 'Receipt'; kinds are lowercase.",
            _letter("letter-kind-uppercase", k="Receipt"),
            opener="B",
        ),
        InvalidSpec(
            "letter-receipt-missing-target",
            "bad-field",
            "A receipt without its required field target.",
            _letter_content("letter-receipt-missing-target", "receipt", {"p": PROJECT}),
            opener="B",
        ),
        InvalidSpec(
            "letter-post-missing-title",
            "bad-field",
            "A post without its required field title.",
            _letter_content(
                "letter-post-missing-title",
                "post",
                {"p": PROJECT, "id": POST_ID, "body": "", "by": "Amira", "at": 0},
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-comment-empty-body",
            "bad-field",
            "A comment whose body is empty; a comment's body is 1 to 5,000 characters.",
            _letter_content(
                "letter-comment-empty-body",
                "comment",
                {"p": PROJECT, "post": POST_ID, "id": COMMENT_ID, "by": "Léa", "body": "", "at": 0},
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-project-id-uppercase",
            "bad-field",
            "A project-join whose project id is in uppercase hex.",
            _letter_content("letter-project-id-uppercase", "project-join", {"p": PROJECT.upper()}),
            opener="B",
        ),
        InvalidSpec(
            "letter-member-state-unknown",
            "bad-field",
            "A project whose member list gives B the state 'owner'.",
            _letter_content(
                "letter-member-state-unknown",
                "project",
                {
                    "p": PROJECT,
                    "title": "Our rivers",
                    "members": [[bytes(B), "owner"]],
                    "rev": 1,
                },
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-image-png",
            "bad-field",
            "An image letter whose type is image/png; only image/jpeg is allowed.",
            _letter_content(
                "letter-image-png",
                "image",
                {
                    "p": PROJECT,
                    "post": POST_ID,
                    "hash": content_hash(IMAGE_DATA),
                    "type": "image/png",
                    "data": IMAGE_DATA,
                },
            ),
            opener="B",
        ),
        InvalidSpec(
            "letter-unknown-kind-content-not-a-map",
            "bad-field",
            "A letter of an unknown kind whose content is a str.",
            _letter_content("letter-unknown-kind-content-not-a-map", "poll", "which river?"),
            opener="B",
        ),
    ]


def _build_invalid() -> list[dict[str, Any]]:
    vectors = []
    for spec in _invalid_specs():
        data = spec.data()
        try:
            envelope = decode_envelope(data, now_ms=NOW_MS)
            if spec.opener is None:
                raise RuntimeError(f"invalid vector {spec.name}: decode_envelope accepted it")
            open_envelope(KEYS[spec.opener], envelope)
        except ProtocolError as exc:
            if exc.code != spec.code:
                raise RuntimeError(
                    f"invalid vector {spec.name}: refused with {exc.code} ({exc}), "
                    f"expected {spec.code}"
                ) from exc
        else:
            raise RuntimeError(f"invalid vector {spec.name}: {spec.opener} opened it")
        vectors.append(
            {
                "name": spec.name,
                "envelope_hex": data.hex(),
                "now_ms": NOW_MS,
                "opener": spec.opener,
                "code": spec.code,
                "reason": spec.reason,
            }
        )
    return vectors


# -- the corpus ------------------------------------------------------------------------


def _parties() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "seed_hex": key.seed.hex(),
            "public_key_hex": bytes(key.node_id).hex(),
            "node_id": str(key.node_id),
            "x25519_secret_hex": key.box_seed().hex(),
            "x25519_public_hex": key.node_id.box_public().hex(),
        }
        for name, key in KEYS.items()
    ]


def build_corpus() -> dict[str, Any]:
    """The whole corpus as a JSON-able value."""
    valid = _build_valid()
    invalid = _build_invalid()
    names = [v["name"] for v in valid] + [v["name"] for v in invalid]
    if len(set(names)) != len(names):
        raise RuntimeError("vector names must be unique")
    return {
        "format": FORMAT,
        "description": (
            "Known-answer restricted letters and envelopes for schoolmesh protocol version 1; "
            "see docs/protocol.md, 'Restricted letters'. Regenerate with: "
            "python tests/vectors/generate_sealed.py"
        ),
        "conventions": {
            "hex": "All byte strings are lowercase hexadecimal.",
            "parties": (
                "Schools A, B, C and D by their key seeds (RFC 8032 section 7.1, tests 1, 2, "
                "3 and 1024); x25519_* are the keys derived as libsodium's "
                "crypto_sign_ed25519_sk_to_curve25519 and crypto_sign_ed25519_pk_to_curve25519 do."
            ),
            "content": (
                "input.content is the letter's content map as JSON; a msgpack bin value is "
                'written as {"$bin": "<hex>"}.'
            ),
            "valid": (
                "The sender writes the letter (kind, content, letter_timestamp_ms, the "
                "recipients' node ids) and seals it with content_key_hex, nonce_hex, each "
                "recipient's seq and wrap_nonce_hex, and envelope_timestamp_ms: this must give "
                "exactly the expected bytes. decode_envelope(envelope_hex, now_ms) must accept "
                "the envelope, and every recipient must open it and read letter_hex. "
                "box_key_hex is the NaCl box shared key of sender and recipient "
                "(crypto_box_beforenm)."
            ),
            "invalid": (
                "When opener is null, decode_envelope(envelope_hex, now_ms) must refuse the "
                "envelope with the error code 'code'. Otherwise decode_envelope must accept it "
                "and open_envelope by the party 'opener' must refuse it with 'code'."
            ),
        },
        "now_ms": NOW_MS,
        "max_clock_skew_ms": MAX_CLOCK_SKEW_MS,
        "parties": _parties(),
        "valid": valid,
        "invalid": invalid,
    }


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
