"""(Re)generate ``tests/vectors/sessions.json``: a session start by reconciliation of heads.

Run ``python tests/vectors/generate_sessions.py`` to rewrite the file, or add ``--check``
to only compare it (exit status 1 when they differ). Everything comes from fixed
seeds, nonces and times, so the file is the same at every run;
tests/protocol/test_session_vectors.py checks that it is, and that docs/protocol.md
("Session start", test vector) prints the same bytes.

The corpus: a dialler (key seed 32 bytes ``01``) and a listener (seed ``02``) that both
announce ``reconcile``: the ``hello`` and ``welcome`` bytes; the heads each holds
(author, seq, head id, timestamp) with their items (docs/protocol.md, "Items of the
heads"); then every frame of the session start in the order sent, each with who sent
it, as hex; and which authors each side sent clock pairs for. Then the same start
between two nodes that also announce ``short-ids`` (``short_ids``), and two bare
reconciliations with 16-byte id prefixes printed in docs/scale.md, "Set
reconciliation: the wire" (``reconcile_short``: the items of that section's first
vector; ``reconcile_collision``: two items made to share a 16-byte prefix, so that
the range is listed again in whole ids).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from protocol import frames
from protocol.handshake import DiallerHandshake, ListenerHandshake
from protocol.keys import NodeId, NodeKey
from protocol.reconcile import SHORT_ID_BYTES, ItemSet, Reconciler, reconcile
from protocol.replication import Head, HeadSet, HeadsStart, head_item

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import write_or_check

VECTORS_PATH = Path(__file__).with_name("sessions.json")
FORMAT = "schoolmesh-session-vectors/1"
T = 1_733_529_600_000


def h(text: str) -> bytes:
    return hashlib.blake2b(text.encode("ascii"), digest_size=32).digest()


#: Three authors (made-up node ids) and the heads each side holds of them.
OAK, LYCEE, COLEGIO = (NodeId(h(f"author {name}")) for name in ("oakfield", "lycee", "colegio"))
DIALLER_HEADS = [
    Head(OAK, 3, h("oakfield-3"), T),
    Head(LYCEE, 1, h("lycee-1"), T + 1_000),
]
LISTENER_HEADS = [
    Head(OAK, 3, h("oakfield-3"), T),
    Head(LYCEE, 2, h("lycee-2"), T + 2_000),
    Head(COLEGIO, 1, h("colegio-1"), T + 3_000),
]
NAMES = {OAK: "oakfield", LYCEE: "lycee", COLEGIO: "colegio"}


def _heads(heads: list[Head]) -> list[dict[str, Any]]:
    out = []
    for head in heads:
        timestamp, item_id = head_item(head.author, head.id, head.timestamp)
        out.append(
            {
                "author": NAMES[head.author],
                "author_hex": head.author.key.hex(),
                "seq": head.seq,
                "head_id_hex": head.id.hex(),
                "timestamp": timestamp,
                "item_id_hex": item_id.hex(),
            }
        )
    return out


def _handshake(features: tuple[str, ...] = ("reconcile",)) -> dict[str, Any]:
    dialler_key, listener_key = NodeKey(bytes([1]) * 32), NodeKey(bytes([2]) * 32)
    dialler = DiallerHandshake(
        dialler_key, nonce=bytes([3]) * 32, now_ms=T, expected=None, features=features
    )
    listener = ListenerHandshake(listener_key, nonce=bytes([4]) * 32, now_ms=T, features=features)
    welcome = listener.receive_hello(dialler.hello_bytes)
    dialler.receive_welcome(welcome)
    assert dialler.shared == listener.shared == set(features)
    return {"hello_hex": dialler.hello_bytes.hex(), "welcome_hex": welcome.hex()}


def _start(id_bytes: int = 32) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    sides = {
        # Both hold fewer heads than the reference reconciles (it would send full
        # clocks): reconciled all the same, so the vector stays small.
        "dialler": HeadsStart(
            HeadSet.of(DIALLER_HEADS), initiator=True, give_up_below=0, id_bytes=id_bytes
        ),
        "listener": HeadsStart(
            HeadSet.of(LISTENER_HEADS), initiator=False, give_up_below=0, id_bytes=id_bytes
        ),
    }
    sent: list[dict[str, str]] = []
    clocks: dict[str, list[str]] = {"dialler": [], "listener": []}
    queue: list[tuple[str, frames.Frame]] = [("dialler", sides["dialler"].first())]
    while queue:
        sender, frame = queue.pop(0)
        sent.append({"from": sender, "type": frame.TYPE, "hex": frames.encode(frame).hex()})
        receiver = "listener" if sender == "dialler" else "dialler"
        if isinstance(frame, frames.Clock):
            clocks[sender] += [NAMES[NodeId(pair[0])] for pair in frame.heads]
        else:
            assert isinstance(frame, frames.Reconcile)
            queue.extend((receiver, out) for out in sides[receiver].receive(frame))
    assert all(side.done for side in sides.values())
    return sent, clocks


#: docs/scale.md's first vector: A (the initiator) and B.
SCALE_A = [(T, h("oakfield-1")), (T, h("oakfield-2")), (T + 3_600_000, h("lycee-1"))]
SCALE_B = [(T, h("oakfield-1")), (T + 1_800_000, h("colegio-1")), (T + 3_600_000, h("lycee-1"))]
#: A made-up item sharing the first 16 bytes of ``h("oakfield-2")`` (no real hash
#: collision is known: this one is made by hand to show what the protocol does).
TWIN = (T, h("oakfield-2")[:SHORT_ID_BYTES] + h("twin")[SHORT_ID_BYTES:])


def _reconciliation(a_items: list[tuple[int, bytes]], b_items: list[tuple[int, bytes]]) -> Any:
    a = Reconciler(ItemSet(a_items), id_bytes=SHORT_ID_BYTES)
    b = Reconciler(ItemSet(b_items), id_bytes=SHORT_ID_BYTES)
    messages = reconcile(a, b)
    return {
        "a_items": [[t, i.hex()] for t, i in sorted(a_items)],
        "b_items": [[t, i.hex()] for t, i in sorted(b_items)],
        "messages": [{"from": "AB"[n % 2], "hex": m.hex()} for n, m in enumerate(messages)],
        "a_have": sorted(i.hex() for i in a.have),
        "b_have": sorted(i.hex() for i in b.have),
    }


def build_corpus() -> dict[str, Any]:
    sent, clocks = _start()
    short_sent, short_clocks = _start(SHORT_ID_BYTES)
    return {
        "format": FORMAT,
        "description": (
            "A session start by reconciliation of heads (docs/protocol.md, 'Session "
            "start'): the handshake announcing the feature, each side's heads and their "
            "items, every frame in the order sent, and the authors of each side's clock."
        ),
        "handshake": _handshake(),
        "dialler_heads": _heads(DIALLER_HEADS),
        "listener_heads": _heads(LISTENER_HEADS),
        "frames": sent,
        "clock_authors": clocks,
        "short_ids": {
            "handshake": _handshake(("reconcile", "short-ids")),
            "frames": short_sent,
            "clock_authors": short_clocks,
        },
        "reconcile_short": _reconciliation(SCALE_A, SCALE_B),
        "reconcile_collision": _reconciliation(SCALE_A, [*SCALE_B, TWIN]),
    }


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
