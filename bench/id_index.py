"""Would a smaller id index make a hub's inserts cheaper? An experiment, not the node.

The entries table (node/store/migrations.py) keeps each entry's id, a 32-byte hash, in
a unique index: each batch of a catch-up lands on about as many leaves of it as it has
entries, and each leaf is written whole at the commit. This script stores the same
rows, in plain SQLite with the node's pragmas and the entries table's other indexes,
in two layouts, and prints the CPU per entry of the batch's lookups, its insert and
its commit:

- ``blob``: as the node does, ``id BLOB NOT NULL UNIQUE``, looked up by ``id IN (...)``;
- ``prefix``: the id's first 8 bytes as a signed integer in a column of its own with a
  plain (not unique) index, looked up by that integer, the full id compared on the
  rows found (uniqueness then the node's to keep).

Batches of 400 entries a transaction (a catch-up's average), each batch first
looking up the ids it brings, as ``Store.ingest`` does (docs/performance.md, issue 23
item 6, fifth step). Last line: ``RESULT {json}``.
Usage: python bench/id_index.py [--quick] [--entries N] [--layout blob|prefix|both] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

BATCH = 400

COMMON = """
    n           INTEGER PRIMARY KEY,
    author      BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    payload     BLOB NOT NULL,
    sig         BLOB NOT NULL,
    content     BLOB,
    received_at INTEGER NOT NULL,
    loose       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (author, seq)
"""
INDEXES = """
CREATE INDEX entries_by_kind ON entries (kind, ts);
CREATE INDEX entries_loose ON entries (author, kind) WHERE loose = 1;
"""
LAYOUTS = {
    "blob": (
        f"CREATE TABLE entries (id BLOB NOT NULL UNIQUE, {COMMON});",
        "SELECT id FROM entries WHERE id IN ({marks})",
        "INSERT INTO entries (n, id, author, seq, kind, ts, payload, sig, content, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    "prefix": (
        f"CREATE TABLE entries (id BLOB NOT NULL, idp INTEGER NOT NULL, {COMMON});"
        "CREATE INDEX entries_idp ON entries (idp);",
        "SELECT id FROM entries WHERE idp IN ({marks})",
        "INSERT INTO entries (n, id, idp, author, seq, kind, ts, payload, sig, content,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
}


def rows(count: int, authors: int) -> list[tuple[bytes, bytes, int, int]]:
    """(id, author, seq, ts) of ``count`` entries from ``authors`` logs interleaved in
    time, as a catch-up from many schools brings them."""
    keys = [os.urandom(32) for _ in range(authors)]
    start = 1_780_000_000_000
    return [
        (os.urandom(32), keys[i % authors], i // authors + 1, start + i * 1000)
        for i in range(count)
    ]


def store(
    layout: str, entries: list[tuple[bytes, bytes, int, int]], folder: Path
) -> dict[str, float]:
    create, select, insert = LAYOUTS[layout]
    db = sqlite3.connect(folder / f"{layout}.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "secure_delete = ON"):
        db.execute(f"PRAGMA {pragma}")
    db.executescript(create + INDEXES)
    spent = dict.fromkeys(("lookup", "insert", "commit"), 0.0)
    payload, sig, content = os.urandom(90), os.urandom(64), os.urandom(110)
    clock = time.thread_time
    for first in range(0, len(entries), BATCH):
        batch = entries[first : first + BATCH]
        t0 = clock()
        db.execute("BEGIN IMMEDIATE")
        marks = ",".join("?" * len(batch))
        if layout == "blob":
            found = db.execute(select.format(marks=marks), [e[0] for e in batch]).fetchall()
        else:
            ids = {e[0] for e in batch}
            candidates = db.execute(
                select.format(marks=marks),
                [int.from_bytes(e[0][:8], "big", signed=True) for e in batch],
            ).fetchall()
            found = [row for row in candidates if row[0] in ids]
        assert not found
        t1 = clock()
        params = []
        for i, (ident, author, seq, ts) in enumerate(batch, start=first + 1):
            head = (
                (i, ident)
                if layout == "blob"
                else (i, ident, int.from_bytes(ident[:8], "big", signed=True))
            )
            params.append((*head, author, seq, "offer", ts, payload, sig, content, ts))
        db.executemany(insert, params)
        t2 = clock()
        db.execute("COMMIT")
        t3 = clock()
        spent["lookup"] += t1 - t0
        spent["insert"] += t2 - t1
        spent["commit"] += t3 - t2
    db.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries (a few seconds)")
    parser.add_argument("--entries", type=int, help="how many (default 100,000)")
    parser.add_argument("--layout", choices=("blob", "prefix", "both"), default="both")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the layouts this many times"
    )
    args = parser.parse_args()
    count = args.entries or (10_000 if args.quick else 100_000)
    entries = rows(count, 200)
    layouts = ["blob", "prefix"] if args.layout == "both" else [args.layout]
    result: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for layout in layouts:
            with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
                spent = store(layout, entries, Path(tmp))
            us = {part: seconds / len(entries) * 1e6 for part, seconds in spent.items()}
            us["total"] = sum(us.values())
            print(layout, " ".join(f"{part} {value:.1f}" for part, value in us.items()), flush=True)
            best = result.setdefault(layout, us)
            result[layout] = {part: round(min(best[part], us[part]), 1) for part in us}
    print("RESULT " + json.dumps({"entries": count, "us_per_entry": result}))


if __name__ == "__main__":
    main()
