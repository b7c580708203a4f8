"""A realistic week at scale (issue 23, item 5), with the policies of docs/scale.md.

Used by bench/simulate.py. Each simulated school has a region (about
:data:`REGION_SCHOOLS` schools), a country (:data:`REGIONS_PER_COUNTRY` regions, one
language), a phase and two subjects (its strengths and needs). It posts two public
offers a week, each about one of its subjects, in school hours, and changes its
profile once a month. What it holds and relays is decided by ``protocol/horizon.py``
(the same functions a node will call):

- whole logs of its horizon (partners and partners' partners: :func:`horizon`);
- loose offers matching its default subscription: its region and phase, and its two
  subjects in its country (:class:`Filter`);
- every school's newest profile; a hub (one school in a hundred, or none) holds
  everything.

Its sessions are its partners (:data:`PARTNER_PICKS` chosen, mostly in its region,
so about 10 each), a few peers of each of its subscriptions (as gossipsub keeps a
mesh per topic: :data:`MESH_PICKS` each) and, when there are hubs, one hub of its
country. A new entry spreads by :class:`protocol.horizon.Relay` (whole to at most 2
peers that want it and to those that fetched from it, ``have`` to the others, fetch
after 2 s, prune and graft per author), every message taking :data:`LINK_MS`; each
node's relay state lasts the whole week. Bytes are real frame sizes (real signed
entries, ``entries`` and ``ack`` frames, and ``have``, ``want`` and ``prune`` frames
of one author each) plus ``OVERHEAD_PER_MESSAGE`` for every message. Session starts
are real reconciliations (``protocol/reconcile.py``) of the sets two peers would
share, listing 16-byte id prefixes (``short-ids``, which every node of today
announces). Searches follow ``protocol/search.py``.

**Sampling.** Every school is in the graph, but only a sample of the week's offers
is spread (``offers`` of them, by ``offers // 2`` random authors, two each, after the
same offers spread once the week before, uncounted, so that each node's relay state
is that of a running network): offers are alike, so the mean per school per day is
the sampled total scaled by (offers in a day / offers sampled). Every school that
wants a sampled offer must receive it, or the run fails. Profiles are pulled once a
day (from the school's hub, else from a peer): a real reconciliation of every
school's newest profile, then each of the day's new profiles once.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol import frames, search
from protocol.entry import create_entry
from protocol.horizon import (
    EVERYTHING,
    Facts,
    Filter,
    Interest,
    Relay,
    horizon,
    on_announce,
    on_body,
    wants,
)
from protocol.keys import EntryId, NodeKey
from protocol.reconcile import SHORT_ID_BYTES, ItemSet, Reconciler, reconcile

NOW = 1_795_000_000_000
REGION_SCHOOLS = 4000  # two phases: about 2,000 schools per region and phase
REGIONS_PER_COUNTRY = 5  # a country (and its language) of about 20,000 schools
SUBJECTS = 40
PARTNER_PICKS = (3, 1, 1)  # partners a school chooses: in its region, its country, anywhere
MESH_PICKS = 2  # peers a school chooses in each of its subscriptions
HUB_PEERS = 3  # sessions a hub opens with other hubs
HUB_SHARE = 100  # one school in a hundred runs a hub
LINK_MS = 50  # one message, one way: latency plus the receiver's work
OFFERS_PER_WEEK = 2
PROFILE_EVERY_DAYS = 30
SCHOOL_DAYS = 5
SCHOOL_HOURS = 8
WEEK_MS = SCHOOL_DAYS * SCHOOL_HOURS * 3_600_000  # school hours in a week
SEARCHES_PER_DAY = 5  # searches beyond the school's view, per school
ANSWERS_PER_SEARCH = 50
QUERY_BYTES = 1000
STORED_BYTES_PER_ENTRY = 1000  # an entry and its indexes in SQLite (docs/scale.md)
SEARCH_DEADLINE_MS = 2000
OVERHEAD_PER_MESSAGE = 100  # TCP/IP, TLS and WebSocket headers, as bench/simulate.py
#: What a reconciliation's lists carry per id: both sides announce ``short-ids``.
ID_BYTES = SHORT_ID_BYTES
TEXT = (
    "Thirty-minute observation slots on Tuesday and Thursday mornings in Year 5, with "
    "time afterwards to talk to the class teacher and our maths lead about how we plan "
    "small steps, use manipulatives and check understanding. Up to three visitors a "
    "week; lunch provided. Please say which year groups you teach."
)
ABOUT = (
    "A two-form-entry primary school on the edge of town, 420 pupils, with a nursery. "
    "We like to host visits and to visit."
)


def _item_bytes(kind: str) -> int:
    """A ``have``, ``want`` or ``prune`` frame of one author, as the node sends it
    (docs/protocol.md, "Eager push and lazy announcements")."""
    author = bytes(32)
    frame: frames.Frame
    if kind == "prune":
        frame = frames.Prune([author])
    elif kind == "have":
        frame = frames.Have([[author, 3]])
    else:
        frame = frames.Want([[author, 2]])
    return len(frames.encode(frame)) + OVERHEAD_PER_MESSAGE


def _entry_costs() -> tuple[int, int, int]:
    """Bytes on the wire of an offer and of a profile pushed whole, and of its ack."""
    key = NodeKey(bytes(range(32)))
    offer = create_entry(
        key,
        seq=3,
        prev=EntryId(bytes(32)),
        timestamp=NOW,
        kind="offer",
        content={
            "activity": "observation",
            "title": "Year 5 maths lessons",
            "text": TEXT,
            "subjects": ["maths"],
            "phases": ["primary"],
            "country": "FR",
            "region": "Auvergne-Rhône-Alpes",
        },
    )
    profile = create_entry(
        key,
        seq=2,
        prev=EntryId(bytes(32)),
        timestamp=NOW,
        kind="profile",
        content={
            "name": "École Jean Moulin",
            "country": "FR",
            "region": "Auvergne-Rhône-Alpes",
            "languages": ["fr"],
            "phases": ["primary"],
            "about": ABOUT,
        },
    )
    ack = len(frames.encode(frames.Ack(7, [[bytes(32), 12]]))) + OVERHEAD_PER_MESSAGE
    sizes = [
        len(frames.encode(frames.Entries(7, [e.encode()]))) + OVERHEAD_PER_MESSAGE
        for e in (offer, profile)
    ]
    return sizes[0], sizes[1], ack


OFFER_BYTES, PROFILE_BYTES, ACK_BYTES = _entry_costs()
HAVE_BYTES = _item_bytes("have")
WANT_BYTES = _item_bytes("want")
PRUNE_BYTES = _item_bytes("prune")


@dataclass
class School:
    region: int
    country: int
    phase: int
    subjects: tuple[int, int]
    hub: bool = False

    def interest(self, me: int, partners: dict[int, list[int]]) -> Interest[int]:
        held: frozenset[int] = horizon(me, partners)
        if self.hub:
            return Interest(held, (EVERYTHING,))
        country = str(self.country)
        return Interest(
            held,
            (
                Filter(regions=frozenset({str(self.region)}), phases=frozenset({str(self.phase)})),
                Filter(
                    countries=frozenset({country}),
                    subjects=frozenset(str(s) for s in self.subjects),
                ),
            ),
        )


@dataclass
class World:
    """The schools, their partner graph, sessions and subscriptions' members."""

    schools: list[School]
    partners: dict[int, list[int]]
    sessions: list[list[int]]
    groups: dict[tuple[int, int], list[int]]  # (region, phase) -> its schools
    subscribers: dict[tuple[int, int], list[int]]  # (country, subject) -> subscribers
    hubs: list[int]
    hub_of: dict[int, int] = field(default_factory=dict)

    def facts(self, author: int, subject: int, kind: str = "offer") -> Facts[int]:
        s = self.schools[author]
        return Facts(
            author,
            kind,
            country=str(s.country),
            region=str(s.region),
            phase=str(s.phase),
            subjects=frozenset({str(subject)}),
        )

    def wanting(self, author: int, subject: int) -> set[int]:
        """Who wants an offer: the schools whose horizon holds its author (the ball of
        radius 2 around it: the partner graph is symmetric and nobody is blocked here),
        its region and phase, its country's subscribers to its subject, the hubs."""
        s = self.schools[author]
        who = set(horizon(author, self.partners))
        who.update(self.groups[(s.region, s.phase)])
        who.update(self.subscribers.get((s.country, subject), ()))
        who.update(self.hubs)
        return who


