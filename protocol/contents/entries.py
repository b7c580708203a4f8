"""Public entry contents as frozen dataclasses, one per kind of protocol/kinds.py.

Handlers read ``OfferContent.of(entry).title``, not ``entry.content["title"]``.
The schema in protocol/kinds.py still decides what is accepted; these classes
read what it accepted (protocol/contents/base.py). :func:`entry_content` reads
any entry whose kind this version knows; :data:`ENTRY_TYPES` is the table, and a
test checks it names every kind of ``protocol.kinds.SCHEMAS`` and every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from protocol import kinds
from protocol.contents.base import Content, entry_id, raw, strings, wire
from protocol.entry import Entry
from protocol.errors import SchemaError, SchoolmeshError
from protocol.keys import EntryId, NodeId


class EntryContent(Content):
    """The content of a public entry of one of :attr:`KINDS`."""

    __slots__ = ()

    @classmethod
    def of(cls, entry: Entry) -> Self:
        """The typed content of ``entry``, which must be of this class's kind and not erased.

        The content is read without a second check. When that reading fails (a field
        an older version kept unchecked, not knowing it yet, is in a shape this reading
        cannot take), it is read again from only the fields today's schema accepts, each
        by its own check; a required field missing then raises. A field of the wrong
        type that reads anyway (a number for a text) is kept as it is: for entries of a
        kind an older version may have kept unchecked, not knowing the kind yet, read
        with :meth:`stored`, which checks first."""
        if entry.kind not in cls.KINDS:
            raise ValueError(f"a {entry.kind} entry is not read as {cls.__name__}")
        if entry.content is None:
            raise ValueError(f"the content of entry {entry.id} was erased")
        try:
            return cls.from_content(entry.content)
        # AttributeError: a text where a map is read (a hub), a number where a node id's
        # text is (a relay, a talk's school).
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, SchoolmeshError):
            return cls.from_content(accepted_fields(entry.kind, entry.content))

    @classmethod
    def stored(cls, entry: Entry) -> Self | None:
        """The typed content of a stored entry of this class's kind, or None when it was
        erased or today's schema refuses it.

        A kind a node's version did not know yet was kept unchecked (docs/protocol.md,
        "Forward compatibility"), so once the node is upgraded its store may hold
        questions, answers, helpful marks and continuations with a field missing or of
        another type: every reader of such stored entries reads them through here and
        leaves out the ones refused, as the search index does."""
        if entry.kind not in cls.KINDS:
            raise ValueError(f"a {entry.kind} entry is not read as {cls.__name__}")
        if entry.content is None:
            return None
        try:
            kinds.validate_content(entry.kind, entry.content)
        except SchemaError:
            return None
        return cls.from_content(entry.content)


@dataclass(frozen=True, slots=True)
class ProfileContent(EntryContent):
    KINDS = (kinds.PROFILE,)

    name: str
    country: str
    url: str | None = None
    region: str | None = None
    languages: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    about: str | None = None
    relays: tuple[NodeId, ...] = ()
    #: The hub filter (protocol/search.py, ``hub_problem``): lists by key; None when
    #: the school is no hub, an empty map when it holds every public entry.
    hub: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        hub = content.get("hub")
        return cls(
            name=content["name"],
            country=content["country"],
            url=content.get("url"),
            region=content.get("region"),
            languages=strings(content.get("languages")),
            phases=strings(content.get("phases")),
            about=content.get("about"),
            relays=tuple(NodeId.parse(text) for text in content.get("relays", ())),
            hub=None if hub is None else {key: strings(items) for key, items in hub.items()},
        )

    def to_content(self) -> dict[str, Any]:
        fields = wire(
            {
                "name": self.name,
                "country": self.country,
                "url": self.url,
                "region": self.region,
                "languages": list(self.languages) or None,
                "phases": list(self.phases) or None,
                "about": self.about,
                "relays": [str(relay) for relay in self.relays] or None,
            }
        )
        if self.hub is not None:  # an empty hub is a hub of everything, not no hub
            fields["hub"] = {key: list(items) for key, items in self.hub.items()}
        return fields


@dataclass(frozen=True, slots=True)
class OfferContent(EntryContent):
    """An offer or a request (one schema: protocol/kinds.py)."""

    KINDS = (kinds.OFFER, kinds.REQUEST)

    activity: str
    title: str
    text: str | None = None
    focus: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    ages: tuple[int, int] | None = None
    languages: tuple[str, ...] = ()
    country: str | None = None
    region: str | None = None
    mode: str | None = None
    start: str | None = None  # "from" on the wire
    end: str | None = None  # "to" on the wire
    capacity: int | None = None
    closes: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        ages = content.get("ages")
        return cls(
            activity=content["activity"],
            title=content["title"],
            text=content.get("text"),
            focus=strings(content.get("focus")),
            subjects=strings(content.get("subjects")),
            phases=strings(content.get("phases")),
            ages=None if ages is None else (int(ages[0]), int(ages[1])),
            languages=strings(content.get("languages")),
            country=content.get("country"),
            region=content.get("region"),
            mode=content.get("mode"),
            start=content.get("from"),
            end=content.get("to"),
            capacity=content.get("capacity"),
            closes=content.get("closes"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "activity": self.activity,
                "title": self.title,
                "text": self.text,
                "focus": list(self.focus) or None,
                "subjects": list(self.subjects) or None,
                "phases": list(self.phases) or None,
                "ages": None if self.ages is None else list(self.ages),
                "languages": list(self.languages) or None,
                "country": self.country,
                "region": self.region,
                "mode": self.mode,
                "from": self.start,
                "to": self.end,
                "capacity": self.capacity,
                "closes": self.closes,
            }
        )


@dataclass(frozen=True, slots=True)
class Talk:
    """One accepted talk of a TeachMeet's running order."""

    slot: int
    title: str
    speaker: str
    school: NodeId  # base64url text on the wire

    def to_content(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "title": self.title,
            "speaker": self.speaker,
            "school": str(self.school),
        }


