"""Full-text search over offers, requests, questions and answers (SQLite FTS5), with filters.

The index holds one row per current offer, request, question or answer: its words, folded to
lower case without accents (so "ecole" finds "École"), with the name and country
of the school that posted it (so "jules" finds what École Jules Verne posts), in an
FTS5 table ranked by bm25, and the filter values in a plain table. The school's
words are kept apart (``listings.school``) so that a new profile can replace them.
Scripts written without spaces between words (Chinese, Japanese, Thai) have no
word boundaries FTS5 can use, so terms in them are matched as substrings of the folded text instead.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from node.offers import places
from protocol import kinds
from protocol.contents.entries import (
    AnswerContent,
    HelpfulContent,
    ProfileContent,
    QuestionContent,
)
from protocol.entry import Entry, load_entry
from protocol.errors import SchemaError
from protocol.keys import EntryId

SIDES = (kinds.OFFER, kinds.REQUEST)
#: Questions to the network and their answers (node/questions/service.py).
QUESTIONS = (kinds.QUESTION, kinds.ANSWER)
#: Everything a search can find, each under its kind in ``listings.side``.
LISTED = (*SIDES, *QUESTIONS)
RANKED_MATCHES = 1000
"""Word searches rank at most this many matches, the most recently received first."""
#: What an answer or a helpful mark names, kept in ``question_links`` (its ``about``).
LINKED = (kinds.ANSWER, kinds.HELPFUL)
INDEXED_KINDS = frozenset((*LISTED, kinds.PROFILE, *LINKED))


def fold(text: str) -> str:
    """Lower case, accents removed, compatibility forms unified."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tags(values: Any) -> str:
    """``|a|b|`` so that one tag can be matched exactly as the substring ``|a|``."""
    return "|" + "|".join(values) + "|" if values else ""


def school_row(entry: Entry) -> tuple[Any, ...] | None:
    """The ``schools`` row for a profile entry, or None for other entries."""
    if entry.kind != kinds.PROFILE or entry.content is None:
        return None
    profile = ProfileContent.of(entry)
    return (bytes(entry.author), entry.seq, profile.name, profile.country)


UPSERT_SCHOOL = (
    "INSERT INTO schools (author, seq, name, country) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (author) DO UPDATE SET seq = excluded.seq, name = excluded.name, "
    "country = excluded.country WHERE excluded.seq > schools.seq"
)


def school_words(name: str, country: str) -> str:
    """A school's words in the index: its name and its country's code and name, folded."""
    return fold(" ".join([name, country, places.name(country) if country else ""])).strip()


def index_row(
    n: int, entry: Entry, school: str = "", *, checked: bool = False
) -> tuple[Any, ...] | None:
    """The listing row for a stored offer or request, or None for other entries.

    ``school`` is :func:`school_words` of the school that posted it (its last column).
    ``checked``: the entry was decoded by this version (``decode_entry``, which ran
    today's schema on its content), so an offer's or a request's schema is not run again."""
    # ``stored``: entries kept unchecked by an older version, not knowing their kind yet,
    # are read again from when the store opens; those today's schema refuses are left out.
    kind = entry.payload.kind
    if kind not in LISTED:
        return None
    if kind == kinds.QUESTION:
        question = QuestionContent.stored(entry)
        if question is None:
            return None
        return _question_row(n, entry, question.title, question.text, "", question, school)
    if kind == kinds.ANSWER:
        answer = AnswerContent.stored(entry)
        if answer is None:
            return None
        return _question_row(n, entry, "", answer.text, answer.by or "", None, school)
    content = entry.content
    if content is None:
        return None
    if not checked:
        try:  # the checks of OfferContent.stored
            kinds.validate_content(kind, content)
        except SchemaError:
            return None
    return side_row(n, entry.payload.author.key, kind, entry.payload.timestamp, content, school)


