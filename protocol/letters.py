"""The content schema of each restricted letter kind (docs/protocol.md, "Letter kinds").

Letters carry a partnership project's life (its membership, its pupils' posts,
comments and images, takedowns and their receipts) and whatever else only two
or a few schools may read: interest in an offer or request and its answer, an
answer to an event, events for partners or a project only, a peer
observation shared with one partner school, and the date two schools agree for
an arrangement (a booking proposal and its acceptance). Ids of projects, posts, comments,
interests and observations are 32 lowercase hex characters (16 random bytes)
chosen by the school that makes them. As with public entries, fields a kind does not define are
ignored, and a kind this version does not know is refused by
:func:`validate` only if it is not a map (the node then ignores it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from protocol.address import address_problem
from protocol.errors import SchemaError
from protocol.kinds import (
    KIND_PATTERN,
    MAX_SLOTS,
    Field,
    check_fields,
    choice,
    entry_id,
    integer,
    iso_date,
    iso_datetime,
    tags,
    text,
)

PROJECT = "project"
PROJECT_JOIN = "project-join"
PROJECT_LEAVE = "project-leave"
POST = "post"
COMMENT = "comment"
IMAGE = "image"
TAKEDOWN = "takedown"
RECEIPT = "receipt"
INTEREST = "interest"
INTEREST_ANSWER = "interest-answer"
RSVP = "rsvp"
EVENT = "event"
OBSERVATION = "observation"
OBSERVATION_UNSHARE = "observation-unshare"
#: A date proposed for an arrangement (an accepted interest), and its acceptance.
BOOKING = "booking"
BOOKING_ACCEPT = "booking-accept"
#: A request to partner sent to a school found in the directory, and its answer.
PARTNER_REQUEST = "partner-request"
PARTNER_ANSWER = "partner-answer"
PARTNER_ANSWERS = ("accepted", "declined")
#: A school's pupil team for a conference or debate (numbers and roles, never names), to
#: the organiser; and the organiser's table of every school's team, to those schools.
TEAM = "team"
TEAMS = "teams"
#: A talk offered for a TeachMeet's speaker slot, and its withdrawal (protocol/rules/slots.py).
TALK = "talk"
TALK_CANCEL = "talk-cancel"
#: A moderation cluster (its members, from the school that made it), a work sample
#: shared in it, a school's sealed grade for a sample (a commitment: a hash) and the
#: grade itself (its reveal), sent to a school only once we hold that school's commitment.
CLUSTER = "cluster"
CLUSTER_SAMPLE = "cluster-sample"
CLUSTER_COMMIT = "cluster-commit"
CLUSTER_REVEAL = "cluster-reveal"
CLUSTER_KINDS = (CLUSTER, CLUSTER_SAMPLE, CLUSTER_COMMIT, CLUSTER_REVEAL)

PROJECT_KINDS = (PROJECT, PROJECT_JOIN, PROJECT_LEAVE, POST, COMMENT, IMAGE, TAKEDOWN, RECEIPT)
INTEREST_ANSWERS = ("accepted", "declined")
RSVP_ANSWERS = ("yes", "no", "maybe")
#: Who a private event is for: the organiser's partner schools, or one project's members.
EVENT_AUDIENCES = ("partners", "project")

MEMBER_STATES = ("invited", "member", "left")
IMAGE_TYPES = ("image/jpeg",)
MAX_IMAGE_BYTES = 700 * 1024
MAX_IMAGES = 6
#: What a moderation sample may be: a PDF, or a photo or scan (cleaned to a JPEG).
SAMPLE_TYPES = ("application/pdf", "image/jpeg")
MAX_SAMPLE_BYTES = 700 * 1024
SALT_BYTES = 32

_LOCAL_ID = re.compile(r"[0-9a-f]{32}")


def local_id(value: Any) -> str | None:
    if not isinstance(value, str) or not _LOCAL_ID.fullmatch(value):
        return "must be 32 lowercase hex characters"
    return None


def digest(value: Any) -> str | None:
    if not isinstance(value, bytes) or len(value) != 32:
        return "must be a 32-byte hash"
    return None


def members(value: Any) -> str | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 64:
        return "must list 1 to 64 schools"
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or digest(item[0]) is not None
            or item[1] not in MEMBER_STATES
        ):
            return f"each member is [node id, one of {', '.join(MEMBER_STATES)}]"
    return None


def images(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_IMAGES:
        return f"must list at most {MAX_IMAGES} images"
    for item in value:
        if not isinstance(item, list) or len(item) != 2 or digest(item[0]) is not None:
            return "each image is [hash, type]"
        if item[1] not in IMAGE_TYPES:
            return f"image type must be one of {', '.join(IMAGE_TYPES)}"
    return None


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def sentences(value: Any) -> str | None:
    """One to ten short texts, such as an observation's strengths or action points."""
    if not isinstance(value, list) or len(value) > 10:
        return "must be a list of at most 10 texts"
    for item in value:
        if text(1000)(item) is not None:
            return "each item must be text of 1 to 1,000 characters"
    return None


