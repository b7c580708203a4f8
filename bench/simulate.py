"""Scale: thousands of virtual nodes running the real sync rules, with no sockets.

Each virtual node holds its logs in memory and one ``protocol.replication.Replication``
per partner, the same state machine a running node's sessions use. Frames are real
(``protocol.frames`` encode and decode every message), entries are real signed
entries (``protocol.entry``), and a receiver stores them by the real log rules
(``protocol.log.judge``). Time moves in rounds: a message sent in one round is
handled in the next, so a round is one hop (network latency plus the receiver's
work). As in a running node, a node relays what it stored at once, before it
handles the next message (``--deferred-relay``: only once it has handled all of the
round's messages, as a node that waited about one hop before relaying would).

The partner graph is sparse and random (a random spanning tree plus random edges up
to an average degree of 3, seeded). The nodes first exchange clocks, as sessions do
when they open; then entries are posted one at a time, each by another random node,
and the rounds run until no message is left. Reported per network size, per node
and per new entry: messages and bytes of frames sent, copies of the entry received,
and the rounds until every node held it. Then how these grow with size, extrapolated
to every school in Europe (about 200,000), against a school's connection.

Each size runs as docs/protocol.md specifies (the RESULT's ``sizes``) and, all but
the largest of a full run, as the reference node behaved until it was fixed, sending
every entry it stored back to the peer it came from (docs/performance.md, "Redundancy").

Restricted letters run the same way with ``protocol/mailsync.py``, the state machine
of the letter half of a session: each virtual node keeps its mail tables in memory
and one ``MailSync`` per partner; envelopes are really sealed, checked and opened.
A school writes a pupil's post to up to three of its partners, or to one school it
has no session with, through a relay that school names (whose confirmation comes
back to the writer as a delivered mark). Reported: messages and bytes per member
(the writer and each recipient) per letter, and rounds to delivery.

Each distinct entry is decoded and its signature checked once per run, not once
per copy (a cache keyed by its bytes), which keeps 10,000 nodes feasible and
changes no count; every frame is encoded and decoded for real. Last line: ``RESULT {json}``.
The realistic week of issue 23 (bench/week.py: what a school holds and relays by
``protocol/horizon.py``, searches by ``protocol/search.py``, session starts by
``protocol/reconcile.py``) runs last, at 1,000, 10,000 and 100,000 schools (500 and
2,000 with ``--quick``), and adds to the RESULT its figures extrapolated to 200,000
schools: ``school_mb_per_day``, ``school_gb_per_year``, ``session_start_kb``,
``search_reach``, ``hub_mb_per_day`` and ``redundancy_30``.
Usage: python bench/simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import week
from protocol import frames, mailsync, sealed
from protocol.entry import Entry, create_entry, decode_entry
from protocol.errors import LogOrderError
from protocol.keys import NodeId, NodeKey
from protocol.log import Head, Verdict, judge
from protocol.mailsync import Mark, Pair
from protocol.replication import WINDOW, Replication, ack_for
from protocol.sealed import Letter

NOW = 1_795_000_000_000  # a fixed clock (2026-11-17): the run is reproducible
DEGREE = 3
EUROPE = 200_000  # schools in Europe, roughly (primary and secondary)
#: Bytes per message that the simulator does not see: TCP/IP (52), a TLS record (29)
#: and a WebSocket header (up to 14), rounded up. An upper estimate.
OVERHEAD_PER_MESSAGE = 100
SCHOOL_LINK_MBIT = 10  # a modest school connection; many have 100 Mbit/s or more
POSTS_PER_SCHOOL_PER_DAY = 1  # offers, requests, events, withdrawals: a generous guess
SCHOOL_HOURS = 8  # all of a day's posts made within school hours (peak = 24/8 x mean)
TEXT = (
    "Thirty-minute observation slots on Tuesday and Thursday mornings in Year 5, with "
    "time afterwards to talk to the class teacher and our maths lead about how we plan "
    "small steps, use manipulatives and check understanding. Up to three visitors a "
    "week; lunch provided. Please say which year groups you teach."
)


def sparse_graph(count: int, degree: int, rng: random.Random) -> list[list[int]]:
    """Neighbours of each node in a connected random graph of average degree ~``degree``."""
    order = list(range(count))
    rng.shuffle(order)
    edges = {tuple(sorted((order[i], order[rng.randrange(i)]))) for i in range(1, count)}
    while len(edges) < count * degree // 2:
        a, b = rng.sample(range(count), 2)
        edges.add(tuple(sorted((a, b))))
    neighbours: list[list[int]] = [[] for _ in range(count)]
    for a, b in sorted(edges):
        neighbours[a].append(b)
        neighbours[b].append(a)
    return neighbours


class Verified:
    """Every distinct entry of the run, decoded and verified once: wire bytes -> Entry."""

    def __init__(self) -> None:
        self._verified: dict[bytes, Entry] = {}

    def decode(self, wire: bytes) -> Entry:
        entry = self._verified.get(wire)
        if entry is None:
            entry = self._verified[wire] = decode_entry(wire, now_ms=NOW)
        return entry


@dataclass
class Stats:
    messages: int = 0
    bytes: int = 0
    copies: int = 0  # entries received in batches, duplicates included
    sent_by: list[int] = field(default_factory=list)  # bytes sent, per node


class VirtualNode:
    """A node's store (logs in memory) and one Replication per partner."""

    def __init__(self, index: int, partners: Iterable[int]) -> None:
        self.index = index
        self.logs: dict[NodeId, list[tuple[Entry, bytes]]] = {}  # author -> (entry, wire)
        self.sessions = {p: Replication() for p in partners}

    def heads(self) -> dict[NodeId, int]:
        return {a: len(log) for a, log in self.logs.items()}

    def clock(self) -> frames.Clock:
        return frames.Clock(
            [[bytes(a), len(log), bytes(log[-1][0].id)] for a, log in self.logs.items()]
        )

    def store(self, entry: Entry, wire: bytes) -> Verdict | None:
        """The log rules, as node/store.py applies them; None when refused."""
        log = self.logs.setdefault(entry.author, [])
        head = Head(len(log), log[-1][0].id) if log else None
        same = log[entry.seq - 1][0] if entry.seq <= len(log) else None
        try:
            verdict = judge(entry, head, same)
        except LogOrderError:
            return None
        if verdict is Verdict.APPEND:
            log.append((entry, wire))
        return verdict

    def rows(self, author: NodeId, after: int, limit: int) -> list[tuple[int, bytes]]:
        log = self.logs.get(author, [])
        return [(after + 1 + i, wire) for i, (_, wire) in enumerate(log[after : after + limit])]


