"""The known-answer corpus tests/vectors/entries.json, and docs/protocol.md beside it.

Valid vectors must be rebuilt byte for byte from their seed and inputs and be
accepted; invalid ones must be refused with the stated error code. The committed
file must be exactly what tests/vectors/generate.py produces, and the worked
vectors printed in docs/protocol.md must be the ones in the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from protocol import codec, kinds
from protocol.entry import CONTENT_LIMITS, MAX_CLOCK_SKEW_MS, create_entry, decode_entry
from protocol.errors import ProtocolError, SchemaError, UserInputError
from protocol.keys import EntryId, NodeId, NodeKey, content_hash
from protocol.rules import entries as rules
from tests.vectors import generate

ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = ROOT / "tests" / "vectors" / "entries.json"
DOC_PATH = ROOT / "docs" / "protocol.md"

CORPUS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
VALID: list[dict[str, Any]] = CORPUS["valid"]
INVALID: list[dict[str, Any]] = CORPUS["invalid"]
REFUSED_WHEN_STORED: list[dict[str, Any]] = CORPUS["refused_when_stored"]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


# -- the corpus itself ------------------------------------------------------------------


def test_committed_file_is_what_the_generator_produces() -> None:
    assert generate.render(generate.build_corpus()) == VECTORS_PATH.read_text(encoding="utf-8")


def test_generator_is_deterministic() -> None:
    assert generate.render(generate.build_corpus()) == generate.render(generate.build_corpus())


def test_corpus_covers_what_it_promises() -> None:
    names = _ids(VALID) + _ids(INVALID)
    assert len(names) == len(set(names))
    assert len(VALID) >= 5
    assert sum(vector["worked"] for vector in VALID) >= 3
    valid_kinds = {vector["input"]["kind"] for vector in VALID}
    assert {"profile", "offer", "request", "event", "withdraw"} <= valid_kinds
    assert valid_kinds - set(kinds.SCHEMAS), "no vector of an unknown kind"
    assert any(vector["input"]["erased"] for vector in VALID)
    assert any(vector["input"]["seq"] > 1 and vector["input"]["prev_hex"] for vector in VALID)
    assert len(INVALID) >= 15
    codes = {vector["code"] for vector in INVALID}
    assert {
        "malformed",
        "non-canonical",
        "too-large",
        "too-deep",
        "bad-type",
        "bad-signature",
        "bad-content-hash",
        "bad-field",
        "future-timestamp",
        "unsupported-version",
    } <= codes


def test_json_convention_for_bin_round_trips() -> None:
    value = {"target": b"\x00\xff", "list": [b"", "text", 1, None, True], "map": {"k": b"a"}}
    as_json = generate.to_json(value)
    assert as_json["target"] == {"$bin": "00ff"}
    assert generate.from_json(json.loads(json.dumps(as_json))) == value


# -- valid vectors ----------------------------------------------------------------------


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_is_rebuilt_exactly(vector: dict[str, Any]) -> None:
    key = NodeKey(bytes.fromhex(vector["seed_hex"]))
    assert bytes(key.node_id).hex() == vector["public_key_hex"]
    assert str(key.node_id) == vector["node_id"]
    assert key.node_id.fingerprint == vector["fingerprint"]
    given = vector["input"]
    expected = vector["expected"]
    prev = given["prev_hex"]
    entry = create_entry(
        key,
        seq=given["seq"],
        prev=None if prev is None else EntryId(bytes.fromhex(prev)),
        timestamp=given["timestamp_ms"],
        kind=given["kind"],
        content=generate.from_json(given["content"]),
    )
    assert entry.payload_bytes.hex() == expected["payload_hex"]
    assert entry.signature.hex() == expected["signature_hex"]
    assert entry.payload.content_hash.hex() == expected["content_hash_hex"]
    assert str(entry.id) == expected["id_hex"]
    assert entry.content_bytes is not None
    assert content_hash(entry.content_bytes).hex() == expected["content_hash_hex"]
    if given["erased"]:
        assert expected["content_hex"] is None
        assert entry.without_content().encode().hex() == expected["entry_hex"]
    else:
        assert entry.content_bytes.hex() == expected["content_hex"]
        assert entry.encode().hex() == expected["entry_hex"]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_is_accepted(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    entry = decode_entry(bytes.fromhex(expected["entry_hex"]), now_ms=vector["now_ms"])
    assert entry.payload_bytes.hex() == expected["payload_hex"]
    assert entry.signature.hex() == expected["signature_hex"]
    assert str(entry.id) == expected["id_hex"]
    assert str(entry.author) == vector["node_id"]
    assert entry.seq == vector["input"]["seq"]
    assert entry.kind == vector["input"]["kind"]
    assert entry.encode().hex() == expected["entry_hex"]
    if vector["input"]["erased"]:
        assert entry.content is None
    else:
        assert entry.content == generate.from_json(vector["input"]["content"])


def test_skew_limit_vector_is_refused_one_millisecond_earlier() -> None:
    at_limit = [v for v in VALID if v["input"]["timestamp_ms"] == v["now_ms"] + MAX_CLOCK_SKEW_MS]
    assert at_limit, "a valid vector sits exactly at the clock-skew limit"
    for vector in at_limit:
        data = bytes.fromhex(vector["expected"]["entry_hex"])
        with pytest.raises(ProtocolError) as caught:
            decode_entry(data, now_ms=vector["now_ms"] - 1)
        assert caught.value.code == "future-timestamp"


# -- invalid vectors ----------------------------------------------------------------------


@pytest.mark.parametrize("vector", INVALID, ids=_ids(INVALID))
def test_invalid_vector_is_refused_with_its_code(vector: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_entry(bytes.fromhex(vector["entry_hex"]), now_ms=vector["now_ms"])
    assert caught.value.code == vector["code"], str(caught.value)


@pytest.mark.parametrize(("name", "text", "problem"), generate._BAD_NODE_ID_TEXTS)
def test_a_node_id_text_refused_in_a_profile_is_refused_everywhere(
    name: str, text: str, problem: str
) -> None:
    """The relays vectors' node ids are refused as typed too (one text per key)."""
    with pytest.raises(UserInputError):
        NodeId.parse(text)


