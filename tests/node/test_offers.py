"""``node.offers``: each read is one trip to the database thread (issue 21, item 2)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.node import Node
from node.store.search import Filters
from protocol.errors import NotFoundError, UserInputError
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
