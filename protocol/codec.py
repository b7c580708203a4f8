"""Canonical msgpack: the one byte encoding of everything schoolmesh signs or sends.

Rules (docs/protocol.md, "Canonical msgpack"):

* allowed types: nil, bool, int (-2**63 .. 2**64-1), str (UTF-8), bin, array, map;
  no float, no ext (a float's bytes vary between encoders, and ext types carry
  meaning we would have to specify);
* map keys are str, sorted by their UTF-8 bytes, each at most once;
* every value uses msgpack's shortest form (msgpack-python packs that way; str
  and bin are kept apart with ``use_bin_type``).

A decoder refuses anything that does not re-encode to exactly the same bytes, so
one value has one encoding and signatures over the bytes mean one thing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import msgpack

from protocol.errors import DecodeError

Value = Any  # nil | bool | int | str | bytes | list[Value] | dict[str, Value]

_INT_MIN = -(2**63)
# One Packer per thread (a packer keeps a buffer between calls): msgpack.packb makes a
# new one for every call, which costs about as much as the packing itself, and a
# decode re-encodes what it decoded to check that it was canonical.
_local = threading.local()


def _packer() -> msgpack.Packer:
    try:
        packer: msgpack.Packer = _local.packer
    except AttributeError:
        packer = _local.packer = msgpack.Packer(use_bin_type=True)
    return packer


_INT_MAX = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds a decoder enforces before trusting any structure."""

    max_bytes: int
    max_depth: int = 8
    max_str: int = 16 * 1024
    max_bin: int = 64 * 1024
    max_items: int = 256


def _canonical(value: Value, depth: int, max_depth: int) -> Value:
    """Check types and return the value with every map's keys in canonical order."""
    if depth > max_depth:
        raise DecodeError(f"nested deeper than {max_depth} levels", code="too-deep")
    if isinstance(value, msgpack.ExtType):
        raise DecodeError("extension types are not allowed", code="bad-type")
    if value is None or isinstance(value, bool | str | bytes):
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise DecodeError("integer out of the 64-bit range", code="bad-type")
        return value
    if isinstance(value, list | tuple):
        return [_canonical(item, depth + 1, max_depth) for item in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise DecodeError(
                    f"map key {key!r} is not a string: only string keys are allowed",
                    code="bad-type",
                )
        ordered = sorted(value, key=lambda k: k.encode("utf-8"))
        return {k: _canonical(value[k], depth + 1, max_depth) for k in ordered}
    raise DecodeError(
        f"type {type(value).__name__} is not allowed (no floats or extension types)",
        code="bad-type",
    )


def encode(value: Value, *, max_depth: int = 8) -> bytes:
    """Encode ``value`` canonically. Raises DecodeError for values with no encoding."""
    packed: bytes = _packer().pack(_canonical(value, 0, max_depth))
    return packed


def encode_binaries(*parts: bytes | None) -> bytes:
    """The canonical array of these binaries (or nils), without :func:`encode`'s walk:
    bin and nil each have one encoding. An entry's wire form from its stored parts."""
    for part in parts:
        if part is not None and type(part) is not bytes:
            raise DecodeError(f"type {type(part).__name__} is not binary", code="bad-type")
    packed: bytes = _packer().pack(list(parts))
    return packed


def decode(data: bytes, limits: Limits) -> Value:
    """Decode canonical msgpack within ``limits``; refuse anything else with a reason."""
    if len(data) > limits.max_bytes:
        raise DecodeError(
            f"{len(data)} bytes is larger than the limit of {limits.max_bytes}",
            code="too-large",
        )
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,  # non-string keys are refused below, as bad-type
            max_str_len=limits.max_str,
            max_bin_len=limits.max_bin,
            max_array_len=limits.max_items,
            max_map_len=limits.max_items,
            max_ext_len=0,
        )
    except msgpack.ExtraData as exc:
        raise DecodeError("extra bytes after the value", code="malformed") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # msgpack reports length-limit breaches, bad UTF-8 and truncation alike as
        # ValueError; the message tells them apart for the log.
        raise DecodeError(f"not valid msgpack within limits: {exc}", code="malformed") from exc
    except RecursionError as exc:
        raise DecodeError("nested too deeply", code="too-deep") from exc
    # The value's maps keep the data's key order: if the keys are sorted and the
    # value re-encodes to the same bytes, the data was canonical (a repeated key
    # collapses in the dict, so the bytes then differ).
    if not _check(value, 0, limits.max_depth) or _packer().pack(value) != data:
        raise DecodeError(
            "not in canonical form (map keys unsorted or repeated, or a value not in "
            "its shortest encoding)",
            code="non-canonical",
        )
    return value


_FLAT = frozenset({type(None), int, str, bytes})  # no bool: the full path judges it


def decode_record(data: bytes, limits: Limits, keys: list[str]) -> dict[str, Value] | None:
    """The map :func:`decode` would return, if ``data`` is a canonical map of exactly
    ``keys`` (sorted) to nil, int, str and bin values; None for anything else, which
    :func:`decode` then judges, with its exact error.

    For records of one fixed shape on the path of every entry received (an entry's
    payload): their canonical check is the order of their keys and the re-encoding,
    without :func:`decode`'s walk of the value, which costs as much as the unpacking."""
    if len(data) > limits.max_bytes:
        return None
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,
            max_str_len=limits.max_str,
            max_bin_len=limits.max_bin,
            max_array_len=limits.max_items,
            max_map_len=limits.max_items,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError):
        return None  # decode words the refusal
    if type(value) is not dict or list(value) != keys:
        return None
    for item in value.values():
        if type(item) not in _FLAT:
            return None
    if _packer().pack(value) != data:
        return None
    return value


def decode_checked(data: bytes) -> Value:
    """What :func:`decode` returned for these exact bytes, without checking them again.

    Only for bytes :func:`decode` accepted already (in another process: the verify
    process of node/net/verify.py): the same unpacking, so the same value, without
    the limits and the canonical walk. Never for bytes from elsewhere."""
    return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)


_SCALARS = frozenset({type(None), bool, int, str, bytes})


def _check(value: Value, depth: int, max_depth: int) -> bool:
    """What :func:`_canonical` checks of a freshly unpacked value, with the same errors in
    the same order, without building a copy; returns whether every map's keys are sorted.

    Decoding is on the path of every entry received, and this walk costs about a
    third of :func:`_canonical` (only containers are visited; msgpack ints are
    always within range). Keys compare as str: code point order is UTF-8 byte order.
    """
    if depth > max_depth:
        raise DecodeError(f"nested deeper than {max_depth} levels", code="too-deep")
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        items: Any = value
    elif kind is dict:
        for key in value:
            if type(key) is not str:
                raise DecodeError(
                    f"map key {key!r} is not a string: only string keys are allowed",
                    code="bad-type",
                )
        keys = list(value)
        if keys != sorted(keys):  # dict keys are unique: sorted means strictly ascending
            _canonical(value, depth, max_depth)  # the errors in the order it finds them
            return False
        items = value.values()
    else:
        _canonical(value, depth, max_depth)  # raises the error for this type
        raise AssertionError(f"unexpected {kind.__name__}")  # pragma: no cover
    ordered = True
    for item in items:
        if type(item) in _SCALARS and depth < max_depth:
            continue
        ordered = _check(item, depth + 1, max_depth) and ordered
    return ordered
