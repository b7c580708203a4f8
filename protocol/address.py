"""A node's address: the base URL at which it accepts peer sessions.

A partner's address is dialled, stored, shown on pages and written in logs, and
it arrives from another school (``hello.address``), so it has one strict form
(docs/protocol.md, "Addresses")::

    http://192.0.2.10:8470      https://mesh.oakfield.example.org/schoolmesh

``http`` or ``https``, a host (a DNS name, an IPv4 address, or an IPv6 address
in brackets), an optional port and an optional path; printable ASCII without
spaces, at most :data:`MAX_ADDRESS_CHARS` characters. No user name or password,
query or fragment: none has a meaning here, and a user name before ``@`` makes an
address look like another host to a person reading it.
"""

from __future__ import annotations

import ipaddress
import re

MAX_ADDRESS_CHARS = 255
BAD_ADDRESS = "bad-address"

_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<path>(?:/[A-Za-z0-9._~-]*)*)"
)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def address_problem(text: object) -> str | None:
    """Why ``text`` is not a node address, or None if it is one."""
    if not isinstance(text, str):
        return "an address is text"
    if len(text) > MAX_ADDRESS_CHARS:
        return f"an address is at most {MAX_ADDRESS_CHARS} characters"
    if not text.isascii() or not text.isprintable() or " " in text:
        return "an address is printable ASCII without spaces"
    match = _URL.fullmatch(text)
    if match is None:
        return (
            "an address is http:// or https://, a host, an optional :port and an optional "
            "path, with no user name, query or fragment"
        )
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        return "a port is from 1 to 65535"
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return "the host in brackets is not an IPv6 address"
        return None
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "the host is not an IPv4 address"
        return None
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "the host is not a valid name"
    return None
