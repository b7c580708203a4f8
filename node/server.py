"""The node's HTTP side: what it serves, and running it until a signal stops it."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from node.node import Node
from protocol import PROTOCOL_VERSION

log = logging.getLogger(__name__)

NODE = web.AppKey("node", Node)
CAPABILITIES = ("entries-v1",)


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


def make_app(node: Node) -> web.Application:
    app = web.Application()
    app[NODE] = node
    app.router.add_get("/.well-known/schoolmesh", well_known)
    return app


async def serve(node: Node, *, host: str, port: int, listen: bool = True) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(node), access_log=None)
    await runner.setup()
    try:
        if listen:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0]
            print(f"Listening on http://{bound[0]}:{bound[1]}", flush=True)
        else:
            print("Not listening (outbound only)", flush=True)
        me = await node.identity()
        print(f"Node {me.name} ({me.node_id}) is running; press Ctrl-C to stop.", flush=True)
        await stop.wait()
        print("Stopping...", flush=True)
    finally:
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
