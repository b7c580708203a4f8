"""Questions to the network and their answers; ``node.questions``.

A teacher asks a question (a public ``question`` entry of the school, carried like
an offer); staff at any school answer it (a public ``answer`` entry of *their*
school, naming the question, with the colleague's name only if they give it); the
asking school marks the answers that helped (a public ``helpful`` entry naming the
answer, so every school sees which ones did). Whether an answer or a mark counts is
decided when it is read, by protocol/rules/questions.py, against what this node
holds then (docs/decisions.md, "Questions to the network"). Questions and answers are
found by the offers' full-text search (node/store/search.py).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.clock import iso_ms, now_ms
from node.store.database import Store
from protocol import kinds
from protocol.contents.entries import AnswerContent, QuestionContent
from protocol.entry import Entry, load_entry
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import questions as rules

_UNKNOWN = ("unknown school", "")
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer as staff see it, with its school's name."""

    id: EntryId
    school_id: NodeId
    school: str
    country: str
    text: str
    by: str | None
    at: int
    helpful: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "school_id": str(self.school_id),
            "school": self.school,
            "country": self.country,
            "text": self.text,
            "by": self.by,
            "answered_at": iso_ms(self.at),
            "helpful": self.helpful,
        }


@dataclass(frozen=True, slots=True)
class Question:
    """A question with its school's name and the answers that count."""

    id: EntryId
    school_id: NodeId
    school: str
    country: str
    content: QuestionContent
    at: int
    ours: bool
    answers: tuple[Answer, ...] = ()
    answer_count: int = 0

    @property
    def title(self) -> str:
        return self.content.title

    @property
    def text(self) -> str:
        return self.content.text

    def as_json(self, *, with_answers: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "title": self.title,
            "text": self.text,
            "focus": list(self.content.focus),
            "subjects": list(self.content.subjects),
            "phases": list(self.content.phases),
            "languages": list(self.content.languages),
            "school_id": str(self.school_id),
            "school": self.school,
            "country": self.country,
            "asked_at": iso_ms(self.at),
            "ours": self.ours,
        }
        if with_answers:
            out["answers"] = [a.as_json() for a in self.answers]
        else:
            out["answer_count"] = self.answer_count
        return out


@dataclass(frozen=True, slots=True)
class NewAnswers:
    """New answers from other schools to one of our questions, for the dashboard: how
    many, and the school that answered last."""

    question: EntryId
    title: str
    school: str  # the school of the latest answer
    at: int  # when the latest reached us
    count: int
    latest: EntryId  # the answer that came last


def clean_text(value: str, flag: str, *, limit: int, what: str) -> str:
    """Text as the web form or command line gave it: new lines as ``\\n`` (browsers
    send CRLF), accents composed (NFC), trimmed; refused empty, too long or with
    invisible control characters, in words that say what to do."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise UserInputError(
            f"{flag}: write the {what}", page=said("Write the text: it cannot be empty.")
        )
    if len(text) > limit:
        most = f"{limit:,}"
        raise UserInputError(
            f"{flag}: keep the {what} to {most} characters ({len(text):,})",
            page=said("Keep it to %(limit)s characters at most.", limit=most),
        )
    if kinds.text(limit)(text) is not None:
        raise UserInputError(
            f"{flag}: remove the control characters (tabs and new lines are fine)",
            page=said(
                "The text has invisible characters that cannot be sent: type it again "
                "instead of pasting it."
            ),
        )
    return text


def _tags(values: Iterable[str]) -> list[str]:
    """Tags as given, split on commas, trimmed, without repeats, in order."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            tag = " ".join(part.split())
            if tag and tag not in out:
                out.append(tag)
    return out


def content_of(
    *,
    title: str,
    text: str,
    focus: Iterable[str] = (),
    subjects: Iterable[str] = (),
    phases: Iterable[str] = (),
    languages: Iterable[str] = (),
) -> dict[str, Any]:
    """A question's content from its fields, the empty ones left out. The command
    line and the web form both build it here."""
    content: dict[str, Any] = {
        "title": " ".join(clean_text(title, "--title", limit=MAX_TITLE, what="title").split()),
        "text": clean_text(text, "--text", limit=MAX_TEXT, what="question"),
    }
    for name, values in (
        ("focus", _tags(focus)),
        ("subjects", _tags(subjects)),
        ("phases", _tags(phases)),
        ("languages", [v.lower() for v in _tags(languages)]),
    ):
        if values:
            content[name] = values
    return content


