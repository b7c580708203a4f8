"""Random sequences of batches, ingested by two real stores: one judging the common
case with ``place_next``, the other sending every entry through ``place``
(node/store/placement.py).
Outcomes and rows must be the same (docs/decisions.md, "Ingest for hubs, third step")."""

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from node.partners.peerbook import PeerBook
from node.store import database, placement
from node.store.database import Store
from node.store.holding import HORIZON_MODE, SETTING, Choice
from node.store.placement import IngestResult, Outcome
from protocol import kinds
from protocol.entry import Entry, create_entry
from tests.helpers import NOW, append_signed, key, offer_content
from tests.network import holding_everything

TABLES = (
    "SELECT n, id, author, seq, kind, content, loose FROM entries ORDER BY n",
    "SELECT author, seq, id FROM heads ORDER BY author",
    "SELECT author, seq, first, second FROM equivocations ORDER BY author, seq",
    "SELECT author, seq, wire FROM fork_hints ORDER BY author, seq",
    "SELECT * FROM truncations ORDER BY id",
    "SELECT * FROM withdrawals ORDER BY target",
    "SELECT n FROM unindexed ORDER BY n",
    "SELECT n FROM listings ORDER BY n",
)


def _next(signer: int, log: list[Entry], kind: str, content: Any, seq: int = 0) -> Entry:
    return append_signed(log, key(signer), kind, content, seq)


def _event(title: str, day: str = "2026-11-02", replaces: bytes | None = None) -> Any:
    content: dict[str, Any] = {"title": title, "start": f"{day}T16:00Z", "end": f"{day}T17:00Z"}
    if replaces is not None:
        content["replaces"] = replaces
    return content


def _near(title: str) -> Any:
    """An offer a school in the North for primary schools follows (kept loose)."""
    return {**offer_content(title), "region": "North", "phases": ["primary"]}


