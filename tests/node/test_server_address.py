"""The address a node advertises is one that partners accept (docs/protocol.md, "Addresses")."""

from pathlib import Path

import pytest

from node.net.server import NodeService
from node.node import Node
from protocol.address import address_problem
from protocol.errors import UserInputError


@pytest.mark.parametrize(
    "address", ["mesh.oakfield.example.org:8470", "http://user@host:1", "http://a:1\nforged"]
)
async def test_an_address_partners_would_refuse_stops_the_node_before_it_starts(
    tmp_path: Path, address: str
) -> None:
    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        service = NodeService(node)
        with pytest.raises(UserInputError, match="--address") as caught:
            await service.start(address=address)
        assert "\n" not in str(caught.value)
    finally:
        await node.close()


async def test_a_node_listening_on_ipv6_advertises_its_address_in_brackets(tmp_path: Path) -> None:
    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    service = NodeService(node)
    try:
        try:
            await service.start(host="::1")
        except UserInputError:
            pytest.skip("no IPv6 loopback on this machine")
        assert service.address is not None
        assert service.address.startswith("http://[::1]:")
        assert address_problem(service.address) is None
    finally:
        await service.stop()
        await node.close()
