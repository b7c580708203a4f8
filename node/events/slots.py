"""TeachMeets: speaker slots, talks offered for them, and the running order.

A TeachMeet is a public event whose content lists its speaker slots (``slots``,
such as [[8, 2], [4, 7]]: eight 2-minute slots, then four 7-minute ones, numbered
from 1). A teacher at another school offers a talk for one slot; the talk is a
``talk`` letter sealed to the organiser alone, kept here as ``sent``. The
organiser's node keeps the talks offered for its events (``offered``, first come,
first served: a slot another school holds is refused), and the organiser accepts,
moves or frees them. The accepted talks are the running order, published as a new
version of the event (``talks``), so it reaches every school and every calendar.
A school withdraws its own talk with a ``talk-cancel`` letter; the slot is free at
once at the organiser, and the order is published again when the organiser next
accepts, moves, frees or publishes (the event page says when it has changed).

Who may send what: protocol/rules/slots.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from node.clock import now_ms
from node.mail.mailroom import Mailroom
from node.store.database import Store
from node.store.reads import get_now, holds_profile_now, newest_version_now
from protocol import kinds, letters
from protocol.contents.entries import EventContent
from protocol.contents.letters import TalkCancelLetter, TalkLetter
from protocol.errors import UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import slots as rules
from protocol.rules import teams as team_rules
from protocol.sealed import Letter

if TYPE_CHECKING:
    from node.events.service import EventView
    from node.node import Node

OFFERED, ACCEPTED, SENT = "offered", "accepted", "sent"

#: A talk as kept: (slot, school, title, speaker, state, at); and as arranged, without ``at``.
Kept = tuple[int, NodeId, str, str, str, int]
Talk = tuple[int, NodeId, str, str, str]


@dataclass(slots=True)
class Slot:
    """One speaker slot and the talk in it, if any."""

    number: int
    minutes: int
    title: str | None = None
    speaker: str | None = None
    school_id: NodeId | None = None
    school: str | None = None
    #: free; accepted (in the running order); offered (waiting for the organiser, who
    #: sees it); or sent (our own talk, waiting for the organiser's answer).
    state: str = "free"

    def as_json(self) -> dict[str, Any]:
        return {
            "slot": self.number,
            "minutes": self.minutes,
            "title": self.title,
            "speaker": self.speaker,
            "school": self.school,
            "school_id": None if self.school_id is None else str(self.school_id),
            "state": self.state,
        }


@dataclass(slots=True)
class Lineup:
    """A TeachMeet's slots as this school sees them."""

    event: EventView
    slots: list[Slot] = field(default_factory=list)
    #: The organiser's own view: the order changed since it was last published.
    unpublished: bool = False
    #: Our talks offered for other slots than the order shows (moved or not yet accepted).
    waiting: list[Slot] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.event.id),
            "title": self.event.title or None,
            "unpublished": self.unpublished,
            "slots": [s.as_json() for s in self.slots],
            "waiting": [s.as_json() for s in self.waiting],
        }


