"""A node's address: the one form that is dialled, stored and logged (protocol/address.py)."""

import pytest

from protocol.address import MAX_ADDRESS_CHARS, address_problem

GOOD = [
    "http://127.0.0.1:8470",
    "http://192.0.2.10:8470",
    "https://mesh.oakfield.example.org",
    "https://mesh.oakfield.example.org/",
    "https://mesh.oakfield.example.org/schoolmesh",
    "https://example.org./mesh/oak_field-1~x",
    "http://localhost:1",
    "http://[::1]:8470",
    "http://[2001:db8::10]/mesh",
    "https://xn--lyce-jean-moulin-bnb.example.fr:65535",
    "http://" + "a" * 63 + ".example.org",
]

BAD = {
    "": "empty",
    "127.0.0.1:8470": "no scheme",
    "ftp://example.org": "another scheme",
    "HTTP://example.org": "the scheme in capitals",
    "javascript:alert(1)": "not a URL of a host",
    "http://": "no host",
    "http://user@example.org": "a user name",
    "http://user:secret@example.org": "a password",
    "http://example.org?a=1": "a query",
    "http://example.org#top": "a fragment",
    "http://example.org:0": "port 0",
    "http://example.org:65536": "a port past 65535",
    "http://example.org:": "an empty port",
    "http://example.org:84a": "a port that is not a number",
    "http://exa mple.org": "a space",
    "http://example.org\n": "a line break",
    "http://example.org\r\nX-Forged: 1": "a header",
    "http://example.org\x00": "a NUL",
    "http://example.org\x1b[31m": "a terminal escape",
    "http://exämple.org": "not ASCII (IDNs are written in punycode)",
    "http://-example.org": "a label starting with a hyphen",
    "http://example-.org": "a label ending with a hyphen",
    "http://a..b": "an empty label",
    "http://" + "a" * 64 + ".org": "a label of 64 characters",
    "http://256.1.1.1": "not an IPv4 address",
    "http://1.2.3": "three numbers",
    "http://[::1": "an unclosed bracket",
    "http://[fe80::1%eth0]": "an IPv6 zone",
    "http://[1.2.3.4]": "IPv4 in brackets",
    "http://example.org/a b": "a space in the path",
    "http://example.org/%2e%2e": "an escape in the path",
    "http://example.org/" + "a" * MAX_ADDRESS_CHARS: "too long",
}


@pytest.mark.parametrize("address", GOOD)
def test_addresses_that_are_dialled(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize("address", list(BAD), ids=list(BAD.values()))
def test_addresses_that_are_refused(address: str) -> None:
    problem = address_problem(address)
    assert problem is not None
    assert problem.isprintable()  # never repeats the text it refused


@pytest.mark.parametrize("value", [None, 8470, b"http://a:1", ["http://a:1"]])
def test_an_address_is_text(value: object) -> None:
    assert address_problem(value) == "an address is text"
