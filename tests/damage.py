"""Real nodes' databases, damaged on purpose (issue 20, item 3)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from node.clock import now_ms
from node.node import Node
from tests.helpers import chain, key
from tests.network import holding_everything

#: Offers from another school: the entries table spans some twenty pages.
OFFERS = 300


async def make_node(path: Path) -> Path:
    """A node holding :data:`OFFERS` offers (searchable), closed; return its database."""
    node = await Node.create(path, name="Oakfield Primary", country="GB")
    await holding_everything(node)  # a made-up school's offers, whole
    await node.store.ingest(chain(key(9), OFFERS, start_ts=now_ms() - 60_000), now_ms())
    await node.close()
    return node.data.database


def damage_entries_page(database: Path) -> int:
    """Overwrite a leaf page in the middle of the entries table; return its number."""
    with closing(sqlite3.connect(database)) as db:
        pages = [
            int(row[0])
            for row in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'entries' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
        size = int(db.execute("PRAGMA page_size").fetchone()[0])
    page = pages[len(pages) // 2]
    with database.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(bytes(range(256)) * (size // 256))  # neither a page header nor cells
    return page


def damage_search_index(database: Path) -> None:
    """Change the words the search index holds for one offer, behind FTS5's back."""
    with closing(sqlite3.connect(database)) as db:
        db.execute("UPDATE listing_text_content SET c0 = 'nothing like it' WHERE id = 5")
        db.commit()
