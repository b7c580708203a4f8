"""A school's node on this machine: its data directory, key and database together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from node.accounts.service import Accounts
from node.clock import now_ms
from node.clusters.service import Clusters
from node.datadir import DataDir
from node.directory.service import Directory
from node.events.private import PrivateEvents
from node.events.rsvps import Rsvps
from node.events.service import Events
from node.events.slots import Slots
from node.events.teams import Teams
from node.keyfile import generate_key, load_key, save_key
from node.mail.letterbox import Letterbox
from node.mail.mailroom import Mailroom
from node.net import search as network_search
from node.observations.service import Observations
from node.observations.sharing import SharedObservations
from node.observations.staff import Staff
from node.offers import places
from node.offers.interests import Interests
from node.offers.service import Offers
from node.partners.invites import Invites
from node.partners.peerbook import PeerBook
from node.projects.feeds import Feeds
from node.projects.service import Projects
from node.questions.service import Questions
from node.store import integrity
from node.store.database import Store
from protocol import kinds, letters
from protocol.entry import Entry
from protocol.errors import (
    AlreadyInitialisedError,
    NotInitialisedError,
    StorageError,
    UserInputError,
    said,
)
from protocol.keys import NodeId, NodeKey

#: The node id written at ``init``, so a key and a database from different nodes are refused.
NODE_ID_SETTING = "node_id"


#: The settings row of the school's own time zone (:meth:`Node.set_time_zone`).
TIME_ZONE_SETTING = "time_zone"


@dataclass(frozen=True, slots=True)
class Identity:
    node_id: NodeId
    fingerprint: str
    name: str
    country: str
    url: str | None
    #: The time zone this school chose on its profile page (a setting of this node
    #: only, not in the signed profile), or None for its country's main one.
    tz: str | None = None


class Node:
    """Open with :meth:`create` (``schoolmesh init``) or :meth:`open`; close when done."""

    def __init__(self, data: DataDir, key: NodeKey, store: Store) -> None:
        self.data = data
        self.key = key
        self.store = store
        self.peerbook = PeerBook(store)  # the one partner book of this node
        self.invites = Invites(key, self.peerbook)
        self.accounts = Accounts(store)
        self.offers = Offers(store, key)
        self.mail = Mailroom(store, key)
        self.projects = Projects(store, key, self.mail, self.accounts, self.peerbook)
        self.interests = Interests(store, key, self.mail, self.peerbook)
        self.rsvps = Rsvps(store, key, self.mail)
        self.private_events = PrivateEvents(store, key, self.mail, self.projects, self.peerbook)
        self.shared_observations = SharedObservations(store, key, self.mail, self.peerbook)
        self.staff = Staff(store)
        self.observations = Observations(store, self.staff, self.shared_observations)
        self.directory = Directory(store, key, self.mail, self.peerbook)
        self.teams = Teams(store, key, self.mail)
        self.events = Events(store, key, self.private_events, self.rsvps, self.identity)
        self.slots = Slots(store, key, self.mail)
        self.questions = Questions(store, key)
        self.clusters = Clusters(store, key, self.mail)
        self.mail.handler = Letterbox(
            {
                **dict.fromkeys(letters.PROJECT_KINDS, self.projects),
                letters.INTEREST: self.interests,
                letters.INTEREST_ANSWER: self.interests,
                letters.BOOKING: self.interests,
                letters.BOOKING_ACCEPT: self.interests,
                letters.RSVP: self.rsvps,
                letters.EVENT: self.private_events,
                letters.OBSERVATION: self.shared_observations,
                letters.OBSERVATION_UNSHARE: self.shared_observations,
                letters.PARTNER_REQUEST: self.directory,
                letters.PARTNER_ANSWER: self.directory,
                letters.TEAM: self.teams,
                letters.TEAMS: self.teams,
                letters.TALK: self.slots,
                letters.TALK_CANCEL: self.slots,
                **dict.fromkeys(letters.CLUSTER_KINDS, self.clusters),
            }
        )
        self.feeds = Feeds(store, self.accounts, self.projects)
        # Blocking a school (node/partners/peerbook.py) erases what it wrote in each of these.
        store.forgetters[:] = [
            self.projects.forget_school,
            self.interests.forget_school,
            self.rsvps.forget_school,
            self.private_events.forget_school,
            self.shared_observations.forget_school,
            self.directory.forget_school,
            self.teams.forget_school,
            self.slots.forget_school,
            self.clusters.forget_school,
            self.mail.forget_school,
            partial(network_search.forget_school, store),
        ]
        # A table of teams held back while one was waiting goes when the school confirms it.
        self.mail.confirm_listeners.append(self.teams.confirmed)

    @property
    def node_id(self) -> NodeId:
        return self.key.node_id

    @classmethod
    async def create(
        cls, path: Path, *, name: str, country: str, url: str | None = None, force: bool = False
    ) -> Node:
        """Make a new node: key, database and the school's signed profile."""
        profile: dict[str, Any] = {"name": name.strip(), "country": country.strip().upper()}
        if url:
            profile["url"] = url.strip()
        kinds.validate_content(kinds.PROFILE, profile)  # before anything is written
        data = DataDir(path)
        if data.exists():
            if not force:
                raise AlreadyInitialisedError(
                    f"a node already exists in {path}; use another --data folder, or "
                    "add --force to replace it (its key and data are deleted)"
                )
            data.remove_node()
        data.prepare()
        key = generate_key()
        save_key(data.key_file, key)
        node = cls(data, key, await Store.open(data.database))
        await node.store.set_setting(NODE_ID_SETTING, bytes(key.node_id))
        await node.publish(kinds.PROFILE, profile)
        return node

    @classmethod
    async def open(cls, path: Path, *, check: bool = False) -> Node:
        """Open the node in ``path``, its folder and files made private first.

        ``check`` (``schoolmesh run``): refuse a database that fails the quick check,
        or that an earlier check found damaged (node/store/integrity.py).
        """
        data = DataDir(path)
        if not data.key_file.exists() or not data.database.exists():
            raise NotInitialisedError(
                f"no schoolmesh node in {path}: run `schoolmesh init --data {path} "
                "--name NAME --country CC` first, or point --data at the right folder"
            )
        data.make_private()
        key = load_key(data.key_file)
        store = await Store.open(data.database, create=False)
        if check:
            try:
                if store.damage is None:
                    await integrity.check(store, full=False)
                if store.damage is not None:
                    raise StorageError(store.damage)
            except BaseException:
                await store.close()
                raise
        recorded = await store.get_setting(NODE_ID_SETTING)
        if (recorded is not None and recorded != bytes(key.node_id)) or await store.head(
            key.node_id
        ) is None:
            # Writing now would start the school's log again at 1 and fork it.
            await store.close()
            raise StorageError(
                f"the database in {path} does not hold this node's own entries (a key or "
                "database from another node?): restore both from the same backup"
            )
        return cls(data, key, store)

    async def close(self) -> None:
        await self.clusters.close()
        await self.store.close()

    async def __aenter__(self) -> Node:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def publish(self, kind: str, content: dict[str, Any]) -> Entry:
        """Sign ``content`` as the next entry of this school's log and store it."""
        return await self.store.append_local(self.key, kind, content, now_ms())

    async def update_profile(self, **changes: Any) -> Entry:
        """Publish a new profile: the newest one with ``changes`` (None removes a field)."""
        profile = dict(await self.store.latest_profile(self.node_id) or {})
        for name, value in changes.items():
            if value is None:
                profile.pop(name, None)
            else:
                profile[name] = value
        return await self.publish(kinds.PROFILE, profile)

    async def set_time_zone(self, tz: str | None) -> None:
        """Keep the school's own time zone (None: its country's main one), for its pages."""
        if tz is not None and places.zone_problem(tz):
            raise UserInputError(
                f"{tz!r} is not a time zone: give one such as Europe/Madrid or Atlantic/Canary",
                page=said(
                    "Give a time zone such as Europe/Madrid or Atlantic/Canary, or leave it "
                    "empty to use your country's."
                ),
            )
        await self.store.set_setting(TIME_ZONE_SETTING, None if tz is None else tz.encode())

    async def identity(self) -> Identity:
        profile = await self.store.profile_of(self.node_id)
        chosen = await self.store.get_setting(TIME_ZONE_SETTING)
        return Identity(
            node_id=self.node_id,
            fingerprint=self.node_id.fingerprint,
            name="" if profile is None else profile.name,
            country="" if profile is None else profile.country,
            url=None if profile is None else profile.url,
            tz=None if chosen is None else chosen.decode(),
        )