def _pool() -> tuple[list[Entry], dict[str, Entry]]:
    """Entries of four schools: forks and a continuation, an entry out of bounds beside
    a good one under the same number, a blocked school, an entry taken back, a wrong
    prev; and some of them by name."""
    pool: list[Entry] = []
    # School 3: a fork, ended by a continuation that keeps the second branch.
    common: list[Entry] = []
    _next(3, common, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB"})
    early = _next(3, common, kinds.OFFER, offer_content("Before the fork"))
    meeting = _next(3, common, kinds.EVENT, _event("Parents' evening"))
    dropped = list(common)
    _next(3, dropped, kinds.PROFILE, {"name": "Renamed", "country": "GB"})
    _next(3, dropped, kinds.WITHDRAW, {"target": bytes(early.id)})
    _next(3, dropped, kinds.EVENT, _event("Moved", replaces=bytes(meeting.id)))
    _next(3, dropped, kinds.OFFER, offer_content("Only on the dropped branch"))
    kept = list(common)
    mine = _next(3, kept, kinds.OFFER, offer_content("On the kept branch"))
    fork = len(common) + 1
    _next(3, kept, kinds.CONTINUE, {"fork": fork, "keep": bytes(mine.id)}, seq=len(dropped) + 1)
    _next(3, kept, kinds.OFFER, offer_content("After the continuation"))
    pool += common + dropped[len(common) :] + kept[len(common) :]
    # School 5: an event out of bounds and a good offer under number 2, then 3 after it.
    five: list[Entry] = []
    _next(5, five, kinds.PROFILE, {"name": "Far School", "country": "GB", "region": "North"})
    bad = _next(5, list(five), kinds.EVENT, _event("Long ago", day="1969-06-01"))
    _next(5, five, kinds.OFFER, _near("Second"))
    _next(5, five, kinds.OFFER, _near("Third"))
    pool += [five[0], bad, *five[1:]]
    # School 4, blocked.
    four: list[Entry] = []
    _next(4, four, kinds.OFFER, offer_content("Blocked"))
    _next(4, four, kinds.OFFER, offer_content("Blocked too"))
    pool += four
    # School 6: another entry under its number 2 (a wrong prev), and its third entry
    # taken back (fork_stash).
    six: list[Entry] = []
    _next(6, six, kinds.OFFER, _near("One"))
    other = create_entry(  # a profile: kept loose whatever the interest
        key(6),
        seq=2,
        prev=early.id,
        timestamp=NOW,
        kind=kinds.PROFILE,
        content={"name": "Other", "country": "GB"},
    )
    _next(6, six, kinds.OFFER, _near("Two"))
    taken = _next(6, six, kinds.REQUEST, _near("Three"))
    pool += [six[0], other, *six[1:]]
    named = {"early": early, "bad": bad, "five": five[0], "other": other, "taken": taken}
    named |= {"renamed": dropped[fork - 1], "six": six[0], "two": six[1]}
    return pool, named


async def _ingest_all(
    path: Path, steps: list[list[Entry] | int], taken: Entry, plain: bool, horizon: bool = False
) -> Any:
    """Ingest each batch of ``steps`` (an int: that school becomes a partner, its log
    then held whole); in ``horizon`` mode, the schools outside it are held loose.
    Not ``plain``: every entry the long way (``Store.ingest`` calls ``place_next`` as
    node/store/database.py names it)."""
    with pytest.MonkeyPatch.context() as patch:
        if not plain:
            patch.setattr(database, "place_next", lambda *args: None)
        return await _ingest_steps(path, steps, taken, horizon)


async def _ingest_steps(
    path: Path, steps: list[list[Entry] | int], taken: Entry, horizon: bool
) -> Any:
    store = await Store.open(path)
    try:
        if horizon:
            await store.set_setting("node_id", bytes(key(1).node_id))
            await store.set_setting(SETTING, Choice(HORIZON_MODE).encode())
            await store.append_local(key(1), kinds.PROFILE, HOME, NOW - 120_000)
        else:
            await holding_everything(store)
        await PeerBook(store).block(key(4).node_id, key(9).node_id, NOW)
        await store.execute(
            "INSERT INTO fork_stash VALUES (?, ?, ?)", (taken.seq, bytes(taken.id), taken.encode())
        )
        told: list[dict[Any, int]] = []  # each commit's heads, as the sessions are told
        store.add_listener(lambda _: told.append(dict(store.grown_to)))
        outcomes: list[Any] = []
        for batch in steps:
            if isinstance(batch, int):
                await PeerBook(store).add(key(batch).node_id, None, NOW)
                continue
            told.clear()
            results = await store.ingest(batch, NOW)
            # Never below the head: a session judging by it would leave out what its
            # peer lacks (protocol/replication.py, ``mark_dirty``); above, or untold, is safe.
            for grown in told:
                heads = await store.heads_of(grown)
                assert all(seq >= heads[a] for a, seq in grown.items()), (grown, heads)
            outcomes.append(
                [(r.outcome, None if r.error is None else r.error.code) for r in results]
            )
            await store.index_all()
        return outcomes, [await store.fetch_all(sql) for sql in TABLES]
    finally:
        await store.close()


POOL, NAMED = _pool()
TAKEN = NAMED["taken"]
AT = {name: POOL.index(entry) for name, entry in NAMED.items()}
HOME = {"name": "Oakfield Primary", "country": "GB", "region": "North", "phases": ["primary"]}


INDEX = st.integers(0, len(POOL))
#: A batch: entries picked at random, or a run of the pool (logs in order, as sent).
BATCH = st.one_of(
    st.lists(st.sampled_from(range(len(POOL))), max_size=10),
    st.tuples(INDEX, INDEX).map(lambda ends: list(range(min(ends), max(ends)))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Cases met by chance only now and then, each of a rule of place_next or of a bug:
@example([[AT["five"], AT["bad"]]], False)  # out of bounds
@example([list(range(AT["early"] + 8)), [AT["renamed"]]], False)  # on the dropped branch
@example([[AT["other"]], 6, [AT["six"], AT["two"]]], True)  # another held loose there
@example([list(range(AT["early"] + 8)), [AT["early"], AT["early"]]], False)  # restored twice
# 2 written, then 3, held loose, joins the log: the commit tells head 3, not 2
@example([[AT["five"], AT["five"] + 3], 5, [AT["five"], AT["five"] + 2, AT["five"] + 3]], True)
@given(
    st.lists(st.one_of(BATCH, st.sampled_from([3, 5, 6])), min_size=1, max_size=6), st.booleans()
)
def test_random_batches_give_the_same_outcomes_and_rows(
    picks: list[list[int] | int], horizon: bool
) -> None:
    steps = [p if isinstance(p, int) else [POOL[i] for i in p] for p in picks]
    with tempfile.TemporaryDirectory() as folder:
        fast = asyncio.run(_ingest_all(Path(folder) / "plain.db", steps, TAKEN, True, horizon))
        slow = asyncio.run(_ingest_all(Path(folder) / "full.db", steps, TAKEN, False, horizon))
    assert fast == slow


def test_the_pool_reaches_the_rare_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool itself, in order and in one batch each, meets every rule at least once,
    and the plain function decides some entries (else the comparison proves nothing)."""
    decided: list[Outcome] = []
    place_next = placement.place_next

    def counted(store: Store, *args: Any) -> IngestResult | None:
        result = place_next(store, *args)
        if result is not None:
            decided.append(result.outcome)
        return result

    monkeypatch.setattr(database, "place_next", counted)
    batches: list[list[Entry] | int] = [POOL, POOL, list(reversed(POOL))]
    with tempfile.TemporaryDirectory() as folder:
        outcomes, _ = asyncio.run(_ingest_all(Path(folder) / "s.db", batches, TAKEN, True))
        loose, _ = asyncio.run(
            _ingest_all(Path(folder) / "h.db", [POOL, 6, POOL], TAKEN, True, horizon=True)
        )
    codes = {code for batch in outcomes for _, code in batch}
    assert {"blocked", "gap", "wrong-prev", "taken-back", "fork-dropped"} <= codes
    assert {Outcome.LOOSE, Outcome.NOT_KEPT} <= {o for batch in loose for o, _ in batch}
    assert Outcome.STORED in {o for o, _ in loose[1]}  # school 6, a partner now
    assert {Outcome.STORED, Outcome.REFUSED} <= set(decided)
