"""protocol/horizon.py: what a node holds and to whom it relays (docs/scale.md)."""

from __future__ import annotations

import pytest

from protocol.horizon import (
    EVERYTHING,
    FETCH_AFTER_MS,
    Facts,
    Filter,
    Holding,
    Interest,
    Relay,
    holding,
    horizon,
    on_announce,
    on_body,
    wants,
)

# A chain a - b - c - d - e, and b - f: hops from a are b 1, c and f 2, d 3, e 4.
GRAPH = {
    "a": ["b"],
    "b": ["a", "c", "f"],
    "c": ["b", "d"],
    "d": ["c", "e"],
    "e": ["d"],
    "f": ["b"],
}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"a", "b", "c", "f"}),
        ({"hops": 0}, {"a"}),
        ({"hops": 1}, {"a", "b"}),
        ({"hops": 3}, {"a", "b", "c", "f", "d"}),
        ({"followed": ["e"]}, {"a", "b", "c", "f", "e"}),
        # A blocked school is never in the horizon, nor reached through.
        ({"blocked": ["b"]}, {"a"}),
        ({"blocked": ["c"], "hops": 3}, {"a", "b", "f"}),
        ({"blocked": ["e"], "followed": ["e"]}, {"a", "b", "c", "f"}),
        # A school a partner blocked is not reached through that partner.
        ({"blocked_by": {"b": ["c"]}}, {"a", "b", "f"}),
    ],
)
def test_horizon(kwargs: dict[str, object], expected: set[str]) -> None:
    assert horizon("a", GRAPH, **kwargs) == expected  # type: ignore[arg-type]


def test_horizon_refuses_negative_hops() -> None:
    with pytest.raises(ValueError, match="hops"):
        horizon("a", GRAPH, hops=-1)


def test_horizon_of_an_unknown_school_is_itself() -> None:
    assert horizon("z", GRAPH) == {"z"}


OFFER = Facts(
    "far",
    "offer",
    country="FR",
    region="Bretagne",
    language="fr",
    phase="primary",
    activity="observation",
    subjects=frozenset({"maths", "science"}),
)
REGION = Filter(regions=frozenset({"Bretagne"}), phases=frozenset({"primary"}))


@pytest.mark.parametrize(
    ("flt", "matches"),
    [
        (EVERYTHING, True),
        (REGION, True),
        (Filter(regions=frozenset({"Bretagne"}), phases=frozenset({"secondary"})), False),
        (Filter(countries=frozenset({"FR", "ES"})), True),
        (Filter(countries=frozenset({"ES"})), False),
        (Filter(languages=frozenset({"fr"}), subjects=frozenset({"maths"})), True),
        (Filter(subjects=frozenset({"history"})), False),
        (Filter(kinds=frozenset({"request"})), False),
        (Filter(activities=frozenset({"observation", "visit"})), True),
        (Filter(activities=frozenset({"visit"})), False),
    ],
)
def test_filter(flt: Filter, matches: bool) -> None:
    assert flt.matches(OFFER) is matches


def fact(author: str, kind: str = "offer", region: str = "Bretagne") -> Facts[str]:
    return Facts(author, kind, country="FR", region=region, phase="primary")


MINE = Interest(frozenset({"me", "partner"}), (REGION,))


@pytest.mark.parametrize(
    ("facts", "target_held", "expected"),
    [
        (fact("partner"), False, Holding.WHOLE_LOG),
        (fact("partner", region="Alsace"), False, Holding.WHOLE_LOG),
        (fact("far"), False, Holding.LOOSE),
        (fact("far", region="Alsace"), False, Holding.NONE),
        (fact("far", "profile", region="Alsace"), False, Holding.PROFILE),
        # A withdrawal travels with what it withdraws.
        (fact("far", "withdraw"), True, Holding.LOOSE),
        (fact("far", "withdraw"), False, Holding.NONE),
        (fact("partner", "withdraw"), False, Holding.WHOLE_LOG),
    ],
)
def test_holding(facts: Facts[str], target_held: bool, expected: Holding) -> None:
    assert holding(facts, MINE, target_held=target_held) is expected


@pytest.mark.parametrize(
    ("interest", "facts", "expected"),
    [
        (None, fact("far", region="Alsace"), True),  # today's nodes declare nothing
        (MINE, fact("far", region="Alsace"), False),
        (MINE, fact("far"), True),
        (Interest(frozenset(), ()), fact("far"), False),
        (Interest(frozenset(), ()), fact("far", "profile"), True),
        (Interest(frozenset(), (EVERYTHING,)), fact("far", region="Alsace"), True),  # a hub
    ],
)
def test_wants(interest: Interest[str] | None, facts: Facts[str], expected: bool) -> None:
    assert wants(interest, facts) is expected


PEERS = ["p1", "p2", "p3", "p4"]


def everyone(_: str) -> bool:
    return True


@pytest.mark.parametrize(
    ("source", "holders", "wanting", "eager", "lazy"),
    [
        (None, (), PEERS, ("p1", "p2"), ("p3", "p4")),
        ("p1", (), PEERS, ("p2",), ("p3", "p4")),  # the eager set is fixed at first sight
        (None, ("p2",), PEERS, ("p1",), ("p3", "p4")),
        (None, (), ["p3"], (), ("p3",)),  # only peers that want it
        (None, (), [], (), ()),
    ],
)
def test_first_plan(
    source: str | None,
    holders: tuple[str, ...],
    wanting: list[str],
    eager: tuple[str, ...],
    lazy: tuple[str, ...],
) -> None:
    relay: Relay[str] = Relay()
    relay.plan("author", PEERS, lambda p: True)  # fixes the eager set: p1, p2
    plan = relay.plan("author", PEERS, wanting.__contains__, source=source, holders=holders)
    assert (plan.eager, plan.lazy) == (eager, lazy)