def _named(row: Any) -> rules.Named | None:
    return None if row is None else rules.Named(NodeId(row[0]), str(row[1]), row[2] is None)


def _schools(conn: sqlite3.Connection, authors: set[bytes]) -> dict[bytes, tuple[str, str]]:
    if not authors:
        return {}
    marks = ",".join("?" * len(authors))
    rows = conn.execute(
        f"SELECT author, name, country FROM schools WHERE author IN ({marks})", list(authors)
    ).fetchall()
    return {bytes(a): (str(n), str(c)) for a, n, c in rows}


def _helped(
    conn: sqlite3.Connection, named_question: rules.Named, answer_ids: list[bytes]
) -> set[bytes]:
    """Of ``answer_ids`` (answers to the question), those marked helpful by a mark
    that counts (rules.helpful)."""
    if not answer_ids:
        return set()
    marks = ",".join("?" * len(answer_ids))
    held = {
        bytes(row[3]): _named(row[:3])
        for row in conn.execute(
            f"SELECT author, kind, content, id FROM entries WHERE id IN ({marks})", answer_ids
        )
    }
    helped: set[bytes] = set()
    for about, author in conn.execute(
        "SELECT DISTINCT k.about, k.author FROM question_links AS k JOIN entries AS e "
        f"ON e.n = k.n WHERE k.kind = ? AND k.about IN ({marks}) AND e.content IS NOT NULL",
        (kinds.HELPFUL, *answer_ids),
    ):
        if rules.helpful(NodeId(author), held.get(bytes(about)), named_question) is None:
            helped.add(bytes(about))
    return helped


#: The answers to a question in the order they are shown: oldest first.
_ANSWERS = (
    "FROM question_links AS k JOIN entries AS e ON e.n = k.n "
    "WHERE k.about = ? AND k.kind = ? AND e.content IS NOT NULL"
)


def _read_question(
    conn: sqlite3.Connection,
    qid: bytes,
    me: NodeId,
    *,
    offset: int = 0,
    limit: int = -1,
    only: bytes | None = None,
) -> Question | None:
    """A current question with the answers and marks that count, in one snapshot:
    ``limit`` answers (all when -1) from ``offset``, or only the answer ``only``;
    ``answer_count`` is always the number of all of them."""
    row = conn.execute(
        "SELECT author, kind, payload, sig, content FROM entries WHERE id = ?", (qid,)
    ).fetchone()
    if row is None or row[1] != kinds.QUESTION or row[4] is None:
        return None
    question = load_entry(*row[2:])
    asked = QuestionContent.stored(question)
    if asked is None:  # kept unchecked by an older version: left out
        return None
    named_question = rules.Named(NodeId(row[0]), kinds.QUESTION, False)
    found: list[Entry] = []
    count = 0
    if rules.answer(named_question) is None:  # always so here: the question is current
        count = int(conn.execute(f"SELECT COUNT(*) {_ANSWERS}", (qid, kinds.ANSWER)).fetchone()[0])
        if only is not None:
            sql = f"SELECT e.payload, e.sig, e.content {_ANSWERS} AND e.id = ?"
            params: tuple[Any, ...] = (qid, kinds.ANSWER, only)
        else:
            sql = (
                f"SELECT e.payload, e.sig, e.content {_ANSWERS} "
                "ORDER BY e.ts, e.id LIMIT ? OFFSET ?"
            )
            params = (qid, kinds.ANSWER, limit, offset)
        found = [load_entry(*columns) for columns in conn.execute(sql, params)]
    helped = _helped(conn, named_question, [bytes(a.id) for a in found])
    names = _schools(conn, {bytes(question.author), *(bytes(a.author) for a in found)})
    read = [(a, AnswerContent.stored(a)) for a in found]
    answers = tuple(
        Answer(
            id=a.id,
            school_id=a.author,
            school=names.get(bytes(a.author), _UNKNOWN)[0],
            country=names.get(bytes(a.author), _UNKNOWN)[1],
            text=typed.text,
            by=typed.by,
            at=a.payload.timestamp,
            helpful=bytes(a.id) in helped,
        )
        for a, typed in read
        if typed is not None
    )
    school, country = names.get(bytes(question.author), _UNKNOWN)
    return Question(
        id=question.id,
        school_id=question.author,
        school=school,
        country=country,
        content=asked,
        at=question.payload.timestamp,
        ours=question.author == me,
        answers=answers,
        answer_count=count,
    )


