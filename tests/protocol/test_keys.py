"""Keys and ids as value objects."""

import pytest

from protocol.errors import BadSignature, UserInputError
from protocol.keys import EntryId, NodeId, NodeKey, b64url, from_b64url
from tests.helpers import key


def test_key_from_seed_is_reproducible_and_hides_seed() -> None:
    assert key(7) == NodeKey(bytes([7]) * 32)
    assert key(7) != key(8)
    assert "07070707" not in repr(key(7))


def test_sign_and_verify() -> None:
    sig = key(1).sign(b"hello")
    key(1).node_id.verify(b"hello", sig)
    with pytest.raises(BadSignature):
        key(2).node_id.verify(b"hello", sig)
    with pytest.raises(BadSignature):
        key(1).node_id.verify(b"hellO", sig)


def test_fingerprints_differ_and_are_readable() -> None:
    a, b = key(1).node_id.fingerprint, key(2).node_id.fingerprint
    assert a != b
    assert a.count("-") == 3
    assert a.replace("-", "").isalnum()


@pytest.mark.parametrize("text", ["", "abc", "x" * 43 + "=", "!" * 43, "A" * 44])
def test_bad_node_id_text_refused_with_help(text: str) -> None:
    with pytest.raises(UserInputError, match="schoolmesh id"):
        NodeId.parse(text)


def test_non_canonical_base64_refused() -> None:
    text = b64url(bytes(32))
    assert from_b64url(text) == bytes(32)
    with pytest.raises(ValueError, match="base64url"):
        from_b64url(text[:-1] + "B")  # trailing bits set


def test_entry_id_parse() -> None:
    entry_id = EntryId(bytes(range(32)))
    assert EntryId.parse(str(entry_id)) == entry_id
    with pytest.raises(UserInputError):
        EntryId.parse("zz")


@pytest.mark.parametrize("size", [0, 31, 33])
def test_wrong_sizes_refused(size: int) -> None:
    with pytest.raises(ValueError, match="bytes"):
        NodeId(bytes(size))
    with pytest.raises(ValueError, match="bytes"):
        EntryId(bytes(size))
    with pytest.raises(ValueError, match="bytes"):
        NodeKey(bytes(size))
