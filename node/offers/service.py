"""Offers and requests: what schools put on the network for others to find."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from node.clock import iso_ms
from node.node import Node
from node.offers import matching
from node.store.database import Withdrawn
from node.store.search import Filters
from protocol import kinds
from protocol.entry import Entry, load_entry
from protocol.errors import NotFoundError, UserInputError, said
from protocol.keys import EntryId

Side = Literal["offer", "request"]
SIDES: tuple[Side, ...] = ("offer", "request")


@dataclass(frozen=True, slots=True)
class Listing:
    """One offer or request as staff see it, with the posting school's name."""

    entry: Entry
    school: str
    country: str
    #: For an answer found by search: the title of the question it answers.
    about: str = ""

    def as_json(self) -> dict[str, Any]:
        """The listing for scripts. The content's fields follow ours and never replace
        them: another school's offer may carry any field (docs/protocol.md, "Forward
        compatibility"), such as a ``school_id`` naming another school.

        An answer (a search finds questions and answers too) has the id of its question
        as ``question_id`` and that question's title as its ``title``."""
        content = dict(self.entry.content or {})
        ours: dict[str, Any] = {}
        if self.entry.kind == kinds.ANSWER and isinstance(content.get("question"), bytes):
            ours["question_id"] = str(EntryId(content.pop("question")))
            ours["title"] = self.about
        ours |= {
            "id": str(self.entry.id),
            "side": self.entry.kind,
            "kind": content.pop("activity", ""),
            "school_id": str(self.entry.author),
            "school": self.school,
            "country": content.pop("country", self.country),
            "posted_at": iso_ms(self.entry.payload.timestamp),
        }
        return {**ours, **{k: v for k, v in content.items() if k not in ours}}


@dataclass(frozen=True, slots=True)
class WithdrawnListing:
    """An offer or request its school withdrew: what it was, when and why.

    Its content is erased everywhere; the title and kind of activity are kept
    (node/store/database.py, ``withdrawn_titles``), and the reason is the ``withdraw``
    entry's own.
    """

    record: Withdrawn
    school: str
    country: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.record.id),
            "side": self.record.kind or None,
            "kind": self.record.activity,
            "title": self.record.title,
            "school_id": str(self.record.author),
            "school": self.school,
            "country": self.country,
            "withdrawn": True,
            "withdrawn_at": iso_ms(self.record.at),
            "reason": self.record.reason,
        }


def content_of(
    *,
    activity: str,
    title: str,
    text: str = "",
    focus: list[str] | None = None,
    subjects: list[str] | None = None,
    phases: list[str] | None = None,
    languages: list[str] | None = None,
    mode: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    capacity: int | None = None,
    closes: str | None = None,
) -> dict[str, Any]:
    """An offer's or request's content from its fields, leaving out those not given.

    The command line and the web form both build content here, so that an empty
    field is never published as an empty value.
    """
    content: dict[str, Any] = {"activity": activity, "title": title}
    optional = {
        "text": text,
        "focus": focus,
        "subjects": subjects,
        "phases": phases,
        "languages": languages,
        "mode": mode,
        "from": date_from,
        "to": date_to,
        "capacity": capacity,
        "closes": closes,
    }
    content.update({k: v for k, v in optional.items() if v not in (None, "", [])})
    return content


async def post(node: Node, side: Side, content: dict[str, Any]) -> Entry:
    """Publish an offer or a request from this school."""
    return await node.publish(side, content)


async def listing(node: Node, side: Side) -> list[Listing]:
    """Every current offer (or request) this node holds, from any school, newest first."""
    return await _with_schools(node, await node.store.current(side))


async def one(node: Node, id_text: str) -> Listing:
    """One current offer or request, by id (or a prefix of at least 8 characters)."""
    entry = await node.store.get(await node.store.resolve(id_text))
    if entry is None or entry.kind not in SIDES or entry.content is None:
        raise NotFoundError(
            f"no current offer or request with id {id_text}",
            page=said("There is no such offer or request."),
        )
    return (await _with_schools(node, [entry]))[0]


