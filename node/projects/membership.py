"""Projects and their member schools (the floor the rest of ``Projects`` stands on).

Only the owner school changes membership: it sends every member the whole member
list with a revision number, so late or repeated letters cannot undo a change.
"""

from __future__ import annotations

import json
import os
import sqlite3

from node.accounts.service import Accounts
from node.mail.mailroom import Mailroom
from node.partners.peerbook import PeerBook
from node.projects.records import Project, project_now
from node.projects.rosters import Rosters
from node.store.database import Store
from protocol import kinds, letters
from protocol.contents.entries import ProfileContent
from protocol.contents.letters import ProjectLetter
from protocol.errors import NotAllowedError, SealedError, UserInputError, said
from protocol.keys import NodeId, NodeKey


class Membership:
    """Creating, listing and joining projects, inviting and leaving; what every other
    part of :class:`node.projects.service.Projects` holds (the store, the key, the mail
    room, the accounts, the partner book, the rosters) is set here."""

    def __init__(
        self, store: Store, key: NodeKey, mail: Mailroom, accounts: Accounts, peerbook: PeerBook
    ) -> None:
        self.store = store
        self.peerbook = peerbook
        self.key = key
        self.me = key.node_id
        self.mail = mail
        self.accounts = accounts
        self.rosters = Rosters(store, accounts)
        self.needs_checkpoint = False  # content was erased: flush the write-ahead log

    async def create(self, title: str, themes: list[str], now: int) -> Project:
        pid = os.urandom(16).hex()
        title = title.strip()
        first = ProjectLetter(pid, title, ((self.me, "member"),), 1, tuple(themes))
        try:
            letters.validate(letters.PROJECT, first.to_content())
        except SealedError as exc:
            raise UserInputError(
                f"{exc}: check --title and --theme",
                page=said(
                    "Check the project's title and themes: a title of up to 200 characters, "
                    "and at most 12 themes of up to 60 characters each."
                ),
            ) from exc
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO projects (id, title, themes, owner, rev, standing, created_at) "
                "VALUES (?, ?, ?, ?, 1, 'member', ?)",
                (pid, title, json.dumps(themes), bytes(self.me), now),
            )
            await self._set_member(pid, self.me, "member")
        return await self.get(pid)

    async def get(self, text: str) -> Project:
        return await self.store.read(lambda conn: project_now(conn, text))

    async def all(self) -> list[Project]:
        def everything(conn: sqlite3.Connection) -> list[Project]:
            rows = conn.execute("SELECT id FROM projects ORDER BY created_at").fetchall()
            return [project_now(conn, r[0]) for r in rows]

        return await self.store.read(everything)

    async def invite(self, pid: str, school: NodeId, now: int) -> Project:
        project = await self.get(pid)
        if project.owner != self.me:
            raise NotAllowedError(
                "only the school that created the project can invite schools: ask its "
                "project lead to invite them",
                page=said(
                    "Only the school that started the project can invite schools: ask its "
                    "project lead."
                ),
            )
        if school == self.me:
            raise UserInputError(
                "this school is already in the project",
                page=said("Our school is already in the project."),
            )
        partner = await self.peerbook.get(school)
        if partner is None or partner.state != "partner":
            raise UserInputError(
                f"{school} is not a partner school: become partners first with "
                "`schoolmesh invite create` and `schoolmesh partner add`",
                page=said(
                    "That school is not one of our partner schools: become partners first, on "
                    "the Partners page."
                ),
            )
        if project.members.get(school) == "member":
            raise UserInputError(
                "that school is already a member of the project",
                page=said("That school is already a member of the project."),
            )
        async with self.store.write():
            await self._set_member(project.id, school, "invited")
            await self._bump_and_send(project.id, now)
        return await self.get(project.id)

    async def join(self, pid: str, now: int) -> Project:
        project = await self.get(pid)
        if project.standing == "member":
            raise UserInputError(
                "this school is already a member of that project",
                page=said("Our school is already a member of this project."),
            )
        if project.standing != "invited":
            raise UserInputError(
                "this school has not been invited to that project (any more)",
                page=said("Our school is not invited to this project, or not any more."),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET standing = 'member' WHERE id = ?", (project.id,)
            )
            await self._set_member(project.id, self.me, "member")
            await self.mail.send_in_transaction(
                letters.PROJECT_JOIN, {"p": project.id}, [project.owner], about=project.id, now=now
            )
        await self._name_relay(project.owner, now)
        return await self.get(project.id)

    async def _name_relay(self, school: NodeId, now: int) -> None:
        """Name the project's owner as a relay for our letters (docs/decisions.md).

        Members that are not partners of each other never connect; the owner school
        is a partner of every member and reads all the project's letters anyway, so
        letting it carry sealed copies to us reveals nothing new.
        """
        # The map, so that the new version keeps every field; its relays read typed.
        profile = dict(await self.store.latest_profile(self.me) or {})
        relays = ProfileContent.from_content(profile).relays if profile else ()
        if school in relays or len(relays) >= 8:
            return
        profile["relays"] = [*(str(relay) for relay in relays), str(school)]
        await self.store.append_local(self.key, kinds.PROFILE, profile, now)

    async def leave(self, pid: str, now: int) -> Project:
        project = await self.get(pid)
        if project.owner == self.me:
            raise UserInputError(
                "the school that created a project cannot leave it; take down what should "
                "go, or ask the members to leave",
                page=said("Our school started this project, so it cannot leave it."),
            )
        if project.standing == "left":
            raise UserInputError(
                "this school has already left that project",
                page=said("Our school has already left this project."),
            )
        others = [n for n in project.members if n != self.me]
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET standing = 'left' WHERE id = ?", (project.id,)
            )
            await self._set_member(project.id, self.me, "left")
            await self.mail.send_in_transaction(
                letters.PROJECT_LEAVE, {"p": project.id}, others, about=project.id, now=now
            )
        return await self.get(project.id)

    async def set_review(self, pid: str, review: bool) -> Project:
        project = await self.get(pid)
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET review = ? WHERE id = ?", (int(review), project.id)
            )
        return await self.get(project.id)

    async def _set_member(self, pid: str, node: NodeId, state: str) -> None:
        await self.store.execute(
            "INSERT INTO project_members (project, node, state) VALUES (?, ?, ?) "
            "ON CONFLICT (project, node) DO UPDATE SET state = excluded.state",
            (pid, bytes(node), state),
        )

    async def _bump_and_send(self, pid: str, now: int) -> None:
        """Owner only, inside a transaction: a new revision of the member list, to all."""
        await self.store.execute("UPDATE projects SET rev = rev + 1 WHERE id = ?", (pid,))
        project = await self.get(pid)
        content = {
            "p": project.id,
            "title": project.title,
            "themes": project.themes,
            "members": [[bytes(n), s] for n, s in sorted(project.members.items(), key=_key)],
            "rev": project.rev,
        }
        others = [n for n in project.members if n != self.me]
        if others:
            await self.mail.send_in_transaction(
                letters.PROJECT, content, others, about=project.id, now=now
            )

    def _members_now(self, conn: sqlite3.Connection, pid: str) -> list[NodeId]:
        """The member schools to send a project's letters to (not this one)."""
        rows = conn.execute(
            "SELECT node FROM project_members WHERE project = ? AND state = 'member'", (pid,)
        ).fetchall()
        return [NodeId(r[0]) for r in rows if r[0] != bytes(self.me)]


def _key(item: tuple[NodeId, str]) -> bytes:
    return bytes(item[0])
