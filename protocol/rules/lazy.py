"""What a node does with a peer's ``have``, ``want`` and ``prune`` frames (docs/protocol.md,
"Eager push and lazy announcements"; docs/scale.md, Decision 2).

Everything a peer says in them is untrusted, however well signed its session:

- a ``have`` only tells us where the peer says its log of an author ends. We never
  fetch what we hold, nor a blocked school's entries, nor ask one peer more than once
  per announced number (a peer announcing an entry that does not exist gets one
  ``want``, then nothing), and what waits on one peer's announcements is bounded
  (:data:`MAX_FETCHES`): announcements past it are asked for at once, without
  waiting (one ``want`` pair for one ``have`` pair: nothing is dropped, nothing grows).
  An entry announced by several peers is asked of one at a time;
- a ``want`` is served exactly as the sync serves a clock pair: the author's public
  log entries above the peer's head, through the ordinary batches. It never names a
  letter, and a blocked school's entries or an author we do not hold are never sent
  (:func:`serve`); it grafts the peer only when there is something to send;
- a ``prune`` can only move the peer itself from our eager set to announcements
  (protocol.horizon.Relay.prune), which costs nobody else anything, and never creates
  state for an author we have no eager set of.

Pure: the node (node/net/relay.py) reads heads and the clock and sends what these say.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from protocol.horizon import FETCH_AFTER_MS, on_announce
from protocol.keys import NodeId

N = TypeVar("N", bound=Hashable)

#: Authors waiting on one peer's announcements: past this, what it announces is asked
#: for at once instead of 2 s later.
MAX_FETCHES = 4096


def fetch_due(*, announced: int, held: int, blocked: bool, asked: int, now_ms: int) -> int | None:
    """When to ask for an author's entries up to ``announced`` that a peer announced:
    None when we hold them (``held``: our head), the author is blocked, or we already
    asked this peer for that number or a later one (``asked``: 0 if never)."""
    if announced <= asked:
        return None
    return on_announce(held=held >= announced, wanted=not blocked, announced_ms=now_ms)


def serve(*, their_head: int, our_head: int, blocked: bool) -> bool:
    """Whether to send a peer that wants an author's entries above ``their_head``
    anything (and graft it): only when we hold more of the author's log, and never a
    blocked school's."""
    return not blocked and our_head > their_head


@dataclass
class Waiting(Generic[N]):
    """An author announced to us that we lack: when to fetch it, the peers that announced
    it, each with its own number (the first first), and those asked, with the number each
    was asked for (its own: never what another peer claimed)."""

    due: int
    seqs: dict[N, int]
    tried: dict[N, int] = field(default_factory=dict)

    def askable(self, head: int) -> list[N]:
        """The announcers that claim more than ``head`` and were not asked for as much."""
        return [p for p, s in self.seqs.items() if s > head and s > self.tried.get(p, 0)]