class Network:
    def __init__(self, count: int, rng: random.Random, *, echo: bool, deferred: bool) -> None:
        self.echo = echo
        self.deferred = deferred
        self.nodes = [VirtualNode(i, ns) for i, ns in enumerate(sparse_graph(count, DEGREE, rng))]
        self.verified = Verified()
        self.stats = Stats(sent_by=[0] * count)
        self.outbox: list[tuple[int, int, bytes]] = []  # (to, from, frame bytes) for next round
        self.stored_round: dict[bytes, list[int]] = {}  # entry id -> round each holder stored it
        self.round = 0

    def send(self, src: int, dst: int, frame: frames.Frame) -> None:
        data = frames.encode(frame)
        self.stats.messages += 1
        self.stats.bytes += len(data)
        self.stats.sent_by[src] += len(data)
        self.outbox.append((dst, src, data))

    def flush(self, node: VirtualNode, peers: Iterable[int]) -> None:
        """Each session's send loop: batches while there is something to send and room."""
        for peer in peers:
            sync = node.sessions[peer]
            while sync.dirty and len(sync.in_flight) < WINDOW:
                batch = sync.start_batch()
                while (read := batch.next_read()) is not None:
                    batch.add(node.rows(read.author, read.after, read.limit))
                frame = batch.finish()
                if frame is None:
                    break
                self.send(node.index, peer, frame)

    def open_sessions(self) -> None:
        """Every session starts with both sides sending their clock."""
        for node in self.nodes:
            clock = node.clock()
            for peer in node.sessions:
                self.send(node.index, peer, clock)
        self.run()

    def post(self, author: NodeKey, node: VirtualNode, content: dict[str, Any]) -> Entry:
        log = node.logs.get(author.node_id, [])
        entry = create_entry(
            author,
            seq=len(log) + 1,
            prev=log[-1][0].id if log else None,
            timestamp=NOW - 1000 + len(log),
            kind="offer",
            content=content,
        )
        self.stored_round[bytes(entry.id)] = [0]
        node.store(entry, entry.encode())
        for sync in node.sessions.values():
            sync.mark_dirty([entry.author])
        self.flush(node, node.sessions)
        return entry

    def run(self) -> int:
        """Deliver rounds until no message is left; the number of rounds."""
        start = self.round
        while self.outbox:
            self.round += 1
            inbox, self.outbox = self.outbox, []
            woken: dict[int, set[int]] = {}
            for dst, src, data in inbox:
                peers = self.handle(self.nodes[dst], src, frames.decode(data))
                if self.deferred:
                    woken.setdefault(dst, set()).update(peers)
                else:
                    self.flush(self.nodes[dst], peers)
            for index, later in woken.items():
                self.flush(self.nodes[index], sorted(later))
        return self.round - start

    def handle(self, node: VirtualNode, src: int, frame: frames.Frame) -> list[int]:
        """One frame from ``src``, as node/session.py handles it; the sessions to wake."""
        sync = node.sessions[src]
        if isinstance(frame, frames.Clock):
            for author, seq, head_id in sync.receive_clock(frame):
                log = node.logs.get(author, [])
                if seq <= len(log) and bytes(log[seq - 1][0].id) != head_id:
                    self.send(node.index, src, sync.evidence(log[seq - 1][1]))
            if frame.final:
                sync.clock_complete(node.heads())
                return [src]
        elif isinstance(frame, frames.Entries):
            authors, stored, held = set(), set(), []
            for wire in frame.entries:
                entry = self.verified.decode(wire)
                author = entry.author
                authors.add(author)
                verdict = node.store(entry, wire)
                if verdict is Verdict.APPEND:
                    stored.add(author)
                    self.stored_round.setdefault(bytes(entry.id), []).append(self.round)
                if verdict in (Verdict.APPEND, Verdict.DUPLICATE):
                    held.append((author, entry.seq))
            if stored and self.echo:
                # The reference node before the fix: the commit woke this session's
                # sender, which read before the session raised its view below.
                sync.mark_dirty(stored)
                self.flush(node, [src])
            for author, seq in held:
                sync.held(author, seq)
            self.stats.copies += len(frame.entries)
            heads = node.heads()
            self.send(node.index, src, ack_for(frame.batch, {a: heads.get(a, 0) for a in authors}))
            if stored:  # the commit marks the authors dirty in every session: relaying
                for other in node.sessions.values():
                    other.mark_dirty(stored)
                return list(node.sessions)
        elif isinstance(frame, frames.Ack):
            sync.acknowledged(frame)
            return [src]
        return []


