"""What needs a person's attention, for the dashboard (docs/web.md, "Needs doing").

Two sorts of item, told apart by :attr:`Item.news`:

- **To do**: something waits for this person (interest to answer, a pupil's post
  or comment to approve, an action point due, a post returned to a pupil, an
  invitation to a moderation cluster). It
  stays until it is done: answering, approving or changing it takes it away.
- **News**: something happened that they should know of (an answer to our
  interest, a school's answer to our event, a cancellation, a withdrawal, a comment
  on a pupil's post, a cluster's sample every school has graded). It stays for
  :data:`RECENT_MS`, or until the person marks the news as seen (:func:`mark_seen`),
  whichever comes first.

The reads are bounded: a fixed handful of queries whatever the number of items
(no query per project, post or interest), plus the event list the dashboard reads
anyway for its upcoming events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from node.accounts.service import USER_COLUMNS, user_from_row
from node.events.service import EventView
from node.node import Node
from node.observations import service as observations
from node.projects import approval
from node.projects.rosters import ProjectPupils
from node.store.reads import schools_now
from protocol.contents.entries import WithdrawContent
from protocol.entry import load_entry
from protocol.keys import NodeId
from protocol.rules import partnership

#: How long news stays when nobody marks it as seen: long enough for a holiday.
RECENT_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the dashboard: what, when, where it is done."""

    kind: str  # the template's sentence for it: see dashboard.html
    at: int  # when it happened (or, for an action point, its follow-up day), ms
    href: str  # the page where it is done or read
    title: str  # what it is about: an offer's, event's or post's title
    who: str = ""  # the other school, the pupil or the colleague
    detail: str = ""  # a reason, a teacher's note, an answer (yes, maybe, no)
    news: bool = False
    due: date | None = None  # an action point's follow-up day, shown as written


@dataclass(frozen=True, slots=True)
class _StaffRows:
    """What :func:`for_staff` reads, in one trip."""

    since: int
    interests: list[Any]
    withdrawn: list[Any]
    dates: list[Any]
    waiting_posts: list[Any]
    waiting_comments: list[Any]
    partnering: list[Any]
    talks: list[Any]
    schools: dict[NodeId, tuple[str, str]]


async def seen_at(node: Node, user: str) -> int:
    return await node.store.read(lambda conn: _seen_at_now(conn, user))


def _seen_at_now(conn: sqlite3.Connection, user: str) -> int:
    row = conn.execute("SELECT seen_at FROM dashboard_seen WHERE user = ?", (user,)).fetchone()
    return int(row[0]) if row else 0


async def mark_seen(node: Node, user: str, now: int) -> None:
    """Clear the news shown to ``user`` so far; to-do items stay until done."""
    async with node.store.write():
        await node.store.execute(
            "INSERT INTO dashboard_seen (user, seen_at) VALUES (?, ?) "
            "ON CONFLICT (user) DO UPDATE SET seen_at = excluded.seen_at",
            (user, now),
        )


#: The writer's account (``USER_COLUMNS`` of ``users u``) beside each waiting item.
_WRITER = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))


def _approvable(conn: sqlite3.Connection, rows: list[Any]) -> list[Any]:
    """Of ``rows`` (four columns, the project, then the writer's account or NULLs),
    the first four of those whose writer's work may be approved (approval.writer),
    with every project's pupils in one more query."""
    if not rows:
        return []
    taking_part: dict[str, tuple[list[str], list[str]]] = {}
    for project, kind, name in conn.execute("SELECT project, kind, name FROM project_pupils"):
        taking_part.setdefault(project, ([], []))[kind == "pupil"].append(name)
    kept = []
    for row in rows:
        classes, pupils = taking_part.get(row[4], ([], []))
        author = None if row[5] is None else user_from_row(row[5:])
        verdict = approval.writer(author, ProjectPupils(tuple(classes), tuple(pupils)))
        if verdict is approval.Writer.TAKES_PART:
            kept.append(row[:4])
    return kept


def _newest_first(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (-i.at, i.kind, i.href))


def _day_ms(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp() * 1000)


