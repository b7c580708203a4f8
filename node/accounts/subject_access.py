"""Everything this node holds about one person, for a subject access request.

UK GDPR Article 15 gives a pupil (or their parent or carer) the right to a copy of
their personal data. A school answers from its own node: the account (never the
password hash), the consent flags, every post and comment written from the
account in any state (drafts, returned ones, approved ones and the tombstones of
those taken down), the photos listed by hash, where each item was sent, the
takedowns with their receipts, and the projects the pupil takes part in. Copies
held by partner schools are theirs to answer for (docs/safeguarding.md).
"""

from __future__ import annotations

import json
from typing import Any

from node.accounts.service import Accounts
from node.store.database import Store
from protocol.errors import NotFoundError
from protocol.keys import NodeId


async def export_user(store: Store, accounts: Accounts, name: str) -> dict[str, Any]:
    """The person's data as plain JSON values; works after `user remove` too."""
    user = await accounts.find(name)
    name = user.name if user is not None else " ".join(name.split())
    posts = await _posts(store, name)
    comments = await _comments(store, name)
    feeds = await store.fetch_all(
        "SELECT token, project, created_at, revoked_at FROM feeds WHERE user = ? COLLATE NOCASE "
        "ORDER BY created_at",
        (name,),
    )
    projects = await store.fetch_all(
        "SELECT m.project, j.title, m.kind, m.added_at FROM project_pupils m "
        "LEFT JOIN projects j ON j.id = m.project WHERE (m.kind = 'pupil' AND "
        "m.name = ? COLLATE NOCASE) OR (m.kind = 'class' AND m.name = ? COLLATE NOCASE) "
        "ORDER BY m.added_at",
        (name, user.klass if user is not None else None),
    )
    calendar = await store.fetch_one(
        "SELECT created_at FROM calendar_links WHERE user = ? COLLATE NOCASE", (name,)
    )
    if user is None and not posts and not comments and not feeds:
        raise NotFoundError(
            f"this node holds nothing about {name!r}: check the spelling with "
            "`schoolmesh user list`"
        )
    return {
        "name": name,
        "account": user.as_json() if user is not None else None,
        "projects": [
            {"project": p, "title": t, "through": "class" if k == "class" else "name"}
            for p, t, k, _at in projects
        ],
        "posts": posts,
        "comments": comments,
        "feeds": [
            {"project": p, "created_at": c, "revoked": r is not None} for _t, p, c, r in feeds
        ],
        # Whether they have a private calendar address (its hash is no one's data to read).
        "calendar_address_made_at": calendar[0] if calendar else None,
        "note": "Partner schools hold their own copies of approved posts and comments; "
        "ask them for theirs. The account's password is stored only as a hash and is "
        "not included.",
    }


async def _posts(store: Store, name: str) -> list[dict[str, Any]]:
    rows = await store.fetch_all(
        "SELECT p.id, p.project, j.title, p.state, p.by_name, p.title, p.body, p.theme, "
        "p.note, p.created_at, p.approved_at, p.approved_by FROM posts p "
        "LEFT JOIN projects j ON j.id = p.project "
        "WHERE p.author = ? COLLATE NOCASE ORDER BY p.created_at",
        (name,),
    )
    found = []
    for pid, project, project_title, state, by_name, title, body, theme, note, *times in rows:
        images = await store.fetch_all(
            "SELECT hash, faces, held, length(data), alt FROM images WHERE post = ? ORDER BY rowid",
            (pid,),
        )
        found.append(
            {
                "id": pid,
                "project": project,
                "project_title": project_title,
                "state": state,
                "shown_to_partners_as": by_name,
                "title": title,
                "body": body,
                "theme": theme,
                "teacher_note": note,
                "created_at": times[0],
                "approved_at": times[1],
                "approved_by": times[2],
                "images": [
                    {
                        "hash": bytes(h).hex(),
                        "faces": bool(f),
                        "held_back": bool(d),
                        "bytes": n,
                        "description": a,
                    }
                    for h, f, d, n, a in images
                ],
                "sent_to": await _sent_to(store, pid),
                "takedown": await _takedown(store, pid),
            }
        )
    return found


async def _comments(store: Store, name: str) -> list[dict[str, Any]]:
    rows = await store.fetch_all(
        "SELECT id, post, project, state, by_name, body, created_at, approved_at, approved_by "
        "FROM comments WHERE author = ? COLLATE NOCASE ORDER BY created_at",
        (name,),
    )
    return [
        {
            "id": cid,
            "post": post,
            "project": project,
            "state": state,
            "shown_to_partners_as": by_name,
            "body": body,
            "created_at": created,
            "approved_at": approved,
            "approved_by": approver,
            "sent_to": await _sent_to(store, cid),
            "takedown": await _takedown(store, cid),
        }
        for cid, post, project, state, by_name, body, created, approved, approver in rows
    ]


async def _sent_to(store: Store, about: str) -> list[str]:
    rows = await store.fetch_all(
        "SELECT DISTINCT recipient FROM letters_sent WHERE about = ? AND kind IN "
        "('post', 'comment') ORDER BY recipient",
        (about,),
    )
    return [str(NodeId(r[0])) for r in rows]


async def _takedown(store: Store, target: str) -> dict[str, Any] | None:
    row = await store.fetch_one(
        "SELECT by_node, at, reason, recipients FROM takedowns WHERE target = ?", (target,)
    )
    if row is None:
        return None
    receipts = await store.fetch_all("SELECT node FROM receipts WHERE target = ?", (target,))
    confirmed = sorted(str(NodeId(n)) for (n,) in receipts)
    asked = json.loads(row[3]) if row[3] else []
    return {
        "by": str(NodeId(row[0])),
        "at": row[1],
        "reason": row[2],
        "confirmed": confirmed,
        "waiting": sorted(n for n in asked if n not in confirmed),
    }