@dataclass
class Fetches(Generic[N]):
    """The node's announcements waiting to be fetched if nothing brings them first.

    One per node (node/net/relay.py), so that an entry announced by several peers is
    asked for once, of one of them (Plumtree fetches from the first announcer):

    - :meth:`announce` schedules an author FETCH_AFTER_MS after its first announcement,
      unless :func:`fetch_due` says no, and remembers every peer that announced it;
      what waits on one peer's first announcement is bounded (``limit``), so a flood
      from one peer never crowds out the others'; past it, :meth:`announce` returns
      the pairs to ask that peer for at once;
    - :meth:`due` takes those whose time has come, and :meth:`wants` turns them into
      the ``[author, our head]`` pairs of one ``want`` per peer for those still lacking.
      It asks one announcer at a time, of those that announced more than we hold, and
      records it as asked for the number IT announced (a rogue's huge number for the
      same author must not make us ignore an honest peer's next announcements);
      never the same twice for a number, and not the
      one asked last time for that author if another announced it too (a peer we keep
      fetching from did not have room for us in its eager set: another may). If
      announcers are left, the author waits FETCH_AFTER_MS more for the answer, then
      the next is asked; none left, it is dropped (the next session start catches up).
    """

    limit: int = MAX_FETCHES
    waiting: dict[NodeId, Waiting[N]] = field(default_factory=dict)
    owners: dict[NodeId, N] = field(default_factory=dict)  # author -> first announcer
    counts: dict[N, int] = field(default_factory=dict)  # waiting authors per first announcer
    #: (peer, author) -> the highest number the peer announced and was asked for;
    #: cleared when its session ends (:meth:`forget`).
    asked: dict[tuple[N, NodeId], int] = field(default_factory=dict)
    last: dict[NodeId, N] = field(default_factory=dict)  # author -> peer asked last time

    def announce(
        self,
        peer: N,
        heads: Iterable[tuple[NodeId, int]],
        held: Mapping[NodeId, int],
        blocked: Collection[NodeId],
        now_ms: int,
    ) -> list[tuple[NodeId, int]]:
        """Schedule the ``(author, seq)`` pairs ``peer`` announced. Returns the
        ``(author, our head)`` pairs to ask it for at once: those past the bound of
        authors waiting on its announcements (remembered as asked, as by :meth:`wants`)."""
        now: list[tuple[NodeId, int]] = []
        for author, seq in heads:
            when = fetch_due(
                announced=seq,
                held=held.get(author, 0),
                blocked=author in blocked,
                asked=self.asked.get((peer, author), 0),
                now_ms=now_ms,
            )
            if when is None:
                continue
            waiting = self.waiting.get(author)
            if waiting is not None:
                # Already waiting: a later number keeps the time; another announcer is
                # one more peer to ask if the first does not answer.
                waiting.seqs[peer] = max(seq, waiting.seqs.get(peer, 0))
            elif self.counts.get(peer, 0) >= self.limit:
                self.asked[(peer, author)] = seq
                self.last[author] = peer
                now.append((author, held.get(author, 0)))
            else:
                self.waiting[author] = Waiting(when, {peer: seq})
                self.owners[author] = peer
                self.counts[peer] = self.counts.get(peer, 0) + 1
        self._bound()
        return now

    def forget(self, peer: N) -> None:
        """``peer``'s session ended: it can no longer be asked, and what it was asked
        for is forgotten (its next session's announcements are judged afresh)."""
        for author, waiting in list(self.waiting.items()):
            if waiting.seqs.pop(peer, None) is not None:
                waiting.tried.pop(peer, None)
                if not waiting.askable(0):
                    self._drop(author)
        for key in [k for k in self.asked if k[0] == peer]:
            del self.asked[key]
        for author in [a for a, p in self.last.items() if p == peer]:
            del self.last[author]

    def unask(self, peer: N, authors: Iterable[NodeId]) -> None:
        """The ``want`` of these authors to ``peer`` was not sent (its queue was full, or
        its session went): they are no longer recorded as asked of it."""
        for author in authors:
            self.asked.pop((peer, author), None)
            if self.last.get(author) == peer:
                del self.last[author]

    def postpone(self, now_ms: int, delay_ms: int) -> None:
        """The fetches due by ``now_ms`` could not be made (the store could not be
        read): try them ``delay_ms`` later, not at once."""
        for waiting in self.waiting.values():
            if waiting.due <= now_ms:
                waiting.due = now_ms + delay_ms

    def next_due(self) -> int | None:
        return min((w.due for w in self.waiting.values()), default=None)

    def due(self, now_ms: int) -> dict[NodeId, Waiting[N]]:
        """The authors whose fetch time has come (they stay waiting until :meth:`wants`)."""
        return {a: w for a, w in self.waiting.items() if w.due <= now_ms}

    def wants(
        self,
        ready: Mapping[NodeId, Waiting[N]],
        held: Mapping[NodeId, int],
        blocked: Collection[NodeId],
        now_ms: int,
    ) -> dict[N, list[tuple[NodeId, int]]]:
        """For each peer to ask, the sorted ``(author, our head)`` pairs of its ``want``:
        the ready authors still lacking, each asked of one announcer (see the class)."""
        out: dict[N, list[tuple[NodeId, int]]] = {}
        for author in sorted(ready, key=bytes):
            waiting = ready[author]
            head = held.get(author, 0)
            untried = waiting.askable(head)
            if author in blocked or not untried:
                self._drop(author)
                continue
            fresh = [p for p in untried if p != self.last.get(author)]
            peer = (fresh or untried)[0]
            seq = waiting.seqs[peer]  # its own number, not the highest any peer claimed
            waiting.tried[peer] = seq
            self.asked[(peer, author)] = max(seq, self.asked.get((peer, author), 0))
            self.last[author] = peer
            out.setdefault(peer, []).append((author, head))
            if len(untried) > 1:
                waiting.due = now_ms + FETCH_AFTER_MS  # then the next, if still lacking
            else:
                self._drop(author)
        self._bound()
        return out

    def _bound(self) -> None:
        for table in (self.asked, self.last):
            if len(table) > 4 * self.limit:  # bounded: forget the oldest half
                for key in list(table)[: len(table) // 2]:
                    del table[key]  # type: ignore[arg-type]

    def _drop(self, author: NodeId) -> None:
        self.waiting.pop(author, None)
        owner = self.owners.pop(author, None)
        if owner is not None:
            self.counts[owner] -= 1
            if not self.counts[owner]:
                del self.counts[owner]