def simulate(
    count: int, posts: int, seed: int, *, echo: bool = False, deferred: bool = False
) -> dict[str, Any]:
    """Post ``posts`` entries one at a time in a network of ``count`` nodes; the figures.

    ``echo``: as the reference node behaved before the fix, sending a stored entry
    back to the peer it came from (see docs/performance.md), instead of as specified.
    """
    rng = random.Random(seed)
    net = Network(count, rng, echo=echo, deferred=deferred)
    authors = rng.sample(range(count), posts)
    keys = {i: NodeKey(i.to_bytes(4, "big") * 8) for i in authors}
    # Every node already holds the posting schools' profiles, as in a running network.
    for i in authors:
        profile = create_entry(
            keys[i],
            seq=1,
            prev=None,
            timestamp=NOW - 86_400_000,
            kind="profile",
            content={"name": f"School {i}", "country": "FR"},
        )
        for node in net.nodes:
            node.store(profile, profile.encode())
    net.open_sessions()
    clock_messages, clock_bytes = net.stats.messages, net.stats.bytes
    net.stats = Stats(sent_by=[0] * count)
    rounds, last_rounds, sizes = [], [], []
    for n, i in enumerate(authors):
        content = {"activity": "observation", "title": f"Year 5 maths lessons ({n})", "text": TEXT}
        entry = net.post(keys[i], net.nodes[i], content)
        start = net.round
        last_rounds.append(net.run())
        held = net.stored_round[bytes(entry.id)]
        if len(held) != count:
            raise RuntimeError(f"entry {n} reached {len(held)} of {count} nodes")
        rounds.append(max(held) - start)
        sizes.append(len(entry.encode()))
    degrees = [len(node.sessions) for node in net.nodes]
    busiest = max(range(count), key=lambda k: net.stats.sent_by[k])
    per = count * posts
    return {
        "nodes": count,
        "entries": posts,
        "edges": sum(degrees) // 2,
        "entry_bytes": round(statistics.mean(sizes)),
        "messages_per_node_per_entry": round(net.stats.messages / per, 3),
        "bytes_per_node_per_entry": round(net.stats.bytes / per, 1),
        "copies_per_node_per_entry": round(net.stats.copies / (count - 1) / posts, 3),
        "rounds": max(rounds),
        "rounds_median": statistics.median(rounds),
        "rounds_until_quiet": max(last_rounds),
        "busiest_node_bytes_per_entry": round(net.stats.sent_by[busiest] / posts),
        "busiest_node_partners": degrees[busiest],
        "clock_bytes_per_session": round(clock_bytes / sum(degrees)),
        "clock_messages": clock_messages,
    }


# -- restricted letters ----------------------------------------------------------------------

LETTER_RECIPIENTS = 3  # a project's partner schools, besides the one writing


