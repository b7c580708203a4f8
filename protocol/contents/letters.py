"""Restricted letter contents as frozen dataclasses, one per kind of protocol/letters.py.

A letter handler reads ``PostLetter.of(letter).title``, not ``letter.content["title"]``.
The schema in protocol/letters.py still decides what is accepted; these classes
read what it accepted (protocol/contents/base.py). Schools named in a letter
(a project's members, a cluster's schools, a table of teams) are ``NodeId``; ids
a school chose (projects, posts, interests: 32 hex characters) stay text, as on
the wire. :data:`LETTER_TYPES` is the table, and a test checks it names every
kind of ``protocol.letters.SCHEMAS`` and every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from protocol import letters
from protocol.contents.base import Content, wire
from protocol.keys import EntryId, NodeId
from protocol.sealed import Letter


class LetterContent(Content):
    """The content of a restricted letter of one of :attr:`KINDS`."""

    __slots__ = ()

    @classmethod
    def of(cls, letter: Letter) -> Self:
        """The typed content of ``letter``, which must be of this class's kind."""
        if letter.kind not in cls.KINDS:
            raise ValueError(f"a {letter.kind} letter is not read as {cls.__name__}")
        return cls.from_content(letter.content)


# --- projects -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectLetter(LetterContent):
    """A project's title and members, from the school that owns it."""

    KINDS = (letters.PROJECT,)

    p: str
    title: str
    members: tuple[tuple[NodeId, str], ...]  # (school, one of letters.MEMBER_STATES)
    rev: int
    themes: tuple[str, ...] = ()

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            p=content["p"],
            title=content["title"],
            members=tuple((NodeId(bytes(school)), state) for school, state in content["members"]),
            rev=content["rev"],
            themes=tuple(content.get("themes", ())),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "p": self.p,
                "title": self.title,
                "themes": list(self.themes) or None,
                "members": [[bytes(school), state] for school, state in self.members],
                "rev": self.rev,
            }
        )


@dataclass(frozen=True, slots=True)
class ProjectJoinLetter(LetterContent):
    KINDS = (letters.PROJECT_JOIN,)

    p: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(p=content["p"])

    def to_content(self) -> dict[str, Any]:
        return {"p": self.p}


@dataclass(frozen=True, slots=True)
class ProjectLeaveLetter(LetterContent):
    KINDS = (letters.PROJECT_LEAVE,)

    p: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(p=content["p"])

    def to_content(self) -> dict[str, Any]:
        return {"p": self.p}


@dataclass(frozen=True, slots=True)
class PostLetter(LetterContent):
    KINDS = (letters.POST,)

    p: str
    id: str
    title: str
    body: str
    by: str
    at: int
    theme: str | None = None
    images: tuple[tuple[bytes, str], ...] = ()  # (hash, type)

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            p=content["p"],
            id=content["id"],
            title=content["title"],
            body=content["body"],
            by=content["by"],
            at=content["at"],
            theme=content.get("theme"),
            images=tuple((bytes(h), str(t)) for h, t in content.get("images", ())),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "p": self.p,
                "id": self.id,
                "title": self.title,
                "body": self.body,
                "by": self.by,
                "theme": self.theme,
                "images": [[h, t] for h, t in self.images] or None,
                "at": self.at,
            }
        )


