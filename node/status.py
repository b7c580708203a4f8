"""The node's status report, shared by ``schoolmesh status`` and the status page.

The report's fields are a contract: ``schoolmesh status --json`` prints exactly
what :func:`report` returns, and scripts read it.

A plain function of the node, not a service built in ``Node``: it keeps nothing and
writes nothing, it only gathers what other parts hold (the partner book in one
read, the store, the restore and fork-recovery states of node/backup.py and
node/forks.py, which take the node themselves, and the supervisor's tasks). See
docs/architecture.md.
"""

from __future__ import annotations

import json
from typing import Any

from node import backup, forks
from node.clock import iso
from node.net.supervisor import TASKS_SETTING
from node.node import Node
from node.store.problems import NEARLY_FULL_BYTES, free_bytes

#: Words in a peer's last error that say what kind of trouble it was, most telling first.
_TROUBLES = (
    ("refused", ("refused", "not partnered", "blocked", "forbidden")),
    ("identity", ("not the expected", "proof of identity", "signature")),
    ("clock", ("clocks",)),
    ("storage", ("storage-full", "storage-damaged")),
    ("timeout", ("timeout", "timed out", "no answer in time")),
    (
        "unreachable",
        ("cannot connect", "connect call failed", "name or service", "unreachable", "closed"),
    ),
)


def trouble(last_error: str | None) -> str | None:
    """What kind of failure a peer's last error was, so a page can say it in plain words.

    One of ``unreachable``, ``timeout``, ``identity``, ``clock``, ``storage`` (a disk
    full or a database damaged, theirs or ours: the two wait before they try again),
    ``refused`` or
    ``other``; None
    for no error. The raw text stays in the report for IT staff.
    """
    if not last_error:
        return None
    text = last_error.lower()
    for kind, words in _TROUBLES:
        if any(word in text for word in words):
            return kind
    return "other"


async def report(node: Node) -> dict[str, Any]:
    """The node's status: running or not, its peers, counts, equivocation warnings and
    whether it waits after a restore."""
    me = await node.identity()
    book = await node.peerbook.overview()
    running, address = book.running, book.address
    entries = await node.store.count_entries()
    authors = len(await node.store.heads())
    equivocations = await node.store.equivocations()
    restored = await backup.restored_state(node)
    forked = await node.store.forks()
    fork_names = await node.store.schools(a for a, _ in forked)
    tasks = await _tasks(node) if running else []
    peers = []
    for p in book.partners:
        if p.state != "partner":
            continue
        s = book.statuses.get(p.node_id)
        peers.append(
            {
                "node_id": str(p.node_id),
                "name": book.names[p.node_id][0],
                "address": p.address,
                "connected": bool(running and s and s.connected),
                "last_seen": iso(s.last_seen) if s else None,
                "behind": s.behind if s else 0,
                "last_error": s.last_error if s else None,
            }
        )
    return {
        "node_id": str(me.node_id),
        "name": me.name,
        "running": running,
        "address": address,
        "entries": entries,
        "authors": authors,
        "partners": len(peers),
        "peers": peers,
        "equivocations": [
            {
                "author": str(e.author),
                "seq": e.seq,
                "detected_at": iso(e.detected_at),
                "first": e.first.hex(),
                "second": e.second.hex(),
            }
            for e in equivocations
        ],
        # After `schoolmesh restore`: {"backup": time, "restored_at": time} while the node
        # waits to fetch its own newest entries from a partner (it saves nothing new); None.
        "restored": restored,
        # Schools whose log is known to have forked and not been continued (issue 20):
        # {"author", "name", "seq": lowest number known to differ, "own": this school}.
        "forks": [
            {
                "author": str(author),
                "name": fork_names.get(author, ("", ""))[0],
                "seq": seq,
                "own": author == me.node_id,
            }
            for author, seq in forked
        ],
        # While `schoolmesh recover` is under way: {"from", "started_at", "waiting"}; None.
        "fork_recovery": await forks.state(node),
        # The database's disk: "ok", "full" (nothing new is saved until there is room;
        # pages are still served) or "damaged" (see `schoolmesh check`); free_bytes is
        # the room left on that disk (None if the system does not say).
        "storage": storage(node),
        # The running node's background tasks (node/net/supervisor.py): each with its
        # state ("running", or "restarting" after a failure), restarts and last error.
        "tasks": tasks,
    }


def storage(node: Node) -> dict[str, Any]:
    """The state of the disk and database, as ``status`` reports it."""
    room = free_bytes(node.data.path)
    if node.store.damage is not None:
        state = "damaged"
    elif node.store.full or (room is not None and room < NEARLY_FULL_BYTES):
        state = "full"
    else:
        state = "ok"
    return {"state": state, "free_bytes": room}


async def _tasks(node: Node) -> list[dict[str, Any]]:
    saved = await node.store.get_setting(TASKS_SETTING)
    if saved is None:
        return []
    tasks: list[dict[str, Any]] = json.loads(saved)
    for task in tasks:
        task["last_failure"] = iso(task["last_failure"]) if task.get("last_failure") else None
    return tasks