class VirtualMailroom:
    """A node's mail tables in memory, as node/mail/mailroom.py keeps them in SQLite; every
    decision is protocol/mailsync.py's, as in the mail room."""

    def __init__(self, key: NodeKey, relays: dict[NodeId, set[NodeId]]) -> None:
        self.key = key
        self.me = key.node_id
        self.relays = relays  # every school's newest profile, shared: recipient -> relays
        self.marks: dict[Pair, int] = {}
        self.mail: dict[Pair, dict[int, bytes]] = {}  # pair -> seq -> envelope wire
        self.acked: dict[NodeId, int] = {}  # recipient -> highest of our letters it confirmed
        self.delivered: dict[Pair, int] = {}  # as a relay: what a recipient confirmed
        self.opened: list[bytes] = []  # letter ids opened here

    def clock(self) -> list[Mark]:
        own = [Mark(self.me, r, q) for r, q in sorted(self.acked.items(), key=_by_id)]
        ordered = sorted(self.marks.items(), key=_by_pair)
        return [Mark(s, r, q) for (s, r), q in ordered if s != self.me] + own

    def held(self, peer: NodeId) -> list[mailsync.Held]:
        """What we hold that ``peer`` did not send, in order; the wire stands for the id."""
        return [
            mailsync.Held(s, r, q, wire, len(wire))
            for (s, r), letters in sorted(self.mail.items(), key=_by_pair)
            if s != peer
            for q, wire in sorted(letters.items())
        ]

    def delivered_for(self, peer: NodeId) -> list[Mark]:
        ordered = sorted(self.delivered.items(), key=_by_pair)
        return [Mark(s, r, q) for (s, r), q in ordered if s == peer]

    def send(self, letter: Letter, envelope_for: Any) -> sealed.Envelope:
        seqs = {r: self.marks.get((self.me, r), 0) + 1 for r in letter.recipients}
        envelope: sealed.Envelope = envelope_for(seqs)
        wire = envelope.encode()
        for recipient, seq in seqs.items():
            self.mail.setdefault((self.me, recipient), {})[seq] = wire
            self.marks[(self.me, recipient)] = seq
        return envelope

    def accept(self, envelopes: list[sealed.Envelope], peer: NodeId) -> mailsync.AcceptPlan:
        received = [
            mailsync.Received(e.sender, tuple((s.recipient, s.seq) for s in e.slots))
            for e in envelopes
        ]
        plan = mailsync.plan_accept(
            received, me=self.me, peer=peer, blocked=set(), relays=self.relays, marks=self.marks
        )
        for take in plan.takes:
            envelope = envelopes[take.index]
            if take.action is mailsync.Action.OPEN:
                self.opened.append(bytes(sealed.open_envelope(self.key, envelope).id))
            else:
                self.mail.setdefault((take.sender, take.recipient), {})[take.seq] = (
                    envelope.encode()
                )
            self.marks[(take.sender, take.recipient)] = take.seq
        return plan

    def confirmed(self, peer: NodeId, marks: Iterable[Mark]) -> bool:
        """As Mailroom.confirmed; True when a delivered mark was recorded (wake the sessions)."""
        confirmed = mailsync.confirmations(marks, peer)
        for sender, recipient, seq in confirmed:
            self._confirm(sender, recipient, seq)
        changed = False
        relay = self.me in self.relays.get(peer, ())
        held = {pair for pair, mark in self.marks.items() if mark > 0}
        for sender, recipient, seq in mailsync.to_record_delivered(confirmed, self.me, relay, held):
            if seq > self.delivered.get((sender, recipient), 0):
                self.delivered[(sender, recipient)] = seq
                changed = True
        return changed

    def _confirm(self, sender: NodeId, recipient: NodeId, seq: int) -> None:
        if sender == self.me:
            self.acked[recipient] = max(seq, self.acked.get(recipient, 0))
            self.marks[(sender, recipient)] = max(seq, self.marks.get((sender, recipient), 0))
        letters = self.mail.get((sender, recipient), {})
        for q in [q for q in letters if q <= seq]:
            del letters[q]
        if not letters:
            self.mail.pop((sender, recipient), None)

    def skip_confirmed(self, peer: NodeId, marks: Iterable[Mark]) -> None:
        for sender, recipient, seq in mailsync.skips(marks, self.me, peer):
            mark = self.marks.get((sender, recipient), 0)
            if mailsync.skip_to(seq, mark, self.me in self.relays.get(recipient, ())):
                self.marks[(sender, recipient)] = seq
                self._confirm(sender, recipient, seq)

    def relayed_confirmations(self, peer: NodeId, marks: Iterable[Mark]) -> None:
        for sender, recipient, seq in mailsync.relayed(marks, self.me, peer):
            verdict = mailsync.relayed_verdict(
                seq, self.marks.get((sender, recipient), 0), peer in self.relays.get(recipient, ())
            )
            if verdict is mailsync.Relayed.BELIEVED:
                self._confirm(sender, recipient, seq)


def _by_id(item: tuple[NodeId, int]) -> bytes:
    """Sort by node id as the mail tables' primary keys order them (their bytes)."""
    return item[0].key


def _by_pair(item: tuple[Pair, Any]) -> tuple[bytes, bytes]:
    return (item[0][0].key, item[0][1].key)


