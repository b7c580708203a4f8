"""The known-answer corpus tests/vectors/sealed.json, and docs/protocol.md beside it.

The committed file must be exactly what tests/vectors/generate_sealed.py produces.
Valid vectors must be rebuilt byte for byte by the reference (write_letter, seal),
opened by every recipient, and agree with the construction that docs/protocol.md
describes, recomputed here with other code than the reference uses: Ed25519 to
X25519 by the formulas, X25519 and Ed25519 from the ``cryptography`` package, and
HSalsa20 in Python. Invalid vectors must be refused with their code, at the stage
they name. The worked example printed in docs/protocol.md must be the file's.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol import codec, frames, letters, sealed
from protocol.errors import ProtocolError
from protocol.keys import NodeId, NodeKey
from tests.vectors import generate_sealed as generate

ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = ROOT / "tests" / "vectors" / "sealed.json"
DOC_PATH = ROOT / "docs" / "protocol.md"

CORPUS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
PARTIES: dict[str, dict[str, Any]] = {p["name"]: p for p in CORPUS["parties"]}
VALID: list[dict[str, Any]] = CORPUS["valid"]
INVALID: list[dict[str, Any]] = CORPUS["invalid"]
SEALED_CODES = {"bad-envelope", "bad-letter", "not-for-us", "undecryptable", "wrong-signer"}
SEALED_CODES |= {"wrong-recipients"}


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


def _key(name: str) -> NodeKey:
    return NodeKey(bytes.fromhex(PARTIES[name]["seed_hex"]))


def _id(name: str) -> NodeId:
    return NodeId(bytes.fromhex(PARTIES[name]["public_key_hex"]))


# -- the construction, recomputed independently ---------------------------------------------

P = 2**255 - 19


def x25519_secret(seed: bytes) -> bytes:
    """crypto_sign_ed25519_sk_to_curve25519: SHA-512 of the seed, first half, clamped."""
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return bytes(h)


def x25519_public(ed25519_public: bytes) -> bytes:
    """crypto_sign_ed25519_pk_to_curve25519: the birational map u = (1 + y) / (1 - y)."""
    y = int.from_bytes(ed25519_public, "little") & (2**255 - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, "little")


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (32 - shift))) & 0xFFFFFFFF


def hsalsa20(key: bytes, data: bytes) -> bytes:
    """HSalsa20 (the XSalsa20 paper, section 2): 20 Salsa20 rounds, no feed-forward."""
    k = [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    n = [int.from_bytes(data[i : i + 4], "little") for i in range(0, 16, 4)]
    c = [int.from_bytes(b"expand 32-byte k"[i : i + 4], "little") for i in range(0, 16, 4)]
    x = [c[0], *k[:4], c[1], *n, c[2], *k[4:], c[3]]
    quarters = [
        (0, 4, 8, 12),
        (5, 9, 13, 1),
        (10, 14, 2, 6),
        (15, 3, 7, 11),
        (0, 1, 2, 3),
        (5, 6, 7, 4),
        (10, 11, 8, 9),
        (15, 12, 13, 14),
    ]
    for _ in range(10):
        for a, b, cc, d in quarters:
            x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
            x[cc] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
            x[d] ^= _rotl((x[cc] + x[b]) & 0xFFFFFFFF, 13)
            x[a] ^= _rotl((x[d] + x[cc]) & 0xFFFFFFFF, 18)
    return b"".join(x[i].to_bytes(4, "little") for i in (0, 5, 10, 15, 6, 7, 8, 9))


def box_key(secret: bytes, public: bytes) -> bytes:
    """The NaCl box key: HSalsa20 keyed by the X25519 shared secret, over 16 zero bytes."""
    shared = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    return hsalsa20(shared, bytes(16))


def verify(public: bytes, message: bytes, signature: bytes) -> None:
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


def blake2b_256(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def test_hsalsa20_matches_libsodium() -> None:
    secret = bytes(range(32))
    public = bytes.fromhex(PARTIES["A"]["x25519_public_hex"])
    assert box_key(secret, public) == nacl.bindings.crypto_box_beforenm(public, secret)


# -- the corpus itself ---------------------------------------------------------------------


def test_committed_file_is_what_the_generator_produces() -> None:
    assert generate.render(generate.build_corpus()) == VECTORS_PATH.read_text(encoding="utf-8")


def test_generator_check_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_corpus_covers_what_it_promises() -> None:
    names = _ids(VALID) + _ids(INVALID)
    assert len(names) == len(set(names))
    assert CORPUS["format"] == "schoolmesh-sealed-vectors/1"
    assert sorted(PARTIES) == ["A", "B", "C", "D"]
    kinds = {vector["input"]["kind"] for vector in VALID}
    assert set(letters.SCHEMAS) <= kinds
    assert kinds - set(letters.SCHEMAS), "a letter of an unknown kind"
    assert any(len(vector["input"]["recipients"]) > 1 for vector in VALID)
    assert any(r["seq"] > 1 for vector in VALID for r in vector["input"]["recipients"])
    assert sum(vector["worked"] for vector in VALID) == 1
    codes = {vector["code"] for vector in INVALID}
    assert (
        SEALED_CODES
        | {
            "malformed",
            "non-canonical",
            "too-deep",
            "bad-type",
            "bad-signature",
            "bad-field",
            "future-timestamp",
            "unsupported-version",
        }
        <= codes
    )
    assert {vector["opener"] for vector in INVALID} == {None, "B", "C", "D"}


# -- parties: key derivation -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARTIES))
def test_party_keys_are_derived_as_specified(name: str) -> None:
    party = PARTIES[name]
    seed = bytes.fromhex(party["seed_hex"])
    key = NodeKey(seed)
    assert bytes(key.node_id).hex() == party["public_key_hex"]
    assert str(key.node_id) == party["node_id"]
    assert x25519_secret(seed).hex() == party["x25519_secret_hex"] == key.box_seed().hex()
    public = x25519_public(bytes(key.node_id))
    assert public.hex() == party["x25519_public_hex"] == key.node_id.box_public().hex()
    derived = X25519PrivateKey.from_private_bytes(x25519_secret(seed)).public_key()
    assert derived.public_bytes_raw() == public
    assert bytes(sealed.box_secret(key).public_key) == bytes(sealed.box_public(key.node_id))


def test_parties_are_the_rfc_8032_keys() -> None:
    assert PARTIES["A"]["public_key_hex"].startswith("d75a980182b10ab7")
    assert PARTIES["B"]["public_key_hex"].startswith("3d4017c3e843895a")
    assert PARTIES["C"]["public_key_hex"].startswith("fc51cd8e6218a1a3")
    assert PARTIES["D"]["public_key_hex"].startswith("278117fc144c7234")


# -- valid vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_is_rebuilt_exactly(vector: dict[str, Any]) -> None:
    given = vector["input"]
    expected = vector["expected"]
    sender = _key(given["sender"])
    recipients = given["recipients"]
    letter = sealed.write_letter(
        sender,
        kind=given["kind"],
        timestamp=given["letter_timestamp_ms"],
        recipients=[_id(r["party"]) for r in recipients],
        content=generate.from_json(given["content"]),
    )
    assert letter.payload.hex() == expected["letter_payload_hex"]
    assert letter.sig.hex() == expected["letter_signature_hex"]
    assert letter.encode().hex() == expected["letter_hex"]
    assert str(letter.id) == expected["letter_id_hex"]
    envelope = sealed.seal(
        sender,
        letter,
        seqs={_id(r["party"]): r["seq"] for r in recipients},
        content_key=bytes.fromhex(given["content_key_hex"]),
        nonce=bytes.fromhex(given["nonce_hex"]),
        wrap_nonces={_id(r["party"]): bytes.fromhex(r["wrap_nonce_hex"]) for r in recipients},
        timestamp=given["envelope_timestamp_ms"],
    )
    assert envelope.ciphertext.hex() == expected["ciphertext_hex"]
    assert [s.wrapped.hex() for s in envelope.slots] == [
        s["wrapped_hex"] for s in expected["slots"]
    ]
    assert envelope.payload.hex() == expected["envelope_payload_hex"]
    assert envelope.sig.hex() == expected["envelope_signature_hex"]
    assert envelope.encode().hex() == expected["envelope_hex"]
    assert str(envelope.id) == expected["envelope_id_hex"]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_is_accepted_and_opened_by_every_recipient(vector: dict[str, Any]) -> None:
    given = vector["input"]
    expected = vector["expected"]
    envelope = sealed.decode_envelope(
        bytes.fromhex(expected["envelope_hex"]), now_ms=vector["now_ms"]
    )
    assert envelope.sender == _id(given["sender"])
    assert [(str(s.recipient), s.seq) for s in envelope.slots] == [
        (PARTIES[r["party"]]["node_id"], r["seq"]) for r in given["recipients"]
    ]
    assert envelope.timestamp == given["envelope_timestamp_ms"]
    for slot in given["recipients"]:
        letter = sealed.open_envelope(_key(slot["party"]), envelope)
        assert letter.encode().hex() == expected["letter_hex"]
        assert letter.kind == given["kind"]
        assert letter.content == generate.from_json(given["content"])
        assert letter.timestamp == given["letter_timestamp_ms"]
    for name in sorted(set(PARTIES) - {r["party"] for r in given["recipients"]}):
        with pytest.raises(ProtocolError) as caught:
            sealed.open_envelope(_key(name), envelope)
        assert caught.value.code == "not-for-us"


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_follows_the_specification(vector: dict[str, Any]) -> None:
    """Every byte of the vector, recomputed from docs/protocol.md without protocol/."""
    given = vector["input"]
    expected = vector["expected"]
    sender = PARTIES[given["sender"]]
    names = [r["party"] for r in given["recipients"]]
    ids = [bytes.fromhex(PARTIES[n]["public_key_hex"]) for n in names]
    assert ids == sorted(ids)
    # The letter.
    letter_payload = bytes.fromhex(expected["letter_payload_hex"])
    assert letter_payload == generate.pack(
        {
            "a": bytes.fromhex(sender["public_key_hex"]),
            "c": generate.from_json(given["content"]),
            "k": given["kind"],
            "r": ids,
            "t": given["letter_timestamp_ms"],
            "v": 1,
        }
    )
    letter_sig = bytes.fromhex(expected["letter_signature_hex"])
    verify(
        bytes.fromhex(sender["public_key_hex"]),
        b"schoolmesh/letter/v1" + letter_payload,
        letter_sig,
    )
    letter = bytes.fromhex(expected["letter_hex"])
    assert letter == generate.pack([letter_payload, letter_sig])
    assert expected["letter_id_hex"] == blake2b_256(letter_payload)
    # The ciphertext: secretbox of the letter, tag first.
    content_key = bytes.fromhex(given["content_key_hex"])
    nonce = bytes.fromhex(given["nonce_hex"])
    ciphertext = bytes.fromhex(expected["ciphertext_hex"])
    assert len(ciphertext) == len(letter) + 16
    assert ciphertext == nacl.bindings.crypto_secretbox_easy(letter, nonce, content_key)
    # Each wrapped key: wrap nonce, then secretbox of the content key under the box key.
    slots = []
    for given_slot, expected_slot, recipient in zip(
        given["recipients"], expected["slots"], names, strict=True
    ):
        other = PARTIES[recipient]
        key = box_key(
            bytes.fromhex(sender["x25519_secret_hex"]), bytes.fromhex(other["x25519_public_hex"])
        )
        assert key.hex() == expected_slot["box_key_hex"]
        assert key == box_key(  # the recipient computes the same key from its side
            bytes.fromhex(other["x25519_secret_hex"]), bytes.fromhex(sender["x25519_public_hex"])
        )
        wrap_nonce = bytes.fromhex(given_slot["wrap_nonce_hex"])
        wrapped = bytes.fromhex(expected_slot["wrapped_hex"])
        assert len(wrapped) == 72
        assert wrapped == wrap_nonce + nacl.bindings.crypto_secretbox_easy(
            content_key, wrap_nonce, key
        )
        slots.append([bytes.fromhex(other["public_key_hex"]), given_slot["seq"], wrapped])
    # The envelope.
    payload = bytes.fromhex(expected["envelope_payload_hex"])
    assert payload == generate.pack(
        {
            "c": ciphertext,
            "n": nonce,
            "r": slots,
            "s": bytes.fromhex(sender["public_key_hex"]),
            "t": given["envelope_timestamp_ms"],
            "v": 1,
        }
    )
    sig = bytes.fromhex(expected["envelope_signature_hex"])
    verify(bytes.fromhex(sender["public_key_hex"]), b"schoolmesh/envelope/v1" + payload, sig)
    assert bytes.fromhex(expected["envelope_hex"]) == generate.pack([payload, sig])
    assert expected["envelope_id_hex"] == blake2b_256(payload)


def test_skew_limit_vector_is_refused_one_millisecond_earlier() -> None:
    at_limit = [
        v
        for v in VALID
        if v["input"]["envelope_timestamp_ms"] == v["now_ms"] + CORPUS["max_clock_skew_ms"]
    ]
    assert at_limit
    for vector in at_limit:
        data = bytes.fromhex(vector["expected"]["envelope_hex"])
        with pytest.raises(ProtocolError) as caught:
            sealed.decode_envelope(data, now_ms=vector["now_ms"] - 1)
        assert caught.value.code == "future-timestamp"


# -- invalid vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", INVALID, ids=_ids(INVALID))
def test_invalid_vector_is_refused_with_its_code(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["envelope_hex"])
    if vector["opener"] is None:
        with pytest.raises(ProtocolError) as caught:
            sealed.decode_envelope(data, now_ms=vector["now_ms"])
    else:
        envelope = sealed.decode_envelope(data, now_ms=vector["now_ms"])
        with pytest.raises(ProtocolError) as caught:
            sealed.open_envelope(_key(vector["opener"]), envelope)
    assert caught.value.code == vector["code"], str(caught.value)


OPENED = [v for v in INVALID if v["opener"]]


@pytest.mark.parametrize("vector", OPENED, ids=_ids(OPENED))
def test_envelopes_refused_when_opened_pass_a_relay(vector: dict[str, Any]) -> None:
    """A relay cannot tell: these are well-formed envelopes signed by their sender."""
    envelope = sealed.decode_envelope(
        bytes.fromhex(vector["envelope_hex"]), now_ms=CORPUS["now_ms"]
    )
    assert str(envelope.sender) in {p["node_id"] for p in PARTIES.values()}


# -- docs/protocol.md ----------------------------------------------------------------------------

WORKED_HEADING = "### Worked example: a sealed comment"
_BLOCK = re.compile(r"\*\*(?P<label>[^*\n]+)\*\*[^\n]*\n\n```text\n(?P<body>.*?)\n```", re.DOTALL)


def _worked_fields(vector: dict[str, Any]) -> dict[str, str]:
    given, expected = vector["input"], vector["expected"]
    sender = PARTIES[given["sender"]]
    (slot,) = given["recipients"]
    (expected_slot,) = expected["slots"]
    recipient = PARTIES[slot["party"]]
    return {
        "Sender's key seed": sender["seed_hex"],
        "Sender's node id": sender["public_key_hex"],
        "Sender's X25519 secret key": sender["x25519_secret_hex"],
        "Recipient's node id": recipient["public_key_hex"],
        "Recipient's X25519 public key": recipient["x25519_public_hex"],
        "Letter payload": expected["letter_payload_hex"],
        "Letter signature": expected["letter_signature_hex"],
        "Letter": expected["letter_hex"],
        "Letter id": expected["letter_id_hex"],
        "Content key": given["content_key_hex"],
        "Nonce": given["nonce_hex"],
        "Ciphertext": expected["ciphertext_hex"],
        "Box key": expected_slot["box_key_hex"],
        "Wrap nonce": slot["wrap_nonce_hex"],
        "Wrapped key": expected_slot["wrapped_hex"],
        "Envelope payload": expected["envelope_payload_hex"],
        "Envelope signature": expected["envelope_signature_hex"],
        "Envelope": expected["envelope_hex"],
        "Envelope id": expected["envelope_id_hex"],
    }


def _annotated_hex(body: str) -> str:
    """The bytes of an annotated dump: on each line, what comes before two spaces."""
    parts = []
    for line in body.splitlines():
        column = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        assert re.fullmatch(r"[0-9a-f ]*", column), f"not hex: {line!r}"
        parts.append(column.replace(" ", ""))
    return "".join(parts)


def _doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def _worked_section() -> str:
    text = _doc()
    rest = text[text.index(WORKED_HEADING) + len(WORKED_HEADING) :]
    end = re.search(r"^##+ ", rest, re.MULTILINE)
    return rest if end is None else rest[: end.start()]


def test_doc_worked_example_matches_the_corpus() -> None:
    (vector,) = [v for v in VALID if v["worked"]]
    fields = _worked_fields(vector)
    shown: dict[str, str] = {}
    for block in _BLOCK.finditer(_worked_section()):
        label, body = block["label"], block["body"]
        if label.endswith(", annotated"):
            base = label.removesuffix(", annotated")
            assert _annotated_hex(body) == fields[base], label
            shown[label] = body
        else:
            assert label in fields, f"unknown label {label!r} in the worked example"
            shown[label] = re.sub(r"\s+", "", body)
            assert shown[label] == fields[label], label
    assert set(fields) <= set(shown), set(fields) - set(shown)
    assert {"Letter payload, annotated", "Envelope payload, annotated"} <= set(shown)


def test_doc_lists_every_code_and_vector() -> None:
    text = _doc()
    for code in {vector["code"] for vector in INVALID}:
        assert re.search(rf"^\| `{re.escape(code)}` \|", text, re.MULTILINE), code
    for vector in VALID:
        assert f"| `{vector['name']}` | `{vector['input']['kind']}` |" in text, vector["name"]
    for vector in INVALID:
        opener = vector["opener"] or "—"
        row = f"| `{vector['name']}` | `{vector['code']}` | {opener} |"
        assert row in text, vector["name"]


def test_doc_names_the_contexts_and_limits() -> None:
    text = _doc()
    section = text[text.index("\n## Restricted letters\n") :]
    for fact in (
        sealed.LETTER_CONTEXT.hex(),
        sealed.ENVELOPE_CONTEXT.hex(),
        "crypto_sign_ed25519_pk_to_curve25519",
        "crypto_sign_ed25519_sk_to_curve25519",
        f"{sealed.LETTER_PAYLOAD_LIMITS.max_bytes:,}",
        f"{sealed.LETTER_LIMITS.max_bytes:,}",
        f"{sealed.MAX_ENVELOPE_BYTES:,}",
        f"{sealed.ENVELOPE_PAYLOAD_LIMITS.max_bytes:,}",
        f"{sealed.LETTER_PAYLOAD_LIMITS.max_bin:,}",
        f"{letters.MAX_IMAGE_BYTES:,}",
        "- [Restricted letters](#restricted-letters)",
    ):
        assert fact in text, fact
    assert "mail-clock" in section
    for kind in letters.SCHEMAS:
        assert f"### `{kind}`" in section or f"`{kind}`" in section, kind


def test_doc_limits_table_is_the_code() -> None:
    text = _doc()
    rows = {
        "a letter": sealed.LETTER_LIMITS,
        "a letter payload": sealed.LETTER_PAYLOAD_LIMITS,
        "an envelope": sealed.ENVELOPE_LIMITS,
        "an envelope payload": sealed.ENVELOPE_PAYLOAD_LIMITS,
    }
    for name, limits in rows.items():
        row = (
            f"| {name} | {limits.max_bytes:,} | {limits.max_depth} | {limits.max_items} | "
            f"{limits.max_str:,} | {limits.max_bin:,} |"
        )
        assert row in text, row


def test_an_envelope_fits_a_frame() -> None:
    assert frames.FRAME_LIMITS.max_bin >= sealed.MAX_ENVELOPE_BYTES
    assert sealed.MAX_ENVELOPE_BYTES + 100 < frames.MAX_FRAME_BYTES
    assert sealed.ENVELOPE_LIMITS.max_bytes == sealed.MAX_ENVELOPE_BYTES
    assert codec.decode(codec.encode([b"", b""]), sealed.ENVELOPE_LIMITS) == [b"", b""]