def _answer_place(conn: sqlite3.Connection, qid: bytes, aid: bytes) -> int | None:
    """How many answers to the question are shown before the answer ``aid``, or None
    when it is not one of them."""
    row = conn.execute(f"SELECT e.ts {_ANSWERS} AND e.id = ?", (qid, kinds.ANSWER, aid)).fetchone()
    if row is None:
        return None
    before = f"SELECT COUNT(*) {_ANSWERS} AND (e.ts < ? OR (e.ts = ? AND e.id < ?))"
    return int(conn.execute(before, (qid, kinds.ANSWER, row[0], row[0], aid)).fetchone()[0])


def _read_all(conn: sqlite3.Connection, me: NodeId, offset: int, limit: int) -> list[Question]:
    rows = conn.execute(
        "SELECT payload, sig, content FROM entries WHERE kind = ? AND content IS NOT NULL "
        "ORDER BY ts DESC, id LIMIT ? OFFSET ?",
        (kinds.QUESTION, limit, offset),
    ).fetchall()
    # Questions kept unchecked by an older version that today's schema refuses are left out.
    read = [(e, QuestionContent.stored(e)) for e in (load_entry(*row) for row in rows)]
    typed = {bytes(e.id): question for e, question in read if question is not None}
    entries = [e for e, question in read if question is not None]
    counts: dict[bytes, int] = {}
    if entries:
        # Answers held and current; their questions here are current (rules.answer).
        marks = ",".join("?" * len(entries))
        counts = {
            bytes(about): int(n)
            for about, n in conn.execute(
                "SELECT k.about, COUNT(*) FROM question_links AS k JOIN entries AS e "
                f"ON e.n = k.n WHERE k.kind = ? AND k.about IN ({marks}) "
                "AND e.content IS NOT NULL GROUP BY k.about",
                (kinds.ANSWER, *(bytes(e.id) for e in entries)),
            )
        }
    names = _schools(conn, {bytes(e.author) for e in entries})
    return [
        Question(
            id=e.id,
            school_id=e.author,
            school=names.get(bytes(e.author), _UNKNOWN)[0],
            country=names.get(bytes(e.author), _UNKNOWN)[1],
            content=typed[bytes(e.id)],
            at=e.payload.timestamp,
            ours=e.author == me,
            answer_count=counts.get(bytes(e.id), 0),
        )
        for e in entries
    ]


def _read_new_answers(conn: sqlite3.Connection, me: NodeId, since: int) -> list[NewAnswers]:
    # One row per question of ours: SQLite takes the bare columns (e.author) from the
    # row of MAX(), so the school and answer named are the ones that came last.
    rows = conn.execute(
        "SELECT q.payload, q.sig, q.content, e.author, e.id, MAX(e.received_at), COUNT(*) "
        "FROM question_links AS k JOIN entries AS e ON e.n = k.n "
        "JOIN entries AS q ON q.id = k.about "
        "WHERE k.kind = ? AND e.content IS NOT NULL AND e.author != ? AND e.received_at > ? "
        "AND q.author = ? AND q.kind = ? AND q.content IS NOT NULL GROUP BY k.about",
        (kinds.ANSWER, bytes(me), since, bytes(me), kinds.QUESTION),
    ).fetchall()
    names = _schools(conn, {bytes(r[3]) for r in rows})
    out = []
    for payload, sig, content, author, latest, ts, count in rows:
        question = load_entry(payload, sig, content)
        asked = QuestionContent.stored(question)
        if asked is None:
            continue
        school = names.get(bytes(author), _UNKNOWN)[0]
        out.append(
            NewAnswers(
                question.id, asked.title, school, int(ts), int(count), EntryId(bytes(latest))
            )
        )
    return out


