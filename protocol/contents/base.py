"""What every typed content shares: reading a checked content map into a frozen
dataclass, and writing one back.

A content map reaches a typed class only after its kind's schema accepted it
(``protocol.kinds.validate_content`` when an entry is decoded or built,
``protocol.letters.validate`` when a letter is opened or written), so
:meth:`Content.from_content` reads fields without checking them a second time:
what is accepted or refused is decided there, once. An entry read back from the
store may hold a field an older version kept unchecked, not knowing it yet, in
another shape: ``EntryContent.of`` reads it again without the fields today's
schema refuses when reading it fails; entries of a kind an older version may have
kept unchecked altogether are read with ``EntryContent.stored``, which checks first
and gives None for what the schema refuses (protocol/contents/entries.py).

Absent optional fields read as ``None``, or as an empty tuple for lists and
``False`` for flags; :meth:`Content.to_content` leaves them out again. Fields a
kind does not define are not kept (a newer node's additions are ignored, as the
schemas ignore them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from protocol.keys import EntryId, NodeId


class Content:
    """Base of the typed contents: one frozen, slotted dataclass per kind."""

    __slots__ = ()

    #: The kinds whose content this class reads (offers and requests share one).
    KINDS: ClassVar[tuple[str, ...]]

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        """Read a content map its kind's schema accepted."""
        raise NotImplementedError

    def to_content(self) -> dict[str, Any]:
        """The content map, as it is signed (fields left at their default left out)."""
        raise NotImplementedError


def wire(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` without those at their default: None, or False for a flag (callers
    write an empty list as None)."""
    return {
        name: value for name, value in fields.items() if value is not None and value is not False
    }


def strings(value: Iterable[Any] | None) -> tuple[str, ...]:
    return () if value is None else tuple(str(item) for item in value)


def entry_id(value: Any) -> EntryId | None:
    return None if value is None else EntryId(bytes(value))


def node_id(value: Any) -> NodeId | None:
    return None if value is None else NodeId(bytes(value))


def raw(value: EntryId | NodeId | None) -> bytes | None:
    return None if value is None else bytes(value)