class Slots:
    """Talks offered for TeachMeet slots, ours and other schools'; ``node.slots``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom) -> None:
        self.store = store
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False

    async def rows(self, event: EntryId) -> list[Kept]:
        """(slot, school, title, speaker, state, at) of one event, by slot."""
        return await self.store.read(lambda conn: rows_now(conn, event))

    async def offer(
        self, event: EntryId, organiser: NodeId, slot: int, title: str, speaker: str, now: int
    ) -> None:
        """Seal our talk to the organiser and keep it as sent, both or neither."""
        content = TalkLetter(event, slot, title, speaker, now).to_content()

        def write(conn: sqlite3.Connection) -> None:  # one trip
            self.mail.send_now(conn, letters.TALK, content, [organiser], about=str(event), now=now)
            _put(conn, event, slot, self.me, title, speaker, SENT, now)

        await self.store.write(write)

    async def withdraw(
        self, event: EntryId, organiser: NodeId, slot: int, title: str | None, now: int
    ) -> None:
        """Tell the organiser we withdraw our talk in ``slot``, and forget it here: the
        talk we offered for that slot, and the one titled ``title`` (the organiser may
        have moved it to ``slot`` from the slot we offered it for)."""
        content = TalkCancelLetter(event, slot, now).to_content()

        def write(conn: sqlite3.Connection) -> None:  # one trip
            self.mail.send_now(
                conn, letters.TALK_CANCEL, content, [organiser], about=str(event), now=now
            )
            conn.execute(
                "DELETE FROM talks WHERE event = ? AND (slot = ? OR title = ?)",
                (bytes(event), slot, title),
            )

        await self.store.write(write)

    async def receive(self, letter: Letter, now: int) -> None:
        """A talk offered or withdrawn for one of our TeachMeets (inside the mail room's
        transaction, in one trip). protocol/rules/slots.py says who may; a refused letter
        changes nothing."""
        await self.store.within(lambda conn: self._receive_now(conn, letter, now))

    def _receive_now(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        talk = (TalkLetter if letter.kind == letters.TALK else TalkCancelLetter).of(letter)
        event, slot = talk.event, talk.slot
        held = self._teachmeet_now(conn, event)
        talks = rows_now(conn, event) if held is not None else []
        holder = next((school for n, school, *_ in talks if n == slot), None)
        if isinstance(talk, TalkLetter):
            speaker = rules.Speaker(
                profile_held=holds_profile_now(conn, letter.author),
                held=sum(1 for _, school, *_ in talks if school == letter.author),
                offered=sum(1 for *_, state, _at in talks if state == OFFERED),
            )
            verdict = rules.talk(
                letter.author,
                self.me,
                letter.recipients,
                held,
                slot,
                holder,
                speaker,
                talk.at,
                now,
            )
            if verdict is not None:
                raise verdict.error()
            _put(conn, event, slot, letter.author, talk.title, talk.speaker, OFFERED, now)
            return
        verdict = rules.cancel(
            letter.author, self.me, letter.recipients, held, holder, talk.at, now
        )
        if verdict is not None:
            raise verdict.error()
        conn.execute(
            "DELETE FROM talks WHERE event = ? AND slot = ? AND school = ?",
            (bytes(event), slot, bytes(letter.author)),
        )

    def _teachmeet_now(self, conn: sqlite3.Connection, event: EntryId) -> rules.TeachMeet | None:
        """The TeachMeet a letter names, as we hold it: one of our public events, with
        its newest version's slots and end (our own event entries from its first version
        on, found by the (author, seq) index)."""
        entry = get_now(conn, event)
        if entry is None or entry.kind != kinds.EVENT:
            return None
        if entry.author != self.me:
            return rules.TeachMeet(entry.author, 0)  # not ours: refused whatever it holds
        cancelled = conn.execute(
            "SELECT 1 FROM cancelled_events WHERE id = ? OR root = ? LIMIT 1",
            (bytes(event), bytes(event)),
        ).fetchone()
        version = newest_version_now(conn, entry)
        newest = entry if version is None else version
        typed = None if newest.content is None else EventContent.of(newest)
        return rules.TeachMeet(
            entry.author,
            0 if typed is None else len(rules.minutes(typed.slots)),
            cancelled=cancelled is not None,
            end=None if typed is None else typed.end,
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget ``school``'s talks for our events when we block it,
        and ours for its events (which go with it)."""
        await self.store.execute(
            "DELETE FROM talks WHERE school = ? AND state != ?", (bytes(school), SENT)
        )
        # Ours for its events: its entries were erased first (the blocking transaction),
        # so these are the talks we sent for events we no longer hold.
        await self.store.execute(
            "DELETE FROM talks WHERE state = ? AND event NOT IN (SELECT id FROM entries)",
            (SENT,),
        )


# -- what staff do (pages and command line) ------------------------------------------


def parse_slots(text: str) -> list[list[int]]:
    """``8x2,4x7`` (how many slots x minutes each) as the event's ``slots``."""
    groups: list[list[int]] = []
    for part in text.replace(" ", "").split(","):
        count, _, length = part.lower().partition("x")
        if not (count.isdigit() and length.isdigit()):
            raise UserInputError(
                f"--slots {text!r}: write how many slots and their minutes, such as 8x2,4x7 "
                "(eight 2-minute talks, then four 7-minute ones)",
                page=said(
                    "Write the slots like 8x2,4x7: eight 2-minute talks, then four 7-minute ones."
                ),
            )
        groups.append([int(count), int(length)])
    problem = kinds.slot_groups(groups)
    if problem is not None:
        raise UserInputError(
            f"--slots {text!r}: {problem}",
            page=said(
                "Give 1 to %(groups)s groups of slots, %(most)s slots at most, each 1 to "
                "%(minutes)s minutes long.",
                groups=kinds.MAX_SLOT_GROUPS,
                most=kinds.MAX_SLOTS,
                minutes=kinds.MAX_SLOT_MINUTES,
            ),
        )
    return groups