def sample_data(value: Any) -> str | None:
    if not isinstance(value, bytes) or not 0 < len(value) <= MAX_SAMPLE_BYTES:
        return f"must be 1 to {MAX_SAMPLE_BYTES} bytes"
    return None


def salt(value: Any) -> str | None:
    if not isinstance(value, bytes) or len(value) != SALT_BYTES:
        return f"must be {SALT_BYTES} random bytes"
    return None


def schools(value: Any) -> str | None:
    """A moderation cluster's member schools: 2 to 64 distinct node ids."""
    if not isinstance(value, list) or not 2 <= len(value) <= 64:
        return "must list 2 to 64 schools"
    if any(digest(item) is not None for item in value) or len(set(value)) != len(value):
        return "each school is a distinct 32-byte node id"
    return None


def image_data(value: Any) -> str | None:
    if not isinstance(value, bytes) or not 0 < len(value) <= MAX_IMAGE_BYTES:
        return f"must be 1 to {MAX_IMAGE_BYTES} bytes"
    return None


def role_counts(value: Any) -> str | None:
    """A team's roles: a map of at most 8 role words to how many pupils take each.

    Which words are roles, and the bounds, are protocol/rules/teams.py's to judge."""
    if not isinstance(value, dict) or len(value) > 8:
        return "must map at most 8 roles to numbers of pupils"
    for role, count in value.items():
        if text(32)(role) is not None or integer(0, 2**16)(count) is not None:
            return "each role is text of 1 to 32 characters with a whole number of pupils"
    return None


def team_rows(value: Any) -> str | None:
    """The organiser's table: at most 64 rows of [node id, pupils, roles] (a list holds
    at most 64 items; protocol/rules/teams.py, ``MAX_TEAMS``)."""
    if not isinstance(value, list) or len(value) > 64:
        return "must list at most 64 teams"
    for row in value:
        if (
            not isinstance(row, list)
            or len(row) != 3
            or digest(row[0]) is not None
            or integer(0, 2**16)(row[1]) is not None
            or role_counts(row[2]) is not None
        ):
            return "each team is [node id, pupils, roles]"
    return None