@dataclass(frozen=True, slots=True)
class CommentLetter(LetterContent):
    KINDS = (letters.COMMENT,)

    p: str
    post: str
    id: str
    by: str
    body: str
    at: int

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            p=content["p"],
            post=content["post"],
            id=content["id"],
            by=content["by"],
            body=content["body"],
            at=content["at"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "post": self.post,
            "id": self.id,
            "by": self.by,
            "body": self.body,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class ImageLetter(LetterContent):
    KINDS = (letters.IMAGE,)

    p: str
    post: str
    hash: bytes
    type: str
    data: bytes

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            p=content["p"],
            post=content["post"],
            hash=content["hash"],
            type=content["type"],
            data=content["data"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "post": self.post,
            "hash": self.hash,
            "type": self.type,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class TakedownLetter(LetterContent):
    KINDS = (letters.TAKEDOWN,)

    p: str
    target: str
    reason: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(p=content["p"], target=content["target"], reason=content.get("reason"))

    def to_content(self) -> dict[str, Any]:
        return wire({"p": self.p, "target": self.target, "reason": self.reason})


@dataclass(frozen=True, slots=True)
class ReceiptLetter(LetterContent):
    KINDS = (letters.RECEIPT,)

    p: str
    target: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(p=content["p"], target=content["target"])

    def to_content(self) -> dict[str, Any]:
        return {"p": self.p, "target": self.target}


# --- interests and bookings ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterestLetter(LetterContent):
    """Interest shown in an offer or request (``entry``)."""

    KINDS = (letters.INTEREST,)

    id: str
    entry: EntryId
    message: str
    title: str | None = None
    by: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            entry=EntryId(content["entry"]),
            message=content["message"],
            title=content.get("title"),
            by=content.get("by"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "id": self.id,
                "entry": bytes(self.entry),
                "title": self.title,
                "message": self.message,
                "by": self.by,
            }
        )


@dataclass(frozen=True, slots=True)
class InterestAnswerLetter(LetterContent):
    KINDS = (letters.INTEREST_ANSWER,)

    id: str
    answer: str  # one of letters.INTEREST_ANSWERS
    message: str | None = None
    by: str | None = None
    start: str | None = None  # "from" on the wire
    end: str | None = None  # "to" on the wire

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            answer=content["answer"],
            message=content.get("message"),
            by=content.get("by"),
            start=content.get("from"),
            end=content.get("to"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "id": self.id,
                "answer": self.answer,
                "message": self.message,
                "by": self.by,
                "from": self.start,
                "to": self.end,
            }
        )


@dataclass(frozen=True, slots=True)
class BookingLetter(LetterContent):
    """A date proposed for an arrangement (the accepted interest ``id``)."""

    KINDS = (letters.BOOKING,)

    id: str
    b: str  # the proposal, chosen by its school
    start: str
    end: str
    tz: str | None = None
    where: str | None = None
    online: bool = False
    note: str | None = None
    by: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            b=content["b"],
            start=content["start"],
            end=content["end"],
            tz=content.get("tz"),
            where=content.get("where"),
            online=content.get("online") is True,
            note=content.get("note"),
            by=content.get("by"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "id": self.id,
                "b": self.b,
                "start": self.start,
                "end": self.end,
                "tz": self.tz,
                "where": self.where,
                "online": self.online,
                "note": self.note,
                "by": self.by,
            }
        )


@dataclass(frozen=True, slots=True)
class BookingAcceptLetter(LetterContent):
    KINDS = (letters.BOOKING_ACCEPT,)

    id: str
    b: str
    by: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(id=content["id"], b=content["b"], by=content.get("by"))

    def to_content(self) -> dict[str, Any]:
        return wire({"id": self.id, "b": self.b, "by": self.by})


# --- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RsvpLetter(LetterContent):
    KINDS = (letters.RSVP,)

    event: EntryId
    answer: str  # one of letters.RSVP_ANSWERS
    at: int
    by: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            event=EntryId(content["event"]),
            answer=content["answer"],
            at=content["at"],
            by=content.get("by"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {"event": bytes(self.event), "answer": self.answer, "by": self.by, "at": self.at}
        )


@dataclass(frozen=True, slots=True)
class PrivateEventLetter(LetterContent):
    """An event for partners or one project's members only (``audience``)."""

    KINDS = (letters.EVENT,)

    id: bytes  # 32 bytes chosen by the organiser
    rev: int
    audience: str  # one of letters.EVENT_AUDIENCES
    title: str
    start: str
    end: str
    p: str | None = None
    cancelled: bool = False
    tz: str | None = None
    where: str | None = None
    text: str | None = None
    capacity: int | None = None
    reason: str | None = None  # why it was cancelled
    format: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            rev=content["rev"],
            audience=content["audience"],
            title=content["title"],
            start=content["start"],
            end=content["end"],
            p=content.get("p"),
            cancelled=content.get("cancelled") is True,
            tz=content.get("tz"),
            where=content.get("where"),
            text=content.get("text"),
            capacity=content.get("capacity"),
            reason=content.get("reason"),
            format=content.get("format"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "id": self.id,
                "rev": self.rev,
                "audience": self.audience,
                "p": self.p,
                "cancelled": self.cancelled,
                "title": self.title,
                "start": self.start,
                "end": self.end,
                "tz": self.tz,
                "where": self.where,
                "text": self.text,
                "capacity": self.capacity,
                "reason": self.reason,
                "format": self.format,
            }
        )


