"""``interest`` declarations (protocol/interest.py, protocol/frames.py): the digest,
filters on the wire, the frames' refusals, and the known-answer corpus
tests/vectors/interest.json with docs/protocol.md ("Interest") beside it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from protocol import frames, interest
from protocol.errors import DecodeError
from protocol.horizon import EVERYTHING, Filter
from tests.vectors import generate_interest as generate

ROOT = Path(__file__).resolve().parents[2]
CORPUS: dict[str, Any] = json.loads((ROOT / "tests/vectors/interest.json").read_text("utf-8"))
DOC = re.sub(r"\s+", "", (ROOT / "docs/protocol.md").read_text("utf-8"))
A, B, C = (bytes([n]) * 32 for n in (1, 2, 3))


def test_the_file_is_what_the_generator_writes() -> None:
    assert generate.main(["--check"]) == 0


def test_the_digest_is_of_the_sorted_ids() -> None:
    ids = b"".join(bytes.fromhex(x) for x in CORPUS["horizon_hex"])
    expected = hashlib.blake2b(ids, digest_size=32, person=b"schoolmesh-hz").hexdigest()
    assert CORPUS["digest_hex"] == expected
    assert interest.digest([C, A, B]) == interest.digest([A, B, C, A])


def test_the_frames_decode_and_are_printed_in_the_protocol() -> None:
    decoded = [frames.decode(bytes.fromhex(f["hex"])) for f in CORPUS["frames"]]
    whole, short, ask = decoded
    assert isinstance(whole, frames.Interest)
    assert isinstance(short, frames.Interest)
    assert isinstance(ask, frames.InterestAsk)
    assert whole.horizon == [bytes.fromhex(x) for x in CORPUS["horizon_hex"]]
    assert short.horizon is None
    assert whole.digest == short.digest == ask.digest
    assert [interest.parse_filter(t) for t in whole.filters] == generate.FILTERS
    for frame in CORPUS["frames"]:
        assert frame["hex"] in DOC, f"docs/protocol.md does not print the {frame['name']} frame"
    assert CORPUS["digest_hex"] in DOC


@pytest.mark.parametrize(
    "one",
    [
        EVERYTHING,
        Filter(regions=frozenset({"Île-de-France"}), phases=frozenset({"primary", "secondary"})),
        Filter(focus=frozenset({"reading"}), kinds=frozenset({"offer"})),
    ],
)
def test_filters_round_trip(one: Filter) -> None:
    assert interest.parse_filter(interest.filter_terms(one)) == one


@pytest.mark.parametrize(
    "terms",
    [
        "regions=North",  # not a list
        ["regions"],  # no '='
        ["colours=red"],  # not a field
        ["regions="],  # empty value
        ["regions=" + "x" * 65],  # too long
        [7],
        ["phases=primary"] * 129,  # too many terms
    ],
)
def test_malformed_filters_are_refused(terms: Any) -> None:
    with pytest.raises(DecodeError) as refused:
        interest.parse_filter(terms)
    assert refused.value.code == "bad-interest"


def _frame(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "digest": interest.digest([A, B]),
        "filters": [["regions=North"]],
        "partners": [B],
        "horizon": [A, B],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "changes",
    [
        {"digest": b"short"},
        {"digest": interest.digest([A])},  # not the horizon's
        {"horizon": [A, A]},
        {"horizon": [b"x" * 31]},
        {"horizon": [A] * 4097},
        {"partners": [A] * 257},
        {"partners": "everyone"},
        {"filters": [["regions=North"]] * 17},
        {"filters": [["nonsense"]]},
    ],
)
def test_malformed_declarations_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as refused:
        frames.Interest(**_frame(**changes))
    assert refused.value.code == "bad-interest"


def test_a_declaration_within_the_limits_is_taken() -> None:
    frames.Interest(**_frame())
    frames.Interest(**_frame(horizon=None, digest=b"\0" * 32))  # a digest alone