def test_eager_set_is_per_author_and_at_most_two() -> None:
    relay: Relay[str] = Relay()
    assert relay.plan("x", PEERS, everyone).eager == ("p1", "p2")
    assert relay.plan("y", PEERS, everyone, source="p1").eager == ("p2", "p3")
    assert relay.plan("x", PEERS, everyone, source="p3").eager == ("p1", "p2")


def test_prune_is_not_replaced_and_a_graft_always_joins() -> None:
    relay: Relay[str] = Relay()
    relay.plan("x", PEERS, everyone)
    relay.prune("x", "p1")
    plan = relay.plan("x", PEERS, everyone)
    assert plan.eager == ("p2",)
    assert plan.lazy == ("p1", "p3", "p4")
    relay.graft("x", "p4")
    assert relay.plan("x", PEERS, everyone).eager == ("p2", "p4")
    relay.graft("x", "p3")  # past MAX_EAGER: it lacked the entry, it gets the next whole
    assert relay.plan("x", PEERS, everyone).eager == ("p2", "p4", "p3")
    relay.graft("x", "p4")  # twice is once
    relay.prune("x", "p2")
    relay.prune("x", "p2")
    relay.prune("x", "p3")
    assert relay.plan("x", PEERS, everyone).eager == ("p4",)
    relay.prune("y", "p1")  # an author never seen: nothing to prune, no error
    assert relay.plan("y", PEERS, everyone).eager == ("p1", "p2")


@pytest.mark.parametrize(
    ("held", "wanted", "expected"),
    [
        (False, True, 1000 + FETCH_AFTER_MS),
        (True, True, None),
        (False, False, None),
        (True, False, None),
    ],
)
def test_on_announce(held: bool, wanted: bool, expected: int | None) -> None:
    assert on_announce(held=held, wanted=wanted, announced_ms=1000) == expected


def test_a_body_already_held_is_a_duplicate() -> None:
    assert on_body(held=True) is True
    assert on_body(held=False) is False


def test_a_peer_that_connected_after_the_set_was_fixed_fills_a_free_place() -> None:
    """A node's sessions open one by one: an author's set fixed while only p1 was
    connected (and p1 sent it) takes p2 when p2 is first seen, but a pruned peer is
    still never replaced by one that was there all along."""
    relay: Relay[str] = Relay()
    assert relay.plan("x", ["p1"], everyone, source="p1").eager == ()
    assert relay.plan("x", ["p1", "p2"], everyone, source="p1").eager == ("p2",)
    assert relay.plan("x", ["p1", "p2", "p3"], everyone, source="p1").eager == ("p2", "p3")
    relay.prune("x", "p3")
    plan = relay.plan("x", ["p1", "p2", "p3"], everyone)
    assert (plan.eager, plan.lazy) == (("p2",), ("p1", "p3"))
    assert relay.plan("x", ["p1", "p2", "p3", "p4"], everyone).eager == ("p2", "p4")


def test_known_peers_are_shared_while_the_sessions_do_not_change() -> None:
    relay: Relay[str] = Relay()
    for author in ("x", "y", "z"):
        relay.plan(author, PEERS, everyone)
    assert relay.known["x"] is relay.known["y"] is relay.known["z"]


def test_a_peer_grafted_then_pruned_is_not_new_again() -> None:
    """The set formed by grafts (a session start's pushes) before any plan: a peer
    pruned from it is known, so it does not come back as a peer seen for the first time."""
    relay: Relay[str] = Relay()
    relay.graft("x", "p1")
    relay.prune("x", "p1")
    plan = relay.plan("x", ["p1"], everyone)
    assert (plan.eager, plan.lazy) == ((), ("p1",))


def test_known_peers_are_shared_across_authors_pushed_to_one_peer() -> None:
    """A session start pushes thousands of authors to one new peer: their known sets
    are one object, not one each."""
    relay: Relay[str] = Relay()
    for n in range(100):
        relay.graft(f"author {n}", "p1")
    assert len({id(s) for s in relay.known.values()}) == 1


def test_a_peer_no_longer_a_partner_leaves_every_eager_set_and_a_new_one_fills_its_place() -> None:
    relay: Relay[str] = Relay()
    relay.plan("x", ["p1", "p2"], everyone)
    relay.plan("y", ["p1", "p3"], everyone)
    relay.graft("z", "p2")
    relay.keep_only({"p2", "p3", "p4"})  # p1 removed or blocked
    assert relay.eager == {"x": ["p2"], "y": ["p3"], "z": ["p2"]}
    assert relay.plan("x", ["p2", "p4"], everyone).eager == ("p2", "p4")  # the freed place


def test_a_blocked_school_leaves_no_eager_set_behind() -> None:
    relay: Relay[str] = Relay()
    relay.plan("x", ["p1", "p2"], everyone)
    relay.plan("y", ["p1", "p2"], everyone)
    relay.forget_author("x")
    assert set(relay.eager) == {"y"}
    assert set(relay.known) == {"y"}
    relay.forget_author("never seen")  # nothing to forget, no error