async def for_staff(
    node: Node, user: str, known: Sequence[EventView], today: date, now: int
) -> list[Item]:
    """Everything that needs a member of staff, newest first."""
    store, me = node.store, bytes(node.node_id)
    items: list[Item] = []

    def read(conn: sqlite3.Connection) -> _StaffRows:
        """The rows of this page, in one trip."""
        since = max(_seen_at_now(conn, user), now - RECENT_MS)
        rows = conn.execute(
            "SELECT i.entry, i.sender, i.poster, i.title, i.state, i.sent_at, i.answered_at "
            "FROM interests i LEFT JOIN withdrawals w "
            "ON w.target = i.entry AND w.author = i.poster "
            "WHERE w.target IS NULL AND ((i.poster = ? AND i.state = 'open') "
            "OR (i.sender = ? AND i.state != 'open' AND i.answered_at > ?))",
            (me, me, since),
        ).fetchall()
        # The withdrawals of what we showed interest in, with the withdrawal entry itself
        # (its time and reason) in the same read.
        withdrawn = conn.execute(
            "SELECT i.entry, i.poster, i.title, e.payload, e.sig, e.content FROM interests i "
            "JOIN withdrawals w ON w.target = i.entry AND w.author = i.poster "
            "JOIN entries e ON e.id = w.withdraw_id WHERE i.sender = ? AND e.ts > ?",
            (me, since),
        ).fetchall()
        # Dates for our arrangements: one the other school proposed (to accept or answer
        # with another), and one of ours the other school accepted.
        dates = conn.execute(
            "SELECT b.interest, b.proposer, b.state, b.proposed_at, b.agreed_at, i.title, "
            "i.sender, i.poster FROM bookings b JOIN interests i ON i.id = b.interest "
            "LEFT JOIN withdrawals w ON w.target = i.entry AND w.author = i.poster "
            "WHERE w.target IS NULL AND ((b.state = 'open' AND b.proposer != ?) "
            "OR (b.state = 'agreed' AND b.proposer = ? AND b.agreed_at > ?))",
            (me, me, since),
        ).fetchall()
        # Not what can no longer be approved (approval.writer: its pupil's account
        # removed, or its pupil taken off the project): there is nothing to approve, and
        # a to-do stays until done. The project's page lists it, marked so.
        waiting_posts = _approvable(
            conn,
            conn.execute(
                f"SELECT p.id, p.title, p.author, p.created_at, p.project, {_WRITER} "
                "FROM posts p JOIN projects j ON j.id = p.project "
                "LEFT JOIN users u ON u.name = p.author "
                "WHERE p.origin = ? AND p.state = 'draft' AND j.standing = 'member'",
                (me,),
            ).fetchall(),
        )
        waiting_comments = _approvable(
            conn,
            conn.execute(
                f"SELECT c.post, c.author, c.created_at, p.title, c.project, {_WRITER} "
                "FROM comments c JOIN posts p ON p.id = c.post "
                "JOIN projects j ON j.id = c.project LEFT JOIN users u ON u.name = c.author "
                "WHERE c.origin = ? AND c.state = 'draft' AND j.standing = 'member'",
                (me,),
            ).fetchall(),
        )
        # Partnership requests to answer, and answers to ours (node/directory/service.py).
        partnering = conn.execute(
            "SELECT id, school, direction, state, at, answered_at FROM partner_requests "
            "WHERE (direction = 'received' AND state = 'open' AND at > ?) "
            "OR (direction = 'sent' AND state != 'open' AND answered_at > ?)",
            (now - partnership.EXPIRY_MS, since),
        ).fetchall()
        # Talks offered for our TeachMeets, waiting for our answer (node/events/slots.py).
        talks = conn.execute(
            "SELECT event, school, at FROM talks WHERE state = 'offered'"
        ).fetchall()
        schools = schools_now(
            conn,
            {NodeId(r[1]) for r in talks}
            | {NodeId(r[1]) for r in partnering}
            | {NodeId(r[1]) for r in rows}
            | {NodeId(r[2]) for r in rows}
            | {NodeId(r[1]) for r in withdrawn}
            | {NodeId(r[n]) for r in dates for n in (6, 7)},
        )
        return _StaffRows(
            since,
            rows,
            withdrawn,
            dates,
            waiting_posts,
            waiting_comments,
            partnering,
            talks,
            schools,
        )

    found = await store.read(read)
    since, rows, withdrawn, dates = found.since, found.interests, found.withdrawn, found.dates
    waiting_posts, waiting_comments = found.waiting_posts, found.waiting_comments
    partnering, talks, schools = found.partnering, found.talks, found.schools

    def school(node_id: bytes) -> str:
        return schools.get(NodeId(node_id), ("", ""))[0]

    for entry, sender, poster, title, state, sent_at, answered_at in rows:
        href = f"/offers/{bytes(entry).hex()}"
        if bytes(poster) == me:
            items.append(
                Item("interest_received", int(sent_at), "/interests", title, school(sender))
            )
        else:
            kind = "interest_accepted" if state == "accepted" else "interest_declined"
            items.append(Item(kind, int(answered_at), href, title, school(poster), news=True))
    for entry, poster, title, payload, sig, content in withdrawn:
        withdrawal = load_entry(payload, sig, content)
        reason = None if withdrawal.content is None else WithdrawContent.of(withdrawal).reason
        items.append(
            Item(
                "offer_withdrawn",
                withdrawal.payload.timestamp,
                f"/offers/{bytes(entry).hex()}",
                title,
                school(poster),
                reason if isinstance(reason, str) else "",
                news=True,
            )
        )
    for interest, proposer, state, proposed_at, agreed_at, title, sender, poster in dates:
        href = f"/interests#arrangement-{interest}"
        other = school(poster if bytes(sender) == me else sender)
        if state == "open":
            items.append(Item("date_proposed", int(proposed_at), href, title, school(proposer)))
        else:
            items.append(Item("date_agreed", int(agreed_at), href, title, other, news=True))
    for event in known:
        title = event.title
        href = f"/events/{event.id}"
        if event.cancelled and event.answer in ("yes", "maybe") and not event.ended(today):
            if event.modified_ms > since:
                when = event.modified_ms
                items.append(
                    Item(
                        "event_cancelled", when, href, title, event.school, event.reason or "", True
                    )
                )
        elif event.author == node.node_id and not event.cancelled:
            items.extend(
                Item("event_answer", a.answered_at, href, title, a.school, a.answer, news=True)
                for a in event.answers
                if a.answered_at > since
            )
    ours = {bytes(e.id): e for e in known if e.author == node.node_id and not e.cancelled}
    for event_id, speaker_school, at in talks:
        if (teachmeet := ours.get(bytes(event_id))) is not None:
            href = f"/events/{teachmeet.id}#running-order"
            title = teachmeet.title
            items.append(Item("talk_offered", int(at), href, title, school(speaker_school)))
    for _id, other, direction, state, at, answered_at in partnering:
        if direction == "received":
            items.append(Item("partner_request", int(at), "/schools#requests", "", school(other)))
        else:
            kind = "partner_accepted" if state == "accepted" else "partner_declined"
            href = f"/schools/{NodeId(other)}"
            items.append(Item(kind, int(answered_at), href, "", school(other), news=True))
    # Answers to our questions: one line per question, however many came.
    for new in await node.questions.new_answers(since):
        href = f"/questions/{new.question}?answer={new.latest}#answer-{new.latest}"
        items.append(
            Item("question_answered", new.at, href, new.title, new.school, str(new.count), True)
        )
    invitations, graded = await node.clusters.needs(since)  # moderation clusters
    for invitation in invitations:
        href = f"/clusters/{invitation.id}"
        items.append(
            Item("cluster_invited", invitation.at, href, invitation.title, invitation.maker)
        )
    for sample in graded:
        href = f"/clusters/{sample.cluster}#sample-{sample.sample}"
        items.append(Item("cluster_graded", sample.at, href, sample.title, news=True))
    for post_id, title, author, created_at in waiting_posts:
        items.append(
            Item("post_waiting", int(created_at), f"/posts/{post_id}", title or "", author)
        )
    for post_id, author, created_at, title in waiting_comments:
        href = f"/posts/{post_id}#comments"
        items.append(Item("comment_waiting", int(created_at), href, title or "", author or ""))
    for due in await node.observations.due(today):
        seen = due.observation
        if observations.same_person(seen.observed, user) or observations.same_person(
            seen.observer, user
        ):
            href = f"/observations/{seen.id}"
            items.append(
                Item(
                    "action_due",
                    _day_ms(seen.follow_up),
                    href,
                    seen.focus,
                    seen.observed,
                    due.action,
                    due=seen.follow_up,
                )
            )
    return _newest_first(items)