def side_row(
    n: int, author: bytes, kind: str, ts: int, content: dict[str, Any], school: str
) -> tuple[Any, ...]:
    """The listing row of an offer or a request whose ``content`` today's schema accepts.

    Its fields are read from the map itself, as ``OfferContent.from_content`` reads them
    (the same values: tests/node/test_index_row.py): building the dataclass was about a
    third of :func:`index_row`'s time in a catch-up (docs/performance.md, issue 23
    item 6, fourth step)."""
    get = content.get
    focus = get("focus") or ()
    subjects = get("subjects") or ()
    text = get("text")
    region = get("region")
    words = f"{content['title']} {text or ''} {content['activity']} {region or ''}"
    if focus or subjects:
        words = " ".join([words, *focus, *subjects])
    closes, to = get("closes"), get("to")
    return (
        n,
        author,
        kind,
        content["activity"],
        get("country"),
        _tags(get("phases")),
        _tags(focus),
        _tags(get("languages")),
        _tags([subject_tag(s) for s in subjects]) if subjects else "",
        get("mode"),
        min(closes, to) if closes and to else closes or to or None,
        ts,
        fold(words),
        school,
    )


def _question_row(
    n: int,
    entry: Entry,
    title: str,
    text: str,
    by: str,
    question: QuestionContent | None,
    school: str,
) -> tuple[Any, ...]:
    """A question's or an answer's listing row: no activity, place, mode or end date;
    an answer has no tags (``question`` None)."""
    tags = QuestionContent("", "") if question is None else question
    words = " ".join([title, text, by, *tags.focus, *tags.subjects])
    return (
        n,
        bytes(entry.author),
        entry.kind,
        "",
        None,
        _tags(tags.phases),
        _tags(tags.focus),
        _tags(tags.languages),
        _tags([subject_tag(s) for s in tags.subjects]),
        None,
        None,
        entry.payload.timestamp,
        fold(words),
        school,
    )


def link_row(n: int, entry: Entry) -> tuple[Any, ...] | None:
    """The ``question_links`` row of an answer (its question) or a helpful mark (its
    answer), or None for other entries. Whether the link counts is for
    protocol/rules/questions.py to say when it is read: the entry it names may
    arrive later, or be withdrawn."""
    about: EntryId | None = None
    if entry.kind == kinds.ANSWER:
        answer = AnswerContent.stored(entry)
        about = None if answer is None else answer.question
    elif entry.kind == kinds.HELPFUL:
        mark = HelpfulContent.stored(entry)
        about = None if mark is None else mark.answer
    if about is None:  # another kind, erased, or refused by today's schema (see above)
        return None
    return (n, entry.kind, bytes(about), bytes(entry.author))


INSERT_LINK = "INSERT OR REPLACE INTO question_links (n, kind, about, author) VALUES (?, ?, ?, ?)"


def subject_tag(value: str) -> str:
    """A subject in one spelling, as indexed and as searched: "Français" -> "francais"."""
    return "-".join(fold(value).replace("_", " ").split())


