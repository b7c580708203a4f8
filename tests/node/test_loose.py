"""Loose entries in the store, on real SQLite files (docs/scale.md, Decision 1): an
entry of an author outside the horizon is kept alone when it matches the subscription,
or not at all; heads never count it; it is found by search; it joins its author's log
when the author enters the horizon; it is deleted 90 days after its last date."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.offers.service import Offers
from node.partners.peerbook import PeerBook
from node.store.database import Store
from node.store.holding import (
    EVERYTHING_MODE,
    HORIZON_MODE,
    MAX_FOLLOWED,
    SETTING,
    Choice,
    choose,
    read_choice,
    read_policy,
)
from node.store.placement import Outcome
from node.store.search import Filters
from protocol.entry import Entry, create_entry
from protocol.errors import UserInputError
from protocol.keys import NodeKey
from protocol.log import Head
from protocol.replication import Replication
from tests.helpers import NOW, key

ME, PARTNER, FAR = key(1), key(2), key(9)
HOME = {"name": "Oakfield Primary", "country": "GB", "region": "North", "phases": ["primary"]}


def entry(
    signer: NodeKey, seq: int, kind: str, content: dict[str, Any], prev: Entry | None = None
) -> Entry:
    return create_entry(
        signer,
        seq=seq,
        prev=None if prev is None else prev.id,
        timestamp=NOW - 60_000 + seq,
        kind=kind,
        content=content,
    )


def offer(title: str, **fields: Any) -> dict[str, Any]:
    return {"activity": "observation", "title": title, **fields}


def log_of(signer: NodeKey, contents: list[tuple[str, dict[str, Any]]]) -> list[Entry]:
    out: list[Entry] = []
    for kind, content in contents:
        out.append(entry(signer, len(out) + 1, kind, content, out[-1] if out else None))
    return out


@pytest.fixture
async def store(tmp_path: Path):
    opened = await Store.open(tmp_path / "node.db")
    await opened.set_setting("node_id", bytes(ME.node_id))
    await opened.set_setting(SETTING, Choice(HORIZON_MODE).encode())
    await opened.append_local(ME, "profile", HOME, NOW - 120_000)
    await PeerBook(opened).add(PARTNER.node_id, None, NOW)
    yield opened
    await opened.close()


FAR_LOG = log_of(
    FAR,
    [
        ("profile", {"name": "Far School", "country": "GB", "region": "South"}),
        ("offer", offer("Phonics in the North", region="North", phases=["primary"])),
        ("offer", offer("Rowing in the South")),  # the author's region: South
        ("profile", {"name": "Far School renamed", "country": "GB", "region": "South"}),
        ("offer", offer("Reading", region="North", phases=["primary"], to="2026-01-01")),
    ],
)


async def loose_rows(store: Store) -> list[tuple[int, str]]:
    rows = await store.fetch_all("SELECT seq, kind FROM entries WHERE loose = 1 ORDER BY seq")
    return [(int(s), k) for s, k in rows]


async def test_policy_reads_the_horizon_and_the_subscription(store: Store) -> None:
    policy = await read_policy(store)
    assert not policy.everything
    assert policy.interest.horizon == {ME.node_id, PARTNER.node_id}
    assert len(policy.interest.filters) == 1  # region and phase; no staff yet


async def test_outside_the_horizon_kept_loose_or_not_at_all(store: Store) -> None:
    results = await store.ingest(FAR_LOG, NOW)
    assert [r.outcome for r in results] == [
        Outcome.LOOSE,  # a profile: network-wide
        Outcome.LOOSE,  # matches the region
        Outcome.NOT_KEPT,  # does not
        Outcome.LOOSE,  # the newer profile, which replaces the older
        Outcome.LOOSE,
    ]
    assert await loose_rows(store) == [(2, "offer"), (4, "profile"), (5, "offer")]
    assert await store.head(FAR.node_id) is None  # no whole log: no head
    assert await store.heads_of([FAR.node_id]) == {FAR.node_id: 0}
    assert await store.wire_after(FAR.node_id, 0, 100) == []  # never sent as a log
    assert (await store.schools([FAR.node_id]))[FAR.node_id][0] == "Far School renamed"
    # An older profile arriving later is not kept.
    assert [r.outcome for r in await store.ingest(FAR_LOG[:1], NOW)] == [Outcome.NOT_KEPT]
    # Again: duplicates.
    again = await store.ingest([FAR_LOG[1], FAR_LOG[4]], NOW)
    assert [r.outcome for r in again] == [Outcome.DUPLICATE, Outcome.DUPLICATE]


async def test_loose_offers_are_found_by_search(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    found = await Offers(store, ME).search("phonics", Filters(), today=date(2026, 1, 1))
    assert [(listing.entry.content or {}).get("title") for listing in found] == [
        "Phonics in the North"
    ]


async def test_two_loose_entries_under_one_number_are_an_equivocation(store: Store) -> None:
    await store.ingest(FAR_LOG[:2], NOW)
    other = entry(FAR, 2, "offer", offer("Another, North", region="North"), FAR_LOG[0])
    [result] = await store.ingest([other], NOW)
    assert result.outcome is Outcome.EQUIVOCATION  # though it matches nothing we follow
    assert [(bytes(e.author), e.seq) for e in await store.equivocations()] == [
        (bytes(FAR.node_id), 2)
    ]


async def test_a_withdrawal_travels_with_what_it_withdraws(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    withdraw_held = entry(FAR, 6, "withdraw", {"target": bytes(FAR_LOG[1].id)}, FAR_LOG[4])
    withdraw_other = entry(FAR, 7, "withdraw", {"target": bytes(FAR_LOG[2].id)}, withdraw_held)
    results = await store.ingest([withdraw_held, withdraw_other], NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE, Outcome.NOT_KEPT]
    assert (await store.get(FAR_LOG[1].id)).content is None  # type: ignore[union-attr]


async def test_answers_and_marks_travel_with_the_question_held(store: Store) -> None:
    """A far school (the South, matching no filter): its answer to our question, and
    its mark on our answer to its question, are kept; what it names falsely is not."""
    mine = await store.append_local(ME, "question", {"title": "Phonics?", "text": "How?"}, NOW)
    far = [FAR_LOG[0]]  # its profile: the South
    contents: list[tuple[str, dict[str, Any]]] = [
        ("answer", {"question": bytes(mine.id), "text": "Like this"}),
        ("question", {"title": "Rowing?", "text": "Where?"}),
        ("question", {"title": "Choirs?", "text": "Who?", **NORTH}),  # a filter
    ]
    for kind, content in contents:
        far.append(entry(FAR, len(far) + 1, kind, content, far[-1]))
    results = await store.ingest(far, NOW)
    assert [r.outcome for r in results] == [
        Outcome.LOOSE,
        Outcome.LOOSE,  # an answer to our question, though no filter matches it
        Outcome.NOT_KEPT,
        Outcome.LOOSE,
    ]
    ours = await store.append_local(
        ME, "answer", {"question": bytes(far[3].id), "text": "Ours sings"}, NOW
    )
    my_offer = await store.append_local(ME, "offer", offer("Visit"), NOW)
    named: list[tuple[str, dict[str, Any]]] = [
        ("helpful", {"answer": bytes(ours.id)}),  # the asking school's mark: kept
        # A school with a valid key naming what it may not:
        ("answer", {"question": bytes(my_offer.id), "text": "Not a question"}),
        ("answer", {"question": bytes(far[1].id), "text": "An answer to an answer"}),
        ("answer", {"question": bytes(far[2].id), "text": "A question not held"}),
        ("helpful", {"answer": bytes(far[1].id)}),  # its answer to our question
        ("withdraw", {"target": bytes(mine.id)}),  # our question, not its own
        ("event", {**EVENT, "replaces": bytes(mine.id)}),  # not its own event
        ("offer", {**offer("Rowing"), "question": bytes(mine.id)}),  # offers name nothing
    ]
    more = [far[-1]]
    for kind, content in named:
        more.append(entry(FAR, len(far) + len(more), kind, content, more[-1]))
    results = await store.ingest(more[1:], NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE] + [Outcome.NOT_KEPT] * 7
    assert (await store.get(mine.id)).content is not None  # type: ignore[union-attr]


NORTH = {"region": "North", "phases": ["primary"]}
EVENT = {"title": "Regatta", "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T12:00:00Z"}


async def test_a_school_entering_the_horizon_reuses_its_loose_entries(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    await PeerBook(store).add(FAR.node_id, None, NOW)  # a new partner
    results = await store.ingest(FAR_LOG, NOW)
    # 1 and 3 are new, 2 and 5 join the log as they are; 4 was held whole already?
    # No: 4 (loose) joins too. Every entry is now part of the whole log.
    assert [r.outcome for r in results] == [Outcome.STORED] * 5
    assert await loose_rows(store) == []
    head = await store.head(FAR.node_id)
    assert head == Head(5, FAR_LOG[4].id)
    assert [seq for seq, _ in await store.wire_after(FAR.node_id, 0, 100)] == [1, 2, 3, 4, 5]


async def test_loose_entries_joining_the_log_are_told_to_the_sessions(store: Store) -> None:
    """The commit tells the sessions the head its loose entries reach on joining the
    log, not the head of the last entries it wrote new: a session whose peer holds the
    log up to 3 still sends 4 and 5 (protocol/replication.py, ``mark_dirty``)."""
    await store.ingest(FAR_LOG, NOW)
    await PeerBook(store).add(FAR.node_id, None, NOW)
    sync = Replication()
    sync.level([(FAR.node_id, 3)])  # the peer's clock: Far School's log up to 3
    store.add_listener(lambda authors: sync.renew(authors, heads=store.grown_to))
    await store.ingest(FAR_LOG, NOW)  # 1 and 3 written new, 2, 4 and 5 join as they are
    batch = sync.start_batch()
    while (read := batch.next_read()) is not None:
        batch.add(await store.wire_after(read.author, read.after, read.limit))
    frame = batch.finish()
    assert frame is not None
    assert frame.entries == [wire for _, wire in await store.wire_after(FAR.node_id, 3, 10)]
    assert len(frame.entries) == 2


async def test_an_entry_ahead_of_the_log_waits_for_those_before_it(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    await PeerBook(store).add(FAR.node_id, None, NOW)
    results = await store.ingest(FAR_LOG[1:2], NOW)  # 2 without 1: not a log yet
    assert results[0].outcome is Outcome.DUPLICATE
    assert await store.head(FAR.node_id) is None
    await store.ingest(FAR_LOG[:1], NOW)
    results = await store.ingest(FAR_LOG[1:], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED] * 4


async def test_expired_loose_entries_are_deleted(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    assert await store.forget_loose(date(2026, 3, 31)) == 0
    assert await store.forget_loose(date(2026, 4, 2)) == 1  # "Reading", to 2026-01-01
    assert await loose_rows(store) == [(2, "offer"), (4, "profile")]
    found = await Offers(store, ME).search("reading", Filters(), today=date(2025, 1, 1))
    assert found == []


async def test_a_withdrawn_loose_entry_goes_with_its_withdrawal(store: Store) -> None:
    await store.ingest(FAR_LOG, NOW)
    withdrawal = entry(FAR, 6, "withdraw", {"target": bytes(FAR_LOG[1].id)}, FAR_LOG[4])
    assert [r.outcome for r in await store.ingest([withdrawal], NOW)] == [Outcome.LOOSE]
    assert await store.forget_loose(date(2025, 1, 1)) == 2  # nothing left to show
    assert await loose_rows(store) == [(4, "profile"), (5, "offer")]
    assert await store.forget_loose(date(2025, 1, 1)) == 0
    again = await store.ingest([FAR_LOG[1]], NOW)  # a copy arriving later: erased, not kept
    assert [r.outcome for r in again] == [Outcome.NOT_KEPT]
    found = await Offers(store, ME).search("phonics", Filters(), today=date(2025, 1, 1))
    assert found == []


async def test_a_withdrawn_loose_question_goes_with_its_withdrawal(store: Store) -> None:
    near = key(10)  # a far school of the same region: its question matches
    profile = {"name": "Near School", "country": "GB", "region": "North"}
    question = {"title": "Phonics?", "text": "How do you teach it?", "phases": ["primary"]}
    asked = log_of(near, [("profile", profile), ("question", question)])
    withdrawal = entry(near, 3, "withdraw", {"target": bytes(asked[1].id)}, asked[1])
    results = await store.ingest([*asked, withdrawal], NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE] * 3
    assert await store.forget_loose(date(2025, 1, 1)) == 2  # nothing left to show
    rows = await store.fetch_all(
        "SELECT kind FROM entries WHERE loose = 1 AND author = ?", (bytes(near.node_id),)
    )
    assert [row[0] for row in rows] == ["profile"]


async def test_holding_everything_keeps_whole_logs_as_before(store: Store) -> None:
    await store.set_setting(SETTING, Choice(EVERYTHING_MODE).encode())
    results = await store.ingest(FAR_LOG, NOW)
    assert [r.outcome for r in results] == [Outcome.STORED] * 5
    assert await loose_rows(store) == []


async def test_a_hub_of_everything_keeps_whole_logs(store: Store) -> None:
    hub_profile = {**HOME, "hub": {}}
    await store.append_local(ME, "profile", hub_profile, NOW - 100_000)
    results = await store.ingest(FAR_LOG, NOW)
    assert [r.outcome for r in results] == [Outcome.STORED] * 5


async def test_a_blocked_school_is_refused_not_kept_loose(store: Store) -> None:
    await PeerBook(store).block(FAR.node_id, ME.node_id, NOW)
    results = await store.ingest(FAR_LOG, NOW)
    assert {r.outcome for r in results} == {Outcome.REFUSED}


async def test_following_more_than_the_limit_by_hand_is_refused(store: Store) -> None:
    many = [n.to_bytes(32, "big") for n in range(MAX_FOLLOWED + 1)]
    with pytest.raises(UserInputError, match="at most 1000 schools may be followed"):
        await choose(store, None, many, ())
    assert (await read_choice(store)).follow == ()  # nothing half-written
    await choose(store, None, many[:2], ())
    assert len((await read_choice(store)).follow) == 2


async def test_a_far_schools_honest_backlog_caught_up_newest_first_is_kept_whole(
    store: Store,
) -> None:
    """A node back after three days offline is caught up on a far school's 300 offers
    of those days (100 a day, well within its budget), newest first, in a minute: each
    is kept (the budget meters the author's signed times, as a log's does, not when
    the node happened to receive them; else the oldest 100 were not kept, and the
    next catch-up, starting a day before this one, would never offer them again)."""
    day = 24 * 3600 * 1000
    offers: list[Entry] = []
    for n in range(300):
        offers.append(
            create_entry(
                FAR,
                seq=n + 1,
                prev=offers[-1].id if offers else None,
                timestamp=NOW - 3 * day + n * (day // 100),
                kind="offer",
                content=offer(f"Phonics {n}", country="GB", region="North", phases=["primary"]),
            )
        )
    newest_first = offers[::-1]
    for n in range(0, 300, 128):  # as a catch-up sends them: 128 at a time
        chunk = sorted(newest_first[n : n + 128], key=lambda e: e.seq)
        await store.ingest(chunk, NOW + n)
    assert len(await loose_rows(store)) == 300


# -- Withdrawals that come before what they withdraw: tombstones (issue 23) ----------

NEAR = key(11)  # a far school whose profile matches the subscription: the North, primary
NEAR_PROFILE = {"name": "Near School", "country": "GB", "region": "North", "phases": ["primary"]}
NEAR_LOG = log_of(
    NEAR,
    [
        ("profile", NEAR_PROFILE),
        ("offer", offer("Phonics", to="2027-07-01")),  # withdrawn next
    ],
)
AFTER_90_DAYS = date(2026, 12, 21)  # NOW is 2026-09-21: its tombstones are kept to 12-20


async def test_a_withdrawal_before_its_target_is_kept_and_the_target_not_shown(
    store: Store,
) -> None:
    withdrawal = entry(NEAR, 3, "withdraw", {"target": bytes(NEAR_LOG[1].id)}, NEAR_LOG[1])
    results = await store.ingest([NEAR_LOG[0], withdrawal], NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE, Outcome.LOOSE]  # a tombstone
    # The offer, by another path, later: not kept, not found.
    assert [r.outcome for r in await store.ingest([NEAR_LOG[1]], NOW)] == [Outcome.NOT_KEPT]
    found = await Offers(store, ME).search("phonics", Filters(), today=date(2026, 9, 21))
    assert found == []
    # Again: a duplicate (no strike, nothing passed on).
    assert [r.outcome for r in await store.ingest([withdrawal], NOW)] == [Outcome.DUPLICATE]
    # A sweep within 90 days keeps it; after, it goes with what it remembered.
    assert await store.forget_loose(date(2026, 12, 20)) == 0
    assert await store.forget_loose(AFTER_90_DAYS) == 1
    assert await loose_rows(store) == [(1, "profile")]
    rows = await store.fetch_all(
        "SELECT 1 FROM withdrawals WHERE author = ?", (bytes(NEAR.node_id),)
    )
    assert rows == []
    # So the offer, if it ever comes after that, is kept as any other.
    assert [r.outcome for r in await store.ingest([NEAR_LOG[1]], NOW)] == [Outcome.LOOSE]


async def test_a_withdrawal_held_with_its_target_is_known_after_both_are_swept(
    store: Store,
) -> None:
    """A withdrawal whose target was held goes with it at the next sweep, and what the
    node remembers of it stays: offered again (a catch-up), it is a duplicate, and
    the target arriving again is still not kept."""
    await store.ingest(NEAR_LOG, NOW)
    withdrawal = entry(NEAR, 3, "withdraw", {"target": bytes(NEAR_LOG[1].id)}, NEAR_LOG[1])
    assert [r.outcome for r in await store.ingest([withdrawal], NOW)] == [Outcome.LOOSE]
    assert await store.forget_loose(date(2026, 9, 21)) == 2
    assert [r.outcome for r in await store.ingest([withdrawal], NOW)] == [Outcome.DUPLICATE]
    assert await store.forget_loose(AFTER_90_DAYS) == 0
    assert [r.outcome for r in await store.ingest([NEAR_LOG[1]], NOW)] == [Outcome.NOT_KEPT]


async def test_withdrawals_of_unknown_entries_are_kept_only_of_schools_subscribed_to(
    store: Store,
) -> None:
    south = entry(FAR, 6, "withdraw", {"target": b"\x01" * 32}, FAR_LOG[4])  # the South
    old = create_entry(  # signed more than 90 days ago: past a tombstone's keeping
        NEAR,
        seq=3,
        prev=NEAR_LOG[1].id,
        timestamp=NOW - 91 * 86_400_000,
        kind="withdraw",
        content={"target": b"\x02" * 32},
    )
    results = await store.ingest([*FAR_LOG, NEAR_LOG[0], south, old], NOW)
    assert [r.outcome for r in results][-2:] == [Outcome.NOT_KEPT, Outcome.NOT_KEPT]
    rows = await store.fetch_all("SELECT 1 FROM withdrawals")
    assert rows == []


async def test_a_flood_of_withdrawals_of_unknown_entries_stops_at_the_budget(
    store: Store,
) -> None:
    """A school subscribed to, with a valid key, signing 300 withdrawals of ids that
    exist nowhere, at once: 200 are kept (the loose budget), the rest not, and that
    is the end of it however they come."""
    await store.ingest([NEAR_LOG[0]], NOW)
    flood = [
        create_entry(
            NEAR,
            seq=n + 3,
            prev=NEAR_LOG[1].id,  # not checked loose
            timestamp=NOW - 60_000,
            kind="withdraw",
            content={"target": n.to_bytes(32, "big")},
        )
        for n in range(300)
    ]
    results = await store.ingest(flood, NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE] * 200 + [Outcome.NOT_KEPT] * 100
    again = await store.ingest(flood[200:], NOW)  # and again, in a later batch
    assert {r.outcome for r in again} == {Outcome.NOT_KEPT}
    row = await store.fetch_one("SELECT COUNT(*) FROM withdrawals")
    assert row[0] == 200


async def test_withdrawals_that_remember_nothing_are_swept_too(store: Store) -> None:
    """Loose withdrawals kept in one batch that leave no ``withdrawals`` row (a second
    of the same target by the same school; another school's "withdrawal" of an entry
    that comes later in the batch, which the rules refuse) are swept 90 days on like
    any tombstone: else a school could leave 200 a day on the disk for good."""
    other = key(12)
    other_profile = entry(other, 1, "profile", {**NEAR_PROFILE, "name": "Other"})
    target = b"\x05" * 32
    twice = [
        entry(NEAR, 3 + n, "withdraw", {"target": target, "reason": str(n)}, NEAR_LOG[1])
        for n in range(3)
    ]
    foreign = entry(other, 2, "withdraw", {"target": bytes(NEAR_LOG[1].id)}, other_profile)
    batch = [NEAR_LOG[0], *twice, other_profile, foreign, NEAR_LOG[1]]
    results = await store.ingest(batch, NOW)
    assert results[-1].outcome is Outcome.LOOSE  # the offer: another's withdrawal is nothing
    assert await store.forget_loose(date(2026, 12, 20)) == 0
    await store.forget_loose(AFTER_90_DAYS)
    rows = await store.fetch_all("SELECT kind FROM entries WHERE loose = 1 AND kind = 'withdraw'")
    assert rows == []
    assert await store.fetch_all("SELECT 1 FROM withdrawals") == []


async def test_a_tombstone_naming_another_schools_entry_is_swept_once_that_arrives(
    store: Store,
) -> None:
    """A school of the subscription "withdraws" another school's offer before the
    offer arrives: kept as a tombstone, it withdraws nothing (the offer, arriving
    later, is shown) and is swept 90 days on like any, though its target is now held
    (by another author): else each such tombstone, 200 a day, would stay for good."""
    other = key(12)
    other_profile = entry(other, 1, "profile", {**NEAR_PROFILE, "name": "Other"})
    foreign = entry(other, 2, "withdraw", {"target": bytes(NEAR_LOG[1].id)}, other_profile)
    results = await store.ingest([other_profile, foreign], NOW)
    assert [r.outcome for r in results] == [Outcome.LOOSE, Outcome.LOOSE]
    assert [r.outcome for r in await store.ingest(NEAR_LOG, NOW)] == [Outcome.LOOSE] * 2
    found = await Offers(store, ME).search("phonics", Filters(), today=date(2026, 9, 21))
    assert [o.entry.id for o in found] == [NEAR_LOG[1].id]
    assert await store.forget_loose(date(2026, 12, 20)) == 0
    assert await store.forget_loose(AFTER_90_DAYS) == 1
    assert await store.get(foreign.id) is None
    assert await store.fetch_all("SELECT 1 FROM withdrawals") == []
    found = await Offers(store, ME).search("phonics", Filters(), today=date(2026, 9, 21))
    assert [o.entry.id for o in found] == [NEAR_LOG[1].id]


async def test_a_withdrawal_swept_with_its_target_is_listed_for_90_days(store: Store) -> None:
    """A loose withdrawal swept with the erased offer it withdrew leaves its signed
    time on its ``withdrawals`` row, which a catch-up lists, so that a partner's
    offering it again finds it held (issue 23, withdrawal loose ends); for as long as
    a partner offers it (90 days), then the row stays without it."""
    await store.ingest(FAR_LOG, NOW)
    withdrawal = entry(FAR, 6, "withdraw", {"target": bytes(FAR_LOG[1].id)}, FAR_LOG[4])
    await store.ingest([withdrawal], NOW)
    assert await store.forget_loose(date(2025, 1, 1)) == 2

    async def swept() -> list[Any]:
        rows = await store.fetch_all("SELECT target, swept FROM withdrawals")
        return [(bytes(t), s) for t, s in rows]

    assert await swept() == [(bytes(FAR_LOG[1].id), withdrawal.payload.timestamp)]
    assert await store.forget_loose(date(2026, 12, 20)) == 1  # "Reading", to 2026-01-01
    assert await swept() == [(bytes(FAR_LOG[1].id), withdrawal.payload.timestamp)]
    assert await store.forget_loose(AFTER_90_DAYS) == 0
    assert await swept() == [(bytes(FAR_LOG[1].id), None)]


async def test_the_sweeper_finds_the_withdrawals_it_lists_by_their_key(store: Store) -> None:
    """The ``withdrawals`` rows of what was swept stay, so the table only grows; the
    sweeper's updates of ``swept`` (set at the sweep, cleared 90 days on) reach each
    row by its key, (target, author). By ``withdraw_id``, which no index covers, each
    read the whole table: 2,000 rows swept in a table of 200,000 took 70 s, in the
    write lock (issue 23, withdrawal loose ends, reviewed)."""
    await store.ingest(FAR_LOG, NOW)
    withdrawal = entry(FAR, 6, "withdraw", {"target": bytes(FAR_LOG[1].id)}, FAR_LOG[4])
    await store.ingest([withdrawal], NOW)
    statements: list[str] = []
    await store._db.set_trace_callback(statements.append)
    try:
        assert await store.forget_loose(date(2025, 1, 1)) == 2  # swept: set
        await store.forget_loose(AFTER_90_DAYS)  # past 90 days: cleared
    finally:
        await store._db.set_trace_callback(None)  # type: ignore[arg-type]  # None: off
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE WITHDRAWALS")]
    assert len(updates) == 2
    for statement in updates:
        plan = [str(row[-1]) for row in await store.fetch_all(f"EXPLAIN QUERY PLAN {statement}")]
        assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)
    rows = await store.fetch_all("SELECT swept FROM withdrawals")
    assert [tuple(r) for r in rows] == [(None,)]
