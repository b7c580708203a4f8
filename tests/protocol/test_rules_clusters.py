"""Moderation clusters: the rule table, row by row (protocol/rules/clusters.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from protocol.keys import NodeId, content_hash
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import clusters as rules
from protocol.rules.clusters import HeldCluster, HeldSample

ME, MAKER, MEMBER, OUTSIDER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3, 4))
C, OTHER_C, S = "a" * 32, "b" * 32, "c" * 32
NOW = 1_800_000_000_000
HELD = HeldCluster(MAKER, 1, frozenset({MAKER, ME, MEMBER}))
WITHOUT_US = HeldCluster(MAKER, 1, frozenset({MAKER, MEMBER}))
PDF = b"%PDF-1.4 work"
JPEG = b"\xff\xd8\xff\xe0 pixels"
SALT = bytes(32)


@pytest.mark.parametrize(
    ("author", "schools", "rev", "held", "partner", "code"),
    [
        (MAKER, (MAKER, ME, MEMBER), 1, None, True, None),
        (MAKER, (MAKER, ME, MEMBER), 1, HELD, True, None),  # the same again
        (MAKER, (MAKER, ME), 2, HELD, False, None),  # a newer list from the maker
        (MAKER, (MAKER, ME, MEMBER), 1, None, False, REFUSED),  # not our partner
        (MAKER, (MAKER, MEMBER), 1, None, True, REFUSED),  # does not list us
        (MAKER, (ME, MAKER), 1, None, True, REFUSED),  # its maker not first
        (MEMBER, (MAKER, ME, MEMBER), 2, HELD, True, REFUSED),  # not the maker
        (MEMBER, (MEMBER, ME, MAKER), 2, HELD, True, REFUSED),  # takes the cluster over
        (MAKER, (MAKER, ME, MEMBER), 0, HeldCluster(MAKER, 1, HELD.schools), True, REFUSED),
        (MAKER, (MAKER, ME, OUTSIDER), 1, HELD, True, REFUSED),  # same revision, new list
    ],
)
def test_cluster(
    author: NodeId,
    schools: tuple[NodeId, ...],
    rev: int,
    held: HeldCluster | None,
    partner: bool,
    code: str | None,
) -> None:
    verdict = rules.cluster_letter(author, ME, schools=schools, rev=rev, held=held, partner=partner)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("author", "held", "existing", "kind", "data", "digest", "at", "count", "code"),
    [
        (MEMBER, HELD, None, "application/pdf", PDF, None, NOW, 0, None),
        (MAKER, HELD, None, "image/jpeg", JPEG, None, NOW, 0, None),
        (MEMBER, HELD, HeldSample(C, MEMBER, content_hash(PDF)), "application/pdf", PDF, None,
         NOW, 1, None),  # the same again
        (OUTSIDER, HELD, None, "application/pdf", PDF, None, NOW, 0, REFUSED),
        (MEMBER, None, None, "application/pdf", PDF, None, NOW, 0, REFUSED),
        (MEMBER, WITHOUT_US, None, "application/pdf", PDF, None, NOW, 0, REFUSED),
        (MEMBER, HELD, None, "application/pdf", JPEG, None, NOW, 0, REFUSED),  # not a PDF
        (MEMBER, HELD, None, "image/jpeg", b"PK\x03\x04", None, NOW, 0, REFUSED),
        (MEMBER, HELD, None, "text/html", b"<script>", None, NOW, 0, REFUSED),
        (MEMBER, HELD, None, "application/pdf", PDF, bytes(32), NOW, 0, REFUSED),  # bad hash
        (MEMBER, HELD, HeldSample(C, MAKER, content_hash(PDF)), "application/pdf", PDF, None,
         NOW, 1, REFUSED),  # another school's id
        (MEMBER, HELD, HeldSample(OTHER_C, MEMBER, content_hash(PDF)), "application/pdf", PDF,
         None, NOW, 1, REFUSED),  # another cluster's
        (MEMBER, HELD, HeldSample(C, MEMBER, bytes(32)), "application/pdf", PDF, None, NOW, 1,
         REFUSED),  # a new file under the same id
        (MEMBER, HELD, None, "application/pdf", PDF, None, NOW + 3_600_000, 0, OUT_OF_BOUNDS),
        (MEMBER, HELD, None, "application/pdf", PDF, None, NOW, rules.MAX_SAMPLES, OUT_OF_BOUNDS),
    ],
)  # fmt: skip
def test_sample(
    author: NodeId,
    held: HeldCluster | None,
    existing: HeldSample | None,
    kind: str,
    data: bytes,
    digest: bytes | None,
    at: int,
    count: int,
    code: str | None,
) -> None:
    verdict = rules.sample_letter(
        author,
        ME,
        C,
        held=held,
        existing=existing,
        kind=kind,
        data=data,
        digest=content_hash(data) if digest is None else digest,
        at=at,
        now=NOW,
        count=count,
    )
    assert (verdict and verdict.code) == code


HASH, OTHER_HASH = b"h" * 32, b"x" * 32


@pytest.mark.parametrize(
    ("author", "held", "sample", "existing", "pending", "code"),
    [
        (MEMBER, HELD, HeldSample(C, MAKER, HASH), None, 0, None),
        (MEMBER, HELD, None, None, 5, None),  # the sample is on its way from another school
        (MEMBER, HELD, HeldSample(C, MAKER, HASH), HASH, 0, None),  # the same again
        (OUTSIDER, HELD, HeldSample(C, MAKER, HASH), None, 0, REFUSED),
        (MEMBER, None, None, None, 0, REFUSED),
        (MEMBER, WITHOUT_US, None, None, 0, REFUSED),
        (MEMBER, HELD, HeldSample(OTHER_C, MAKER, HASH), None, 0, REFUSED),
        (MEMBER, HELD, HeldSample(C, MAKER, HASH), OTHER_HASH, 0, REFUSED),  # a changed grade
        (MEMBER, HELD, None, None, rules.MAX_SAMPLES, OUT_OF_BOUNDS),
    ],
)
def test_commit(
    author: NodeId,
    held: HeldCluster | None,
    sample: HeldSample | None,
    existing: bytes | None,
    pending: int,
    code: str | None,
) -> None:
    verdict = rules.commit_letter(
        author, ME, C, held=held, sample=sample, existing=existing, given=HASH, pending=pending
    )
    assert (verdict and verdict.code) == code


def made(school: NodeId, grade: str = "6", comment: str = "Good", cluster: str = C) -> bytes:
    return rules.commitment(cluster, S, school, grade, comment, SALT)


@pytest.mark.parametrize(
    ("author", "held", "committed", "ours", "grade", "code"),
    [
        (MEMBER, HELD, made(MEMBER), True, "6", None),
        (MEMBER, HELD, made(MEMBER), True, "7", REFUSED),  # not what it committed to
        (MEMBER, HELD, made(MAKER), True, "6", REFUSED),  # another school's commitment
        (MEMBER, HELD, made(MEMBER, cluster=OTHER_C), True, "6", REFUSED),
        (MEMBER, HELD, None, True, "6", REFUSED),  # no commitment held
        (MEMBER, HELD, made(MEMBER), False, "6", REFUSED),  # before we gave ours
        (OUTSIDER, HELD, made(OUTSIDER), True, "6", REFUSED),
        (MEMBER, None, made(MEMBER), True, "6", REFUSED),
    ],
)
def test_reveal(
    author: NodeId,
    held: HeldCluster | None,
    committed: bytes | None,
    ours: bool,
    grade: str,
    code: str | None,
) -> None:
    verdict = rules.reveal_letter(
        author,
        ME,
        C,
        S,
        held=held,
        sample=HeldSample(C, MAKER, HASH),
        committed=committed,
        ours_given=ours,
        grade=grade,
        comment="Good",
        salt=SALT,
    )
    assert (verdict and verdict.code) == code


def test_a_reveal_for_a_sample_of_another_cluster_is_refused() -> None:
    verdict = rules.reveal_letter(
        MEMBER, ME, C, S, held=HELD, sample=HeldSample(OTHER_C, MAKER, HASH),
        committed=made(MEMBER), ours_given=True, grade="6", comment="Good", salt=SALT,
    )  # fmt: skip
    assert verdict is not None
    assert verdict.code == REFUSED


@pytest.mark.parametrize(
    ("school", "committed", "allowed"),
    [
        (MEMBER, {MEMBER}, True),
        (MEMBER, set(), False),  # its commitment is not here yet
        (OUTSIDER, {OUTSIDER}, False),  # not in the cluster
    ],
)
def test_may_reveal(school: NodeId, committed: set[NodeId], allowed: bool) -> None:
    assert rules.may_reveal(school, schools=HELD.schools, committed=committed) is allowed


def test_others_are_shown_only_once_ours_is_given() -> None:
    assert rules.shows_others(True)
    assert not rules.shows_others(False)


def test_the_commitment_binds_every_field() -> None:
    base = ("c" * 32, S, MEMBER, "6", "Good", SALT)
    first = rules.commitment(*base)
    for i, changed in enumerate(("d" * 32, "e" * 32, MAKER, "7", "Bad", b"\x01" * 32)):
        fields = list(base)
        fields[i] = changed
        assert rules.commitment(*fields) != first  # type: ignore[arg-type]


def test_the_commitment_in_docs_protocol_is_the_rules() -> None:
    """docs/protocol.md, `cluster-commit`: the worked commitment is the vectors' own."""
    from pathlib import Path

    from protocol import codec
    from tests.vectors.generate_sealed import CLUSTER_ID, GRADE, SAMPLE_ID, B

    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    array = codec.encode([rules.COMMITMENT_LABEL, CLUSTER_ID, SAMPLE_ID, bytes(B), *GRADE])
    assert array.hex() in doc
    assert rules.commitment(CLUSTER_ID, SAMPLE_ID, B, *GRADE).hex() in doc
    assert content_hash(array) == rules.commitment(CLUSTER_ID, SAMPLE_ID, B, *GRADE)


