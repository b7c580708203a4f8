"""Moderation clusters: subject leaders of several schools grade the same samples.

A subject leader makes a cluster with named partner schools; the ``cluster``
letter, sealed for those schools only, lists them (the maker first). Any school
of the cluster shares anonymised work samples (a PDF, or a photo or scan, made
safe by node/clusters/files.py) in ``cluster-sample`` letters to the others.

Grading is commit-then-reveal (protocol/rules/clusters.py): our grade, comment
and 32 random bytes are kept here, and only their hash goes to the other schools
(``cluster-commit``); our grade itself (``cluster-reveal``) goes to a school only
once we hold its commitment for that sample, whether it arrived before we
graded or after. So no school, however its node is changed, can read our grade
before fixing its own, and none can change its grade after reading ours.

A cluster another school made arrives as an invitation: nothing of ours (samples,
commitments, grades) goes to it until our staff accept it, and leaving it erases
its samples and grades here. Our samples and grades go only to the schools of a
cluster we know (partners, or schools whose profile we hold). A partner's sample
is stored as sent inside the mail room's transaction, unserved, and cleaned after
it by :meth:`Clusters.clean_waiting` on a worker thread, so a large file never
holds the database's writes; no page or command reads it before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.clusters.files import clean_received, clean_sample
from node.mail.mailroom import Mailroom
from node.store.database import Store
from protocol import letters
from protocol.contents.letters import (
    ClusterCommitLetter,
    ClusterLetter,
    ClusterRevealLetter,
    ClusterSampleLetter,
)
from protocol.errors import NotFoundError, SealedError, StorageError, UserInputError, said
from protocol.keys import NodeId, NodeKey
from protocol.rules import clusters as rules
from protocol.sealed import Letter

MIN_PREFIX = 6
MAX_GRADE = 40
MAX_COMMENT = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SchoolRef:
    node_id: NodeId
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"node_id": str(self.node_id), "name": self.name}


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    title: str
    subject: str | None
    maker: SchoolRef
    schools: tuple[SchoolRef, ...]  # the maker first
    samples: int
    ours: bool  # we made it
    state: str  # invited, member (accepted, or ours) or left

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "subject": self.subject,
            "maker": self.maker.as_json(),
            "schools": [s.as_json() for s in self.schools],
            "samples": self.samples,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class Grade:
    school: SchoolRef
    grade: str
    comment: str

    def as_json(self) -> dict[str, Any]:
        return {
            "node_id": str(self.school.node_id),
            "school": self.school.name,
            "grade": self.grade,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    cluster: str
    title: str
    type: str
    school: SchoolRef  # the school that shared it
    size: int
    at: int
    ours: Grade | None  # our grade, once given
    graded_by: tuple[SchoolRef, ...]  # schools that gave a grade (sealed or not), ours too
    others: tuple[Grade, ...]  # the other schools' grades: empty until ours is given
    waiting: tuple[SchoolRef, ...]  # schools that graded but whose grade has not reached us

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cluster": self.cluster,
            "title": self.title,
            "type": self.type,
            "school": self.school.as_json(),
            "bytes": self.size,
            "our_grade": None
            if self.ours is None
            else {"grade": self.ours.grade, "comment": self.ours.comment},
            "graded_by": [str(s.node_id) for s in self.graded_by],
            "grades": [g.as_json() for g in self.others],
        }


@dataclass(frozen=True, slots=True)
class Invitation:
    """A cluster another school invited us to, for the dashboard."""

    id: str
    title: str
    maker: str  # its name
    at: int  # when it reached us


@dataclass(frozen=True, slots=True)
class Graded:
    """A sample every school of a cluster has graded, for the dashboard."""

    cluster: str
    sample: str
    title: str
    at: int  # when the last grade (or commitment) reached us


@dataclass(frozen=True, slots=True)
class ClusterView:
    cluster: Cluster
    samples: tuple[Sample, ...]

    def as_json(self) -> dict[str, Any]:
        return {**self.cluster.as_json(), "samples": [s.as_json() for s in self.samples]}


def clean_title(value: str, flag: str = "--title") -> str:
    title = " ".join(value.split())
    if not 1 <= len(title) <= 200 or _CONTROL.search(title):
        raise UserInputError(
            f"{flag}: give a title of 1 to 200 characters",
            page=said("Give a title of 1 to 200 characters."),
        )
    return title


def clean_grade(value: str) -> str:
    grade = " ".join(value.split())
    if not 1 <= len(grade) <= MAX_GRADE or _CONTROL.search(grade):
        raise UserInputError(
            f"--grade: give the grade in 1 to {MAX_GRADE} characters, such as 6, B+ or Secure",
            page=said("Give the grade in 1 to 40 characters, such as 6, B+ or Secure."),
        )
    return grade


def clean_comment(value: str | None) -> str:
    comment = (value or "").strip()
    if len(comment) > MAX_COMMENT or _CONTROL.search(comment):
        raise UserInputError(
            f"--comment: keep it to {MAX_COMMENT:,} characters, with no control characters",
            page=said("Keep the comment to 2,000 characters at most."),
        )
    return comment


class Clusters:
    """Moderation clusters this school is in; ``node.clusters``.

    Each operation is one trip to the database (``store.read(fn)``/``store.write(fn)``
    with a plain function of the connection); letters are handled inside the mail
    room's transaction, in one trip too."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom) -> None:
        self.store = store
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False
        #: Most bytes of samples one cluster holds here (rules.MAX_BYTES; tests lower it).
        self.max_bytes = rules.MAX_BYTES
        self._to_clean = False  # a partner's sample was stored as sent: clean it after commit
        self._cleaner: asyncio.Task[int] | None = None
        store.add_listener(self._after_commit)

    # -- making a cluster and sharing samples ------------------------------------------

    async def create(
        self, title: str, schools: list[str], *, subject: str | None = None, now: int
    ) -> Cluster:
        """Make a cluster with named partner schools and tell each of them."""
        title = clean_title(title)
        subject = (
            None if subject is None or not subject.strip() else clean_title(subject, "--subject")
        )
        named: list[NodeId] = []
        for text in schools:
            school = NodeId.parse(text)
            if school != self.me and school not in named:
                named.append(school)
        if not named:
            raise UserInputError(
                "name at least one partner school with --school NODE_ID",
                page=said("Choose at least one partner school."),
            )
        if len(named) > 63:
            raise UserInputError(
                "a cluster has at most 64 schools: name fewer with --school",
                page=said("A cluster has at most 64 schools."),
            )
        cid = os.urandom(16).hex()
        members = [self.me, *named]
        content = ClusterLetter(cid, title, tuple(members), 1, subject).to_content()

        def write(conn: sqlite3.Connection) -> Cluster:
            partners = _partners_now(conn)
            for school in named:
                if school not in partners:
                    raise UserInputError(
                        f"--school {school} is not a partner school: a cluster is made with "
                        "partner schools only (`schoolmesh partner list`)",
                        page=said("A cluster can only include our partner schools."),
                    )
            conn.execute(
                "INSERT INTO clusters (id, title, subject, maker, rev, created_at, state) "
                "VALUES (?, ?, ?, ?, 1, ?, 'member')",
                (cid, title, subject, bytes(self.me), now),
            )
            conn.executemany(
                "INSERT INTO cluster_schools (cluster, school) VALUES (?, ?)",
                [(cid, bytes(school)) for school in members],
            )
            self.mail.send_now(conn, letters.CLUSTER, content, named, about=cid, now=now)
            return _cluster_now(conn, self.me, cid)

        return await self.store.write(write)

    async def share(
        self, cluster_text: str, data: bytes, *, title: str, name: str, now: int
    ) -> Sample:
        """Share one anonymised sample with the cluster's schools (cleaned first)."""
        title = clean_title(title)
        cid = (await self.get(cluster_text)).id  # a wrong id is said before any cleaning
        kind, cleaned, digest = await asyncio.to_thread(clean_sample, data, name=name)
        sid = os.urandom(16).hex()
        content = ClusterSampleLetter(cid, sid, title, kind, digest, cleaned, now).to_content()

        def write(conn: sqlite3.Connection) -> Sample:
            _taking_part_now(conn, cid)
            count, held_bytes = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM cluster_samples "
                "WHERE cluster = ?",
                (cid,),
            ).fetchone()
            if count >= rules.MAX_SAMPLES or held_bytes + len(cleaned) > self.max_bytes:
                raise UserInputError(
                    f"this cluster already has {count} samples ({held_bytes // 2**20} MB), "
                    f"the most one holds: start a new cluster",
                    page=said("This cluster is full: start a new cluster."),
                )
            conn.execute(
                "INSERT INTO cluster_samples (id, cluster, origin, title, type, hash, data, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, cid, bytes(self.me), title, kind, digest, cleaned, now),
            )
            others = _recipients_now(conn, self.me, cid)
            if others:
                self.mail.send_now(
                    conn, letters.CLUSTER_SAMPLE, content, others, about=sid, now=now
                )
            return _sample_now(conn, self.me, sid)

        return await self.store.write(write)

    async def grade(self, sample_text: str, grade: str, comment: str | None, *, now: int) -> Sample:
        """Give our grade: its commitment to every school, the grade itself to those
        whose commitment we hold (the others get it when theirs arrives)."""
        grade, text = clean_grade(grade), clean_comment(comment)
        salt = os.urandom(letters.SALT_BYTES)

        def write(conn: sqlite3.Connection) -> Sample:
            sid = _find_now(conn, "cluster_samples", sample_text)
            (cid,) = conn.execute(
                "SELECT cluster FROM cluster_samples WHERE id = ?", (sid,)
            ).fetchone()
            _taking_part_now(conn, cid)
            if _grade_now(conn, sid, self.me) is not None:
                raise UserInputError(
                    "your school already graded that sample: a grade cannot be changed once "
                    "given (the other schools may have seen it)",
                    page=said(
                        "Our school has already graded this sample: a grade cannot be changed."
                    ),
                )
            sealed = rules.commitment(cid, sid, self.me, grade, text, salt)
            conn.execute(
                "INSERT INTO cluster_grades (cluster, sample, school, commitment, grade, "
                "comment, salt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, sid, bytes(self.me), sealed, grade, text, salt, now),
            )
            schools = _schools_now(conn, cid)
            others = _recipients_now(conn, self.me, cid)
            if others:
                self.mail.send_now(
                    conn,
                    letters.CLUSTER_COMMIT,
                    ClusterCommitLetter(cid, sid, sealed).to_content(),
                    others,
                    about=sid,
                    now=now,
                )
            committed = {
                NodeId(r[0])
                for r in conn.execute(
                    "SELECT school FROM cluster_grades WHERE sample = ? AND cluster = ?",
                    (sid, cid),
                )
            }
            to = [s for s in others if rules.may_reveal(s, schools=schools, committed=committed)]
            # (others: only schools we know, rules.recipients)
            self._reveal_now(conn, cid, sid, to, now)
            return _sample_now(conn, self.me, sid)

        return await self.store.write(write)

    def _reveal_now(
        self, conn: sqlite3.Connection, cluster: str, sample: str, to: list[NodeId], now: int
    ) -> None:
        """Send our grade for ``sample`` to ``to`` (each of which has committed), if we
        have graded it."""
        row = conn.execute(
            "SELECT grade, comment, salt FROM cluster_grades "
            "WHERE sample = ? AND school = ? AND grade IS NOT NULL",
            (sample, bytes(self.me)),
        ).fetchone()
        if row is None or not to:
            return
        content = ClusterRevealLetter(cluster, sample, row[0], row[1], bytes(row[2])).to_content()
        self.mail.send_now(conn, letters.CLUSTER_REVEAL, content, to, about=sample, now=now)

    # -- invitations ---------------------------------------------------------------------

    async def accept(self, text: str, *, now: int) -> Cluster:
        """Accept a cluster another school invited us to: from now on we may share
        samples and grade in it, and our samples and grades go to its schools."""

        def write(conn: sqlite3.Connection) -> Cluster:
            cid = _find_now(conn, "clusters", text)
            cluster = _cluster_now(conn, self.me, cid)
            if cluster.state == rules.LEFT:
                raise UserInputError(
                    f"your school left cluster {cid}: ask {cluster.maker.name} to make a new one",
                    page=said(
                        "Our school left this cluster: ask the school that made it for a new one."
                    ),
                )
            conn.execute("UPDATE clusters SET state = ? WHERE id = ?", (rules.MEMBER, cid))
            return _cluster_now(conn, self.me, cid)

        return await self.store.write(write)

    async def leave(self, text: str, *, now: int) -> Cluster:
        """Decline an invitation or leave a cluster: its samples and grades are erased
        here, nothing of ours goes to it any more, and its letters change nothing."""

        def write(conn: sqlite3.Connection) -> Cluster:
            cid = _find_now(conn, "clusters", text)
            cluster = _cluster_now(conn, self.me, cid)
            if cluster.ours:
                raise UserInputError(
                    f"your school made cluster {cid}: the others are in it because of us, "
                    "so it cannot be left (they may leave it)",
                    page=said("Our school made this cluster: it cannot be left."),
                )
            conn.execute("DELETE FROM cluster_grades WHERE cluster = ?", (cid,))
            conn.execute("DELETE FROM cluster_samples WHERE cluster = ?", (cid,))
            conn.execute("UPDATE clusters SET state = ? WHERE id = ?", (rules.LEFT, cid))
            return _cluster_now(conn, self.me, cid)

        cluster = await self.store.write(write)
        await self.store.checkpoint()  # no copy of the erased files stays in the log file
        return cluster

    # -- a partner's files, cleaned outside the mail room's transaction -----------------

    def _after_commit(self, _authors: set[NodeId]) -> None:
        if self._to_clean:
            self._to_clean = False
            self._start_cleaning()

    def _start_cleaning(self) -> None:
        if self._cleaner is None or self._cleaner.done():
            self._cleaner = asyncio.get_running_loop().create_task(self._clean_in_background())

    async def _clean_in_background(self) -> int:
        """:meth:`clean_waiting` as a task: a failure (a full disk) is logged, and what
        is left is cleaned at the next sample or listing."""
        try:
            return await self.clean_waiting()
        except StorageError as exc:
            log.warning("partners' cluster samples wait to be cleaned: %s", exc)
            return 0

    async def clean_waiting(self) -> int:
        """Clean each partner's sample stored as sent, one at a time on a worker thread
        (no transaction open meanwhile), then store the clean file and serve it; one
        that cannot be read is erased. Returns how many were cleaned."""
        done = 0
        while True:
            row = await self.store.read(
                lambda conn: conn.execute(
                    "SELECT id, type, data, origin FROM cluster_samples WHERE clean = 0 LIMIT 1"
                ).fetchone()
            )
            if row is None:
                return done
            sid, kind, raw, origin = str(row[0]), str(row[1]), bytes(row[2]), NodeId(row[3])
            cleaned: bytes | None
            try:
                cleaned = await asyncio.to_thread(clean_received, kind, raw)
            except SealedError as exc:
                self.mail.logs.warning(
                    origin, "a cluster sample from %s was erased: %s", origin, exc
                )
                cleaned = None

            await self.store.write(functools.partial(_keep_cleaned, sid=sid, cleaned=cleaned))
            done += 1

    async def close(self) -> None:
        """Stop cleaning (what is left is cleaned when the node next reads its clusters)."""
        if self._cleaner is not None and not self._cleaner.done():
            self._cleaner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleaner

    # -- reading -----------------------------------------------------------------------

    async def all(self) -> list[Cluster]:
        """Every cluster we are in or invited to (not those we left), newest first."""

        def read(conn: sqlite3.Connection) -> tuple[list[Cluster], bool]:
            rows = conn.execute(
                "SELECT id FROM clusters WHERE state != ? ORDER BY created_at DESC, id",
                (rules.LEFT,),
            ).fetchall()
            waiting = conn.execute("SELECT 1 FROM cluster_samples WHERE clean = 0 LIMIT 1")
            return [_cluster_now(conn, self.me, r[0]) for r in rows], bool(waiting.fetchone())

        found, waiting = await self.store.read(read)
        if waiting:  # left over from a node that stopped before cleaning them
            self._start_cleaning()
        return found

    async def get(self, text: str) -> Cluster:
        """A cluster by its id, or its first characters (at least 6)."""
        return await self.store.read(
            lambda conn: _cluster_now(conn, self.me, _find_now(conn, "clusters", text))
        )

    async def show(self, text: str) -> ClusterView:
        """A cluster with its samples, each with the grades we may show."""

        def read(conn: sqlite3.Connection) -> ClusterView:
            cluster = _cluster_now(conn, self.me, _find_now(conn, "clusters", text))
            rows = conn.execute(
                "SELECT id FROM cluster_samples WHERE cluster = ? AND clean = 1 ORDER BY at, id",
                (cluster.id,),
            ).fetchall()
            return ClusterView(cluster, tuple(_sample_now(conn, self.me, r[0]) for r in rows))

        return await self.store.read(read)

    async def needs(self, since: int) -> tuple[list[Invitation], list[Graded]]:
        """For the dashboard, in one read: the invitations to accept or decline, and the
        samples of clusters we take part in that every school has graded, the last
        grade after ``since``."""

        def read(conn: sqlite3.Connection) -> tuple[list[Invitation], list[Graded]]:
            invited = conn.execute(
                "SELECT id, title, maker, created_at FROM clusters WHERE state = ?",
                (rules.INVITED,),
            ).fetchall()
            names = _names_now(conn, [r[2] for r in invited])
            graded = conn.execute(
                "SELECT s.cluster, s.id, s.title, MAX(g.at) FROM cluster_samples s "
                "JOIN clusters c ON c.id = s.cluster "
                "JOIN cluster_grades g ON g.sample = s.id AND g.cluster = s.cluster "
                "WHERE c.state = ? AND s.clean = 1 GROUP BY s.id "
                "HAVING MAX(g.at) > ? AND COUNT(g.school) >= "
                "(SELECT COUNT(*) FROM cluster_schools k WHERE k.cluster = s.cluster)",
                (rules.MEMBER, since),
            ).fetchall()
            return (
                [
                    Invitation(str(i), str(t), names[NodeId(bytes(m))].name, int(at))
                    for i, t, m, at in invited
                ],
                [Graded(str(c), str(s), str(t), int(at)) for c, s, t, at in graded],
            )

        return await self.store.read(read)

    async def sample(self, text: str) -> Sample:
        """A sample by its id or first characters, with the grades we may show."""
        return await self.store.read(
            lambda conn: _sample_now(conn, self.me, _find_now(conn, "cluster_samples", text))
        )

    async def file(self, text: str) -> tuple[str, bytes]:
        """A sample's file: (type, bytes)."""

        def read(conn: sqlite3.Connection) -> tuple[str, bytes]:
            sid = _find_now(conn, "cluster_samples", text)
            row = conn.execute(
                "SELECT type, data FROM cluster_samples WHERE id = ?", (sid,)
            ).fetchone()
            return str(row[0]), bytes(row[1])

        return await self.store.read(read)

    # -- letters from other schools ------------------------------------------------------

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on a cluster letter, inside the mail room's transaction; a refused letter
        changes nothing (every rule is asked before any write)."""
        if letter.kind == letters.CLUSTER_SAMPLE:
            await self._receive_sample(letter, now)
            return
        handlers = {
            letters.CLUSTER: self._on_cluster,
            letters.CLUSTER_COMMIT: self._on_commit,
            letters.CLUSTER_REVEAL: self._on_reveal,
        }
        handle = handlers.get(letter.kind)
        if handle is not None:
            await self.store.read(lambda conn: handle(conn, letter, now))

    async def _receive_sample(self, letter: Letter, now: int) -> None:
        """A sample: judged, then stored as sent but not served, in one trip; it is
        cleaned again (as a photo is on arrival) after the mail room's transaction, by
        :meth:`clean_waiting`, so that cleaning never holds the database's writes."""

        def keep(conn: sqlite3.Connection) -> None:
            if not self._judge_sample(conn, letter, now):
                return  # the same sample again, or a cluster we left
            sample = ClusterSampleLetter.of(letter)
            conn.execute(
                "INSERT INTO cluster_samples "
                "(id, cluster, origin, title, type, hash, data, at, clean) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    sample.id,
                    sample.c,
                    bytes(letter.author),
                    sample.title,
                    sample.type,
                    sample.hash,  # what was sent, so that a repeat is known
                    sample.data,  # cleaned by clean_waiting before it is served
                    sample.at,
                ),
            )
            self._to_clean = True
            # Commitments that came before their sample naming another cluster are dropped.
            conn.execute(
                "DELETE FROM cluster_grades WHERE sample = ? AND cluster != ?",
                (sample.id, sample.c),
            )

        await self.store.read(keep)

    def _on_cluster(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        cluster = ClusterLetter.of(letter)
        cid, schools = cluster.c, cluster.schools
        (open_by_maker,) = conn.execute(
            "SELECT COUNT(*) FROM clusters WHERE maker = ? AND state != ?",
            (bytes(letter.author), rules.LEFT),
        ).fetchone()
        verdict = rules.cluster_letter(
            letter.author,
            self.me,
            schools=schools,
            rev=cluster.rev,
            held=_held_now(conn, cid),
            partner=letter.author in _partners_now(conn),
            open_by_maker=open_by_maker,
        )
        if verdict is not None:
            raise verdict.error()
        # A new cluster is an invitation; a new list keeps our state (invited, in, left).
        conn.execute(
            "INSERT INTO clusters (id, title, subject, maker, rev, created_at, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'invited') ON CONFLICT (id) DO UPDATE SET "
            "title = excluded.title, subject = excluded.subject, rev = excluded.rev",
            (
                cid,
                cluster.title,
                cluster.subject,
                bytes(letter.author),
                cluster.rev,
                now,
            ),
        )
        conn.execute("DELETE FROM cluster_schools WHERE cluster = ?", (cid,))
        conn.executemany(
            "INSERT INTO cluster_schools (cluster, school) VALUES (?, ?)",
            [(cid, bytes(school)) for school in schools],
        )

    def _judge_sample(self, conn: sqlite3.Connection, letter: Letter, now: int) -> bool:
        """Whether to store the sample (new to us, in a cluster we have not left); raises
        the refusal if the rules say no."""
        sample = ClusterSampleLetter.of(letter)
        cid = sample.c
        held = _held_now(conn, cid)
        if held is not None and held.state == rules.LEFT:
            return False  # its schools were not told: what they send changes nothing
        existing = _held_sample_now(conn, sample.id)
        count, held_bytes = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM cluster_samples "
            "WHERE cluster = ?",
            (cid,),
        ).fetchone()
        verdict = rules.sample_letter(
            letter.author,
            self.me,
            cid,
            held=held,
            existing=existing,
            kind=sample.type,
            data=sample.data,
            digest=sample.hash,
            at=sample.at,
            now=now,
            count=count,
            held_bytes=held_bytes,
            max_bytes=self.max_bytes,
        )
        if verdict is not None:
            raise verdict.error()
        return existing is None

    def _on_commit(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        commit = ClusterCommitLetter.of(letter)
        cid, sid = commit.c, commit.sample
        held = _held_now(conn, cid)
        if held is not None and held.state == rules.LEFT:
            return  # its schools were not told: what they send changes nothing
        row = conn.execute(
            "SELECT commitment FROM cluster_grades WHERE sample = ? AND school = ?",
            (sid, bytes(letter.author)),
        ).fetchone()
        (pending,) = conn.execute(
            "SELECT COUNT(*) FROM cluster_grades g LEFT JOIN cluster_samples s ON s.id = g.sample "
            "WHERE g.cluster = ? AND g.school = ? AND s.id IS NULL",
            (cid, bytes(letter.author)),
        ).fetchone()
        verdict = rules.commit_letter(
            letter.author,
            self.me,
            cid,
            held=held,
            sample=_held_sample_now(conn, sid),
            existing=None if row is None else bytes(row[0]),
            given=commit.commitment,
            pending=pending,
        )
        if verdict is not None:
            raise verdict.error()
        if row is not None or held is None:
            return  # the same commitment again
        conn.execute(
            "INSERT INTO cluster_grades (cluster, sample, school, commitment, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (cid, sid, bytes(letter.author), commit.commitment, now),
        )
        if (
            rules.takes_part(held.state)
            and letter.author in _recipients_now(conn, self.me, cid)
            and rules.may_reveal(letter.author, schools=held.schools, committed={letter.author})
        ):
            self._reveal_now(conn, cid, sid, [letter.author], now)

    def _on_reveal(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        reveal = ClusterRevealLetter.of(letter)
        cid, sid = reveal.c, reveal.sample
        held = _held_now(conn, cid)
        if held is not None and held.state == rules.LEFT:
            return  # its schools were not told: what they send changes nothing
        theirs = conn.execute(
            "SELECT commitment FROM cluster_grades WHERE sample = ? AND school = ? AND cluster = ?",
            (sid, bytes(letter.author), cid),
        ).fetchone()
        verdict = rules.reveal_letter(
            letter.author,
            self.me,
            cid,
            sid,
            held=held,
            sample=_held_sample_now(conn, sid),
            committed=None if theirs is None else bytes(theirs[0]),
            ours_given=_grade_now(conn, sid, self.me) is not None,
            grade=reveal.grade,
            comment=reveal.comment,
            salt=reveal.salt,
        )
        if verdict is not None:
            raise verdict.error()
        conn.execute(
            "UPDATE cluster_grades SET grade = ?, comment = ?, salt = ? "
            "WHERE sample = ? AND school = ?",
            (reveal.grade, reveal.comment, reveal.salt, sid, bytes(letter.author)),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: erase every cluster ``school`` made, and its samples
        and grades in the others (we block it)."""

        def forget(conn: sqlite3.Connection) -> bool:
            raw = bytes(school)
            made = [r[0] for r in conn.execute("SELECT id FROM clusters WHERE maker = ?", (raw,))]
            for cid in made:
                for table in ("cluster_grades", "cluster_samples", "cluster_schools"):
                    conn.execute(f"DELETE FROM {table} WHERE cluster = ?", (cid,))
                conn.execute("DELETE FROM clusters WHERE id = ?", (cid,))
            # Every school's grades of its samples go with them (ours too), so that none
            # stays behind, nor counts against a school's commitments for unknown samples.
            conn.execute(
                "DELETE FROM cluster_grades WHERE sample IN "
                "(SELECT id FROM cluster_samples WHERE origin = ?)",
                (raw,),
            )
            gone = conn.execute("DELETE FROM cluster_samples WHERE origin = ?", (raw,)).rowcount
            conn.execute("DELETE FROM cluster_grades WHERE school = ?", (raw,))
            return bool(made) or gone > 0

        if await self.store.read(forget):
            self.needs_checkpoint = True


# -- plain functions of the connection (run on the database thread) -----------------------


def _partners_now(conn: sqlite3.Connection) -> set[NodeId]:
    return {
        NodeId(r[0]) for r in conn.execute("SELECT node_id FROM partners WHERE state = 'partner'")
    }


def _schools_now(conn: sqlite3.Connection, cid: str) -> list[NodeId]:
    rows = conn.execute("SELECT school FROM cluster_schools WHERE cluster = ?", (cid,))
    return [NodeId(r[0]) for r in rows]


def _keep_cleaned(conn: sqlite3.Connection, *, sid: str, cleaned: bytes | None) -> None:
    """A partner's sample, cleaned: served from now on; or erased, if it could not be read."""
    if cleaned is None:
        conn.execute("DELETE FROM cluster_samples WHERE id = ? AND clean = 0", (sid,))
    else:
        conn.execute(
            "UPDATE cluster_samples SET data = ?, clean = 1 WHERE id = ? AND clean = 0",
            (cleaned, sid),
        )


def _known_now(conn: sqlite3.Connection, schools: Iterable[NodeId]) -> set[NodeId]:
    """Those of ``schools`` we know: partners, or schools whose signed profile we hold."""
    ids = [bytes(s) for s in schools]
    marks = ", ".join("?" * len(ids))
    profiles = {
        NodeId(r[0])
        for r in conn.execute(f"SELECT author FROM schools WHERE author IN ({marks})", ids)
    }
    return profiles | _partners_now(conn)


def _recipients_now(conn: sqlite3.Connection, me: NodeId, cid: str) -> list[NodeId]:
    """The schools of the cluster our samples and grades go to (rules.recipients)."""
    schools = _schools_now(conn, cid)
    return rules.recipients(schools, me, known=_known_now(conn, schools))


def _taking_part_now(conn: sqlite3.Connection, cid: str) -> None:
    """Refuse to share or grade in a cluster we have not accepted (or have left)."""
    (state,) = conn.execute("SELECT state FROM clusters WHERE id = ?", (cid,)).fetchone()
    if rules.takes_part(state):
        return
    if state == rules.INVITED:
        raise UserInputError(
            f"your school has not accepted cluster {cid} yet: accept it first with "
            f"`schoolmesh cluster accept {cid[:8]}`",
            page=said("Accept the invitation to this cluster first."),
        )
    raise UserInputError(
        f"your school left cluster {cid}: nothing more can be shared or graded in it",
        page=said("Our school left this cluster."),
    )


def _held_now(conn: sqlite3.Connection, cid: str) -> rules.HeldCluster | None:
    row = conn.execute("SELECT maker, rev, state FROM clusters WHERE id = ?", (cid,)).fetchone()
    if row is None:
        return None
    return rules.HeldCluster(
        NodeId(row[0]), int(row[1]), frozenset(_schools_now(conn, cid)), str(row[2])
    )


def _held_sample_now(conn: sqlite3.Connection, sid: str) -> rules.HeldSample | None:
    row = conn.execute(
        "SELECT cluster, origin, hash FROM cluster_samples WHERE id = ?", (sid,)
    ).fetchone()
    return None if row is None else rules.HeldSample(row[0], NodeId(row[1]), bytes(row[2]))


def _grade_now(conn: sqlite3.Connection, sid: str, school: NodeId) -> str | None:
    row = conn.execute(
        "SELECT grade FROM cluster_grades WHERE sample = ? AND school = ? AND grade IS NOT NULL",
        (sid, bytes(school)),
    ).fetchone()
    return None if row is None else str(row[0])


def _find_now(conn: sqlite3.Connection, table: str, text: str) -> str:
    """A cluster's or sample's id from its first characters (at least 6)."""
    what, listing = (
        ("cluster", "cluster list")
        if table == "clusters"
        else ("sample", "cluster show CLUSTER_ID")
    )
    wanted = text.strip().lower()
    if len(wanted) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
        raise UserInputError(
            f"{text!r} is not a {what} id: give at least its first {MIN_PREFIX} "
            f"characters, as `schoolmesh {listing}` shows them",
            page=said("There is no such cluster or sample."),
        )
    served = " AND clean = 1" if table == "cluster_samples" else ""  # cleaned files only
    rows = conn.execute(
        f"SELECT id FROM {table} WHERE id >= ? AND id < ?{served} LIMIT 2",
        (wanted, wanted + "g"),
    ).fetchall()
    if not rows:
        raise NotFoundError(
            f"no {what} {wanted} at this school: see `schoolmesh {listing}`",
            page=said("There is no such cluster or sample."),
        )
    if len(rows) > 1:
        raise UserInputError(
            f"{wanted} names more than one {what}: give more of its characters",
            page=said("There is no such cluster or sample."),
        )
    return str(rows[0][0])


def _names_now(conn: sqlite3.Connection, schools: Iterable[bytes]) -> dict[NodeId, SchoolRef]:
    ids = {NodeId(bytes(s)) for s in schools}
    marks = ", ".join("?" * len(ids))
    known = {
        NodeId(a): str(name)
        for a, name in conn.execute(
            f"SELECT author, name FROM schools WHERE author IN ({marks})", [bytes(i) for i in ids]
        )
    }
    return {i: SchoolRef(i, known.get(i) or i.fingerprint) for i in ids}


def _cluster_now(conn: sqlite3.Connection, me: NodeId, cid: str) -> Cluster:
    row = conn.execute(
        "SELECT id, title, subject, maker, state FROM clusters WHERE id = ?", (cid,)
    ).fetchone()
    schools = [bytes(s) for s in _schools_now(conn, cid)]
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM cluster_samples WHERE cluster = ? AND clean = 1", (cid,)
    ).fetchone()
    names = _names_now(conn, [row[3], *schools])
    maker = names[NodeId(row[3])]
    rest = sorted(
        (names[NodeId(s)] for s in schools if s != bytes(row[3])), key=lambda s: s.name.casefold()
    )
    return Cluster(
        id=row[0],
        title=row[1],
        subject=row[2],
        maker=maker,
        schools=(maker, *rest),
        samples=int(count),
        ours=NodeId(row[3]) == me,
        state=str(row[4]),
    )


def _sample_now(conn: sqlite3.Connection, me: NodeId, sid: str) -> Sample:
    row = conn.execute(
        "SELECT id, cluster, origin, title, type, length(data), at FROM cluster_samples "
        "WHERE id = ?",
        (sid,),
    ).fetchone()
    grades = conn.execute(
        "SELECT school, grade, comment FROM cluster_grades WHERE sample = ? AND cluster = ? "
        "ORDER BY at, school",
        (sid, row[1]),
    ).fetchall()
    names = _names_now(conn, [row[2], *[g[0] for g in grades]])
    ours = next((g for g in grades if NodeId(g[0]) == me and g[1] is not None), None)
    own = None if ours is None else Grade(names[me], ours[1], ours[2])
    shown = rules.shows_others(own is not None)
    others = tuple(
        Grade(names[NodeId(g[0])], g[1], g[2])
        for g in grades
        if NodeId(g[0]) != me and g[1] is not None and shown
    )
    waiting = tuple(names[NodeId(g[0])] for g in grades if NodeId(g[0]) != me and g[1] is None)
    return Sample(
        id=row[0],
        cluster=row[1],
        title=row[3],
        type=row[4],
        school=names[NodeId(row[2])],
        size=int(row[5]),
        at=int(row[6]),
        ours=own,
        graded_by=tuple(names[NodeId(g[0])] for g in grades),
        others=others,
        waiting=waiting,
    )