@dataclass(frozen=True, slots=True)
class EventContent(EntryContent):
    KINDS = (kinds.EVENT,)

    title: str
    start: str
    end: str
    tz: str | None = None
    where: str | None = None
    text: str | None = None
    audience: str | None = None
    capacity: int | None = None
    #: A new version of the author's own earlier event: the id of its first version.
    replaces: EntryId | None = None
    format: str | None = None
    #: A TeachMeet's speaker slots, as (how many, minutes each) groups.
    slots: tuple[tuple[int, int], ...] = ()
    talks: tuple[Talk, ...] = ()

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            title=content["title"],
            start=content["start"],
            end=content["end"],
            tz=content.get("tz"),
            where=content.get("where"),
            text=content.get("text"),
            audience=content.get("audience"),
            capacity=content.get("capacity"),
            replaces=entry_id(content.get("replaces")),
            format=content.get("format"),
            slots=tuple((int(count), int(minutes)) for count, minutes in content.get("slots", ())),
            talks=tuple(
                Talk(t["slot"], t["title"], t["speaker"], NodeId.parse(t["school"]))
                for t in content.get("talks", ())
            ),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "title": self.title,
                "start": self.start,
                "end": self.end,
                "tz": self.tz,
                "where": self.where,
                "text": self.text,
                "audience": self.audience,
                "capacity": self.capacity,
                "replaces": raw(self.replaces),
                "format": self.format,
                "slots": [list(group) for group in self.slots] or None,
                "talks": [talk.to_content() for talk in self.talks] or None,
            }
        )


@dataclass(frozen=True, slots=True)
class WithdrawContent(EntryContent):
    KINDS = (kinds.WITHDRAW,)

    target: EntryId
    reason: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(target=EntryId(content["target"]), reason=content.get("reason"))

    def to_content(self) -> dict[str, Any]:
        return wire({"target": bytes(self.target), "reason": self.reason})


@dataclass(frozen=True, slots=True)
class ContinueContent(EntryContent):
    """After a fork: the first sequence number where the branches differ, and the kept
    branch's entry there (protocol/log.py, ``judge_continuation``)."""

    KINDS = (kinds.CONTINUE,)

    fork: int
    keep: EntryId

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        # int(): as protocol/log.py read it, for a continuation stored unchecked.
        return cls(fork=int(content["fork"]), keep=EntryId(content["keep"]))

    def to_content(self) -> dict[str, Any]:
        return {"fork": self.fork, "keep": bytes(self.keep)}


@dataclass(frozen=True, slots=True)
class QuestionContent(EntryContent):
    KINDS = (kinds.QUESTION,)

    title: str
    text: str
    focus: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            title=content["title"],
            text=content["text"],
            focus=strings(content.get("focus")),
            subjects=strings(content.get("subjects")),
            phases=strings(content.get("phases")),
            languages=strings(content.get("languages")),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "title": self.title,
                "text": self.text,
                "focus": list(self.focus) or None,
                "subjects": list(self.subjects) or None,
                "phases": list(self.phases) or None,
                "languages": list(self.languages) or None,
            }
        )


@dataclass(frozen=True, slots=True)
class AnswerContent(EntryContent):
    KINDS = (kinds.ANSWER,)

    question: EntryId
    text: str
    by: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            question=EntryId(content["question"]), text=content["text"], by=content.get("by")
        )

    def to_content(self) -> dict[str, Any]:
        return wire({"question": bytes(self.question), "text": self.text, "by": self.by})


@dataclass(frozen=True, slots=True)
class HelpfulContent(EntryContent):
    KINDS = (kinds.HELPFUL,)

    answer: EntryId

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(answer=EntryId(content["answer"]))

    def to_content(self) -> dict[str, Any]:
        return {"answer": bytes(self.answer)}


def accepted_fields(kind: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``content`` that ``kind``'s schema accepts, each on its own (so a
    required field it refuses is missing, and reading it fails as it should)."""
    return {
        field.name: content[field.name]
        for field in kinds.SCHEMAS.get(kind, ())
        if field.name in content and field.check(content[field.name]) is None
    }


#: The typed content of each entry kind this version knows.
ENTRY_TYPES: Mapping[str, type[EntryContent]] = {
    kind: cls
    for cls in (
        ProfileContent,
        OfferContent,
        EventContent,
        WithdrawContent,
        ContinueContent,
        QuestionContent,
        AnswerContent,
        HelpfulContent,
    )
    for kind in cls.KINDS
}


def entry_content(entry: Entry) -> EntryContent | None:
    """The typed content of ``entry``; None once erased, or for a kind from a newer version."""
    cls = ENTRY_TYPES.get(entry.kind)
    if cls is None or entry.content is None:
        return None
    return cls.from_content(entry.content)
