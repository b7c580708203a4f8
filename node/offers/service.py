"""Offers and requests: what schools put on the network for others to find.

:class:`Offers` is ``node.offers``. Listing, searching, one offer and the matches
are one trip to the database thread each (``store.read(fn)``: the entries with
their schools' names in one query); a withdrawn one is read by ``Store.withdrawn``;
posting and withdrawing sign an entry with ``Store.append_local``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from node.clock import iso_ms, now_ms
from node.observations import elsewhere
from node.observations import pairs as pairing
from node.observations.staff import StaffMember
from node.observations.staff import listing_now as staff_now
from node.offers import matching
from node.store import search as index
from node.store.database import Store
from node.store.reads import resolve_now, schools_now
from node.store.search import Filters
from node.store.withdrawals import Withdrawn
from protocol import kinds
from protocol.contents.entries import (
    AnswerContent,
    OfferContent,
    QuestionContent,
    WithdrawContent,
)
from protocol.entry import Entry, load_entry
from protocol.errors import NotFoundError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import questions as question_rules

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
    (node/store/withdrawals.py, ``withdrawn_titles``), and the reason is the
    ``withdraw`` entry's own.
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


class Offers:
    """Offers and requests of every school this node holds; ``node.offers``."""

    def __init__(self, store: Store, key: NodeKey) -> None:
        self.store = store
        self.key = key
        self.me = key.node_id

    async def post(self, side: Side, content: dict[str, Any]) -> Entry:
        """Publish an offer or a request from this school."""
        return await self.store.append_local(self.key, side, content, now_ms())

    async def listing(self, side: Side) -> list[Listing]:
        """Every current offer (or request) this node holds, from any school, newest first."""
        return await self.store.read(lambda conn: _current_now(conn, side))

    async def one(self, id_text: str) -> Listing:
        """One current offer or request, by id (or a prefix of at least 8 characters)."""

        def read(conn: sqlite3.Connection) -> Listing | None:
            found = _listings_now(conn, "e.id = ?", (bytes(resolve_now(conn, id_text)),))
            return found[0] if found else None

        found = await self.store.read(read)
        if found is None or found.entry.kind not in SIDES or found.entry.content is None:
            raise NotFoundError(
                f"no current offer or request with id {id_text}",
                page=said("There is no such offer or request."),
            )
        return found

    async def withdrawn(self, id_text: str) -> WithdrawnListing:
        """A withdrawn offer or request, by id (or a prefix of at least 8 characters)."""
        record = await self.store.withdrawn(await self.store.resolve(id_text))
        if record is None or record.kind not in (*SIDES, ""):
            raise NotFoundError(
                f"no withdrawn offer or request with id {id_text}",
                page=said("There is no such offer or request."),
            )
        school, country = (await self.store.schools({record.author})).get(
            record.author, UNKNOWN_SCHOOL
        )
        return WithdrawnListing(record, school, country)

    async def search(
        self, query: str, filters: Filters, *, today: date | None = None, limit: int = 50
    ) -> list[Listing]:
        """Current offers and requests (or, as ``filters.among`` says, questions and
        answers too) matching ``query``, best match first, then newest.

        Withdrawn ones are gone from the index; those whose closing date or last date
        is before ``today`` are left out.
        """
        day = (today or datetime.now(UTC).date()).isoformat()
        ranking, params = index.build_query(query, filters, day)
        # The ranking, the entries and their schools' names, in one query.
        sql = (
            f"SELECT {_LISTING_COLUMNS} FROM ({ranking}) AS r JOIN entries AS e ON e.n = r.n "
            f"LEFT JOIN schools AS s ON s.author = e.author {index.order('r.')}"
        )

        def read(conn: sqlite3.Connection, first: bool = True) -> list[Listing] | None:
            if first and conn.execute("SELECT 1 FROM unindexed LIMIT 1").fetchone():
                return None  # offers from peers wait to be indexed (node/store/indexer.py)
            try:
                rows = conn.execute(sql, [*params, limit]).fetchall()
            except sqlite3.OperationalError as exc:  # an FTS5 query it cannot parse
                raise UserInputError(
                    f"cannot search for {query!r}: {exc}",
                    page=said("This search could not be understood: try other words."),
                ) from exc
            return _with_questions(conn, [_listing(row) for row in rows])

        found = await self.store.read(read)
        if found is None:  # index them first, so that a search finds every offer stored
            await self.store.index_waiting()
            found = await self.store.read(lambda conn: read(conn, first=False))
        assert found is not None
        return found

    async def matches(
        self, *, today: date | None = None, limit: int = 5
    ) -> list[tuple[matching.Posting, list[matching.Match]]]:
        """For each of this school's current requests, then offers, the best matches.

        Withdrawn entries are not held any more (their content is erased), and those
        whose closing or last date is before ``today`` are left out on both sides.
        """
        day = today or datetime.now(UTC).date()
        found = await self.store.read(
            lambda conn: [*_current_now(conn, kinds.REQUEST), *_current_now(conn, kinds.OFFER)]
        )
        return matching.match_school(str(self.me), _postings(found), day, limit)

    async def for_staff(
        self, *, today: date | None = None, limit: int = 5
    ) -> list[tuple[pairing.Profile, list[elsewhere.OfferFor]]]:
        """For each of our colleagues with development areas, the best current offers
        from other schools whose focus covers one (docs/matching.md, "At other schools").

        Reads only: the staff profiles, the offers held and our country, in one trip.
        Nothing is sent, signed or stored, so the profiles never leave the school.
        """
        day = today or datetime.now(UTC).date()

        def read(conn: sqlite3.Connection) -> tuple[list[StaffMember], list[Listing], str]:
            ours = schools_now(conn, [self.me]).get(self.me, UNKNOWN_SCHOOL)
            return staff_now(conn), _current_now(conn, kinds.OFFER), ours[1]

        staff, found, country = await self.store.read(read)
        return elsewhere.offers_for(
            [m.profile() for m in staff],
            _postings(found),
            school_id=str(self.me),
            country=country or None,
            today=day,
            limit=limit,
        )

    async def withdraw(self, side: Side, id_text: str, reason: str = "") -> Entry:
        """Withdraw one of this school's own offers or requests, everywhere it went."""

        def read(conn: sqlite3.Connection) -> Entry | None:
            entry_id = resolve_now(conn, id_text)
            row = conn.execute(
                "SELECT payload, sig, content FROM entries WHERE id = ?", (bytes(entry_id),)
            ).fetchone()
            return None if row is None else load_entry(*row)

        entry = await self.store.read(read)
        if entry is None or entry.kind != side:
            raise NotFoundError(
                f"no {side} with id {id_text}: see `schoolmesh {side} list`",
                page=said("There is no such offer or request."),
            )
        if entry.author != self.me:
            raise UserInputError(
                f"that {side} was posted by another school; only its author can withdraw it",
                page=said("Only the school that posted it can withdraw it."),
            )
        if entry.content is None:
            raise UserInputError(
                f"that {side} is already withdrawn", page=said("It is already withdrawn.")
            )
        content = WithdrawContent(entry.id, reason or None).to_content()
        return await self.store.append_local(self.key, kinds.WITHDRAW, content, now_ms())