class Questions:
    """This school's questions, and everyone's that reached us; ``node.questions``."""

    def __init__(self, store: Store, key: NodeKey) -> None:
        self.store = store
        self.key = key
        self.me = key.node_id

    async def _publish(self, kind: str, content: dict[str, Any]) -> Entry:
        return await self.store.append_local(self.key, kind, content, now_ms())

    async def ask(self, content: dict[str, Any]) -> Entry:
        """Publish a question (see :func:`content_of`) from this school."""
        return await self._publish(kinds.QUESTION, content)

    async def all(self, *, offset: int = 0, limit: int = -1) -> list[Question]:
        """The current questions this node holds, newest first, with answer counts:
        ``limit`` of them (all when -1) from ``offset``."""
        return await self.store.read(lambda conn: _read_all(conn, self.me, offset, limit))

    async def one(
        self,
        id_text: str,
        *,
        offset: int = 0,
        limit: int = -1,
        only: EntryId | None = None,
    ) -> Question:
        """A current question, by id (or a prefix of 8 or more), with ``limit`` of its
        answers (all when -1) from ``offset``, oldest first, or with only the answer
        ``only``; ``answer_count`` counts them all."""
        qid = bytes(await self.store.resolve(id_text))
        just = None if only is None else bytes(only)
        found = await self.store.read(
            lambda conn: _read_question(conn, qid, self.me, offset=offset, limit=limit, only=just)
        )
        if found is None:
            raise NotFoundError(
                f"no question with id {id_text}: see `schoolmesh question list`",
                page=said("There is no such question: it may have been withdrawn."),
            )
        return found

    async def answer(self, question_id: str, text: str, by: str | None = None) -> Entry:
        """Answer a current question, from this school; ``by`` is the colleague's name,
        shown only when given."""
        question = await self.one(question_id, limit=0)
        written = clean_text(text, "--text", limit=MAX_TEXT, what="answer")
        name: str | None = None
        if by is not None and by.strip():
            name = " ".join(by.split())
            if len(name) > MAX_NAME or kinds.text(MAX_NAME)(name) is not None:
                raise UserInputError(
                    f"--by: give your name as colleagues know it, up to {MAX_NAME} characters",
                    page=said("Give your name as colleagues know it, up to 100 characters."),
                )
        content = AnswerContent(question.id, written, name).to_content()
        return await self._publish(kinds.ANSWER, content)

    async def mark_helpful(self, answer_id: str) -> tuple[Question, Entry]:
        """Mark an answer to one of this school's questions as helpful, for everyone."""
        aid = await self.store.resolve(answer_id)
        answer = await self.store.get(aid)
        typed = None
        if answer is not None and answer.kind == kinds.ANSWER:
            typed = AnswerContent.stored(answer)
        if answer is None or typed is None:
            raise NotFoundError(
                f"no answer with id {answer_id}: see `schoolmesh question show QUESTION_ID`",
                page=said("There is no such answer: it may have been withdrawn."),
            )
        question = await self.one(str(typed.question), only=aid)
        if not question.ours:
            raise NotAllowedError(
                "only the school that asked the question can mark its answers helpful",
                page=said("Only the school that asked the question can mark its answers."),
            )
        if any(a.id == aid and a.helpful for a in question.answers):
            raise UserInputError(
                "that answer is already marked helpful",
                page=said("That answer is already marked helpful."),
            )
        entry = await self._publish(kinds.HELPFUL, {"answer": bytes(aid)})
        return question, entry

    async def withdraw(self, id_text: str) -> Entry:
        """Withdraw one of this school's questions or answers, everywhere it went."""
        target = await self.store.get(await self.store.resolve(id_text))
        if target is None or target.kind not in (kinds.QUESTION, kinds.ANSWER):
            raise NotFoundError(
                f"no question or answer with id {id_text}",
                page=said("There is no such question or answer."),
            )
        if target.author != self.me:
            raise NotAllowedError(
                "that was written by another school; only its school can withdraw it",
                page=said("Only the school that wrote it can withdraw it."),
            )
        if target.content is None:
            raise UserInputError("it is already withdrawn", page=said("It is already withdrawn."))
        return await self._publish(kinds.WITHDRAW, {"target": bytes(target.id)})

    async def answer_place(self, question_id: EntryId, answer_id: str) -> int | None:
        """How many answers the question's page shows before the answer ``answer_id``
        (to open the page it is on), or None when it is not a counted answer to it."""
        try:
            aid = bytes(await self.store.resolve(answer_id))
        except (NotFoundError, UserInputError):
            return None
        qid = bytes(question_id)
        return await self.store.read(lambda conn: _answer_place(conn, qid, aid))

    async def new_answers(self, since: int) -> list[NewAnswers]:
        """Answers from other schools to our current questions, received after ``since``
        (by our clock: an answer signed weeks ago that reaches us today is news), one
        line per question with their number, for the dashboard."""
        return await self.store.read(lambda conn: _read_new_answers(conn, self.me, since))