@pytest.mark.parametrize("vector", REFUSED_WHEN_STORED, ids=_ids(REFUSED_WHEN_STORED))
def test_refused_when_stored_vector_decodes_and_is_refused_by_the_rules(
    vector: dict[str, Any],
) -> None:
    entry = decode_entry(bytes.fromhex(vector["entry_hex"]), now_ms=vector["now_ms"])
    verdict = rules.bounds(entry.kind, entry.content)
    assert verdict is not None
    assert verdict.code == vector["code"]


# -- docs/protocol.md ---------------------------------------------------------------------

#: Bold labels before a ```text block in a worked vector's section, and the field of
#: the vector each one shows.
DOC_LABELS = {
    "Seed": "seed_hex",
    "Public key": "public_key_hex",
    "Node id": "node_id",
    "Fingerprint": "fingerprint",
    "Prev": "prev_hex",
    "Content": "content_hex",
    "Content hash": "content_hash_hex",
    "Payload": "payload_hex",
    "Signature": "signature_hex",
    "Entry": "entry_hex",
    "Id": "id_hex",
}
_WORKED_HEADING = re.compile(r"^### Worked vector \d+: `(?P<name>[a-z0-9-]+)`$", re.MULTILINE)
_BLOCK = re.compile(r"\*\*(?P<label>[^*\n]+)\*\*[^\n]*\n\n```text\n(?P<body>.*?)\n```", re.DOTALL)


def _vector_field(vector: dict[str, Any], field: str) -> str | None:
    for part in (vector, vector["input"], vector["expected"]):
        if field in part:
            value = part[field]
            assert value is None or isinstance(value, str)
            return value
    raise KeyError(field)


def _doc_sections() -> dict[str, str]:
    text = DOC_PATH.read_text(encoding="utf-8")
    matches = list(_WORKED_HEADING.finditer(text))
    sections = {}
    for match in matches:
        rest = text[match.end() :]
        end = re.search(r"^##+ ", rest, re.MULTILINE)
        sections[match["name"]] = rest if end is None else rest[: end.start()]
    return sections