UNKNOWN_SCHOOL = ("unknown school", "")
_LISTING_COLUMNS = "e.payload, e.sig, e.content, s.name, s.country"


def _listing(row: Any) -> Listing:
    payload, sig, content, name, country = row
    school = UNKNOWN_SCHOOL if name is None else (name, country)
    return Listing(load_entry(payload, sig, content), *school)


def _listings_now(conn: sqlite3.Connection, where: str, params: Any) -> list[Listing]:
    rows = conn.execute(
        f"SELECT {_LISTING_COLUMNS} FROM entries AS e "
        f"LEFT JOIN schools AS s ON s.author = e.author WHERE {where} ORDER BY e.ts DESC, e.id",
        params,
    ).fetchall()
    return [_listing(row) for row in rows]


def _postings(found: list[Listing]) -> list[matching.Posting]:
    return [
        matching.Posting.of(
            OfferContent.of(item.entry),
            id=str(item.entry.id),
            side=item.entry.kind,
            school_id=str(item.entry.author),
            school=item.school,
            school_country=item.country,
            posted=item.entry.payload.timestamp,
        )
        for item in found
    ]


def _current_now(conn: sqlite3.Connection, kind: str) -> list[Listing]:
    """Entries of ``kind`` that still have content, newest first, with their schools."""
    return _listings_now(conn, "e.kind = ? AND e.content IS NOT NULL", (kind,))


def _with_questions(conn: sqlite3.Connection, found: list[Listing]) -> list[Listing]:
    """``found`` without the answers that do not count (protocol/rules/questions.py,
    ``answer``: their question is not held, not a question, or withdrawn), each answer
    kept with the title of the question it answers. The search's SQL repeats the rule
    so that a page is full; this is where the rule itself decides."""
    answers = {
        item.entry.id: AnswerContent.stored(item.entry)
        for item in found
        if item.entry.kind == kinds.ANSWER
    }
    asked = {bytes(answer.question) for answer in answers.values() if answer is not None}
    if not answers:
        return found
    marks = ",".join("?" * len(asked))
    rows = conn.execute(
        f"SELECT id, author, kind, payload, sig, content FROM entries WHERE id IN ({marks})",
        list(asked),
    ).fetchall()
    # A question kept unchecked by an older version that today's schema refuses is not
    # shown (node/questions/service.py): answers to it are left out as if it were not held.
    titles: dict[bytes, str] = {}
    refused: set[bytes] = set()
    for i, _author, kind, payload, sig, content in rows:
        if kind == kinds.QUESTION and content is not None:
            typed = QuestionContent.stored(load_entry(payload, sig, content))
            if typed is None:
                refused.add(bytes(i))
            else:
                titles[bytes(i)] = typed.title
    held = {
        bytes(i): question_rules.Named(NodeId(author), str(kind), content is None)
        for i, author, kind, _payload, _sig, content in rows
        if bytes(i) not in refused
    }
    kept: list[Listing] = []
    for item in found:
        if item.entry.id not in answers:
            kept.append(item)
            continue
        answer = answers[item.entry.id]
        if answer is None:
            continue
        question = bytes(answer.question)
        if question_rules.answer(held.get(question)) is None:
            kept.append(replace(item, about=titles.get(question, "")))
    return kept
