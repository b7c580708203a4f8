"""Withdrawals: what a ``withdraw`` entry erases, what is kept of what it withdrew,
and what is known of a withdrawal (:class:`Withdrawn`).

Run on the database thread inside the transaction that stores the withdrawal
(node/store/database.py, ``Store._insert_now``). Who may withdraw what is the pure
rule ``protocol/rules/entries.py`` (``withdrawal``, ``erasable``).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from node.store.reads import ENTRY_COLUMNS, get_now
from node.store.search import unindex_now
from protocol import kinds
from protocol.contents.entries import EventContent, OfferContent, WithdrawContent
from protocol.entry import Entry, load_entry
from protocol.keys import EntryId, NodeId
from protocol.rules import entries as rules
from protocol.rules import holding as holding_rules

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A withdrawn offer, request or event: what it was, when, by whom and why."""

    id: EntryId
    author: NodeId
    kind: str  # offer, request or event; "" if the entry itself never arrived
    title: str | None  # None if its content had gone before it reached us
    activity: str | None
    at: int  # the withdrawal's timestamp, milliseconds
    reason: str | None


def apply_withdrawal_now(conn: sqlite3.Connection, withdrawal: Entry) -> list[int]:
    """Erase what ``withdrawal`` withdraws, if its author may; return the numbers taken
    off the indexer's queue (:func:`unindex_now`)."""
    target = bytes(WithdrawContent.of(withdrawal).target)
    author = bytes(withdrawal.author)
    row = conn.execute("SELECT author, kind FROM entries WHERE id = ?", (target,)).fetchone()
    refusal = rules.withdrawal(author, None if row is None else rules.Held(*row))
    if refusal is not None:  # the withdrawal stays in its author's log, and does nothing
        log.info("withdrawal %s by %s: %s", withdrawal.id, withdrawal.author, refusal.reason)
        return []
    # Remembered also when the target is not held yet: when it arrives, _insert
    # erases it only if its author is this one (rules.withdrawal again).
    conn.execute(
        "INSERT OR IGNORE INTO withdrawals (target, author, withdraw_id) VALUES (?, ?, ?)",
        (target, author, bytes(withdrawal.id)),
    )
    keep_title_now(conn, target, author)
    keep_question_now(conn, target, author)
    keep_cancelled_event_now(conn, target, author, withdrawal.payload.timestamp)
    # The author checks in the WHEREs repeat the rule, as a second line of defence.
    taken = unindex_now(conn, "SELECT n FROM entries WHERE id = ? AND author = ?", (target, author))
    conn.execute("UPDATE entries SET content = NULL WHERE id = ? AND author = ?", (target, author))
    # Found beyond our view by a network search (node/net/search.py): erased too.
    conn.execute("DELETE FROM loose_results WHERE id = ? AND author = ?", (target, author))
    return taken


def keep_title_now(conn: sqlite3.Connection, target: bytes, author: bytes) -> None:
    """Keep what a withdrawn offer, request or event was called, before its content
    is erased: its page and the arrangements that depended on it still say what
    was withdrawn (docs/decisions.md). Its other words go."""
    row = conn.execute(
        f"SELECT kind, {ENTRY_COLUMNS} FROM entries WHERE id = ? AND author = ? "
        "AND kind IN (?, ?, ?) AND content IS NOT NULL",
        (target, author, kinds.OFFER, kinds.REQUEST, kinds.EVENT),
    ).fetchone()
    if row is None:
        return
    entry = load_entry(*row[1:])
    if row[0] == kinds.EVENT:
        title, activity = EventContent.of(entry).title, None
    else:
        offer = OfferContent.of(entry)
        title, activity = offer.title, offer.activity
    conn.execute(
        "INSERT OR IGNORE INTO withdrawn_titles VALUES (?, ?, ?, ?, ?)",
        (target, author, row[0], title, activity),
    )


def keep_question_now(conn: sqlite3.Connection, target: bytes, author: bytes) -> None:
    """Keep which question a withdrawn answer answered, before its content is erased:
    a catch-up offers its withdrawal to the school that asked (protocol/catchup.py,
    ``held_by``), as it offered the answer."""
    row = conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM entries WHERE id = ? AND author = ? AND kind = ? "
        "AND content IS NOT NULL",
        (target, author, kinds.ANSWER),
    ).fetchone()
    question = (
        None if row is None else holding_rules.named_id(kinds.ANSWER, load_entry(*row).content)
    )
    if question is not None:
        conn.execute(
            "INSERT OR IGNORE INTO withdrawn_answers VALUES (?, ?, ?)", (target, author, question)
        )


def keep_cancelled_event_now(
    conn: sqlite3.Connection, target: bytes, author: bytes, withdrawn_at: int
) -> None:
    """Keep a withdrawn event's times (not its words), to export it as cancelled."""
    row = conn.execute(
        f"SELECT seq, {ENTRY_COLUMNS} FROM entries "
        "WHERE id = ? AND author = ? AND kind = ? AND content IS NOT NULL",
        (target, author, kinds.EVENT),
    ).fetchone()
    if row is None:
        return
    event = EventContent.of(load_entry(*row[1:]))
    conn.execute(
        "INSERT OR IGNORE INTO cancelled_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            target,
            author,
            target if event.replaces is None else bytes(event.replaces),
            int(row[0]),
            event.start,
            event.end,
            event.tz,
            withdrawn_at,
        ),
    )


def withdrawn_now(
    conn: sqlite3.Connection, entry_id: EntryId, author: NodeId | None = None
) -> Withdrawn | None:
    """What we know of the withdrawal of ``entry_id`` by its author, if it was withdrawn.

    The author is the held entry's; for an entry that never reached us, only the
    ``author`` the caller knows from elsewhere (an interest names the posting
    school), since any school may name an entry it does not hold.
    """
    held = conn.execute(
        "SELECT author, kind FROM entries WHERE id = ?", (bytes(entry_id),)
    ).fetchone()
    if held is not None and author is not None and bytes(author) != held[0]:
        return None
    by = held[0] if held is not None else None if author is None else bytes(author)
    if by is None:
        return None
    row = conn.execute(
        "SELECT w.withdraw_id, t.kind, t.title, t.activity FROM withdrawals w "
        "LEFT JOIN withdrawn_titles t ON t.id = w.target AND t.author = w.author "
        "WHERE w.target = ? AND w.author = ?",
        (bytes(entry_id), by),
    ).fetchone()
    if row is None:
        return None
    withdraw_id, kind, title, activity = row
    withdrawal = get_now(conn, EntryId(withdraw_id))
    reason = None
    if withdrawal is not None and withdrawal.content is not None:
        reason = WithdrawContent.of(withdrawal).reason
    return Withdrawn(
        id=entry_id,
        author=NodeId(by),
        kind=kind or (held[1] if held is not None else ""),
        title=title,
        activity=activity,
        at=0 if withdrawal is None else withdrawal.payload.timestamp,
        reason=reason if isinstance(reason, str) and reason else None,
    )