async def for_pupil(node: Node, user: str, now: int) -> list[Item]:
    """A pupil's own: posts returned by a teacher, and new comments on their posts."""
    store, me = node.store, bytes(node.node_id)
    since = max(await seen_at(node, user), now - RECENT_MS)
    returned = await store.fetch_all(
        "SELECT id, title, note, created_at FROM posts "
        "WHERE origin = ? AND author = ? COLLATE NOCASE AND state = 'returned'",
        (me, user),
    )
    comments = await store.fetch_all(
        "SELECT c.post, c.origin, c.author, c.by_name, c.created_at, p.title FROM comments c "
        "JOIN posts p ON p.id = c.post "
        "WHERE p.origin = ? AND p.author = ? COLLATE NOCASE AND p.state = 'approved' "
        "AND c.state = 'approved' "
        "AND NOT (c.origin = ? AND c.author IS NOT NULL AND c.author = ? COLLATE NOCASE) "
        "AND COALESCE(c.approved_at, c.created_at) > ?",
        (me, user, me, user, since),
    )
    schools = await store.schools({NodeId(r[1]) for r in comments})
    items = [
        Item("post_returned", int(at), f"/posts/{pid}", title or "", "", note or "")
        for pid, title, note, at in returned
    ]
    for post_id, origin, author, by_name, created_at, title in comments:
        name = by_name or author or ""
        where = schools.get(NodeId(origin), ("", ""))[0]
        who = f"{name} ({where})" if where and bytes(origin) != me else name
        href = f"/posts/{post_id}#comments"
        items.append(Item("comment_new", int(created_at), href, title or "", who, news=True))
    return _newest_first(items)