class MailNetwork:
    """Virtual nodes, each with a mail room and one MailSync per partner (node/mail/session.py
    as a loop of rounds: a node sends at once what a frame it handled made it decide)."""

    def __init__(self, count: int, rng: random.Random) -> None:
        self.graph = sparse_graph(count, DEGREE, rng)
        self.keys = [NodeKey((1_000_000 + i).to_bytes(4, "big") * 8) for i in range(count)]
        self.ids = [k.node_id for k in self.keys]
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.relays: dict[NodeId, set[NodeId]] = {}
        self.rooms = [VirtualMailroom(k, self.relays) for k in self.keys]
        self.sessions = [{p: mailsync.MailSync() for p in ps} for ps in self.graph]
        self.stats = Stats(sent_by=[0] * count)
        self.outbox: list[tuple[int, int, bytes]] = []
        self.decoded: dict[bytes, sealed.Envelope] = {}
        self.opened_round: dict[bytes, list[int]] = {}  # letter id -> round each recipient opened
        self.round = 0

    def send(self, src: int, dst: int, frame: frames.Frame) -> None:
        data = frames.encode(frame)
        self.stats.messages += 1
        self.stats.bytes += len(data)
        self.stats.sent_by[src] += len(data)
        self.outbox.append((dst, src, data))

    def flush(self, index: int, peers: Iterable[int]) -> None:
        """Each woken session's loop: pass back delivered marks, then a batch if it may."""
        room = self.rooms[index]
        for peer in peers:
            sync, peer_id = self.sessions[index][peer], self.ids[peer]
            if not sync.clock_received:
                continue
            for frame in mailsync.delivered_frames(
                sync.fresh_delivered(room.delivered_for(peer_id))
            ):
                self.send(index, peer, frame)
            if not sync.may_send:
                continue
            chosen = mailsync.plan_batch(
                room.held(peer_id), peer_id, sync.offer_view(), self.relays
            )
            if chosen:
                batch = [(h.sender, h.recipient, h.seq, h.envelope) for h in chosen]
                self.send(index, peer, sync.batch(batch))

    def open_sessions(self) -> None:
        for index, room in enumerate(self.rooms):
            for peer, sync in self.sessions[index].items():
                delivered = sync.fresh_delivered(room.delivered_for(self.ids[peer]))
                for frame in mailsync.clock_frames(room.clock(), delivered):
                    self.send(index, peer, frame)
        self.run()

    def write(self, sender: int, recipients: list[int], n: int) -> tuple[bytes, int]:
        """``sender`` seals a pupil's post for ``recipients``: its letter id and envelope size."""
        key = self.keys[sender]
        content = {
            "p": f"{n:032x}",
            "id": f"{n + 1:032x}",
            "title": f"Our Year 5 visit ({n})",
            "body": TEXT,
            "by": "Year 5",
            "at": NOW,
        }
        to = [self.ids[r] for r in recipients]
        letter = sealed.write_letter(
            key, kind="post", timestamp=NOW, recipients=to, content=content
        )
        rng = random.Random(n)

        def envelope_for(seqs: dict[NodeId, int]) -> sealed.Envelope:
            return sealed.seal(
                key,
                letter,
                seqs=seqs,
                content_key=rng.randbytes(sealed.KEY_SIZE),
                nonce=rng.randbytes(sealed.NONCE_SIZE),
                wrap_nonces={r: rng.randbytes(sealed.NONCE_SIZE) for r in letter.recipients},
                timestamp=NOW,
            )

        envelope = self.rooms[sender].send(letter, envelope_for)
        self.opened_round[bytes(letter.id)] = []
        self.flush(sender, self.sessions[sender])
        return bytes(letter.id), len(envelope.encode())

    def run(self) -> int:
        start = self.round
        while self.outbox:
            self.round += 1
            inbox, self.outbox = self.outbox, []
            for dst, src, data in inbox:
                self.flush(dst, self.handle(dst, src, frames.decode(data)))
        return self.round - start

    def handle(self, index: int, src: int, frame: frames.Frame) -> list[int]:
        """One frame from ``src``, as node/mail/session.py handles it; the sessions to wake."""
        room, sync, peer = self.rooms[index], self.sessions[index][src], self.ids[src]
        if isinstance(frame, frames.MailClock):
            clock = mailsync.ClockMarks.of(frame)
            sync.receive_clock(clock)
            changed = room.confirmed(peer, clock.marks)
            room.skip_confirmed(peer, clock.marks)
            if clock.delivered:
                room.relayed_confirmations(peer, clock.delivered)
            if changed:
                return list(self.sessions[index])
            return [src] if clock.final else []
        if isinstance(frame, frames.Mail):
            envelopes = [self._decode(wire) for wire in frame.envelopes]
            before = len(room.opened)
            plan = room.accept(envelopes, peer)
            for letter_id in room.opened[before:]:
                self.opened_round[letter_id].append(self.round)
            self.send(index, src, plan.ack(frame.batch))
            return list(self.sessions[index]) if plan.holds else []  # the commit wakes them
        if isinstance(frame, frames.MailAck):
            ack = mailsync.AckMarks.of(frame)
            sync.acknowledged(ack)
            if room.confirmed(peer, ack.marks):
                return list(self.sessions[index])
            return [src]
        return []

    def _decode(self, wire: bytes) -> sealed.Envelope:
        envelope = self.decoded.get(wire)
        if envelope is None:
            envelope = self.decoded[wire] = sealed.decode_envelope(wire, now_ms=NOW)
        return envelope


def simulate_letters(count: int, letters: int, seed: int, *, relayed: bool) -> dict[str, Any]:
    """Restricted letters, one at a time, in a network of ``count`` nodes; the figures.

    Direct: a school writes to up to LETTER_RECIPIENTS of its partners. ``relayed``: a
    school writes to one school it has no session with, which names as its relay a
    partner of both; the letter goes through the relay, and the relay passes the
    recipient's confirmation back so the writer's outbox empties (docs/protocol.md,
    "Mail", delivered marks)."""
    rng = random.Random(seed)
    net = MailNetwork(count, rng)
    net.open_sessions()
    net.stats = Stats(sent_by=[0] * count)
    rounds, quiet, members, sizes = [], [], 0, []
    for n in range(letters):
        if relayed:
            while True:
                relay = rng.randrange(count)
                near = net.graph[relay]
                if len(near) < 2:
                    continue
                sender, recipient = rng.sample(near, 2)
                if recipient not in net.graph[sender]:
                    break
            net.relays[net.ids[recipient]] = {net.ids[relay]}
            to = [recipient]
        else:
            sender = rng.randrange(count)
            near = net.graph[sender]
            to = rng.sample(near, min(LETTER_RECIPIENTS, len(near)))
        start = net.round
        letter_id, size = net.write(sender, to, n)
        quiet.append(net.run())
        opened = net.opened_round[letter_id]
        if len(opened) != len(to):
            raise RuntimeError(f"letter {n} reached {len(opened)} of {len(to)} recipients")
        if any(room.mail for room in net.rooms):
            raise RuntimeError(f"letter {n}: an outbox or a relay kept envelopes after delivery")
        rounds.append(max(opened) - start)
        members += 1 + len(to)
        sizes.append(size)
        net.decoded.clear()
    return {
        "nodes": count,
        "letters": letters,
        "relayed": relayed,
        "envelope_bytes": round(statistics.mean(sizes)),
        "recipients_per_letter": round(members / letters - 1, 2),
        "messages_per_letter": round(net.stats.messages / letters, 3),
        "messages_per_member_per_letter": round(net.stats.messages / members, 3),
        "bytes_per_member_per_letter": round(net.stats.bytes / members, 1),
        "rounds": max(rounds),
        "rounds_median": statistics.median(rounds),
        "rounds_until_quiet": max(quiet),
    }