def not_for_teams(content: dict[str, Any]) -> None:
    """Refuse speaker slots on a conference or debate (``format``): slots make a
    TeachMeet, where teachers give talks; a conference or debate takes teams of pupils
    instead (node/events/teams.py), and an event with both was neither clearly."""
    kind = content.get("format")
    if "slots" in content and kind in team_rules.FORMATS:
        raise UserInputError(
            f"speaker slots (--slots) are for a TeachMeet, where teachers give talks; a "
            f"{kind} takes teams of pupils instead (`event team`): leave out --slots, or "
            "use --kind teachmeet",
            page=said(
                "Speaker slots are for a TeachMeet, where teachers give talks; a pupil "
                "conference or debate takes teams of pupils instead. Leave the speaker "
                "slots empty, or choose a meeting of staff for a TeachMeet."
            ),
        )


def _published(event: EventView) -> list[tuple[int, NodeId, str, str]]:
    """The running order in the event's newest version: (slot, school, title, speaker).

    Only the organiser's own versions make the event (protocol/rules/entries.py,
    ``revision``): another school's "new version" is an event of its own."""
    talks = () if event.public is None else event.public.talks
    return [(t.slot, t.school, t.title, t.speaker) for t in talks]


async def _shown(store: Store, event: EventView) -> list[tuple[int, NodeId, str, str]]:
    """The published running order without the talks of schools we blocked: the
    organiser's order may still name one (until it publishes again), but nothing a
    blocked school wrote is shown here."""
    blocked = await store.blocked_authors()
    return [talk for talk in _published(event) if talk[1] not in blocked]


async def order_lines(store: Store, event: EventView) -> tuple[str, ...]:
    """The running order for calendars: "1. 2 min: Title (Speaker, School)" per talk."""
    published = await _shown(store, event) if not event.cancelled else []
    if not published:
        return ()
    lengths = rules.minutes(event.slots)
    names = await store.schools({school for _, school, *_ in published})
    return tuple(
        f"{n}. {lengths[n - 1] if n <= len(lengths) else '?'} min: {title} "
        f"({speaker}, {names.get(school, ('unknown school', ''))[0]})"
        for n, school, title, speaker in sorted(published, key=lambda talk: talk[0])
    )


async def lineup(node: Node, id_text: str) -> Lineup:
    """A TeachMeet's slots and talks, as this school may see them."""
    event = await _teachmeet(node, id_text)
    lengths = rules.minutes(event.slots)
    slots = [Slot(n, m) for n, m in enumerate(lengths, start=1)]
    ours = event.author == node.node_id
    published = _published(event) if ours else await _shown(node.store, event)
    kept = await node.slots.rows(event.id)
    shown: list[tuple[int, NodeId, str, str, str]]
    if ours:
        shown = [(n, school, title, speaker, state) for n, school, title, speaker, state, _ in kept]
    else:
        shown = [(n, school, title, speaker, ACCEPTED) for n, school, title, speaker in published]
    names = await node.store.schools({s for _, s, *_ in shown} | {s for _, s, *_ in kept})
    for n, school, title, speaker, state in shown:
        if 1 <= n <= len(slots):
            slot = slots[n - 1]
            slot.title, slot.speaker, slot.school_id, slot.state = title, speaker, school, state
            slot.school = names.get(school, ("unknown school", ""))[0]
    result = Lineup(event, slots)
    if ours:
        accepted = sorted((n, s, t, sp) for n, s, t, sp, st, _ in kept if st == ACCEPTED)
        result.unpublished = accepted != sorted(published)
    else:
        for n, school, title, speaker, state, _ in kept:
            if (
                state == SENT
                and not any(p[1] == node.node_id and p[2] == title for p in published)
                and 1 <= n <= len(slots)
            ):
                mine = names.get(school, ("", ""))[0]
                result.waiting.append(Slot(n, lengths[n - 1], title, speaker, school, mine, SENT))
    return result


