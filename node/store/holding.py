"""What this school's node holds, read from its database (docs/scale.md, Decision 1;
docs/admin.md, "What your school's node holds, and why").

The decision itself is pure (protocol/rules/holding.py); this reads what it needs, in
the transaction that stores a batch, so that a partner added or a setting changed
applies to the next batch without a restart:

- the mode (setting ``holding``, changed with ``schoolmesh holding``): ``horizon`` (the
  default), whole logs only of the horizon and the rest kept loose when it matches the
  subscription, or ``everything``, every public entry received kept in its author's
  whole log (the behaviour before issue 23, and a hub's);
- the horizon: this school, its partners, their partners (as each declared in its
  last ``interest``: node/net/interest.py), the members of its projects, the schools
  followed by hand (``schoolmesh holding --follow``), never a blocked one; and every
  author whose whole log is held already (a log is never cut back to loose entries);
- the subscription: :func:`protocol.rules.holding.default_filters` of the school's
  profile and staff, plus the filter of its ``hub`` if it is a hub of part of the
  network (a hub of everything holds everything, whole).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from protocol import codec, kinds
from protocol.entry import CONTENT_LIMITS, Entry
from protocol.errors import StorageError, UserInputError, said
from protocol.horizon import EVERYTHING, Filter, Interest
from protocol.keys import NodeId
from protocol.rules.holding import Named, default_filters, hub_filter, named_id

if TYPE_CHECKING:
    from node.store.database import Store

log = logging.getLogger(__name__)

#: The settings row: JSON ``{"mode": ..., "follow": [node ids as text]}``.
SETTING = "holding"
EVERYTHING_MODE = "everything"
HORIZON_MODE = "horizon"
MODES = (EVERYTHING_MODE, HORIZON_MODE)
#: Holding by horizon is the default: what it missed outside its horizon a node catches
#: up at session start (node/net/catchup.py), and an answer from anywhere to a question
#: it holds travels with the question (docs/decisions.md, "Answers travel with their
#: question"; "Holding by horizon by default").
DEFAULT_MODE = HORIZON_MODE
#: Schools followed by hand, at most.
MAX_FOLLOWED = 1000


@dataclass(frozen=True, slots=True)
class Choice:
    """What the school chose (the settings row)."""

    mode: str = DEFAULT_MODE
    follow: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        ids = [str(NodeId(f)) for f in self.follow]
        return json.dumps({"mode": self.mode, "follow": ids}).encode()


def decode_choice(value: bytes | None) -> Choice:
    if value is None:
        return Choice()
    try:
        raw = json.loads(value)
        mode = raw.get("mode", DEFAULT_MODE)
        follow = tuple(bytes(NodeId.parse(f)) for f in raw.get("follow", []))
    except (ValueError, TypeError, AttributeError):
        return Choice()
    return Choice(mode if mode in MODES else DEFAULT_MODE, follow)


@dataclass(frozen=True, slots=True)
class Policy:
    """What the node holds now."""

    choice: Choice
    hub: Filter | None = None
    interest: Interest[NodeId] = field(default_factory=lambda: Interest(frozenset()))
    partners: frozenset[NodeId] = frozenset()  # this school's own partners (hop 1)

    @property
    def everything(self) -> bool:
        """Every public entry kept whole, as before issue 23 (a hub of everything too)."""
        return self.choice.mode == EVERYTHING_MODE or self.hub == EVERYTHING

    def whole(self, author: NodeId) -> bool:
        return self.everything or author in self.interest.horizon


async def read_choice(store: Store) -> Choice:
    return decode_choice(await store.get_setting(SETTING))


async def read_policy(
    store: Store, held_whole: Iterable[NodeId] = (), *, with_hub: bool = False
) -> Policy:
    """The node's policy now (call inside a transaction for a consistent view);
    ``held_whole``: authors whose whole log is held (in the horizon whatever else).
    A node holding everything reads one setting, unless ``with_hub`` asks whether it is
    a hub as well (for showing it)."""
    choice = await read_choice(store)
    if choice.mode == EVERYTHING_MODE and not with_hub:
        return Policy(choice)  # the usual case, at each batch of a catch-up: one read
    me_row = await store.fetch_one("SELECT value FROM settings WHERE name = 'node_id'")
    me = None if me_row is None else NodeId(me_row[0])
    profile = None if me is None else await store.latest_profile(me)
    hub = hub_filter((profile or {}).get("hub"))
    if choice.mode == EVERYTHING_MODE or hub == EVERYTHING:
        return Policy(choice, hub)  # declares nothing: wants everything
    rows = await store.fetch_all("SELECT node_id, state FROM partners")
    blocked = {NodeId(row[0]) for row in rows if row[1] == "blocked"}
    partners = {NodeId(row[0]) for row in rows if row[1] == "partner"}
    horizon = set(partners)
    declared = await store.fetch_all(  # hop 2: what our partners declared (step 4)
        "SELECT d.partner FROM declared_partners AS d JOIN partners AS p "
        "ON p.node_id = d.peer AND p.state = 'partner'"
    )
    horizon.update(NodeId(row[0]) for row in declared)
    members = await store.fetch_all(
        "SELECT m.node FROM project_members AS m JOIN projects AS p ON p.id = m.project "
        "WHERE m.state = 'member' AND p.standing = 'member'"
    )
    horizon.update(NodeId(row[0]) for row in members)
    horizon.update(NodeId(f) for f in choice.follow)
    horizon.update(held_whole)
    if me is not None:
        horizon.add(me)
    horizon -= blocked
    staff = await store.fetch_all("SELECT strengths, develops, subjects FROM staff")
    subjects: list[str] = []
    focus: list[str] = []
    for strengths, develops, taught in staff:
        focus += _list(strengths) + _list(develops)
        subjects += _list(taught)
    filters = default_filters(profile, subjects, focus)
    if hub is not None:
        filters = (*filters, hub)
    return Policy(choice, hub, Interest(frozenset(horizon), filters), frozenset(partners))


async def profiles_of(store: Store, authors: Iterable[NodeId]) -> dict[NodeId, tuple[int, Any]]:
    """Each author's newest profile held (its number and content), whole or loose."""
    wanted = list(authors)
    if not wanted:
        return {}
    rows = await store.fetch_all(
        "SELECT author, seq, content FROM entries WHERE kind = ? AND author IN "
        f"({','.join('?' * len(wanted))}) ORDER BY seq",
        (kinds.PROFILE, *wanted),
    )
    found: dict[NodeId, tuple[int, Any]] = {}
    for author, seq, content in rows:
        decoded = None if content is None else codec.decode(content, CONTENT_LIMITS)
        found[NodeId(author)] = (int(seq), decoded if isinstance(decoded, dict) else None)
    return found