def run_letters(
    sizes: list[int], letters: int, seed: int, *, relayed: bool
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for size in sizes:
        started = time.perf_counter()
        r = results[str(size)] = simulate_letters(size, letters, seed, relayed=relayed)
        print(
            f"{size:>6,} nodes, {letters} letters "
            f"{'through a relay' if relayed else f'to up to {LETTER_RECIPIENTS} partners'}, "
            f"envelopes of {r['envelope_bytes']:,} bytes: per member per letter "
            f"{r['messages_per_member_per_letter']:.2f} messages, "
            f"{r['bytes_per_member_per_letter']:,.0f} bytes; rounds to delivery "
            f"{r['rounds_median']:g} median, {r['rounds']} max, "
            f"{r['rounds_until_quiet']} until quiet "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    return results


def fit_log(sizes: list[int], values: list[float]) -> tuple[float, float]:
    """Least squares ``value = a + b * ln(size)``."""
    xs = [math.log(s) for s in sizes]
    if len(xs) < 2:
        return values[0], 0.0
    mx, my = statistics.mean(xs), statistics.mean(values)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - b * mx, b


def clock_bytes_per_author() -> float:
    """Bytes per author of a full clock frame (author, seq, head id), measured on real frames."""
    pairs = [[i.to_bytes(32, "big"), 1000 + i, bytes(32)] for i in range(frames.MAX_CLOCK_PAIRS)]
    return len(frames.encode(frames.Clock(pairs, final=False))) / frames.MAX_CLOCK_PAIRS


def extrapolate(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    sizes = sorted(results)
    out: dict[str, Any] = {"schools": EUROPE}
    for name in ("messages_per_node_per_entry", "bytes_per_node_per_entry", "rounds"):
        a, b = fit_log(sizes, [float(results[s][name]) for s in sizes])
        out[name] = round(max(a + b * math.log(EUROPE), float(results[sizes[-1]][name])), 2)
        out[name + "_growth_per_tenfold"] = round(b * math.log(10), 3)
    per_entry = out["bytes_per_node_per_entry"] + (
        out["messages_per_node_per_entry"] * OVERHEAD_PER_MESSAGE
    )
    per_day = EUROPE * POSTS_PER_SCHOOL_PER_DAY * per_entry
    peak_bit_s = per_day * 8 / (SCHOOL_HOURS * 3600)
    out["bytes_per_school_per_day"] = round(per_day)
    out["peak_kbit_s"] = round(peak_bit_s / 1000, 1)
    out["share_of_link"] = round(peak_bit_s / (SCHOOL_LINK_MBIT * 1e6), 4)
    out["clock_bytes_per_session_start"] = round(clock_bytes_per_author() * EUROPE)
    return out


def run_sizes(
    sizes: list[int], posts: int, seed: int, *, echo: bool, deferred: bool
) -> dict[int, dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        started = time.perf_counter()
        r = results[size] = simulate(size, posts, seed, echo=echo, deferred=deferred)
        print(
            f"{size:>6,} nodes ({r['edges']:,} partnerships), {posts} entries of "
            f"{r['entry_bytes']} bytes: per node per entry "
            f"{r['messages_per_node_per_entry']:.2f} messages, "
            f"{r['bytes_per_node_per_entry']:,.0f} bytes, {r['copies_per_node_per_entry']:.2f} "
            f"copies; rounds to everyone {r['rounds_median']:g} median, {r['rounds']} max "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    return results


def report(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Print how the figures grow and what they come to for Europe; return the extrapolation."""
    e = extrapolate(results)
    print(
        "growth per tenfold nodes: messages "
        f"{e['messages_per_node_per_entry_growth_per_tenfold']:+}, bytes "
        f"{e['bytes_per_node_per_entry_growth_per_tenfold']:+}, rounds "
        f"{e['rounds_growth_per_tenfold']:+}"
    )
    print(
        f"at {EUROPE:,} schools: {e['messages_per_node_per_entry']} messages and "
        f"{e['bytes_per_node_per_entry']:,.0f} bytes per school per entry, "
        f"{e['rounds']} rounds to everyone"
    )
    print(
        f"with {POSTS_PER_SCHOOL_PER_DAY} post per school per day, all in {SCHOOL_HOURS} "
        f"school hours, +{OVERHEAD_PER_MESSAGE} bytes of headers per message: "
        f"{e['bytes_per_school_per_day'] / 1e6:,.0f} MB per school per day, peak "
        f"{e['peak_kbit_s']:,} kbit/s = {e['share_of_link']:.1%} of a "
        f"{SCHOOL_LINK_MBIT} Mbit/s line",
        flush=True,
    )
    return e


WEEK_KEYS = (
    "received_bytes_per_day",
    "sent_bytes_per_day",
    "entries_stored_per_day",
    "session_start_bytes",
    "session_start_day_apart_bytes",
    "search_reach",
    "copies_per_stored_offer",
)


def run_week(sizes: list[int], offers: int, seed: int) -> dict[str, dict[str, Any]]:
    """The realistic week (bench/week.py) at each size, with hubs and without."""
    results: dict[str, dict[str, Any]] = {}
    for hubs in (True, False):
        label = "hubs" if hubs else "no_hubs"
        results[label] = {}
        for size in sizes:
            started = time.perf_counter()
            r = results[label][str(size)] = week.simulate_week(size, offers, seed, hubs=hubs)
            hub = ""
            if hubs:
                both = r["hub_received_bytes_per_day"] + r["hub_sent_bytes_per_day"]
                hub = f"; a hub {both / 1e6:,.1f} MB received and sent"
            print(
                f"{size:>7,} schools, {r['hubs']:,} hubs, {r['offers_sampled']} offers sampled "
                f"(wanted by {r['wanting_per_offer']:,} each): per school per day "
                f"{r['received_bytes_per_day'] / 1e6:.2f} MB received, "
                f"{r['sent_bytes_per_day'] / 1e6:.2f} MB sent, "
                f"{r['entries_stored_per_day']:,.0f} entries stored; session start "
                f"{r['session_start_bytes'] / 1e3:.1f} KB (a day apart "
                f"{r['session_start_day_apart_bytes'] / 1e3:.1f} KB); search reach "
                f"{r['search_reach']:.2%} asking {r['search_nodes_asked']:.0f} nodes; "
                f"{r['copies_per_stored_offer']:.2f} copies per offer{hub} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    return results


def extrapolate_week(
    results: dict[str, dict[str, Any]], redundancy: dict[str, Any]
) -> dict[str, Any]:
    """The week's figures at EUROPE schools. Offers received and sent, entries stored and
    session starts: ``a + b ln(size)`` fitted on the sizes whose regions are full
    (bench/week.py, REGION_SCHOOLS; all sizes if fewer than two are). Profiles (every
    school's, network-wide) and a hub's traffic (every entry) grow in proportion to
    the network: scaled linearly from the largest size. Search bytes are per search."""
    out: dict[str, Any] = {"schools": EUROPE}
    for label in ("hubs", "no_hubs"):
        runs = {int(k): v for k, v in results[label].items()}
        sizes = [s for s in sorted(runs) if s >= week.REGION_SCHOOLS]
        if len(sizes) < 2:
            sizes = sorted(runs)
        top = runs[sizes[-1]]
        scale = EUROPE / sizes[-1]
        fits: dict[str, tuple[float, float]] = {}
        for name in (
            "offers_received_bytes",
            "offers_sent_bytes",
            "entries_stored_per_day",
            "session_start_bytes",
            "session_start_day_apart_bytes",
            "sessions",
        ):
            fits[name] = week.fit(sizes, [float(runs[s][name]) for s in sizes], EUROPE)
        sessions = fits["sessions"][0]
        start = fits["session_start_bytes"][0]
        profiles = top["profile_pull_bytes"] * scale
        received = fits["offers_received_bytes"][0] + profiles + sessions * start / 2
        received += top["search_bytes"]
        # With hubs, schools pull profiles from their hub (in the hub's figure).
        served = 0.0 if label == "hubs" else profiles
        sent = fits["offers_sent_bytes"][0] + served + sessions * start / 2
        stored = fits["entries_stored_per_day"][0] * 365 + EUROPE  # + every newest profile
        e: dict[str, Any] = {
            "fitted_on": sizes,
            "received_mb_per_day": round(received / 1e6, 2),
            "sent_mb_per_day": round(sent / 1e6, 2),
            "profiles_mb_per_day": round(profiles / 1e6, 2),
            "entries_stored_per_day": round(fits["entries_stored_per_day"][0]),
            "entries_stored_per_year": round(stored),
            "session_start_kb": round(start / 1e3, 1),
            "session_start_day_apart_kb": round(fits["session_start_day_apart_bytes"][0] / 1e3, 1),
            "search_reach": min(runs[s]["search_reach"] for s in sizes),
        }
        for name in ("offers_received_bytes", "entries_stored_per_day", "session_start_bytes"):
            e[name + "_growth_per_tenfold"] = round(fits[name][1], 1)
        if label == "hubs":
            answers = top["hub_search_answer_bytes_per_day"]
            hub = top["hub_received_bytes_per_day"] + top["hub_sent_bytes_per_day"] - answers
            e["hub_mb_per_day"] = round((hub * scale + answers) / 1e6, 1)
            e["hub_gb_per_year"] = round(
                EUROPE * (week.OFFERS_PER_WEEK * 365 / 7 + 1) * week.STORED_BYTES_PER_ENTRY / 1e9,
                1,
            )
        out[label] = e
    h = out["hubs"]
    out["school_mb_per_day"] = round(h["received_mb_per_day"] + h["sent_mb_per_day"], 2)
    out["school_gb_per_year"] = round(
        h["entries_stored_per_year"] * week.STORED_BYTES_PER_ENTRY / 1e9, 3
    )
    out["session_start_kb"] = h["session_start_kb"]
    out["search_reach"] = h["search_reach"]
    out["search_reach_no_hubs"] = out["no_hubs"]["search_reach"]
    out["hub_mb_per_day"] = h["hub_mb_per_day"]
    out["redundancy_30"] = redundancy["copies_per_node_per_entry"]
    return out


def report_week(e: dict[str, Any]) -> None:
    h, n = e["hubs"], e["no_hubs"]
    print(
        f"growth per tenfold schools (fitted on {', '.join(f'{s:,}' for s in h['fitted_on'])}):"
        f" offers received {h['offers_received_bytes_growth_per_tenfold'] / 1e3:+,.0f} KB a day,"
        f" entries stored {h['entries_stored_per_day_growth_per_tenfold']:+,.0f} a day, session"
        f" start {h['session_start_bytes_growth_per_tenfold'] / 1e3:+.1f} KB"
    )
    print(
        f"at {EUROPE:,} schools (extrapolated), a school: {h['received_mb_per_day']} MB received"
        f" and {h['sent_mb_per_day']} MB sent a day (profiles {h['profiles_mb_per_day']} MB),"
        f" {e['school_gb_per_year']} GB stored after a year, session start"
        f" {e['session_start_kb']} KB ({h['session_start_day_apart_kb']} KB a day apart),"
        f" search reach {e['search_reach']:.2%} with hubs, {e['search_reach_no_hubs']:.2%}"
        f" without; a hub {e['hub_mb_per_day']:,} MB a day, {h['hub_gb_per_year']} GB a year;"
        f" without hubs a school {n['received_mb_per_day']} MB received a day",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 and 1,000 nodes (seconds)")
    parser.add_argument("--seed", type=int, default=7, help="graph and posters (default 7)")
    parser.add_argument(
        "--deferred-relay",
        action="store_true",
        help="relay only after handling all of a round's messages (a design to compare)",
    )
    args = parser.parse_args()
    if args.quick:
        sizes, echo_sizes, posts = [300, 1000], [300, 1000], 10
        week_sizes, week_offers = [500, 2000], 20
    else:
        sizes, echo_sizes, posts = [1000, 3000, 10_000, 30_000], [1000, 3000, 10_000], 20
        week_sizes, week_offers = [1000, 10_000, 100_000], 100
    print("as specified in docs/protocol.md (protocol/replication.py):")
    results = run_sizes(sizes, posts, args.seed, echo=False, deferred=args.deferred_relay)
    spec = report(results)
    print("with the echo the reference node had (each stored entry sent back to its sender):")
    echoed = run_sizes(echo_sizes, posts, args.seed, echo=True, deferred=args.deferred_relay)
    echo = report(echoed)
    print(
        f"each session start (clock exchange) at {EUROPE:,} authors: "
        f"{spec['clock_bytes_per_session_start'] / 1e6:.1f} MB each way"
    )
    keys = ("messages_per_node_per_entry", "bytes_per_node_per_entry", "rounds")
    result = {
        "sizes": {str(s): {k: results[s][k] for k in keys} for s in sizes},
        "extrapolated": spec,
        "echo_sizes": {str(s): {k: echoed[s][k] for k in keys} for s in echo_sizes},
        "echo_extrapolated": echo,
        "details": {str(s): results[s] for s in sizes},
        "echo_details": {str(s): echoed[s] for s in echo_sizes},
    }
    print("restricted letters (protocol/mailsync.py), one member = the writer or a recipient:")
    result["letters"] = run_letters(sizes, posts, args.seed, relayed=False)
    result["letters_relayed"] = run_letters(sizes, posts, args.seed, relayed=True)
    print(
        "a realistic week (docs/scale.md): two offers per school a week, a profile change a"
        " month; what a school holds and relays by protocol/horizon.py:"
    )
    redundancy = week.redundancy(sparse_graph(30, DEGREE, random.Random(args.seed)), 4, 10, 1)
    print(
        f"30 schools, degree {DEGREE}, everyone wanting everything: "
        f"{redundancy['copies_per_node_per_entry']} copies per node per entry once an author's "
        f"tree has formed ({redundancy['entry_equivalents_per_node_per_entry']} entry-equivalents "
        f"with the announcements), {redundancy['first_entry_copies_per_node']} for an author's "
        "first entry"
    )
    weeks = run_week(week_sizes, week_offers, args.seed)
    scale = extrapolate_week(weeks, redundancy)
    report_week(scale)
    result["week"] = {"sizes": weeks, "redundancy_30": redundancy}
    result["week_extrapolated"] = scale
    for key in (
        "school_mb_per_day",
        "school_gb_per_year",
        "session_start_kb",
        "search_reach",
        "hub_mb_per_day",
        "redundancy_30",
    ):
        result[key] = scale[key]
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
