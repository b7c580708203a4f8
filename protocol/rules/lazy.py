"""What a node does with a peer's ``have``, ``want`` and ``prune`` frames (docs/protocol.md,
"Eager push and lazy announcements"; docs/scale.md, Decision 2).

Everything a peer says in them is untrusted, however well signed its session:

- a ``have`` only tells us where the peer says its log of an author ends. We never
  fetch what we hold, nor a blocked school's entries, nor more than one fetch per
  announced number (a peer announcing an entry that does not exist gets one ``want``,
  then nothing), and the fetches waiting in one session are bounded
  (:data:`MAX_FETCHES`): announcements past it are dropped, the session start catches
  them up;
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

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from protocol.horizon import on_announce

#: Fetches waiting in one session: announcements of more authors than this, not yet
#: due, are dropped (the next session start catches them up).
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
class Fetches:
    """The announcements of one peer waiting to be fetched if nothing brings them first.

    ``announce`` schedules an author (FETCH_AFTER_MS later) unless :func:`fetch_due`
    says no; ``due`` takes those whose time has come; ``wants`` turns them into the
    ``[author, our head]`` pairs of a ``want`` for those still lacking, remembering
    what was asked so a number is asked at most once."""

    limit: int = MAX_FETCHES
    waiting: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # author -> (seq, due)
    asked: dict[bytes, int] = field(default_factory=dict)  # author -> highest seq asked

    def announce(
        self,
        heads: Iterable[tuple[bytes, int]],
        held: Mapping[bytes, int],
        blocked: Collection[bytes],
        now_ms: int,
    ) -> int:
        """Schedule the announced ``(author, seq)`` pairs; returns how many were dropped
        because the table was full."""
        dropped = 0
        for author, seq in heads:
            when = fetch_due(
                announced=seq,
                held=held.get(author, 0),
                blocked=author in blocked,
                asked=self.asked.get(author, 0),
                now_ms=now_ms,
            )
            if when is None:
                continue
            old = self.waiting.get(author)
            if old is not None:
                # A later number of an author already waiting: the fetch keeps its time.
                self.waiting[author] = (max(seq, old[0]), old[1])
            elif len(self.waiting) >= self.limit:
                dropped += 1
            else:
                self.waiting[author] = (seq, when)
        return dropped

    def next_due(self) -> int | None:
        return min((when for _, when in self.waiting.values()), default=None)

    def due(self, now_ms: int) -> dict[bytes, int]:
        """Take the authors whose fetch time has come: author -> announced seq."""
        ready = {a: seq for a, (seq, when) in self.waiting.items() if when <= now_ms}
        for author in ready:
            del self.waiting[author]
        return ready

    def wants(
        self, ready: Mapping[bytes, int], held: Mapping[bytes, int], blocked: Collection[bytes]
    ) -> list[list[object]]:
        """The sorted ``[author, our head]`` pairs to ask for: the authors still
        lacking what was announced. The asked numbers are remembered."""
        pairs: list[list[object]] = []
        for author in sorted(ready):
            seq, head = ready[author], held.get(author, 0)
            if head >= seq or author in blocked:
                continue
            self.asked[author] = max(seq, self.asked.get(author, 0))
            pairs.append([author, head])
        if len(self.asked) > 4 * self.limit:  # bounded: forget the oldest half
            for author in list(self.asked)[: len(self.asked) // 2]:
                del self.asked[author]
        return pairs