async def named_of(
    store: Store,
    kind: str,
    content: Mapping[str, Any] | None,
    held: Mapping[bytes, Entry] | None = None,
) -> Named[NodeId] | None:
    """What this node holds of the entry that an entry of ``kind`` names (a withdrawal's
    target, an answer's question, a helpful mark's answer and that answer's question,
    an event's earlier version: protocol/rules/holding.py, ``NAMES``), whole or loose;
    None when it names none or none is held. ``held``: entries of the batch being
    stored, not written yet. A withdrawal's target that is a withdrawn answer comes
    with the question it answered, as kept when it was erased (``withdrawn_answers``):
    a catch-up offers the withdrawal to the school that asked (protocol/catchup.py)."""
    named = named_id(kind, content)
    found = None if named is None else await _held(store, named, held)
    if found is None:
        return None
    author, named_kind, body = found
    question = None
    asked = None
    if kind == kinds.HELPFUL and named_kind == kinds.ANSWER:
        asked = named_id(kinds.ANSWER, body)
    elif (
        kind == kinds.WITHDRAW and named_kind == kinds.ANSWER and body is None and named is not None
    ):
        row = await store.fetch_one(
            "SELECT question FROM withdrawn_answers WHERE id = ? AND author = ?",
            (named, bytes(author)),
        )
        asked = None if row is None else bytes(row[0])
    if asked is not None:
        of = await _held(store, asked, held)
        question = None if of is None else Named(of[0], of[1], of[2] is None)
    return Named(author, named_kind, body is None, question)


async def _held(
    store: Store, entry_id: bytes, held: Mapping[bytes, Entry] | None
) -> tuple[NodeId, str, dict[str, Any] | None] | None:
    """An entry held, by id: its author, kind and content (None: erased)."""
    entry = None if held is None else held.get(entry_id)
    if entry is not None:
        return entry.author, entry.kind, entry.content
    row = await store.fetch_one(
        "SELECT author, kind, content FROM entries WHERE id = ?", (entry_id,)
    )
    if row is None:
        return None
    decoded = None if row[2] is None else codec.decode(row[2], CONTENT_LIMITS)
    return NodeId(row[0]), str(row[1]), decoded if isinstance(decoded, dict) else None