@dataclass(frozen=True, slots=True)
class TeamLetter(LetterContent):
    """A school's pupil team for a conference or debate, to its organiser."""

    KINDS = (letters.TEAM,)

    event: EntryId
    at: int
    pupils: int | None = None
    roles: Mapping[str, int] | None = None
    withdrawn: bool = False

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        roles = content.get("roles")
        return cls(
            event=EntryId(content["event"]),
            at=content["at"],
            pupils=content.get("pupils"),
            roles=None if roles is None else dict(roles),
            withdrawn=content.get("withdrawn") is True,
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "event": bytes(self.event),
                "at": self.at,
                "pupils": self.pupils,
                "roles": None if self.roles is None else dict(self.roles),
                "withdrawn": self.withdrawn,
            }
        )


@dataclass(frozen=True, slots=True)
class TeamRow:
    """One school's team in the organiser's table."""

    school: NodeId
    pupils: int
    roles: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class TeamsLetter(LetterContent):
    """The organiser's table of every school's team, to those schools."""

    KINDS = (letters.TEAMS,)

    event: EntryId
    at: int
    teams: tuple[TeamRow, ...]

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            event=EntryId(content["event"]),
            at=content["at"],
            teams=tuple(
                TeamRow(NodeId(bytes(school)), int(pupils), dict(roles))
                for school, pupils, roles in content["teams"]
            ),
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "event": bytes(self.event),
            "at": self.at,
            "teams": [[bytes(row.school), row.pupils, dict(row.roles)] for row in self.teams],
        }


@dataclass(frozen=True, slots=True)
class TalkLetter(LetterContent):
    """A talk offered for a TeachMeet's speaker slot (``event``: its first version)."""

    KINDS = (letters.TALK,)

    event: EntryId
    slot: int
    title: str
    speaker: str
    at: int

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            event=EntryId(content["event"]),
            slot=content["slot"],
            title=content["title"],
            speaker=content["speaker"],
            at=content["at"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "event": bytes(self.event),
            "slot": self.slot,
            "title": self.title,
            "speaker": self.speaker,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class TalkCancelLetter(LetterContent):
    KINDS = (letters.TALK_CANCEL,)

    event: EntryId
    slot: int
    at: int

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(event=EntryId(content["event"]), slot=content["slot"], at=content["at"])

    def to_content(self) -> dict[str, Any]:
        return {"event": bytes(self.event), "slot": self.slot, "at": self.at}


# --- observations and partners ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObservationLetter(LetterContent):
    """A peer observation shared with one partner school."""

    KINDS = (letters.OBSERVATION,)

    id: str
    observer: str
    observed: str
    focus: str
    priority: str
    day: str
    strengths: tuple[str, ...]
    actions: tuple[str, ...]
    follow_up: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            observer=content["observer"],
            observed=content["observed"],
            focus=content["focus"],
            priority=content["priority"],
            day=content["day"],
            strengths=tuple(content["strengths"]),
            actions=tuple(content["actions"]),
            follow_up=content["follow_up"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "observer": self.observer,
            "observed": self.observed,
            "focus": self.focus,
            "priority": self.priority,
            "day": self.day,
            "strengths": list(self.strengths),
            "actions": list(self.actions),
            "follow_up": self.follow_up,
        }


@dataclass(frozen=True, slots=True)
class ObservationUnshareLetter(LetterContent):
    KINDS = (letters.OBSERVATION_UNSHARE,)

    id: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(id=content["id"])

    def to_content(self) -> dict[str, Any]:
        return {"id": self.id}


@dataclass(frozen=True, slots=True)
class PartnerRequestLetter(LetterContent):
    KINDS = (letters.PARTNER_REQUEST,)

    id: str
    message: str
    by: str | None = None
    address: str | None = None  # where the asking school listens, if it does

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            id=content["id"],
            message=content["message"],
            by=content.get("by"),
            address=content.get("address"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {"id": self.id, "message": self.message, "by": self.by, "address": self.address}
        )


@dataclass(frozen=True, slots=True)
class PartnerAnswerLetter(LetterContent):
    KINDS = (letters.PARTNER_ANSWER,)

    id: str
    answer: str  # one of letters.PARTNER_ANSWERS
    address: str | None = None  # where the answering school listens, if it does

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(id=content["id"], answer=content["answer"], address=content.get("address"))

    def to_content(self) -> dict[str, Any]:
        return wire({"id": self.id, "answer": self.answer, "address": self.address})


# --- moderation clusters ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterLetter(LetterContent):
    KINDS = (letters.CLUSTER,)

    c: str
    title: str
    schools: tuple[NodeId, ...]  # the maker first
    rev: int
    subject: str | None = None

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            c=content["c"],
            title=content["title"],
            schools=tuple(NodeId(bytes(school)) for school in content["schools"]),
            rev=content["rev"],
            subject=content.get("subject"),
        )

    def to_content(self) -> dict[str, Any]:
        return wire(
            {
                "c": self.c,
                "title": self.title,
                "subject": self.subject,
                "schools": [bytes(school) for school in self.schools],
                "rev": self.rev,
            }
        )