async def speak(
    node: Node, id_text: str, slot: int, title: str, speaker: str, *, today: date | None = None
) -> Lineup:
    """Offer a talk for ``slot`` of a TeachMeet; at our own event, put it in the order."""
    title, speaker = _clean(title, "--title", 200), _clean(speaker, "--speaker", 100)
    event = await _open(node, id_text, today)
    lengths = rules.minutes(event.slots)
    _in_range(slot, len(lengths))
    if event.author == node.node_id:

        def ours(kept: list[Kept]) -> list[Talk]:
            if any(n == slot for n, *_ in kept):
                raise _taken(slot)
            talks = [(n, s, t, sp, st) for n, s, t, sp, st, _ in kept]
            return [*talks, (slot, node.node_id, title, speaker, ACCEPTED)]

        await _publish(node, event, ours)
        return await lineup(node, str(event.id))
    if any(n == slot and school != node.node_id for n, school, *_ in _published(event)):
        raise _taken(slot)
    await node.slots.offer(event.id, event.author, slot, title, speaker, now_ms())
    return await lineup(node, str(event.id))


async def unspeak(node: Node, id_text: str, slot: int) -> Lineup:
    """Withdraw our talk from ``slot``; at our own event, free the slot whoever's talk it is."""
    event = await _teachmeet(node, id_text)
    _in_range(slot, len(rules.minutes(event.slots)))
    if event.author == node.node_id:

        def freed(kept: list[Kept]) -> list[Talk]:
            if not any(n == slot for n, *_ in kept):
                raise _free(slot)
            return [(n, s, t, sp, st) for n, s, t, sp, st, _ in kept if n != slot]

        await _publish(node, event, freed)
        return await lineup(node, str(event.id))
    kept = await node.slots.rows(event.id)
    sent = any(n == slot and st == SENT for n, _, _, _, st, _ in kept)
    published = next(
        (t for n, school, t, _ in _published(event) if n == slot and school == node.node_id),
        None,
    )
    if not sent and published is None:
        raise UserInputError(
            f"slot {slot} holds no talk from your school: see `schoolmesh event slots {id_text}`",
            page=said("That slot holds no talk from our school."),
        )
    await node.slots.withdraw(event.id, event.author, slot, published, now_ms())
    return await lineup(node, str(event.id))


async def accept(node: Node, id_text: str, slot: int) -> Lineup:
    """Accept the talk offered for ``slot`` of our TeachMeet, and publish the order."""
    event = await _mine(node, id_text)

    def accepted(kept: list[Kept]) -> list[Talk]:
        if not any(n == slot for n, *_ in kept):
            raise _free(slot)
        return [(n, s, t, sp, ACCEPTED if n == slot else st) for n, s, t, sp, st, _ in kept]

    await _publish(node, event, accepted)
    return await lineup(node, str(event.id))


async def move(node: Node, id_text: str, slot: int, to: int) -> Lineup:
    """Move the talk in ``slot`` of our TeachMeet to ``to`` (swapping with any talk there)."""
    event = await _mine(node, id_text)
    _in_range(to, len(rules.minutes(event.slots)))

    def moved(kept: list[Kept]) -> list[Talk]:
        if not any(n == slot for n, *_ in kept):
            raise _free(slot)
        swap = {slot: to, to: slot}
        return [(swap.get(n, n), s, t, sp, st) for n, s, t, sp, st, _ in kept]

    await _publish(node, event, moved)
    return await lineup(node, str(event.id))


async def publish(node: Node, id_text: str) -> Lineup:
    """Publish our TeachMeet's running order as it stands (after a speaker withdrew)."""
    event = await _mine(node, id_text)
    await _publish(node, event, lambda kept: [(n, s, t, sp, st) for n, s, t, sp, st, _ in kept])
    return await lineup(node, str(event.id))