def parse_follow(texts: Iterable[str]) -> list[bytes]:
    """Node ids given on the command line, each checked (UserInputError otherwise)."""
    return [bytes(NodeId.parse(text)) for text in texts]


def _list(value: Any) -> list[str]:
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [v for v in decoded if isinstance(v, str)] if isinstance(decoded, list) else []


#: How often a running node deletes the loose entries past keeping (seconds).
SWEEP_EVERY_S = 6 * 3600.0


class LooseSweeper:
    """The running node's task that deletes loose entries 90 days after their last
    date (protocol/rules/holding.py, expired): at start, then every few hours."""

    def __init__(self, store: Store, *, every_s: float = SWEEP_EVERY_S) -> None:
        self.store = store
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loose entries sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                gone = await self.store.forget_loose(datetime.now(UTC).date())
                if gone:
                    log.info("deleted %d loose entries past their dates", gone)
            except StorageError as exc:  # a full disk, damage: try again next time
                log.warning("could not delete loose entries past their dates: %s", exc)
            await asyncio.sleep(self.every_s)


@dataclass(frozen=True, slots=True)
class Summary:
    """What ``schoolmesh holding`` shows."""

    policy: Policy
    whole_logs: int  # authors whose whole log is held
    whole_entries: int
    loose_entries: int  # offers, requests, events ... held alone
    loose_profiles: int  # other schools' newest profiles held alone

    def as_json(self) -> dict[str, Any]:
        interest = self.policy.interest
        return {
            "mode": self.policy.choice.mode,
            "hub": self.policy.hub is not None,
            "everything": self.policy.everything,
            "follow": [str(NodeId(f)) for f in self.policy.choice.follow],
            "horizon": sorted(str(a) for a in interest.horizon),
            "filters": [filter_json(f) for f in interest.filters],
            "whole_logs": self.whole_logs,
            "whole_entries": self.whole_entries,
            "loose_entries": self.loose_entries,
            "loose_profiles": self.loose_profiles,
        }


def filter_json(one: Filter) -> dict[str, list[str]]:
    """A filter as JSON: only the fields it sets ({} matches every public entry)."""
    names = ("countries", "regions", "languages", "phases", "kinds", "activities", "subjects")
    found = {name: sorted(getattr(one, name)) for name in (*names, "focus")}
    return {name: values for name, values in found.items() if values}


async def summary(store: Store) -> Summary:
    """The node's policy with counts of what it holds."""

    async def count(sql: str, *params: Any) -> int:
        row = await store.fetch_one(sql, params)
        return 0 if row is None else int(row[0])

    whole_logs = await count("SELECT COUNT(*) FROM heads")
    policy = await read_policy(store, with_hub=True)
    return Summary(
        policy,
        whole_logs,
        await count("SELECT COUNT(*) FROM entries WHERE loose = 0"),
        await count("SELECT COUNT(*) FROM entries WHERE loose = 1 AND kind != ?", kinds.PROFILE),
        await count("SELECT COUNT(*) FROM entries WHERE loose = 1 AND kind = ?", kinds.PROFILE),
    )


async def choose(
    store: Store, mode: str | None, follow: Iterable[bytes], unfollow: Iterable[bytes]
) -> Choice:
    """Change what the school chose (``schoolmesh holding``); return the choice now."""
    async with store.write():
        now = await read_choice(store)
        followed = [f for f in now.follow if f not in set(unfollow)]
        followed += [f for f in follow if f not in followed]
        if len(followed) > MAX_FOLLOWED:
            raise UserInputError(
                f"at most {MAX_FOLLOWED} schools may be followed by hand: unfollow some first",
                page=said(
                    "At most %(most)s schools may be followed by hand: stop following some first.",
                    most=MAX_FOLLOWED,
                ),
            )
        chosen = Choice(mode or now.mode, tuple(followed))
        await store.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
            "SET value = excluded.value",
            (SETTING, chosen.encode()),
        )
    return chosen


async def record_declared(store: Store, peer: NodeId, partners: Iterable[bytes]) -> None:
    """Keep the partners ``peer`` declared (replacing what it declared before), as
    our partners' partners are the second hop of our horizon."""
    wanted = set(partners)
    rows = await store.fetch_all("SELECT partner FROM declared_partners WHERE peer = ?", (peer,))
    if {row[0] for row in rows} == wanted:
        return  # as declared before: nothing to write
    async with store.write():
        await store.execute("DELETE FROM declared_partners WHERE peer = ?", (peer,))
        for partner in wanted:
            await store.execute(
                "INSERT OR IGNORE INTO declared_partners VALUES (?, ?)", (peer, partner)
            )
