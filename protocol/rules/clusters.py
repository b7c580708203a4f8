"""Who may send which moderation-cluster letter, and when a grade may be seen.

A cluster belongs to the school that made it (its *maker*): only the maker lists
its schools, and a cluster we do not hold yet is taken only from one of our
partner schools, as an *invitation* that our staff accept (or leave), and only
while that maker has fewer than :data:`MAX_OPEN` clusters open here. Samples,
commitments and reveals come only from the cluster's schools, about samples of
that same cluster, up to :data:`MAX_BYTES` of samples a cluster. Nothing of ours
goes to a cluster we have not accepted (:func:`takes_part`), and our samples and
grades go only to schools we know (:func:`recipients`): a maker cannot list
throwaway keys to collect them.

No school sees another's grade before giving its own, even against a hostile
node, by commit-then-reveal (docs/decisions.md, "Moderation clusters"): a school
grading a sample first sends a *commitment*, the hash :func:`commitment` of its
grade, comment and 32 random bytes (the salt); it sends the grade itself (the
*reveal*) to a school only once it holds that school's commitment for the
sample (:func:`may_reveal`). A reveal that does not hash to the commitment we
hold is refused, so a school can never change its grade after seeing others',
and a commitment, once given, is never replaced.

Each function takes the letter's author and the fields it needs, and small
views of what our node holds, and returns ``None`` (allowed) or a
:class:`~protocol.rules.Refusal`. A repeat of what we hold is allowed (it
changes nothing).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from protocol import codec
from protocol.keys import NodeId, content_hash
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.projects import at_in_bounds

#: Most samples in one cluster (and most commitments one school may hold there
#: for samples we have not received yet).
MAX_SAMPLES = 200

#: Most clusters one maker may have open at our node (invited or accepted, not left).
MAX_OPEN = 10

#: Most bytes of samples, as sent, in one cluster at our node.
MAX_BYTES = 50 * 1024 * 1024
#: Most bytes of samples a cluster holds here while it is an invitation our staff have
#: not accepted: a maker cannot fill a small school's disk before anyone said yes.
MAX_INVITED_BYTES = 5 * 1024 * 1024

#: A cluster's state at our node: an invitation, accepted (or ours), or left.
INVITED, MEMBER, LEFT = "invited", "member", "left"

#: The first bytes of each file type a sample may be.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
}

#: Bound into every commitment, so a hash made for anything else never matches.
COMMITMENT_LABEL = "schoolmesh/cluster-grade/1"


def commitment(
    cluster: str, sample: str, school: NodeId, grade: str, comment: str, salt: bytes
) -> bytes:
    """BLAKE2b-256 of the canonical msgpack array
    ``[label, cluster, sample, school's node id, grade, comment, salt]``."""
    return content_hash(
        codec.encode([COMMITMENT_LABEL, cluster, sample, bytes(school), grade, comment, salt])
    )


@dataclass(frozen=True, slots=True)
class HeldCluster:
    """A cluster as our node holds it."""

    maker: NodeId
    rev: int
    schools: frozenset[NodeId]
    state: str = MEMBER


@dataclass(frozen=True, slots=True)
class HeldSample:
    """A sample our node holds."""

    cluster: str
    origin: NodeId  # the school that shared it
    digest: bytes


def _as_member(author: NodeId, me: NodeId, what: str, held: HeldCluster | None) -> Verdict:
    if held is None:
        return refused(f"a {what} letter about a cluster we do not hold")
    if me not in held.schools:
        return refused(f"a {what} letter about a cluster we are not in")
    if author not in held.schools:
        return refused(f"a {what} letter from a school that is not in the cluster")
    return None


def cluster_letter(
    author: NodeId,
    me: NodeId,
    *,
    schools: tuple[NodeId, ...],
    rev: int,
    held: HeldCluster | None,
    partner: bool,
    open_by_maker: int = 0,
) -> Verdict:
    """A cluster's list of schools: from its maker (listed first), never older.

    A cluster we do not hold arrives only from one of our partner schools, which
    becomes its maker here: an id is bound to the first maker we hear it from. It
    is an invitation, refused if that maker already has :data:`MAX_OPEN` clusters
    open here (``open_by_maker``)."""
    if held is not None and author != held.maker:
        return refused("a cluster letter from a school that did not make the cluster")
    if not schools or schools[0] != author:
        return refused("a cluster letter that does not list its maker first")
    if me not in schools:
        return refused("a cluster letter that does not list us")
    if held is None:
        if not partner:
            return refused("a cluster from a school that is not our partner")
        if open_by_maker >= MAX_OPEN:
            return Refusal(OUT_OF_BOUNDS, f"more than {MAX_OPEN} open clusters from one school")
        return None
    if rev < held.rev or (rev == held.rev and frozenset(schools) != held.schools):
        return refused(f"an old revision {rev} of a cluster we hold at revision {held.rev}")
    return None


def file_type_problem(kind: str, data: bytes) -> str | None:
    """Why ``data`` is not a file of type ``kind`` (its first bytes), or None."""
    starts = MAGIC.get(kind)
    if starts is None:
        return f"{kind} is not a type a sample may be"
    if not data.startswith(starts):
        return f"a sample said to be {kind} whose bytes are not"
    return None


def sample_letter(
    author: NodeId,
    me: NodeId,
    cluster: str,
    *,
    held: HeldCluster | None,
    existing: HeldSample | None,
    kind: str,
    data: bytes,
    digest: bytes,
    at: int,
    now: int,
    count: int,
    held_bytes: int = 0,
    max_bytes: int = MAX_BYTES,
) -> Verdict:
    """A work sample: from a school of the cluster, a PDF or JPEG that is what it says,
    whose hash is right, under an id no other school or cluster holds, while the
    cluster holds fewer than :data:`MAX_SAMPLES` samples and, with it, at most
    ``max_bytes`` (:data:`MAX_BYTES`; ``held_bytes``: what it holds now), or
    :data:`MAX_INVITED_BYTES` while the cluster is an invitation not yet accepted."""
    verdict = _as_member(author, me, "cluster-sample", held) or at_in_bounds(at, now)
    if verdict is not None:
        return verdict
    problem = file_type_problem(kind, data)
    if problem is not None:
        return refused(problem)
    if content_hash(data) != digest:
        return refused("a sample whose hash does not match its bytes")
    if existing is not None:
        if existing.origin != author or existing.cluster != cluster:
            return refused("a sample whose id we hold as another school's or cluster's")
        if existing.digest != digest:
            return refused("a sample that changes a file already shared")
        return None
    if count >= MAX_SAMPLES:
        return Refusal(OUT_OF_BOUNDS, f"more than {MAX_SAMPLES} samples in one cluster")
    if held is not None and held.state == INVITED:
        max_bytes = min(max_bytes, MAX_INVITED_BYTES)
    if held_bytes + len(data) > max_bytes:
        return Refusal(OUT_OF_BOUNDS, f"more than {max_bytes:,} bytes of samples in a cluster")
    return None


def commit_letter(
    author: NodeId,
    me: NodeId,
    cluster: str,
    *,
    held: HeldCluster | None,
    sample: HeldSample | None,
    existing: bytes | None,
    given: bytes,
    pending: int,
) -> Verdict:
    """A school's sealed grade for a sample: from a school of the cluster, once.

    A commitment for a sample we do not hold yet is kept (the sample comes from
    another school, in no set order), up to :data:`MAX_SAMPLES` of them."""
    verdict = _as_member(author, me, "cluster-commit", held)
    if verdict is not None:
        return verdict
    if sample is not None and sample.cluster != cluster:
        return refused("a commitment for a sample of another cluster")
    if existing is not None:
        if existing != given:
            return refused("a commitment that replaces a grade the school already gave")
        return None
    if sample is None and pending >= MAX_SAMPLES:
        return Refusal(OUT_OF_BOUNDS, f"more than {MAX_SAMPLES} commitments for unknown samples")
    return None


def reveal_letter(
    author: NodeId,
    me: NodeId,
    cluster: str,
    sample_id: str,
    *,
    held: HeldCluster | None,
    sample: HeldSample | None,
    committed: bytes | None,
    ours_given: bool,
    grade: str,
    comment: str,
    salt: bytes,
) -> Verdict:
    """A school's grade for a sample: only after its commitment, matching it, and
    only once we gave our own (an honest school sends it no sooner)."""
    verdict = _as_member(author, me, "cluster-reveal", held)
    if verdict is not None:
        return verdict
    if sample is not None and sample.cluster != cluster:
        return refused("a reveal for a sample of another cluster")
    if committed is None:
        return refused("a grade from a school whose commitment we do not hold")
    if not ours_given:
        return refused("a grade sent to us before we gave our own")
    if commitment(cluster, sample_id, author, grade, comment, salt) != committed:
        return refused("a grade that does not match the school's commitment")
    return None


def may_reveal(
    school: NodeId, *, schools: Collection[NodeId], committed: Collection[NodeId]
) -> bool:
    """Whether we may send our grade for a sample to ``school``: it is in the
    cluster and we hold its commitment for that sample."""
    return school in schools and school in committed


def shows_others(ours_given: bool) -> bool:
    """Whether a page shows the other schools' grades for a sample: only once ours is given."""
    return ours_given


def takes_part(state: str) -> bool:
    """Whether we share samples and grades in a cluster (send anything of ours to it):
    only once our staff accepted it (or we made it), never while invited or after leaving."""
    return state == MEMBER


def recipients(
    schools: Collection[NodeId], me: NodeId, *, known: Collection[NodeId]
) -> list[NodeId]:
    """The schools of a cluster our samples, commitments and grades go to: each one
    but us that we know, a partner or a school whose signed profile we hold. A school
    the maker listed that we know nothing of (a throwaway key) gets nothing of ours."""
    return sorted((s for s in schools if s != me and s in known), key=bytes)
