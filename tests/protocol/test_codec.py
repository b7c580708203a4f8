"""Canonical msgpack: one encoding per value, and strict limits on decode."""

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import codec
from protocol.errors import DecodeError

LIMITS = codec.Limits(max_bytes=1 << 20, max_depth=8)

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(max_size=50)
    | st.binary(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@given(values)
def test_round_trip(value: Any) -> None:
    data = codec.encode(value)
    assert codec.encode(codec.decode(data, LIMITS)) == data


# Anything msgpack can carry, canonical or not: floats, non-string keys, keys in any
# order, non-shortest ints (packed by hand below), nesting past the limit.
raw_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), children, max_size=4)
    ),
    max_leaves=16,
)


def reference_decode(data: bytes, limits: codec.Limits) -> Any:
    """The decoder as first written: rebuild the value in canonical order, then compare."""
    value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    canonical = codec._canonical(value, 0, limits.max_depth)
    if msgpack.packb(canonical, use_bin_type=True) != data:
        raise DecodeError("not canonical", code="non-canonical")
    return canonical


def outcome(decode: Any, data: bytes, limits: codec.Limits) -> Any:
    try:
        return ("ok", decode(data, limits))
    except DecodeError as exc:
        return ("refused", exc.code, str(exc) if exc.code != "non-canonical" else "")


@given(raw_values, st.integers(0, 4), st.booleans())
def test_decode_refuses_exactly_what_the_rebuilding_check_refuses(
    value: Any, depth: int, widen: bool
) -> None:
    data = msgpack.packb(value, use_bin_type=True)
    if widen and data[:1] == b"\x01":  # the int 1 in a longer form than it needs
        data = b"\xcc\x01"
    limits = codec.Limits(max_bytes=1 << 20, max_depth=depth)
    assert outcome(codec.decode, data, limits) == outcome(reference_decode, data, limits)


@given(st.dictionaries(st.text(max_size=8), st.integers(0, 9), min_size=2, max_size=6))
def test_key_order_does_not_change_bytes(mapping: dict[str, int]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert codec.encode(mapping) == codec.encode(reversed_mapping)


def test_keys_sort_by_utf8_bytes() -> None:
    # "é" (0xC3 0xA9) sorts after "z" (0x7A) by bytes.
    assert list(codec.decode(codec.encode({"é": 1, "z": 2}), LIMITS)) == ["z", "é"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(msgpack.packb({"b": 1, "a": 2}), "non-canonical", id="unsorted-keys"),
        pytest.param(b"\xcd\x00\x01", "non-canonical", id="int-not-shortest"),
        pytest.param(b"\xd9\x01a", "non-canonical", id="str8-for-short-string"),
        pytest.param(b"\x82\xa1a\x01\xa1a\x02", "non-canonical", id="repeated-key"),
        pytest.param(msgpack.packb(1.5), "bad-type", id="float"),
        pytest.param(msgpack.packb(msgpack.ExtType(1, b"x")), "malformed", id="ext"),
        pytest.param(msgpack.packb({1: 2}), "bad-type", id="int-key"),
        pytest.param(b"\x01\x02", "malformed", id="trailing-bytes"),
        pytest.param(b"\x92\x01", "malformed", id="truncated"),
        pytest.param(b"\xc1", "malformed", id="reserved-byte"),
        pytest.param(b"\xa2\xff\xfe", "malformed", id="bad-utf8"),
    ],
)
def test_refuses_with_reason(data: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        codec.decode(data, LIMITS)
    assert caught.value.code == code


def test_bytes_key_refused() -> None:
    data = msgpack.packb({b"k": 1}, use_bin_type=True)
    with pytest.raises(DecodeError):
        codec.decode(data, LIMITS)


def test_depth_limit() -> None:
    nested: Any = 1
    for _ in range(10):
        nested = [nested]
    with pytest.raises(DecodeError) as caught:
        codec.decode(codec.encode(nested, max_depth=20), codec.Limits(max_bytes=100, max_depth=8))
    assert caught.value.code == "too-deep"


def test_very_deep_input_refused_without_crash() -> None:
    data = b"\x91" * 100_000 + b"\x01"
    with pytest.raises(DecodeError):
        codec.decode(data, codec.Limits(max_bytes=1 << 20, max_depth=8))


@pytest.mark.parametrize(
    ("value", "limits"),
    [
        ("x" * 20, codec.Limits(max_bytes=100, max_str=10)),
        (b"x" * 20, codec.Limits(max_bytes=100, max_bin=10)),
        (list(range(20)), codec.Limits(max_bytes=100, max_items=10)),
        ({str(i): i for i in range(20)}, codec.Limits(max_bytes=1000, max_items=10)),
    ],
)
def test_length_limits(value: Any, limits: codec.Limits) -> None:
    with pytest.raises(DecodeError):
        codec.decode(codec.encode(value), limits)


def test_size_limit_names_the_size() -> None:
    with pytest.raises(DecodeError, match="larger than the limit of 10") as caught:
        codec.decode(codec.encode("x" * 20), codec.Limits(max_bytes=10))
    assert caught.value.code == "too-large"


@pytest.mark.parametrize("value", [1.0, {1: "int key"}, 2**64, -(2**63) - 1, object()])
def test_encode_refuses_values_without_encoding(value: Any) -> None:
    with pytest.raises(DecodeError):
        codec.encode(value)


# decode_record: a fast path for maps of one fixed shape (an entry's payload). Whatever
# it accepts, decode accepts as the same map; whatever else, it leaves to decode.
RECORD_KEYS = ["a", "h", "k", "p", "s", "t", "v"]
record_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=40)
    | st.lists(st.integers(0, 3), max_size=2)
)


@given(
    st.permutations([*RECORD_KEYS, "x"]),
    st.integers(5, 8),
    st.lists(record_values, min_size=8, max_size=8),
    st.booleans(),
)
def test_decode_record_accepts_only_what_decode_accepts_as_the_record(
    order: list[str], size: int, values: list[Any], sort: bool
) -> None:
    keys = sorted(order[:size]) if sort else order[:size]
    data = msgpack.packb(dict(zip(keys, values, strict=False)), use_bin_type=True)
    limits = codec.Limits(max_bytes=512, max_depth=1, max_items=16, max_str=64, max_bin=32)
    record = codec.decode_record(data, limits, RECORD_KEYS)
    if record is not None:
        assert list(record) == RECORD_KEYS
        assert outcome(codec.decode, data, limits) == ("ok", record)
    elif keys == RECORD_KEYS and all(type(v) in (type(None), int, str, bytes) for v in values):
        # the one shape with flat values is refused only for what decode refuses too
        assert outcome(codec.decode, data, limits)[0] == "refused"


def test_decode_record_leaves_non_canonical_bytes_to_decode() -> None:
    mapping = {"a": 1, "b": 2}
    canonical = codec.encode(mapping)
    widened = canonical.replace(b"\xa1b\x02", b"\xa1b\xcc\x02")  # 2 in a longer form
    limits = codec.Limits(max_bytes=64, max_depth=1)
    assert codec.decode_record(canonical, limits, ["a", "b"]) == mapping
    assert codec.decode_record(widened, limits, ["a", "b"]) is None
    assert codec.decode_record(canonical + b"\x00", limits, ["a", "b"]) is None
    assert codec.decode_record(canonical, codec.Limits(max_bytes=3), ["a", "b"]) is None