@pytest.mark.parametrize(
    ("held", "open_by_maker", "code"),
    [
        (None, 0, None),
        (None, rules.MAX_OPEN - 1, None),
        (None, rules.MAX_OPEN, OUT_OF_BOUNDS),  # an 11th open cluster from one maker
        (HELD, rules.MAX_OPEN, None),  # a new list of a cluster we hold is no new one
    ],
)
def test_open_clusters_per_maker(
    held: HeldCluster | None, open_by_maker: int, code: str | None
) -> None:
    verdict = rules.cluster_letter(
        MAKER,
        ME,
        schools=(MAKER, ME, MEMBER),
        rev=1,
        held=held,
        partner=True,
        open_by_maker=open_by_maker,
    )
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("held_bytes", "max_bytes", "state", "code"),
    [
        (0, rules.MAX_BYTES, rules.MEMBER, None),
        (rules.MAX_BYTES - len(PDF), rules.MAX_BYTES, rules.MEMBER, None),  # exactly full
        (rules.MAX_BYTES - len(PDF) + 1, rules.MAX_BYTES, rules.MEMBER, OUT_OF_BOUNDS),
        (10, 10 + len(PDF) - 1, rules.MEMBER, OUT_OF_BOUNDS),  # the node's own lower limit
        # Not accepted yet: a tenth of the room, so an invitation cannot fill a disk.
        (rules.MAX_INVITED_BYTES - len(PDF), rules.MAX_BYTES, rules.INVITED, None),
        (rules.MAX_INVITED_BYTES - len(PDF) + 1, rules.MAX_BYTES, rules.INVITED, OUT_OF_BOUNDS),
        (rules.MAX_INVITED_BYTES, rules.MAX_BYTES, rules.MEMBER, None),  # accepted: all of it
    ],
)
def test_bytes_per_cluster(held_bytes: int, max_bytes: int, state: str, code: str | None) -> None:
    verdict = rules.sample_letter(
        MEMBER,
        ME,
        C,
        held=replace(HELD, state=state),
        existing=None,
        kind="application/pdf",
        data=PDF,
        digest=content_hash(PDF),
        at=NOW,
        now=NOW,
        count=0,
        held_bytes=held_bytes,
        max_bytes=max_bytes,
    )
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("state", "takes_part"),
    [(rules.MEMBER, True), (rules.INVITED, False), (rules.LEFT, False)],
)
def test_nothing_of_ours_goes_to_a_cluster_we_have_not_accepted(
    state: str, takes_part: bool
) -> None:
    assert rules.takes_part(state) is takes_part


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        ({MAKER, MEMBER}, [MAKER, MEMBER]),
        ({MAKER}, [MAKER]),  # a listed school we know nothing of gets nothing
        (set(), []),
        ({MAKER, MEMBER, ME, OUTSIDER}, [MAKER, MEMBER]),  # never us, never outside it
    ],
)
def test_recipients_are_schools_we_know(known: set[NodeId], expected: list[NodeId]) -> None:
    assert rules.recipients([MAKER, ME, MEMBER], ME, known=known) == expected
