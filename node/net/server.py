"""The node's HTTP side: what it serves, and running it until a signal stops it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from node import collector
from node.net.logs import PeerLog
from node.net.peers import PeerManager
from node.node import Node
from node.partners.peerbook import ADDRESS_SETTING
from node.store.holding import LooseSweeper
from node.store.indexer import SearchIndexer
from node.web.app import MAX_UPLOAD_BYTES, add_web_pages
from protocol import PROTOCOL_VERSION
from protocol.address import address_problem
from protocol.errors import NotFoundError, StorageError, UserInputError

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


async def feed(request: web.Request) -> web.StreamResponse:
    """A staff member's private Atom feed of a project (node/projects/feeds.py)."""
    node = request.app[NODE]
    try:
        document = await node.feeds.render(request.match_info["token"], str(request.url.origin()))
    except NotFoundError as exc:
        raise web.HTTPNotFound(text="No such feed: it may have been revoked.") from exc
    return web.Response(
        body=document,
        content_type="application/atom+xml",
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )


def make_app(node: Node, peers: PeerManager) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[NODE] = node
    app[PEERS] = peers
    app.router.add_get("/.well-known/schoolmesh", well_known)
    app.router.add_get("/peer", peer)
    app.router.add_get("/feeds/{token}", feed)
    add_web_pages(app, node, peers)
    return app


class HttpErrorLog:
    """The logger aiohttp's HTTP server writes to, bounded for requests it cannot read.

    aiohttp logs each request that is not valid HTTP (a NUL in the path, a header
    too long) at ERROR with a whole traceback: anyone who can reach the port could
    fill the disk that way. Such a request is the client's fault, so it becomes one
    bounded line per address (:class:`node.net.logs.PeerLog`); anything else goes to
    the ``aiohttp.server`` logger unchanged.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger("aiohttp.server")
        self.bounded = PeerLog(self.logger)

    def debug(self, message: str, *args: object, **kw: Any) -> None:
        self.logger.debug(message, *args, **kw)

    def exception(self, message: str, *args: object, exc_info: Any = True, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            remote = args[0] if args else "a client"
            self.bounded.info(
                remote,
                "refused a request from %s that is not valid HTTP (%d: %s)",
                remote,
                exc_info.code,
                exc_info.message,
            )
            return
        self.logger.exception(message, *args, exc_info=exc_info, **kw)


class NodeService:
    """A node serving on the network: its web application and its peer manager."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.peers = PeerManager(node.key, node.store, node.mail, node.peerbook)
        #: Indexes offers from peers after their entries are stored (node/store/indexer.py).
        self.indexer = SearchIndexer(node.store)
        #: Deletes loose entries past their dates (node/store/holding.py).
        self.sweeper = LooseSweeper(node.store)
        self._runner = web.AppRunner(
            make_app(node, self.peers),
            access_log=None,
            shutdown_timeout=2,
            logger=HttpErrorLog(),
        )
        self.address: str | None = None

    async def start(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        listen: bool = True,
        address: str | None = None,
    ) -> None:
        if address is not None and (problem := address_problem(address)) is not None:
            # Partners would refuse our hello (bad-address): say so now, not at each dial.
            raise UserInputError(
                f"--address {address!r} cannot be dialled by other schools ({problem}): "
                "give the whole base URL, such as https://mesh.yourschool.example.org "
                "or http://192.0.2.10:8470"
            )
        await self._runner.setup()
        if listen:
            site = web.TCPSite(self._runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                await self._runner.cleanup()
                reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
                raise UserInputError(
                    f"cannot listen on {host} port {port} ({reason}): is another node "
                    "running there? Choose another port with --port"
                ) from exc
            bound = self._runner.addresses[0]
            host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]  # IPv6 in brackets
            self.address = f"http://{host}:{bound[1]}"
            if address is None and ipaddress.ip_address(bound[0]).is_unspecified:
                # 0.0.0.0 is no address another school can dial: advertise none
                # rather than a wrong one; invites then ask for --address.
                log.warning("listening on all interfaces: give --address so partners can dial")
                self.peers.address = None
            else:
                self.peers.address = address or self.address
            advertised = self.peers.address.encode() if self.peers.address else None
            await self.node.store.set_setting(ADDRESS_SETTING, advertised)
        else:
            await self.node.store.set_setting(ADDRESS_SETTING, None)
        self.indexer.start()
        self.sweeper.start()
        await self.peers.start()

    async def stop(self) -> None:
        """Stop accepting, close peer sessions (each finishes the batch it is storing)."""
        # Stop listening first: a partner redialling while the sessions close would
        # otherwise be accepted into a server about to go (its socket left open).
        for site in list(self._runner.sites):
            await site.stop()
        await self.peers.stop()
        await self.indexer.stop()
        await self.sweeper.stop()
        await self._runner.cleanup()
        try:
            await self.node.store.set_setting(ADDRESS_SETTING, None)
        except StorageError as exc:  # a full disk or a damaged database: stop all the same
            log.warning("stopping without recording it: %s", exc)


async def serve(
    node: Node, *, host: str, port: int, listen: bool = True, address: str | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (the caller closes the store,
    which checkpoints the write-ahead log)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = NodeService(node)
    try:
        await service.start(host=host, port=port, listen=listen, address=address)
        collector.settle()  # what the node started with is there for good
        if service.address:
            print(f"Listening on {service.address}", flush=True)
        else:
            print("Not listening (outbound only): dialling partners only", flush=True)
        me = await node.identity()
        print(f"Node {me.name} ({me.node_id}) is running; press Ctrl-C to stop.", flush=True)
        await stop.wait()
        print("Stopping...", flush=True)
    finally:
        await service.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