async def withdrawn(node: Node, id_text: str) -> WithdrawnListing:
    """A withdrawn offer or request, by id (or a prefix of at least 8 characters)."""
    record = await node.store.withdrawn(await node.store.resolve(id_text))
    if record is None or record.kind not in (*SIDES, ""):
        raise NotFoundError(
            f"no withdrawn offer or request with id {id_text}",
            page=said("There is no such offer or request."),
        )
    school, country = (await node.store.schools({record.author})).get(
        record.author, ("unknown school", "")
    )
    return WithdrawnListing(record, school, country)


async def search(
    node: Node, query: str, filters: Filters, *, today: date | None = None, limit: int = 50
) -> list[Listing]:
    """Current offers and requests (or, as ``filters.among`` says, questions and
    answers too) matching ``query``, best match first, then newest.

    Withdrawn ones are gone from the index; those whose closing date or last date
    is before ``today`` are left out.
    """
    day = (today or datetime.now(UTC).date()).isoformat()
    found = await _with_schools(node, await node.store.search(query, filters, day, limit))
    asked = {
        bytes(item.entry.content["question"])
        for item in found
        if item.entry.kind == kinds.ANSWER and item.entry.content is not None
    }
    if not asked:
        return found
    titles = await node.store.read(lambda conn: _titles(conn, asked))
    return [
        replace(item, about=titles.get(item.entry.content["question"], ""))
        if item.entry.kind == kinds.ANSWER and item.entry.content is not None
        else item
        for item in found
    ]


def _titles(conn: sqlite3.Connection, ids: set[bytes]) -> dict[bytes, str]:
    """The titles of the questions ``ids``, in one read."""
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT id, payload, sig, content FROM entries WHERE id IN ({marks}) "
        "AND kind = ? AND content IS NOT NULL",
        [*ids, kinds.QUESTION],
    ).fetchall()
    return {bytes(i): str((load_entry(*rest).content or {}).get("title", "")) for i, *rest in rows}


async def matches(
    node: Node, *, today: date | None = None, limit: int = 5
) -> list[tuple[matching.Posting, list[matching.Match]]]:
    """For each of this school's current requests, then offers, the best matches.

    Withdrawn entries are not held any more (their content is erased), and those
    whose closing or last date is before ``today`` are left out on both sides.
    """
    day = today or datetime.now(UTC).date()
    entries = [*await node.store.current(kinds.REQUEST), *await node.store.current(kinds.OFFER)]
    names = await node.store.schools({e.author for e in entries})
    postings = []
    for entry in entries:
        school, country = names.get(entry.author, ("unknown school", ""))
        postings.append(
            matching.Posting.from_content(
                id=str(entry.id),
                side=entry.kind,
                content=entry.content or {},
                school_id=str(entry.author),
                school=school,
                school_country=country,
                posted=entry.payload.timestamp,
            )
        )
    return matching.match_school(str(node.node_id), postings, day, limit)


async def _with_schools(node: Node, entries: list[Entry]) -> list[Listing]:
    names = await node.store.schools({e.author for e in entries})
    unknown = ("unknown school", "")
    return [Listing(entry, *names.get(entry.author, unknown)) for entry in entries]


async def withdraw(node: Node, side: Side, id_text: str, reason: str = "") -> Entry:
    """Withdraw one of this school's own offers or requests, everywhere it went."""
    entry_id = await node.store.resolve(id_text)
    entry = await node.store.get(entry_id)
    if entry is None or entry.kind != side:
        raise NotFoundError(
            f"no {side} with id {id_text}: see `schoolmesh {side} list`",
            page=said("There is no such offer or request."),
        )
    if entry.author != node.node_id:
        raise UserInputError(
            f"that {side} was posted by another school; only its author can withdraw it",
            page=said("Only the school that posted it can withdraw it."),
        )
    if entry.content is None:
        raise UserInputError(
            f"that {side} is already withdrawn", page=said("It is already withdrawn.")
        )
    content: dict[str, Any] = {"target": bytes(entry.id)}
    if reason:
        content["reason"] = reason
    return await node.publish(kinds.WITHDRAW, content)