def _annotated_hex(body: str) -> str:
    """The bytes of an annotated dump: on each line, what comes before two spaces."""
    parts = []
    for line in body.splitlines():
        column = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        assert re.fullmatch(r"[0-9a-f ]*", column), f"not hex: {line!r}"
        parts.append(column.replace(" ", ""))
    return "".join(parts)


def test_doc_shows_every_worked_vector() -> None:
    worked = {vector["name"] for vector in VALID if vector["worked"]}
    assert set(_doc_sections()) == worked


@pytest.mark.parametrize("vector", [v for v in VALID if v["worked"]], ids=lambda v: v["name"])
def test_doc_worked_vector_matches_the_corpus(vector: dict[str, Any]) -> None:
    section = _doc_sections()[vector["name"]]
    shown: dict[str, str] = {}
    for block in _BLOCK.finditer(section):
        label, body = block["label"], block["body"]
        if label.endswith(", annotated"):
            base = label.removesuffix(", annotated")
            expected = _vector_field(vector, DOC_LABELS[base])
            assert _annotated_hex(body) == expected, label
        else:
            assert label in DOC_LABELS, f"unknown label {label!r} in docs/protocol.md"
            shown[label] = re.sub(r"\s+", "", body)
    assert {"Seed", "Node id", "Payload", "Signature", "Id"} <= set(shown)
    for label, value in shown.items():
        assert value == _vector_field(vector, DOC_LABELS[label]), label


def test_doc_lists_every_error_code_of_the_corpus() -> None:
    text = DOC_PATH.read_text(encoding="utf-8")
    for code in {vector["code"] for vector in INVALID} | {"gap", "wrong-prev"}:
        assert re.search(rf"^\| `{re.escape(code)}` \|", text, re.MULTILINE), code


def test_doc_tables_list_every_vector() -> None:
    text = DOC_PATH.read_text(encoding="utf-8")
    for vector in VALID:
        assert f"| `{vector['name']}` | `{vector['input']['kind']}` |" in text, vector["name"]
    for vector in INVALID + REFUSED_WHEN_STORED:
        assert f"| `{vector['name']}` | `{vector['code']}` |" in text, vector["name"]


def test_doc_ends_with_the_peer_sessions_heading() -> None:
    text = DOC_PATH.read_text(encoding="utf-8")
    assert "\n## Peer sessions\n" in text


# -- create_entry signs only what every receiver accepts ----------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"text": "€" * 10_000}, id="text-of-10000-characters-30000-bytes"),
        pytest.param({"x-long": "é" * 8_193}, id="unknown-field-of-16386-bytes"),
        pytest.param({f"x-{i:02}": i for i in range(63)}, id="map-of-65-pairs"),
        pytest.param({"x-list": list(range(65))}, id="array-of-65-items"),
    ],
)
def test_create_entry_refuses_content_that_receivers_refuse(extra: dict[str, Any]) -> None:
    content = {**generate.OFFER, **extra}
    kinds.validate_content("offer", content)  # the schema alone allows it
    with pytest.raises(SchemaError) as caught:
        create_entry(
            generate.KEY_A,
            seq=1,
            prev=None,
            timestamp=generate.NOW_MS,
            kind="offer",
            content=content,
        )
    assert caught.value.field == "content"
    assert caught.value.code == "bad-field"
    # Signed anyway, the same content is refused by every receiver: had create_entry
    # signed it, the author's log would break at this entry.
    with pytest.raises(ProtocolError) as refused:
        decode_entry(generate.signed(codec.encode(content)), now_ms=generate.NOW_MS)
    assert refused.value.code == "malformed"


def test_create_entry_accepts_non_ascii_text_at_the_str_limit() -> None:
    text = "€" * 5_461 + "a"  # 5,462 characters, exactly 16,384 bytes of UTF-8
    assert len(text.encode("utf-8")) == CONTENT_LIMITS.max_str
    entry = create_entry(
        generate.KEY_A,
        seq=1,
        prev=None,
        timestamp=generate.NOW_MS,
        kind="offer",
        content={**generate.OFFER, "text": text},
    )
    assert decode_entry(entry.encode(), now_ms=generate.NOW_MS).content == entry.content