def build(count: int, rng: random.Random, *, hubs: bool) -> World:
    regions = max(1, count // REGION_SCHOOLS)
    schools = []
    for _ in range(count):
        region = rng.randrange(regions)
        a, b = rng.sample(range(SUBJECTS), 2)
        schools.append(School(region, region // REGIONS_PER_COUNTRY, rng.randrange(2), (a, b)))
    by_region: dict[int, list[int]] = {}
    by_country: dict[int, list[int]] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    subscribers: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(schools):
        by_region.setdefault(s.region, []).append(i)
        by_country.setdefault(s.country, []).append(i)
        groups.setdefault((s.region, s.phase), []).append(i)
        for subject in s.subjects:
            subscribers.setdefault((s.country, subject), []).append(i)
    edges: set[tuple[int, int]] = set()

    def link(a: int, b: int) -> None:
        if a != b:
            edges.add((min(a, b), max(a, b)))

    for i, s in enumerate(schools):
        pools = (by_region[s.region], by_country[s.country], range(count))
        for pool, picks in zip(pools, PARTNER_PICKS, strict=True):
            for _ in range(picks):
                link(i, pool[rng.randrange(len(pool))])
    partners: dict[int, list[int]] = {i: [] for i in range(count)}
    for a, b in sorted(edges):
        partners[a].append(b)
        partners[b].append(a)
    mesh: set[tuple[int, int]] = set()
    for members in (*groups.values(), *subscribers.values()):
        if len(members) < 2:
            continue
        for i in members:
            for _ in range(MESH_PICKS):
                j = members[rng.randrange(len(members))]
                if i != j:
                    mesh.add((min(i, j), max(i, j)))
    extra: dict[int, list[int]] = {i: [] for i in range(count)}
    for a, b in sorted(mesh - edges):
        extra[a].append(b)
        extra[b].append(a)
    hub_list: list[int] = []
    hub_of: dict[int, int] = {}
    if hubs:
        hub_list = sorted(rng.sample(range(count), max(1, count // HUB_SHARE)))
        for h in hub_list:
            schools[h].hub = True
        hubs_by_country: dict[int, list[int]] = {}
        for h in hub_list:
            hubs_by_country.setdefault(schools[h].country, []).append(h)
        for i, s in enumerate(schools):
            if s.hub:
                continue
            near = hubs_by_country.get(s.country, hub_list)
            hub_of[i] = near[rng.randrange(len(near))]
        for h in hub_list:
            for _ in range(HUB_PEERS):
                o = hub_list[rng.randrange(len(hub_list))]
                if o != h:
                    extra[h].append(o)
                    extra[o].append(h)
        for i, h in hub_of.items():
            extra[i].append(h)
            extra[h].append(i)
    # A node's order of preference for eager pushes: partners, then subscription peers.
    sessions = [list(dict.fromkeys(partners[i] + extra[i])) for i in range(count)]
    return World(schools, partners, sessions, groups, subscribers, hub_list, hub_of)


@dataclass
class Tally:
    received: list[float]
    sent: list[float]
    bodies: list[int]
    stored: list[int]

    @classmethod
    def of(cls, count: int) -> Tally:
        return cls([0.0] * count, [0.0] * count, [0] * count, [0] * count)


BODY, HAVE, WANT, PRUNE, TIMER = range(5)


def spread(
    world: World,
    relays: list[Relay[int]],
    author: int,
    want: set[int],
    size: int,
    posted: int,
    tally: Tally,
) -> dict[int, int]:
    """One new entry of ``author`` spread to the schools in ``want``: when each got it."""
    got: dict[int, int] = {author: posted}
    heard: dict[int, list[int]] = {}  # school -> peers that announced or sent it
    queue: list[tuple[int, int, int, int, int]] = []
    order = 0

    def send(kind: int, src: int, dst: int, at: int, cost: int) -> None:
        nonlocal order
        order += 1
        tally.sent[src] += cost
        tally.received[dst] += cost
        heapq.heappush(queue, (at + LINK_MS, order, kind, dst, src))

    def relay(node: int, source: int | None, at: int) -> None:
        plan = relays[node].plan(
            author,
            world.sessions[node],
            want.__contains__,
            source=source,
            holders=heard.get(node, ()),
        )
        for peer in plan.eager:
            send(BODY, node, peer, at, size)
        for peer in plan.lazy:
            send(HAVE, node, peer, at, HAVE_BYTES)

    relay(author, None, posted)
    while queue:
        at, _, kind, node, src = heapq.heappop(queue)
        if kind == BODY:
            tally.bodies[node] += 1
            tally.sent[node] += ACK_BYTES
            tally.received[src] += ACK_BYTES
            heard.setdefault(node, []).append(src)
            if on_body(held=node in got):
                send(PRUNE, node, src, at, PRUNE_BYTES)
                continue
            got[node] = at
            tally.stored[node] += 1
            relay(node, src, at)
        elif kind == HAVE:
            heard.setdefault(node, []).append(src)
            if len(heard[node]) == 1:
                when = on_announce(held=node in got, wanted=node in want, announced_ms=at)
                if when is not None:
                    order += 1
                    heapq.heappush(queue, (when, order, TIMER, node, node))
        elif kind == TIMER:
            if node not in got:
                # Ask the first that announced it: it holds it (it announced it).
                send(WANT, node, heard[node][0], at, WANT_BYTES)
        elif kind == WANT:
            relays[node].graft(author, src)
            send(BODY, node, src, at, size)
        elif kind == PRUNE:
            relays[node].prune(author, src)
    missed = want - got.keys()
    if missed:
        raise RuntimeError(f"an entry of school {author} missed {len(missed)} schools wanting it")
    return got


def profile_pull(count: int, rng: random.Random) -> float:
    """Bytes of a school's daily profile pull (docs/scale.md: profiles are pulled once a
    day, from the school's hub when it has one, else from a peer): a real reconciliation
    of every school's newest profile, of which a day's changes are new, then each new
    profile once."""
    new = round(count / PROFILE_EVERY_DAYS)
    return _reconcile_bytes(count, new, rng, heads=False) + new * PROFILE_BYTES


def session_start(world: World, rng: random.Random, pairs: int, gap_hours: float) -> float:
    """Mean bytes (both ways) of a session start between peers that were ``gap_hours``
    school hours apart (one side offline): real reconciliations of the heads of their shared horizon
    and of each filter both declared (docs/scale.md, Decision 3)."""
    totals = []
    rate = OFFERS_PER_WEEK / (SCHOOL_DAYS * SCHOOL_HOURS)  # offers per school per hour
    count = len(world.schools)
    for _ in range(pairs):
        a = rng.randrange(count)
        if not world.sessions[a]:
            continue
        b = world.sessions[a][rng.randrange(len(world.sessions[a]))]
        mine: frozenset[int] = horizon(a, world.partners)
        theirs: frozenset[int] = horizon(b, world.partners)
        shared = mine & theirs
        total = _reconcile_bytes(len(shared), rate * gap_hours, rng, heads=True)
        sa, sb = world.schools[a], world.schools[b]
        groups = []
        if sa.hub or sb.hub:
            other = sb if sa.hub else sa
            if not other.hub:
                groups.append(len(world.groups[(other.region, other.phase)]))
                groups.extend(len(world.subscribers[(other.country, s)]) for s in other.subjects)
        else:
            if (sa.region, sa.phase) == (sb.region, sb.phase):
                groups.append(len(world.groups[(sa.region, sa.phase)]))
            if sa.country == sb.country:
                groups.extend(
                    len(world.subscribers[(sa.country, s)])
                    for s in set(sa.subjects) & set(sb.subjects)
                )
        for members in groups:
            # Items: the filter's entries since the last completion minus a day of skew.
            hours = gap_hours + SCHOOL_HOURS
            total += _reconcile_bytes(
                round(members * rate * hours), members * rate * gap_hours, rng, heads=False
            )
        totals.append(total)
    return statistics.mean(totals)


def _reconcile_bytes(items: int, differing: float, rng: random.Random, *, heads: bool) -> int:
    """Bytes of one real reconciliation of ``items`` items, ``differing`` of them new
    to one side (for heads: a new head on one side, the old one on the other)."""
    new = min(items, _draw(differing, rng))
    base = [(NOW - rng.randrange(7 * 86_400_000), rng.randbytes(32)) for _ in range(items)]
    side_a = base[: items - new] if not heads else list(base)
    side_b = list(base)
    if heads:
        for k in range(new):
            side_b[k] = (NOW - rng.randrange(3_600_000), rng.randbytes(32))
    else:
        side_b = base[: items - new] + [
            (NOW - rng.randrange(3_600_000), rng.randbytes(32)) for _ in range(new)
        ]
    messages = reconcile(
        Reconciler(ItemSet(side_a), id_bytes=ID_BYTES),
        Reconciler(ItemSet(side_b), id_bytes=ID_BYTES),
    )
    return sum(len(m) + OVERHEAD_PER_MESSAGE for m in messages)


def _draw(mean: float, rng: random.Random) -> int:
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def reach(
    world: World,
    wanted: Sequence[tuple[int, int, set[int], dict[int, int]]],
    rng: random.Random,
    queries: int,
) -> tuple[float, float]:
    """Share of the matching sampled offers that searches find within 2 s, and the mean
    number of nodes asked. A query: offers about one subject, in any country, from a
    random school at a random time of the week (the offers posted before it match).
    With hubs it asks :func:`protocol.search.hubs_to_ask`; it is also forwarded along
    peers by :func:`protocol.search.forward`, each node answering from what it holds."""
    count = len(world.schools)
    found = matching = 0
    asked_counts = []
    by_subject: dict[int, list[tuple[int, set[int], dict[int, int]]]] = {}
    for author, subject, want, got in wanted:
        by_subject.setdefault(subject, []).append((author, want, got))
    subjects = sorted(by_subject)
    for _ in range(queries):
        school = rng.randrange(count)
        subject = subjects[rng.randrange(len(subjects))]
        at = rng.randrange(WEEK_MS)
        asked = _asked(world, school, subject)  # node -> when the query reaches it
        asked_counts.append(len(asked))
        for _author, _want, got in by_subject[subject]:
            posted = min(got.values())
            if posted >= at:
                continue
            matching += 1
            # Found if a node asked held it when the query reached it, and its answer
            # is back within the deadline.
            if any(
                node in got and got[node] <= at + t and 2 * t <= SEARCH_DEADLINE_MS
                for node, t in asked.items()
            ):
                found += 1
    return (found / matching if matching else 1.0), statistics.mean(asked_counts)


def _asked(world: World, school: int, subject: int) -> dict[int, int]:
    """The nodes a search from ``school`` reaches, with when (ms after it is sent)."""
    asked = {school: 0}
    covering = [p for p in world.sessions[school] if world.schools[p].hub]
    for hub in search.hubs_to_ask(covering, world.partners[school]):
        asked[hub] = LINK_MS
    s = str(subject)

    def overlap_first(node: int) -> list[int]:
        # Every peer's region filter overlaps a query about a subject anywhere; peers
        # that subscribe to the subject come first.
        peers = world.sessions[node]
        subs = [p for p in peers if str_subjects(world.schools[p]) & {s}]
        return subs + [p for p in peers if p not in set(subs)]

    queue: list[tuple[int, search.Budget, int | None, int]] = [
        (school, search.Budget(search.MAX_BUDGET, search.MAX_HOPS), None, 0)
    ]
    seen: set[int] = set()
    while queue:
        node, budget, source, t = queue.pop(0)
        first = node in seen
        seen.add(node)
        for peer, share in search.forward(
            budget, overlap_first(node), source=source, seen=first and node != school
        ):
            if peer not in asked:
                asked[peer] = t + LINK_MS
            queue.append((peer, share, node, t + LINK_MS))
    return asked


def str_subjects(school: School) -> set[str]:
    return {str(x) for x in school.subjects}


def check_policy(world: World, rng: random.Random, checks: int) -> None:
    """The wanting sets used for speed are exactly protocol/horizon.py's :func:`wants`
    of each school's declared interest: checked on random (school, offer) pairs."""
    count = len(world.schools)
    for _ in range(checks):
        author, school = rng.randrange(count), rng.randrange(count)
        subject = world.schools[author].subjects[rng.randrange(2)]
        interest = world.schools[school].interest(school, world.partners)
        expected = wants(interest, world.facts(author, subject))
        if expected != (school in world.wanting(author, subject)):
            raise RuntimeError(f"wanting set disagrees with protocol/horizon.py at {school}")


def simulate_week(
    count: int, offers: int, seed: int, *, hubs: bool, queries: int = 200
) -> dict[str, Any]:
    """A week of ``count`` schools; the per school per day figures (see module doc)."""
    rng = random.Random(seed)
    world = build(count, rng, hubs=hubs)
    check_policy(world, rng, 200)
    relays: list[Relay[int]] = [Relay() for _ in range(count)]
    offer_tally = Tally.of(count)
    authors = rng.sample(range(count), max(1, offers // 2))
    posts = [
        (author, subject, rng.randrange(WEEK_MS))
        for author in authors
        for subject in world.schools[author].subjects[:OFFERS_PER_WEEK]
    ]
    # The week before, not counted: each node's relay state is that of a running
    # network, in which every author's eager peers have been pruned and grafted.
    for author, subject, posted in posts:
        want = world.wanting(author, subject)
        spread(world, relays, author, want, OFFER_BYTES, posted, Tally.of(count))
    wanted = []
    arrival = []
    for author, subject, posted in posts:
        want = world.wanting(author, subject)
        got = spread(world, relays, author, want, OFFER_BYTES, posted, offer_tally)
        wanted.append((author, subject, want, got))
        arrival.append(max(got.values()) - posted)
    sampled = len(wanted)
    offers_per_day = count * OFFERS_PER_WEEK / 7
    schools = [i for i in range(count) if not world.schools[i].hub]
    hub_list = world.hubs

    def per_day(values: list[float], who: list[int], per: float, n: int) -> float:
        return statistics.mean(values[i] for i in who) * per / n if who else 0.0

    o_recv = per_day(offer_tally.received, schools, offers_per_day, sampled)
    o_sent = per_day(offer_tally.sent, schools, offers_per_day, sampled)
    pull = profile_pull(count, rng)
    p_recv = pull
    # With hubs, a school pulls the day's profiles from its hub (counted in the hub's
    # bytes sent); without, from a peer, so a school sends on average what it pulls.
    p_sent = 0.0 if hub_list else pull
    stored = per_day([float(x) for x in offer_tally.stored], schools, offers_per_day, sampled)
    bodies = sum(offer_tally.bodies[i] for i in schools)
    held = sum(offer_tally.stored[i] for i in schools)
    start_hour = session_start(world, rng, 20, 1.0)
    start_day = session_start(world, rng, 20, SCHOOL_HOURS)
    reach_found, asked = reach(world, wanted, rng, queries)
    sessions = statistics.mean(len(world.sessions[i]) for i in schools)
    search_bytes = SEARCHES_PER_DAY * (QUERY_BYTES + ANSWERS_PER_SEARCH * OFFER_BYTES)
    out: dict[str, Any] = {
        "nodes": count,
        "hubs": len(hub_list),
        "offers_sampled": sampled,
        "partners": round(statistics.mean(len(world.partners[i]) for i in schools), 1),
        "sessions": round(sessions, 1),
        "horizon": round(statistics.mean(len(horizon(a, world.partners)) for a in authors[:50]), 1),
        "wanting_per_offer": round(statistics.mean(len(w[2]) for w in wanted)),
        "offer_bytes": OFFER_BYTES,
        "offers_received_bytes": round(o_recv),
        "offers_sent_bytes": round(o_sent),
        "profiles_received_bytes": round(p_recv),
        "profiles_sent_bytes": round(p_sent),
        "profile_pull_bytes": round(pull),
        "entries_stored_per_day": round(stored, 1),
        "copies_per_stored_offer": round(bodies / held, 3) if held else 0.0,
        "session_start_bytes": round(start_hour),
        "session_start_day_apart_bytes": round(start_day),
        "session_starts_per_day": round(sessions, 1),  # each session restarts once a day
        "search_bytes": search_bytes,
        "search_reach": round(reach_found, 4),
        "search_nodes_asked": round(asked, 1),
        "seconds_to_everyone_median": round(statistics.median(arrival) / 1000, 2),
        "seconds_to_everyone_max": round(max(arrival) / 1000, 2),
    }
    out["received_bytes_per_day"] = round(
        o_recv + p_recv + sessions * start_hour / 2 + search_bytes
    )
    out["sent_bytes_per_day"] = round(o_sent + p_sent + sessions * start_hour / 2)
    if hub_list:
        hub_recv = per_day(offer_tally.received, hub_list, offers_per_day, sampled)
        hub_recv += pull
        hub_sent = per_day(offer_tally.sent, hub_list, offers_per_day, sampled)
        # Its schools pull the day's profiles from it.
        hub_sent += pull * len(schools) / len(hub_list)
        # Each search asks two hubs: answers sent by hubs, spread over them.
        answers = count * SEARCHES_PER_DAY * 2 / len(hub_list) * ANSWERS_PER_SEARCH * OFFER_BYTES
        out["hub_received_bytes_per_day"] = round(hub_recv)
        out["hub_sent_bytes_per_day"] = round(hub_sent + answers)
        out["hub_search_answer_bytes_per_day"] = round(answers)
    return out


def redundancy(
    graph: list[list[int]], posts_per_author: int, authors: int, seed: int
) -> dict[str, Any]:
    """Copies received per node per entry when every node wants everything (today's
    interest) in the partner graph ``graph``: each of ``authors`` schools posts
    ``posts_per_author`` entries, one after another. An author's first entry meets
    cold relay state (every node pushes to its first two peers); the later ones follow
    the tree its duplicates pruned: the figure of a running network."""
    rng = random.Random(seed)
    count = len(graph)
    world = World(
        [School(0, 0, 0, (0, 1)) for _ in range(count)], dict(enumerate(graph)), graph, {}, {}, []
    )
    relays: list[Relay[int]] = [Relay() for _ in range(count)]
    first, later = Tally.of(count), Tally.of(count)
    everyone = set(range(count))
    chosen = rng.sample(range(count), authors)
    for n in range(posts_per_author):
        for author in chosen:
            spread(world, relays, author, everyone, OFFER_BYTES, 0, first if n == 0 else later)

    def copies(tally: Tally, entries: int) -> float:
        return round(sum(tally.bodies) / (count - 1) / entries, 3)

    def equivalents(tally: Tally, entries: int) -> float:
        return round(sum(tally.received) / (count - 1) / entries / (OFFER_BYTES + ACK_BYTES), 3)

    steady = authors * (posts_per_author - 1)
    return {
        "nodes": count,
        "entries": authors * posts_per_author,
        "copies_per_node_per_entry": copies(later, steady),
        "entry_equivalents_per_node_per_entry": equivalents(later, steady),
        "first_entry_copies_per_node": copies(first, authors),
        "first_entry_equivalents_per_node": equivalents(first, authors),
    }


def fit(sizes: list[int], values: list[float], target: int) -> tuple[float, float]:
    """``value = a + b ln(size)`` by least squares: (value at ``target``, growth per tenfold)."""
    xs = [math.log(s) for s in sizes]
    if len(xs) < 2:
        return values[0], 0.0
    mx, my = statistics.mean(xs), statistics.mean(values)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my + b * (math.log(target) - mx), b * math.log(10)