@dataclass(frozen=True, slots=True)
class ClusterSampleLetter(LetterContent):
    KINDS = (letters.CLUSTER_SAMPLE,)

    c: str
    id: str
    title: str
    type: str
    hash: bytes
    data: bytes
    at: int

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            c=content["c"],
            id=content["id"],
            title=content["title"],
            type=content["type"],
            hash=content["hash"],
            data=content["data"],
            at=content["at"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "c": self.c,
            "id": self.id,
            "title": self.title,
            "type": self.type,
            "hash": self.hash,
            "data": self.data,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class ClusterCommitLetter(LetterContent):
    KINDS = (letters.CLUSTER_COMMIT,)

    c: str
    sample: str
    commitment: bytes

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(c=content["c"], sample=content["sample"], commitment=content["commitment"])

    def to_content(self) -> dict[str, Any]:
        return {"c": self.c, "sample": self.sample, "commitment": self.commitment}


@dataclass(frozen=True, slots=True)
class ClusterRevealLetter(LetterContent):
    KINDS = (letters.CLUSTER_REVEAL,)

    c: str
    sample: str
    grade: str
    comment: str
    salt: bytes

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> Self:
        return cls(
            c=content["c"],
            sample=content["sample"],
            grade=content["grade"],
            comment=content["comment"],
            salt=content["salt"],
        )

    def to_content(self) -> dict[str, Any]:
        return {
            "c": self.c,
            "sample": self.sample,
            "grade": self.grade,
            "comment": self.comment,
            "salt": self.salt,
        }


#: The typed content of each letter kind this version knows.
LETTER_TYPES: Mapping[str, type[LetterContent]] = {
    kind: cls
    for cls in (
        ProjectLetter,
        ProjectJoinLetter,
        ProjectLeaveLetter,
        PostLetter,
        CommentLetter,
        ImageLetter,
        TakedownLetter,
        ReceiptLetter,
        InterestLetter,
        InterestAnswerLetter,
        BookingLetter,
        BookingAcceptLetter,
        RsvpLetter,
        PrivateEventLetter,
        TeamLetter,
        TeamsLetter,
        TalkLetter,
        TalkCancelLetter,
        ObservationLetter,
        ObservationUnshareLetter,
        PartnerRequestLetter,
        PartnerAnswerLetter,
        ClusterLetter,
        ClusterSampleLetter,
        ClusterCommitLetter,
        ClusterRevealLetter,
    )
    for kind in cls.KINDS
}


def letter_content(letter: Letter) -> LetterContent | None:
    """The typed content of ``letter``; None for a kind from a newer version."""
    cls = LETTER_TYPES.get(letter.kind)
    return None if cls is None else cls.from_content(letter.content)
