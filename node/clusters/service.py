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
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from typing import Any

from node.clusters.files import clean_sample
from node.mail.mailroom import Mailroom
from node.partners.peerbook import PeerBook
from node.store.database import Store
from protocol import letters
from protocol.errors import NotFoundError, UserInputError, said
from protocol.keys import NodeId, NodeKey
from protocol.rules import clusters as rules
from protocol.sealed import Letter

MIN_PREFIX = 6
MAX_GRADE = 40
MAX_COMMENT = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "subject": self.subject,
            "maker": self.maker.as_json(),
            "schools": [s.as_json() for s in self.schools],
            "samples": self.samples,
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
    """Moderation clusters this school is in; ``node.clusters``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom, peerbook: PeerBook) -> None:
        self.store = store
        self.peerbook = peerbook
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False

    # -- making a cluster and sharing samples ------------------------------------------

    async def create(
        self, title: str, schools: list[str], *, subject: str | None = None, now: int
    ) -> Cluster:
        """Make a cluster with named partner schools and tell each of them."""
        title = clean_title(title)
        subject = (
            None if subject is None or not subject.strip() else clean_title(subject, "--subject")
        )
        chosen: list[NodeId] = []
        for text in schools:
            try:
                school = NodeId.parse(text.strip())
            except ValueError as exc:
                raise UserInputError(
                    f"--school {text!r} is not a node id: copy it from `schoolmesh partner list`",
                    page=said("Choose the partner schools from the list."),
                ) from exc
            if school == self.me:
                continue
            record = await self.peerbook.get(school)
            if record is None or record.state != "partner":
                raise UserInputError(
                    f"--school {school} is not a partner school: a cluster is made with "
                    "partner schools only (`schoolmesh partner list`)",
                    page=said("A cluster can only include our partner schools."),
                )
            if school not in chosen:
                chosen.append(school)
        if not chosen:
            raise UserInputError(
                "name at least one partner school with --school NODE_ID",
                page=said("Choose at least one partner school."),
            )
        if len(chosen) > 63:
            raise UserInputError(
                "a cluster has at most 64 schools: name fewer with --school",
                page=said("A cluster has at most 64 schools."),
            )
        cid = os.urandom(16).hex()
        members = [self.me, *chosen]
        content: dict[str, Any] = {
            "c": cid,
            "title": title,
            "schools": [bytes(s) for s in members],
            "rev": 1,
        }
        if subject is not None:
            content["subject"] = subject

        async with self.store.write():
            await self.store.execute(
                "INSERT INTO clusters (id, title, subject, maker, rev, created_at) "
                "VALUES (?, ?, ?, ?, 1, ?)",
                (cid, title, subject, bytes(self.me), now),
            )
            for school in members:
                await self.store.execute(
                    "INSERT INTO cluster_schools (cluster, school) VALUES (?, ?)",
                    (cid, bytes(school)),
                )
            await self.mail.send_in_transaction(
                letters.CLUSTER, content, chosen, about=cid, now=now
            )
        return await self.get(cid)

    async def share(
        self, cluster_text: str, data: bytes, *, title: str, name: str, now: int
    ) -> Sample:
        """Share one anonymised sample with the cluster's schools (cleaned first)."""
        title = clean_title(title)
        cluster = await self.get(cluster_text)
        kind, cleaned, digest = await asyncio.to_thread(clean_sample, data, name=name)
        sid = os.urandom(16).hex()
        others = [s.node_id for s in cluster.schools if s.node_id != self.me]
        content = {
            "c": cluster.id,
            "id": sid,
            "title": title,
            "type": kind,
            "hash": digest,
            "data": cleaned,
            "at": now,
        }
        async with self.store.write():
            count = await self.store.fetch_one(
                "SELECT COUNT(*) FROM cluster_samples WHERE cluster = ?", (cluster.id,)
            )
            if int(count[0]) >= rules.MAX_SAMPLES:
                raise UserInputError(
                    f"this cluster already has {rules.MAX_SAMPLES} samples: start a new cluster",
                    page=said("This cluster is full: start a new cluster."),
                )
            await self.store.execute(
                "INSERT INTO cluster_samples (id, cluster, origin, title, type, hash, data, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, cluster.id, bytes(self.me), title, kind, digest, cleaned, now),
            )
            await self.mail.send_in_transaction(
                letters.CLUSTER_SAMPLE, content, others, about=sid, now=now
            )
        return await self.sample(sid)

    async def grade(self, sample_text: str, grade: str, comment: str | None, *, now: int) -> Sample:
        """Give our grade: its commitment to every school, the grade itself to those
        whose commitment we hold (the others get it when theirs arrives)."""
        grade, text = clean_grade(grade), clean_comment(comment)
        sample = await self.sample(sample_text)
        if sample.ours is not None:
            raise UserInputError(
                "your school already graded that sample: a grade cannot be changed once "
                "given (the other schools may have seen it)",
                page=said("Our school has already graded this sample: a grade cannot be changed."),
            )
        cluster = await self.get(sample.cluster)
        salt = os.urandom(letters.SALT_BYTES)
        sealed = rules.commitment(cluster.id, sample.id, self.me, grade, text, salt)
        schools = [s.node_id for s in cluster.schools]
        others = [s for s in schools if s != self.me]
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO cluster_grades (cluster, sample, school, commitment, grade, "
                "comment, salt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cluster.id, sample.id, bytes(self.me), sealed, grade, text, salt, now),
            )
            await self.mail.send_in_transaction(
                letters.CLUSTER_COMMIT,
                {"c": cluster.id, "sample": sample.id, "commitment": sealed},
                others,
                about=sample.id,
                now=now,
            )
            rows = await self.store.fetch_all(
                "SELECT school FROM cluster_grades WHERE sample = ? AND school != ?",
                (sample.id, bytes(self.me)),
            )
            committed = {NodeId(r[0]) for r in rows}
            to = [s for s in others if rules.may_reveal(s, schools=schools, committed=committed)]
            if to:
                await self._reveal(cluster.id, sample.id, to, now)
        return await self.sample(sample.id)

    async def _reveal(self, cluster: str, sample: str, to: list[NodeId], now: int) -> None:
        """Inside a transaction: send our grade for ``sample`` to ``to`` (all committed)."""
        row = await self.store.fetch_one(
            "SELECT grade, comment, salt FROM cluster_grades WHERE sample = ? AND school = ?",
            (sample, bytes(self.me)),
        )
        if row is None:
            return
        content = {
            "c": cluster,
            "sample": sample,
            "grade": row[0],
            "comment": row[1],
            "salt": row[2],
        }
        await self.mail.send_in_transaction(
            letters.CLUSTER_REVEAL, content, to, about=sample, now=now
        )

    # -- reading -----------------------------------------------------------------------

    async def all(self) -> list[Cluster]:
        """Every cluster we are in, newest first."""
        rows = await self.store.fetch_all("SELECT id FROM clusters ORDER BY created_at DESC, id")
        return [await self._cluster(r[0]) for r in rows]

    async def get(self, text: str) -> Cluster:
        """A cluster by its id, or its first characters (at least 6)."""
        return await self._cluster(await self._find("clusters", text, "cluster list"))

    async def show(self, text: str) -> ClusterView:
        cluster = await self.get(text)
        rows = await self.store.fetch_all(
            "SELECT id FROM cluster_samples WHERE cluster = ? ORDER BY at, id", (cluster.id,)
        )
        return ClusterView(cluster, tuple([await self.sample(r[0]) for r in rows]))

    async def sample(self, text: str) -> Sample:
        """A sample by its id or first characters, with the grades we may show."""
        sid = await self._find("cluster_samples", text, "cluster show CLUSTER_ID")
        row = await self.store.fetch_one(
            "SELECT id, cluster, origin, title, type, length(data), at FROM cluster_samples "
            "WHERE id = ?",
            (sid,),
        )
        grades = await self.store.fetch_all(
            "SELECT school, grade, comment FROM cluster_grades WHERE sample = ? ORDER BY at",
            (sid,),
        )
        names = await self._names([row[2], *[g[0] for g in grades]])
        ours = next((g for g in grades if NodeId(g[0]) == self.me), None)
        own = None if ours is None else Grade(names[NodeId(ours[0])], ours[1], ours[2])
        shown = rules.shows_others(own is not None)
        others = tuple(
            Grade(names[NodeId(g[0])], g[1], g[2])
            for g in grades
            if NodeId(g[0]) != self.me and g[1] is not None and shown
        )
        waiting = tuple(
            names[NodeId(g[0])] for g in grades if NodeId(g[0]) != self.me and g[1] is None
        )
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

    async def file(self, text: str) -> tuple[str, bytes]:
        """A sample's file: (type, bytes)."""
        sid = await self._find("cluster_samples", text, "cluster show CLUSTER_ID")
        row = await self.store.fetch_one(
            "SELECT type, data FROM cluster_samples WHERE id = ?", (sid,)
        )
        return row[0], bytes(row[1])

    async def _find(self, table: str, text: str, listing: str) -> str:
        what = "cluster" if table == "clusters" else "sample"
        wanted = text.strip().lower()
        if len(wanted) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
            raise UserInputError(
                f"{text!r} is not a {what} id: give at least its first {MIN_PREFIX} "
                f"characters, as `schoolmesh {listing}` shows them",
                page=said("There is no such cluster or sample."),
            )
        rows = await self.store.fetch_all(
            f"SELECT id FROM {table} WHERE id >= ? AND id < ? LIMIT 2", (wanted, wanted + "g")
        )
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

    async def _cluster(self, cid: str) -> Cluster:
        row = await self.store.fetch_one(
            "SELECT id, title, subject, maker FROM clusters WHERE id = ?", (cid,)
        )
        if row is None:
            raise NotFoundError(
                f"no cluster {cid}: see `schoolmesh cluster list`",
                page=said("There is no such cluster or sample."),
            )
        schools = [
            r[0]
            for r in await self.store.fetch_all(
                "SELECT school FROM cluster_schools WHERE cluster = ?", (cid,)
            )
        ]
        count = await self.store.fetch_one(
            "SELECT COUNT(*) FROM cluster_samples WHERE cluster = ?", (cid,)
        )
        names = await self._names([row[3], *schools])
        maker = names[NodeId(row[3])]
        rest = sorted((names[NodeId(s)] for s in schools if s != row[3]), key=lambda s: s.name)
        return Cluster(
            id=row[0],
            title=row[1],
            subject=row[2],
            maker=maker,
            schools=(maker, *rest),
            samples=int(count[0]),
            ours=NodeId(row[3]) == self.me,
        )

    async def _names(self, schools: list[bytes]) -> dict[NodeId, SchoolRef]:
        ids = {NodeId(bytes(s)) for s in schools}
        known = await self.store.schools(ids)
        return {i: SchoolRef(i, known.get(i, (i.fingerprint, ""))[0] or i.fingerprint) for i in ids}

    async def _held(self, cid: str) -> rules.HeldCluster | None:
        row = await self.store.fetch_one("SELECT maker, rev FROM clusters WHERE id = ?", (cid,))
        if row is None:
            return None
        rows = await self.store.fetch_all(
            "SELECT school FROM cluster_schools WHERE cluster = ?", (cid,)
        )
        return rules.HeldCluster(NodeId(row[0]), int(row[1]), frozenset(NodeId(r[0]) for r in rows))

    async def _held_sample(self, sid: str) -> rules.HeldSample | None:
        row = await self.store.fetch_one(
            "SELECT cluster, origin, hash FROM cluster_samples WHERE id = ?", (sid,)
        )
        return None if row is None else rules.HeldSample(row[0], NodeId(row[1]), bytes(row[2]))

    # -- letters from other schools ------------------------------------------------------

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on a cluster letter (inside the mail room's transaction); a refused
        letter changes nothing."""
        content = letter.content
        held = await self._held(content["c"])
        if letter.kind == letters.CLUSTER:
            await self._on_cluster(letter, held, now)
        elif letter.kind == letters.CLUSTER_SAMPLE:
            await self._on_sample(letter, held, now)
        elif letter.kind == letters.CLUSTER_COMMIT:
            await self._on_commit(letter, held, now)
        elif letter.kind == letters.CLUSTER_REVEAL:
            await self._on_reveal(letter, held)

    async def _on_cluster(self, letter: Letter, held: rules.HeldCluster | None, now: int) -> None:
        content = letter.content
        schools = tuple(NodeId(s) for s in content["schools"])
        record = await self.peerbook.get(letter.author)
        verdict = rules.cluster_letter(
            letter.author,
            self.me,
            schools=schools,
            rev=content["rev"],
            held=held,
            partner=record is not None and record.state == "partner",
        )
        if verdict is not None:
            raise verdict.error()
        cid = content["c"]
        if held is None:
            await self.store.execute(
                "INSERT INTO clusters (id, title, subject, maker, rev, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    content["title"],
                    content.get("subject"),
                    bytes(letter.author),
                    content["rev"],
                    now,
                ),
            )
        else:
            await self.store.execute(
                "UPDATE clusters SET title = ?, subject = ?, rev = ? WHERE id = ?",
                (content["title"], content.get("subject"), content["rev"], cid),
            )
            await self.store.execute("DELETE FROM cluster_schools WHERE cluster = ?", (cid,))
        for school in schools:
            await self.store.execute(
                "INSERT OR IGNORE INTO cluster_schools (cluster, school) VALUES (?, ?)",
                (cid, bytes(school)),
            )

    async def _on_sample(self, letter: Letter, held: rules.HeldCluster | None, now: int) -> None:
        content = letter.content
        existing = await self._held_sample(content["id"])
        count = await self.store.fetch_one(
            "SELECT COUNT(*) FROM cluster_samples WHERE cluster = ?", (content["c"],)
        )
        verdict = rules.sample_letter(
            letter.author,
            self.me,
            content["c"],
            held=held,
            existing=existing,
            kind=content["type"],
            data=content["data"],
            digest=content["hash"],
            at=content["at"],
            now=now,
            count=int(count[0]),
        )
        if verdict is not None:
            raise verdict.error()
        if existing is not None:
            return  # the same sample again
        await self.store.execute(
            "INSERT INTO cluster_samples (id, cluster, origin, title, type, hash, data, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                content["id"],
                content["c"],
                bytes(letter.author),
                content["title"],
                content["type"],
                content["hash"],
                content["data"],
                content["at"],
            ),
        )
        # Commitments that came before their sample, for another cluster, are dropped.
        await self.store.execute(
            "DELETE FROM cluster_grades WHERE sample = ? AND cluster != ?",
            (content["id"], content["c"]),
        )

    async def _on_commit(self, letter: Letter, held: rules.HeldCluster | None, now: int) -> None:
        content = letter.content
        cid, sid = content["c"], content["sample"]
        sample = await self._held_sample(sid)
        row = await self.store.fetch_one(
            "SELECT commitment FROM cluster_grades WHERE sample = ? AND school = ?",
            (sid, bytes(letter.author)),
        )
        pending = await self.store.fetch_one(
            "SELECT COUNT(*) FROM cluster_grades g LEFT JOIN cluster_samples s ON s.id = g.sample "
            "WHERE g.cluster = ? AND g.school = ? AND s.id IS NULL",
            (cid, bytes(letter.author)),
        )
        verdict = rules.commit_letter(
            letter.author,
            self.me,
            cid,
            held=held,
            sample=sample,
            existing=None if row is None else bytes(row[0]),
            given=content["commitment"],
            pending=int(pending[0]),
        )
        if verdict is not None:
            raise verdict.error()
        if row is not None:
            return  # the same commitment again
        await self.store.execute(
            "INSERT INTO cluster_grades (cluster, sample, school, commitment, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (cid, sid, bytes(letter.author), content["commitment"], now),
        )
        assert held is not None  # the rule refuses a cluster we do not hold
        if rules.may_reveal(letter.author, schools=held.schools, committed={letter.author}):
            await self._reveal(cid, sid, [letter.author], now)  # nothing if we have not graded

    async def _on_reveal(self, letter: Letter, held: rules.HeldCluster | None) -> None:
        content = letter.content
        cid, sid = content["c"], content["sample"]
        sample = await self._held_sample(sid)
        theirs = await self.store.fetch_one(
            "SELECT commitment, cluster FROM cluster_grades WHERE sample = ? AND school = ?",
            (sid, bytes(letter.author)),
        )
        ours = await self.store.fetch_one(
            "SELECT 1 FROM cluster_grades WHERE sample = ? AND school = ? AND grade IS NOT NULL",
            (sid, bytes(self.me)),
        )
        verdict = rules.reveal_letter(
            letter.author,
            self.me,
            cid,
            sid,
            held=held,
            sample=sample,
            committed=None if theirs is None or theirs[1] != cid else bytes(theirs[0]),
            ours_given=ours is not None,
            grade=content["grade"],
            comment=content["comment"],
            salt=content["salt"],
        )
        if verdict is not None:
            raise verdict.error()
        await self.store.execute(
            "UPDATE cluster_grades SET grade = ?, comment = ?, salt = ? "
            "WHERE sample = ? AND school = ?",
            (content["grade"], content["comment"], content["salt"], sid, bytes(letter.author)),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: erase every cluster ``school`` made, and its samples
        and grades in the others (we block it)."""
        raw = bytes(school)
        made = [
            r[0]
            for r in await self.store.fetch_all("SELECT id FROM clusters WHERE maker = ?", (raw,))
        ]
        for cid in made:
            for table in ("cluster_grades", "cluster_samples", "cluster_schools"):
                await self.store.execute(f"DELETE FROM {table} WHERE cluster = ?", (cid,))
            await self.store.execute("DELETE FROM clusters WHERE id = ?", (cid,))
        gone = await self.store.execute("DELETE FROM cluster_samples WHERE origin = ?", (raw,))
        await self.store.execute("DELETE FROM cluster_grades WHERE school = ?", (raw,))
        if made or gone:
            self.needs_checkpoint = True