INSERT_LISTING = (
    "INSERT OR REPLACE INTO listings (n, author, side, activity, country, phases, focus, "
    "languages, subjects, mode, ends, ts, folded, school) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: What a mode filter finds: "online" finds those online or either, likewise in person.
MODE_FILTERS = ("in-person", "online")
INSERT_TEXT = "INSERT INTO listing_text (rowid, words) VALUES (?, ?)"
#: The school's words of each listing a school posted, from its newest profile.
SCHOOL_OF = "SELECT s.name, s.country FROM schools AS s WHERE s.author = ?"
#: When a school's profile changes: its listings' school words (name, then author),
#: then their text in the FTS table, dropped (author) and made again (author).
SET_SCHOOL = "UPDATE listings SET school = ? WHERE author = ?"
UNINDEX_SCHOOL_TEXT = (
    "DELETE FROM listing_text WHERE rowid IN (SELECT n FROM listings WHERE author = ?)"
)
REINDEX_SCHOOL_TEXT = (
    "INSERT INTO listing_text (rowid, words) "
    "SELECT n, folded || ' ' || school FROM listings WHERE author = ?"
)


def text_of(row: tuple[Any, ...]) -> tuple[int, str]:
    """The FTS row of an :func:`index_row`: its words, then its school's."""
    return row[0], f"{row[-2]} {row[-1]}".strip()


def insert_listings(
    conn: sqlite3.Connection, numbered: Sequence[tuple[int, Entry]], *, checked: bool = False
) -> None:
    """Add the offers, requests, questions and answers among ``numbered`` (``entries.n``,
    entry) to the index, each with its school's words from ``schools``, and what answers
    and helpful marks name to ``question_links``; on the database thread, inside the
    caller's transaction. The other entries are left out. ``checked``: as for
    :func:`index_row`, true of every entry of ``numbered``."""
    links = [row for n, entry in numbered if entry.kind in LINKED and (row := link_row(n, entry))]
    if links:
        conn.executemany(INSERT_LINK, links)
    listed = [(n, e) for n, e in numbered if e.content is not None and e.kind in LISTED]
    if not listed:
        return
    authors = list({e.payload.author.key for _, e in listed})
    words = dict.fromkeys(authors, "")
    for i in range(0, len(authors), 500):
        part = authors[i : i + 500]
        marks = ",".join("?" * len(part))
        sql = f"SELECT author, name, country FROM schools WHERE author IN ({marks})"
        for author, name, country in conn.execute(sql, part):
            words[author] = school_words(name, country)
    rows = [
        row
        for n, e in listed
        if (row := index_row(n, e, words[e.payload.author.key], checked=checked))
    ]
    conn.executemany(INSERT_LISTING, rows)
    conn.executemany(INSERT_TEXT, [text_of(row) for row in rows])


@dataclass(frozen=True, slots=True)
class Filters:
    side: str | None = None  # "offer" or "request" ("question" or "answer")
    #: What is searched when no ``side`` is chosen: offers and requests (the offers
    #: page), or everything (``schoolmesh search``), or questions and answers.
    among: tuple[str, ...] = SIDES
    activity: str | None = None
    phase: str | None = None
    focus: str | None = None
    language: str | None = None
    country: str | None = None
    subject: str | None = None  # in one spelling (subject_tag)
    mode: str | None = None  # in-person or online (either counts as both)

    @classmethod
    def of(
        cls,
        kind: str | None = None,
        *,
        side: str | None = None,
        phase: str | None = None,
        focus: str | None = None,
        language: str | None = None,
        country: str | None = None,
        subject: str | None = None,
        mode: str | None = None,
        among: tuple[str, ...] = SIDES,
    ) -> Filters:
        """Filters as people give them: ``kind`` is an activity, or "offer" / "request";
        ``side`` ("offer" or "request") goes with an activity."""
        if kind in LISTED:
            side, kind = side or kind, None
        return cls(
            side=side if side in LISTED else None,
            among=among,
            activity=kind or None,
            phase=phase or None,
            focus=focus or None,
            language=language or None,
            country=country.strip().upper() if country and country.strip() else None,
            subject=subject_tag(subject) or None if subject else None,
            mode=mode if mode in MODE_FILTERS else None,
        )


def _unspaced(term: str) -> bool:
    """True for terms in scripts written without spaces between words."""
    return any(unicodedata.east_asian_width(c) in "WF" or "\u0e00" <= c <= "\u0e7f" for c in term)


def order(table: str = "") -> str:
    """Best match first (bm25 scores are negative: lower is better), then newest."""
    return f"ORDER BY {table}score, {table}ts DESC, {table}n DESC"


def build_query(query: str, filters: Filters, today: str) -> tuple[str, list[Any]]:
    """SQL returning ``n`` (``entries.n``), ``ts`` and ``score`` of each match, in order().

    Its last parameter, the limit, is left for the caller to append.
    """
    terms = [t for t in re.split(r"[\s\"'*^():]+", fold(query)) if t]
    words = [t for t in terms if not _unspaced(t)]
    where = ["(l.ends IS NULL OR l.ends >= ?)"]
    params: list[Any] = [today]
    for term in terms:
        if _unspaced(term):
            # a plain substring: % and _ are text
            where.append("instr(l.folded || ' ' || l.school, ?) > 0")
            params.append(term)
    if filters.country:  # where the activity is, else where the school is
        school_country = "(SELECT s.country FROM schools AS s WHERE s.author = l.author)"
        where.append(f"COALESCE(l.country, {school_country}) = ?")
        params.append(filters.country)
    if not filters.side:
        where.append(f"l.side IN ({', '.join('?' * len(filters.among))})")
        params.extend(filters.among)
    # An answer is found only while its question is held and current: the rule of
    # protocol/rules/questions.py (answer), repeated here so a page of results is full.
    where.append(
        "(l.side != 'answer' OR EXISTS (SELECT 1 FROM question_links AS k JOIN entries AS q "
        "ON q.id = k.about WHERE k.n = l.n AND q.kind = 'question' AND q.content IS NOT NULL))"
    )
    for column, value in (("side", filters.side), ("activity", filters.activity)):
        if value:
            where.append(f"l.{column} = ?")
            params.append(value)
    for column, value in (
        ("phases", filters.phase),
        ("focus", filters.focus),
        ("languages", filters.language),
        ("subjects", filters.subject),
    ):
        if value:
            where.append(f"instr(l.{column}, ?) > 0")
            params.append(f"|{value}|")
    if filters.mode:
        where.append("l.mode IN (?, 'either')")
        params.append(filters.mode)
    if words:
        # Each word must appear; the last may be the start of a word (typing ahead).
        match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'
        # Ranking is the costly part (bm25 for every match), so only the newest
        # RANKED_MATCHES that pass the filters are ranked; a page shows far fewer.
        sql = (
            "SELECT * FROM (SELECT l.n AS n, l.ts AS ts, bm25(listing_text) AS score "
            "FROM listing_text JOIN listings AS l ON l.n = listing_text.rowid "
            f"WHERE listing_text MATCH ? AND {' AND '.join(where)} "
            f"ORDER BY listing_text.rowid DESC LIMIT {RANKED_MATCHES}) "
            f"{order()} LIMIT ?"
        )
        return sql, [match.strip(), *params]
    sql = (
        f"SELECT l.n AS n, l.ts AS ts, 0 AS score FROM listings AS l WHERE {' AND '.join(where)} "
        f"{order()} LIMIT ?"
    )
    return sql, params


def index_listings_now(conn: sqlite3.Connection, select: str, params: Sequence[Any]) -> None:
    rows = conn.execute(select, params).fetchall()
    index_now(conn, [(int(n), load_entry(*columns)) for n, *columns in rows])


def index_now(conn: sqlite3.Connection, numbered: list[tuple[int, Entry]]) -> None:
    """Add offers, requests, questions and answers to the search index, profiles to
    ``schools``, and what answers and helpful marks name to ``question_links``."""
    schools = [row for _, entry in numbered if (row := school_row(entry))]
    if schools:
        conn.executemany(UPSERT_SCHOOL, schools)
    for author in {row[0] for row in schools}:  # a new name: its listings found by it
        held = conn.execute(SCHOOL_OF, (author,)).fetchone()
        words = "" if held is None else school_words(*held)
        conn.execute(SET_SCHOOL, (words, author))
        conn.execute(UNINDEX_SCHOOL_TEXT, (author,))
        conn.execute(REINDEX_SCHOOL_TEXT, (author,))
    insert_listings(conn, numbered)


def unindex_now(conn: sqlite3.Connection, select_n: str, params: Sequence[Any]) -> list[int]:
    """Take the entries ``select_n`` finds out of the search index, and off the indexer's
    queue; return the numbers taken off the queue (the caller frees their copies kept
    in memory: :meth:`Store._forget_waiting`)."""
    tables = (
        ("listing_text", "rowid"),
        ("listings", "n"),
        ("question_links", "n"),
    )
    for table, column in tables:
        conn.execute(f"DELETE FROM {table} WHERE {column} IN ({select_n})", params)
    taken = conn.execute(f"DELETE FROM unindexed WHERE n IN ({select_n}) RETURNING n", params)
    return [int(row[0]) for row in taken.fetchall()]
