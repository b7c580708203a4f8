"""``node.offers``: each read is one trip to the database thread (issue 21, item 2)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.node import Node
from node.store.search import Filters
from protocol.budget import DAY_MS, Rule
from protocol.errors import NotFoundError, UserInputError
from protocol.keys import NodeId
from tests.helpers import Trips, offer_content


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    yield opened
    await opened.close()


async def test_each_read_of_offers_is_one_trip(node: Node) -> None:
    for i in range(5):
        await node.offers.post("offer", offer_content(f"Maths mastery lessons {i}"))
    request = await node.offers.post("request", offer_content("Maths mastery visit"))
    reads = {
        "listing": lambda: node.offers.listing("offer"),
        "search": lambda: node.offers.search("maths", Filters()),
        "offers page": lambda: node.offers.search("", Filters()),
        "one": lambda: node.offers.one(str(request.id)[:10]),
        "matches": lambda: node.offers.matches(),
    }
    counted = {}
    for name, read in reads.items():
        with Trips(node.store) as trips:
            await read()
        counted[name] = trips.count
    assert counted == dict.fromkeys(reads, 1)


async def test_listings_carry_their_schools_names(node: Node) -> None:
    entry = await node.offers.post("offer", offer_content("Forest school morning"))
    (listed,) = await node.offers.listing("offer")
    assert (listed.entry.id, listed.school, listed.country) == (entry.id, "Oakfield Primary", "GB")
    assert (await node.offers.one(str(entry.id))).school == "Oakfield Primary"
    (found,) = await node.offers.search("forest", Filters())
    assert found.school == "Oakfield Primary"


async def test_a_withdrawn_offer_is_gone_and_cannot_be_withdrawn_again(node: Node) -> None:
    entry = await node.offers.post("offer", offer_content("Forest school morning"))
    await node.offers.withdraw("offer", str(entry.id)[:8], "filled")
    assert await node.offers.listing("offer") == []
    with pytest.raises(NotFoundError, match="no current offer or request"):
        await node.offers.one(str(entry.id))
    with pytest.raises(UserInputError, match="already withdrawn"):
        await node.offers.withdraw("offer", str(entry.id))
    gone = await node.offers.withdrawn(str(entry.id))
    assert (gone.record.reason, gone.school) == ("filled", "Oakfield Primary")


async def test_posting_and_withdrawing_are_one_trip_each(node: Node) -> None:
    """``Store.append_local`` signs and stores in one trip (it took 10 to 13, and
    withdrawing 17 to 20): the restore check, the head, the budget, the entry, its
    search index and the head moved, in one transaction (issue 21, item 2)."""
    told: list[set[NodeId]] = []
    node.store.add_listener(told.append)
    with Trips(node.store) as trips:
        entry = await node.offers.post("offer", offer_content("Forest school morning"))
    assert trips.count == 1
    assert told == [{node.node_id}]  # the peers are told after the commit
    (found,) = await node.offers.search("forest", Filters())  # indexed in that trip
    assert found.entry.id == entry.id
    with Trips(node.store) as trips:
        await node.offers.withdraw("offer", str(entry.id)[:8], "filled")
    assert trips.count == 2  # the offer read by its id's prefix, then the withdrawal
    assert await node.offers.search("forest", Filters()) == []
    assert (await node.offers.withdrawn(str(entry.id))).record.title == "Forest school morning"


async def test_a_refused_post_is_one_trip_and_signs_nothing(node: Node) -> None:
    node.store.budgets.rule = Rule(count=2, window_ms=DAY_MS)  # the profile, and one more
    await node.offers.post("offer", offer_content("One"))
    heads = await node.store.heads()
    with Trips(node.store) as trips, pytest.raises(UserInputError, match="try again after"):
        await node.offers.post("offer", offer_content("Two"))
    assert trips.count == 1
    assert await node.store.heads() == heads