SCHEMAS: Mapping[str, tuple[Field, ...]] = {
    PROJECT: (
        Field("p", local_id, required=True),
        Field("title", text(200), required=True),
        Field("themes", tags()),
        Field("members", members, required=True),
        Field("rev", integer(1, 2**53 - 1), required=True),
    ),
    PROJECT_JOIN: (Field("p", local_id, required=True),),
    PROJECT_LEAVE: (Field("p", local_id, required=True),),
    POST: (
        Field("p", local_id, required=True),
        Field("id", local_id, required=True),
        Field("title", text(200), required=True),
        Field("body", text(20_000, min_len=0), required=True),
        Field("by", text(100), required=True),
        Field("theme", text(100)),
        Field("images", images),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    COMMENT: (
        Field("p", local_id, required=True),
        Field("post", local_id, required=True),
        Field("id", local_id, required=True),
        Field("by", text(100), required=True),
        Field("body", text(5_000), required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    IMAGE: (
        Field("p", local_id, required=True),
        Field("post", local_id, required=True),
        Field("hash", digest, required=True),
        Field("type", choice(IMAGE_TYPES), required=True),
        Field("data", image_data, required=True),
    ),
    TAKEDOWN: (
        Field("p", local_id, required=True),
        Field("target", local_id, required=True),
        Field("reason", text(500, min_len=0)),
    ),
    RECEIPT: (
        Field("p", local_id, required=True),
        Field("target", local_id, required=True),
    ),
    INTEREST: (
        Field("id", local_id, required=True),
        Field("entry", entry_id, required=True),
        Field("title", text(200)),
        Field("message", text(2_000), required=True),
        Field("by", text(100)),
    ),
    INTEREST_ANSWER: (
        Field("id", local_id, required=True),
        Field("answer", choice(INTEREST_ANSWERS), required=True),
        Field("message", text(2_000, min_len=0)),
        Field("by", text(100)),
        Field("from", iso_date),
        Field("to", iso_date),
    ),
    RSVP: (
        Field("event", entry_id, required=True),
        Field("answer", choice(RSVP_ANSWERS), required=True),
        Field("by", text(100)),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    EVENT: (
        Field("id", digest, required=True),
        Field("rev", integer(1, 2**53 - 1), required=True),
        Field("audience", choice(EVENT_AUDIENCES), required=True),
        Field("p", local_id),
        Field("cancelled", boolean),
        Field("title", text(200), required=True),
        Field("start", iso_datetime, required=True),
        Field("end", iso_datetime, required=True),
        Field("tz", text(64)),
        Field("where", text(500)),
        Field("text", text(10_000, min_len=0)),
        Field("capacity", integer(1, 100_000)),
        Field("reason", text(500)),  # why it was cancelled, with ``cancelled``
        Field("format", text(32)),  # conference or debate: schools bring teams
    ),
    OBSERVATION: (
        Field("id", local_id, required=True),
        Field("observer", text(100), required=True),
        Field("observed", text(100), required=True),
        Field("focus", text(64), required=True),
        Field("priority", text(500), required=True),
        Field("day", iso_date, required=True),
        Field("strengths", sentences, required=True),
        Field("actions", sentences, required=True),
        Field("follow_up", iso_date, required=True),
    ),
    OBSERVATION_UNSHARE: (Field("id", local_id, required=True),),
    BOOKING: (
        Field("id", local_id, required=True),  # the interest
        Field("b", local_id, required=True),  # the proposal, chosen by its school
        Field("start", iso_datetime, required=True),
        Field("end", iso_datetime, required=True),
        Field("tz", text(64)),
        Field("where", text(500)),
        Field("online", boolean),
        Field("note", text(2_000, min_len=0)),
        Field("by", text(100)),
    ),
    BOOKING_ACCEPT: (
        Field("id", local_id, required=True),
        Field("b", local_id, required=True),
        Field("by", text(100)),
    ),
    PARTNER_REQUEST: (
        Field("id", local_id, required=True),
        Field("message", text(2_000), required=True),
        Field("by", text(100)),
        Field("address", address_problem),  # where the asking school listens, if it does
    ),
    PARTNER_ANSWER: (
        Field("id", local_id, required=True),
        Field("answer", choice(PARTNER_ANSWERS), required=True),
        Field("address", address_problem),  # where the answering school listens, if it does
    ),
    TEAM: (
        Field("event", entry_id, required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
        Field("pupils", integer(0, 2**16)),  # with roles; both absent with withdrawn
        Field("roles", role_counts),
        Field("withdrawn", boolean),
    ),
    TEAMS: (
        Field("event", entry_id, required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
        Field("teams", team_rows, required=True),
    ),
    TALK: (
        Field("event", entry_id, required=True),  # the TeachMeet's first version
        Field("slot", integer(1, MAX_SLOTS), required=True),
        Field("title", text(200), required=True),
        Field("speaker", text(100), required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    TALK_CANCEL: (
        Field("event", entry_id, required=True),
        Field("slot", integer(1, MAX_SLOTS), required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    CLUSTER: (
        Field("c", local_id, required=True),
        Field("title", text(200), required=True),
        Field("subject", text(100)),
        Field("schools", schools, required=True),  # the maker first
        Field("rev", integer(1, 2**53 - 1), required=True),
    ),
    CLUSTER_SAMPLE: (
        Field("c", local_id, required=True),
        Field("id", local_id, required=True),
        Field("title", text(200), required=True),
        Field("type", choice(SAMPLE_TYPES), required=True),
        Field("hash", digest, required=True),
        Field("data", sample_data, required=True),
        Field("at", integer(0, 2**53 - 1), required=True),
    ),
    CLUSTER_COMMIT: (
        Field("c", local_id, required=True),
        Field("sample", local_id, required=True),
        Field("commitment", digest, required=True),
    ),
    CLUSTER_REVEAL: (
        Field("c", local_id, required=True),
        Field("sample", local_id, required=True),
        Field("grade", text(40), required=True),
        Field("comment", text(2_000, min_len=0), required=True),
        Field("salt", salt, required=True),
    ),
}


def validate(kind: str, content: Any) -> None:
    """Raise SchemaError naming the first field of ``content`` that breaks ``kind``'s schema."""
    if not isinstance(kind, str) or not KIND_PATTERN.fullmatch(kind):
        raise SchemaError("k", "must be 1 to 32 lowercase letters, digits and hyphens")
    check_fields(SCHEMAS.get(kind, ()), content)
