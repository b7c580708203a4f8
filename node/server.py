"""The node's HTTP side: what it serves, and running it until a signal stops it."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from node.node import Node
from node.partners import ADDRESS_SETTING
from node.peers import PeerManager
from protocol import PROTOCOL_VERSION

log = logging.getLogger(__name__)

NODE = web.AppKey("node", Node)
PEERS = web.AppKey("peers", PeerManager)
CAPABILITIES = ("entries-v1", "sessions-v1")


async def well_known(request: web.Request) -> web.Response:
    """``GET /.well-known/schoolmesh``: who this node is and what it speaks."""
    node = request.app[NODE]
    me = await node.identity()
    return web.json_response(
        {
            "node_id": str(me.node_id),
            "name": me.name,
            "country": me.country,
            "protocol_version": PROTOCOL_VERSION,
            "capabilities": list(CAPABILITIES),
        }
    )


async def peer(request: web.Request) -> web.StreamResponse:
    return await request.app[PEERS].accept(request)


def make_app(node: Node, peers: PeerManager) -> web.Application:
    app = web.Application()
    app[NODE] = node
    app[PEERS] = peers
    app.router.add_get("/.well-known/schoolmesh", well_known)
    app.router.add_get("/peer", peer)
    return app


async def serve(
    node: Node, *, host: str, port: int, listen: bool = True, address: str | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly.

    Shutdown order: stop accepting, close peer sessions (each finishes the batch
    it is storing), then the caller closes the store, which checkpoints the WAL.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    peers = PeerManager(node.key, node.store)
    runner = web.AppRunner(make_app(node, peers), access_log=None, shutdown_timeout=2)
    await runner.setup()
    try:
        if listen:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0]
            peers.address = address or f"http://{bound[0]}:{bound[1]}"
            await node.store.set_setting(ADDRESS_SETTING, peers.address.encode())
            print(f"Listening on http://{bound[0]}:{bound[1]}", flush=True)
        else:
            await node.store.set_setting(ADDRESS_SETTING, None)
            print("Not listening (outbound only): dialling partners only", flush=True)
        await peers.start()
        me = await node.identity()
        print(f"Node {me.name} ({me.node_id}) is running; press Ctrl-C to stop.", flush=True)
        await stop.wait()
        print("Stopping...", flush=True)
    finally:
        await peers.stop()
        await runner.cleanup()
        await node.store.set_setting(ADDRESS_SETTING, None)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
