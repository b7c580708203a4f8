"""The known-answer corpus tests/vectors/sessions.json (a session start by reconciliation
of heads), and docs/protocol.md beside it.

The committed file must be exactly what tests/vectors/generate_sessions.py produces;
its items are recomputed here from the definition (BLAKE2b-256 of author and head id),
its first message from the wire format of docs/scale.md, and every frame must decode
and be printed in docs/protocol.md, "Session start".
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from protocol import frames
from tests.vectors import generate_sessions as generate

ROOT = Path(__file__).resolve().parents[2]
CORPUS: dict[str, Any] = json.loads((ROOT / "tests/vectors/sessions.json").read_text("utf-8"))
DOC = re.sub(r"\s+", "", (ROOT / "docs/protocol.md").read_text("utf-8"))


def test_the_file_is_what_the_generator_writes() -> None:
    assert generate.main(["--check"]) == 0


def test_items_are_the_hash_of_author_and_head_id() -> None:
    for head in CORPUS["dialler_heads"] + CORPUS["listener_heads"]:
        data = bytes.fromhex(head["author_hex"]) + bytes.fromhex(head["head_id_hex"])
        assert hashlib.blake2b(data, digest_size=32).hexdigest() == head["item_id_hex"]


def test_both_announce_the_feature() -> None:
    hello = frames.decode(bytes.fromhex(CORPUS["handshake"]["hello_hex"]))
    welcome = frames.decode(bytes.fromhex(CORPUS["handshake"]["welcome_hex"]))
    assert isinstance(hello, frames.Hello)
    assert isinstance(welcome, frames.Welcome)
    assert hello.features == welcome.features == ["reconcile"]


def test_the_first_message_lists_the_dialler_items_in_order() -> None:
    first = frames.decode(bytes.fromhex(CORPUS["frames"][0]["hex"]))
    assert isinstance(first, frames.Reconcile)
    assert first.set == "heads"
    items = sorted((h["timestamp"], h["item_id_hex"]) for h in CORPUS["dialler_heads"])
    ids = bytes.fromhex("".join(i for _, i in items))
    # [1, [[nil, b"", IdList, ids]]]
    assert first.msg == bytes.fromhex("92019194c0c40002c4") + bytes([len(ids)]) + ids


def test_the_frames_decode_and_the_clocks_name_the_differing_authors() -> None:
    kinds = [frames.decode(bytes.fromhex(f["hex"])).TYPE for f in CORPUS["frames"]]
    assert kinds == ["reconcile", "reconcile", "reconcile", "clock", "clock"]
    last = frames.decode(bytes.fromhex(CORPUS["frames"][2]["hex"]))
    assert isinstance(last, frames.Reconcile)
    assert last.msg == b""  # the dialler has nothing left to say
    assert CORPUS["clock_authors"] == {"dialler": ["lycee"], "listener": ["lycee", "colegio"]}


def test_docs_print_the_vector() -> None:
    for value in [*CORPUS["handshake"].values(), *(f["hex"] for f in CORPUS["frames"])]:
        assert value in DOC


# -- short-ids: the same start with 16-byte id prefixes, and docs/scale.md's vectors ---

SCALE_DOC = re.sub(r"\s+", "", (ROOT / "docs/scale.md").read_text("utf-8"))


def test_short_ids_both_announce_it_and_the_lists_carry_prefixes() -> None:
    short = CORPUS["short_ids"]
    hello = frames.decode(bytes.fromhex(short["handshake"]["hello_hex"]))
    assert isinstance(hello, frames.Hello)
    assert hello.features == ["reconcile", "short-ids"]
    first = frames.decode(bytes.fromhex(short["frames"][0]["hex"]))
    assert isinstance(first, frames.Reconcile)
    items = sorted((h["timestamp"], h["item_id_hex"]) for h in CORPUS["dialler_heads"])
    prefixes = bytes.fromhex("".join(i[:32] for _, i in items))  # 16 bytes each
    assert first.msg == bytes.fromhex("92019194c0c40002c4") + bytes([len(prefixes)]) + prefixes
    # The same authors differ as with whole ids.
    assert short["clock_authors"] == CORPUS["clock_authors"]


def test_docs_print_the_short_ids_vectors() -> None:
    short = CORPUS["short_ids"]
    for value in [*short["handshake"].values(), *(f["hex"] for f in short["frames"])]:
        assert value in DOC
    for name in ("reconcile_short", "reconcile_collision"):
        for message in CORPUS[name]["messages"]:
            assert message["hex"] in SCALE_DOC, (name, message["from"])


def test_a_shared_prefix_costs_a_round_not_an_item() -> None:
    plain, twin = CORPUS["reconcile_short"], CORPUS["reconcile_collision"]
    assert len(twin["messages"]) == len(plain["messages"]) + 2
    assert twin["a_have"] == plain["a_have"]  # B lacks oakfield-2, its twin or not
    extra = set(twin["b_have"]) - set(plain["b_have"])
    (made,) = extra  # the twin, which A lacks, is found too
    assert made[:32] == plain["a_have"][0][:32]
    assert made != plain["a_have"][0]
