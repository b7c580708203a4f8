"""The content schema of each public entry kind, and the shared vocabularies.

A schema is a table of fields; :func:`validate_content` checks a decoded content
map against it and raises SchemaError naming the first bad field. Fields that a
kind does not define are kept and ignored, so a newer node can add optional
fields without older nodes refusing (and breaking the author's log at) its
entries. Kinds this version does not know are relayed unchecked for the same
reason (docs/protocol.md, "Forward compatibility").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from protocol.countries import COUNTRY_CODES
from protocol.errors import SchemaError
from protocol.search import hub_problem

PROFILE = "profile"
OFFER = "offer"
REQUEST = "request"
EVENT = "event"
WITHDRAW = "withdraw"
#: The author's statement of which branch is its log after a fork (docs/protocol.md).
CONTINUE = "continue"
#: Questions to the network, answers to them, and the asker's "this helped" mark
#: (docs/protocol.md, "Questions and answers").
QUESTION = "question"
ANSWER = "answer"
HELPFUL = "helpful"

KIND_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")

#: What an offer or request is for (issue: "Offer and request kinds").
ACTIVITIES = (
    "observation",
    "shadowing",
    "training-day",
    "moderation",
    "teachmeet",
    "lesson-study",
    "visit",
    "project-partner",
    "pupil-event",
    "mentoring",
)
PHASES = ("nursery", "primary", "secondary", "further-education", "all-through")
MODES = ("in-person", "online", "either")
AUDIENCES = ("public",)
#: Suggested focus areas; free tags are allowed too (docs/matching.md).
FOCUS_AREAS = (
    "phonics",
    "reading",
    "writing",
    "maths-mastery",
    "behaviour",
    "assessment-and-moderation",
    "send",
    "early-years",
    "leadership",
    "curriculum-design",
    "eal",
    "wellbeing",
    "questioning",
    "feedback",
    "oracy",
    "science-practicals",
    "languages",
    "digital-learning",
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but tab and newline
_TAG = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

Check = Callable[[Any], str | None]  # returns the problem, or None when fine


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    check: Check
    required: bool = False


def text(max_len: int, min_len: int = 1) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be text"
        if not min_len <= len(value) <= max_len:
            return f"must be {min_len} to {max_len} characters long"
        if _CONTROL.search(value):
            return "must not contain control characters"
        return None

    return check


def tags(max_items: int = 20, choices: tuple[str, ...] | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or len(value) > max_items:
            return f"must be a list of at most {max_items} items"
        for item in value:
            if not isinstance(item, str) or not _TAG.fullmatch(item):
                return "each item must be text of 1 to 64 characters"
            if choices is not None and item not in choices:
                return f"{item!r} is not one of: {', '.join(choices)}"
        if len(set(value)) != len(value):
            return "must not repeat an item"
        return None

    return check


def languages(value: Any) -> str | None:
    problem = tags(max_items=10)(value)
    if problem is None and not all(_LANGUAGE.fullmatch(v) for v in value):
        return "each item must be a language code such as 'en', 'fr' or 'pt-BR'"
    return problem


def choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in options:
            return f"must be one of: {', '.join(options)}"
        return None

    return check


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# One spelling only, so that every implementation accepts exactly the same values.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})")


def iso_date(value: Any) -> str | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return "must be a date written YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "must be a real date written YYYY-MM-DD"
    return None


def iso_datetime(value: Any) -> str | None:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        if isinstance(value, str) and re.fullmatch(r"[\d:T-]+", value):
            return "must include a time-zone offset such as +01:00 or Z"
        return "must be a date and time written like 2027-03-04T09:00+01:00"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "must be a real date and time written like 2027-03-04T09:00+01:00"
    return None


def age_range(value: Any) -> str | None:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(integer(0, 99)(v) for v in value)
        or value[0] > value[1]
    ):
        return "must be two ages [youngest, oldest] from 0 to 99"
    return None


def country(value: Any) -> str | None:
    if not isinstance(value, str) or value not in COUNTRY_CODES:
        return "must be an ISO 3166-1 alpha-2 country code in capitals, such as GB or FR"
    return None


def web_address(value: Any) -> str | None:
    problem = text(500)(value)
    if problem is None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        return "must be a web address starting with http:// or https://"
    return problem


def entry_id(value: Any) -> str | None:
    if not isinstance(value, bytes) or len(value) != 32:
        return "must be a 32-byte entry id"
    return None


def node_ids(value: Any) -> str | None:
    """Node ids as base64url text (a profile's relays: docs/protocol.md, "Restricted letters")."""
    if not isinstance(value, list) or len(value) > 8:
        return "must be a list of at most 8 node ids"
    for item in value:
        if not isinstance(item, str) or not _NODE_ID.fullmatch(item):
            return "each item must be a node id (43 characters of base64url)"
    if len(set(value)) != len(value):
        return "must not repeat a node id"
    return None


_NODE_ID = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")

#: A TeachMeet's speaker slots: at most this many lengths, slots in all, and minutes each.
#: 64 slots at most: the running order (``talks``) is a list, and a list in an entry
#: holds at most 64 items, so a 65th talk could never be published.
MAX_SLOT_GROUPS = 10
MAX_SLOTS = 64
MAX_SLOT_MINUTES = 120


def slot_groups(value: Any) -> str | None:
    """An event's speaker slots: [[count, minutes], ...], such as [[8, 2], [4, 7]]."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SLOT_GROUPS:
        return f"must list 1 to {MAX_SLOT_GROUPS} groups of slots"
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or integer(1, MAX_SLOTS)(item[0]) is not None
            or integer(1, MAX_SLOT_MINUTES)(item[1]) is not None
        ):
            return (
                f"each group is [how many slots (1 to {MAX_SLOTS}), "
                f"minutes each (1 to {MAX_SLOT_MINUTES})]"
            )
    if sum(item[0] for item in value) > MAX_SLOTS:
        return f"must not have more than {MAX_SLOTS} slots in all"
    return None


_TALK_FIELDS = (
    Field("slot", integer(1, MAX_SLOTS), required=True),
    Field("title", text(200), required=True),
    Field("speaker", text(100), required=True),
    Field("school", lambda v: node_ids([v]), required=True),
)


def running_order(value: Any) -> str | None:
    """An event's accepted talks: [{slot, title, speaker, school}, ...], one per slot."""
    if not isinstance(value, list) or len(value) > MAX_SLOTS:
        return f"must be a list of at most {MAX_SLOTS} talks"
    for item in value:
        try:
            check_fields(_TALK_FIELDS, item)
        except SchemaError as exc:
            return f"each talk needs a slot, title, speaker and school: {exc}"
    if len({item["slot"] for item in value}) != len(value):
        return "must not give two talks the same slot"
    return None


_OFFER_FIELDS = (
    Field("activity", choice(ACTIVITIES), required=True),
    Field("title", text(200), required=True),
    Field("text", text(10_000, min_len=0)),
    Field("focus", tags()),
    Field("subjects", tags()),
    Field("phases", tags(choices=PHASES)),
    Field("ages", age_range),
    Field("languages", languages),
    Field("country", country),
    Field("region", text(100)),
    Field("mode", choice(MODES)),
    Field("from", iso_date),
    Field("to", iso_date),
    Field("capacity", integer(1, 10_000)),
    Field("closes", iso_date),
)

SCHEMAS: Mapping[str, tuple[Field, ...]] = {
    PROFILE: (
        Field("name", text(200), required=True),
        Field("country", country, required=True),
        Field("url", web_address),
        Field("region", text(100)),
        Field("languages", languages),
        Field("phases", tags(choices=PHASES)),
        Field("about", text(2_000, min_len=0)),
        Field("relays", node_ids),
        # The filter of public entries this school's node holds as a hub, which
        # searches beyond other nodes' views are sent to (protocol/search.py).
        Field("hub", hub_problem),
    ),
    OFFER: _OFFER_FIELDS,
    REQUEST: _OFFER_FIELDS,
    EVENT: (
        Field("title", text(200), required=True),
        Field("start", iso_datetime, required=True),
        Field("end", iso_datetime, required=True),
        Field("tz", text(64)),
        Field("where", text(500)),
        Field("text", text(10_000, min_len=0)),
        Field("audience", choice(AUDIENCES)),
        Field("capacity", integer(1, 100_000)),
        # A new version of the author's own earlier event: the id of its first version.
        Field("replaces", entry_id),
        # What kind of event: "conference" or "debate" (schools bring pupil teams:
        # node/events/teams.py). Any short text, so that a format a later version adds
        # never breaks its author's log here; a format this version does not know is
        # an ordinary event.
        Field("format", text(32)),
        # A TeachMeet: its speaker slots, and the running order its organiser accepted.
        Field("slots", slot_groups),
        Field("talks", running_order),
    ),
    WITHDRAW: (
        Field("target", entry_id, required=True),
        Field("reason", text(500, min_len=0)),
    ),
    # After a fork: the first sequence number where the two branches differ, and the
    # id of the kept branch's entry there (protocol/log.py, judge_continuation).
    CONTINUE: (
        Field("fork", integer(1, 2**53 - 1), required=True),
        Field("keep", entry_id, required=True),
    ),
    QUESTION: (
        Field("title", text(200), required=True),
        Field("text", text(10_000), required=True),
        Field("focus", tags()),
        Field("subjects", tags()),
        Field("phases", tags(choices=PHASES)),
        Field("languages", languages),
    ),
    # An answer names the question it answers; ``by`` is the colleague's name, only
    # when they chose to give it.
    ANSWER: (
        Field("question", entry_id, required=True),
        Field("text", text(10_000), required=True),
        Field("by", text(100)),
    ),
    # The asking school marks an answer to its own question as helpful.
    HELPFUL: (Field("answer", entry_id, required=True),),
}


def check_fields(schema: tuple[Field, ...], content: Any) -> None:
    """Raise SchemaError naming the first field of ``content`` that breaks ``schema``."""
    if not isinstance(content, dict):
        raise SchemaError("content", "must be a map")
    for field in schema:
        if field.name not in content:
            if field.required:
                raise SchemaError(field.name, "is required")
            continue
        problem = field.check(content[field.name])
        if problem is not None:
            raise SchemaError(field.name, problem)


def validate_content(kind: str, content: Any) -> None:
    """Raise SchemaError naming the first field of ``content`` that breaks ``kind``'s schema."""
    check_fields(SCHEMAS.get(kind, ()), content)
    if kind in (OFFER, REQUEST) and content.get("from", "") > content.get("to", "9999"):
        raise SchemaError("to", "must not be before the first date ('from')")
    if kind == EVENT and _moment(content["end"]) < _moment(content["start"]):
        raise SchemaError("end", "must not be before 'start'")
    if kind == EVENT and "talks" in content:
        total = sum(count for count, _ in content.get("slots", []))
        if any(talk["slot"] > total for talk in content["talks"]):
            raise SchemaError("talks", "names a slot the event does not have ('slots')")


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