async def _publish(
    node: Node, event: EventView, change: Callable[[list[Kept]], list[Talk]]
) -> None:
    """Change the talks kept for our ``event`` (``change`` gives the new ones from those
    kept) and publish the accepted ones as the event's running order: read, kept and
    signed in one transaction, so a talk a letter brings meanwhile is not lost, and a
    version that cannot be signed leaves the talks as they were.

    Refused whole when this school may not sign another entry now (its budget)."""
    now = now_ms()

    def write(conn: sqlite3.Connection) -> None:  # one trip
        talks = change(rows_now(conn, event.id))
        order = [
            {"slot": n, "title": t, "speaker": sp, "school": str(s)}
            for n, s, t, sp, st in sorted(talks, key=lambda talk: talk[0])
            if st == ACCEPTED
        ]
        arrange_now(conn, event.id, talks, now)
        content = {**event.content, "talks": order, "replaces": bytes(event.id)}
        node.store.append_now(conn, node.key, kinds.EVENT, content, now)

    await node.store.write(write)


async def _teachmeet(node: Node, id_text: str) -> EventView:
    event = await node.events.find(id_text)
    if not event.slots:
        raise UserInputError(
            "that event has no speaker slots: only a TeachMeet made with --slots has them",
            page=said("This event has no speaker slots."),
        )
    return event


async def _open(node: Node, id_text: str, today: date | None) -> EventView:
    event = await _teachmeet(node, id_text)
    event.refuse_if_closed(today or datetime.now(UTC).date())
    return event


async def _mine(node: Node, id_text: str) -> EventView:
    event = await _teachmeet(node, id_text)
    if event.author != node.node_id:
        raise UserInputError(
            "that TeachMeet is organised by another school; only its organiser can accept, "
            "move or free talks",
            page=said("Only the school that organises a TeachMeet can accept or move talks."),
        )
    if event.cancelled:
        raise UserInputError(
            "that event is already withdrawn", page=said("This event is already cancelled.")
        )
    return event


def _in_range(slot: int, count: int) -> None:
    if not 1 <= slot <= count:
        raise UserInputError(
            f"--slot {slot}: this TeachMeet has slots 1 to {count}",
            page=said("Choose one of the TeachMeet's slots, 1 to %(count)s.", count=count),
        )


def _taken(slot: int) -> UserInputError:
    return UserInputError(
        f"slot {slot} already has a talk: choose a free slot (see `schoolmesh event slots`)",
        page=said("Slot %(slot)s already has a talk: choose a free one.", slot=slot),
    )


def _free(slot: int) -> UserInputError:
    return UserInputError(
        f"slot {slot} has no talk", page=said("Slot %(slot)s has no talk.", slot=slot)
    )


def _clean(value: str, flag: str, most: int) -> str:
    cleaned = " ".join(value.split())
    if not 1 <= len(cleaned) <= most or kinds.text(most)(cleaned) is not None:
        raise UserInputError(
            f"{flag}: give 1 to {most} characters",
            page=said(
                "Give a talk title and the speaker's name (up to %(most)s characters).", most=most
            ),
        )
    return cleaned


def rows_now(conn: sqlite3.Connection, event: EntryId) -> list[Kept]:
    """:meth:`Slots.rows` in a function run by ``store.read(fn)`` or ``write(fn)``."""
    found = conn.execute(
        "SELECT slot, school, title, speaker, state, at FROM talks WHERE event = ? ORDER BY slot",
        (bytes(event),),
    ).fetchall()
    return [(int(s), NodeId(sc), t, sp, st, int(at)) for s, sc, t, sp, st, at in found]


def arrange_now(
    conn: sqlite3.Connection,
    event: EntryId,
    talks: list[tuple[int, NodeId, str, str, str]],
    now: int,
) -> None:
    """Inside a write: the organiser's talks for one of its events, as (slot, school,
    title, speaker, state), replacing what was kept. The caller read what was kept in
    the same transaction (:func:`_publish`), so no talk a letter brought in between is
    lost."""
    conn.execute("DELETE FROM talks WHERE event = ?", (bytes(event),))
    for slot, school, title, speaker, state in talks:
        _put(conn, event, slot, school, title, speaker, state, now)


def _put(
    conn: sqlite3.Connection,
    event: EntryId,
    slot: int,
    school: NodeId,
    title: str,
    speaker: str,
    state: str,
    at: int,
) -> None:
    conn.execute(
        "INSERT INTO talks (event, slot, school, title, speaker, state, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event, slot) DO UPDATE SET "
        "school = excluded.school, title = excluded.title, speaker = excluded.speaker, "
        "state = excluded.state, at = excluded.at",
        (bytes(event), slot, bytes(school), title, speaker, state, at),
    )
