"""Who may send a pupil team for a conference or debate, and who may share the teams.

A conference or debate is an event whose ``format`` says so. Each school that
brings pupils tells the organiser, in a ``team`` letter to the organiser alone,
how many pupils come and in which roles; never their names. The school a team
belongs to is the letter's author: no field names it, so no school can answer for
another. A later answer (``at``) replaces an earlier one, and a withdrawal is an
answer too. Only the organiser shares the table of every school's team
(``teams``), with the schools that sent one: one letter, so at most 64 schools
(``MAX_TEAMS``, the most a letter goes to and a list holds) may be listed for one
event, and a new school's team beyond them is refused. Throwaway keys cannot take
those places: a team is taken only from a school whose profile we hold, and none
for an event that is over.

The numbers are bounded here, not in the schema, so that the same checks serve
the school that sends a team (its staff get the words) and the one that judges it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from protocol.contents.letters import TeamLetter, TeamsLetter
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.events import over
from protocol.rules.mail import timestamp, to_us_alone

#: The event formats that have teams (an event's ``format``).
FORMATS = ("conference", "debate")
#: What a pupil does in a team; a fixed list, so no free text (a name) can travel in it.
ROLES = ("speaker", "researcher", "audience")
#: The pupils one school may bring to one event.
MAX_PUPILS = 60
#: The schools one table may list.
MAX_TEAMS = 64


@dataclass(frozen=True, slots=True)
class TeamEvent:
    """The event a team letter names, as we hold it."""

    organiser: NodeId
    #: The schools a private event was sent to; None for a public event (everyone).
    invited: Set[NodeId] | None
    format: str | None  # its newest version's ``format``
    #: When its newest version ends (ISO 8601 with its offset); None: not known.
    end: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """What the organiser holds of the school a team letter comes from."""

    profile_held: bool  # its profile has reached us (it is in our directory)
    listed: bool  # it has a row in the event's table (a team, or its withdrawal)
    schools: int  # the schools the event's table lists now, withdrawn ones included


def has_teams(value: str | None) -> bool:
    """Whether an event of this ``format`` has teams."""
    return value in FORMATS


def problem(pupils: Any, roles: Any) -> str | None:
    """What is wrong with a team of ``pupils`` in ``roles`` ({role: count}), or None."""
    if isinstance(pupils, bool) or not isinstance(pupils, int):
        return "the number of pupils must be a whole number"
    if not 1 <= pupils <= MAX_PUPILS:
        return f"a team has 1 to {MAX_PUPILS} pupils"
    if not isinstance(roles, Mapping):
        return "the roles must map each role to a number of pupils"
    for role, count in roles.items():
        if role not in ROLES:
            # The role is not repeated: it may be a pupil's name, which no log should keep.
            return f"a role that is not one of: {', '.join(ROLES)}"
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= pupils:
            return f"the number of pupils in the role {role} must be 0 to {pupils}"
    if sum(roles.values()) > pupils:
        return "the roles add up to more pupils than the team has"
    return None


def team(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    event: TeamEvent | None,
    content: TeamLetter,
    now: int,
    sender: Sender,
) -> Verdict:
    """A school's team (or its withdrawal) for one of our conferences or debates."""
    verdict = to_us_alone("team", recipients, me)
    if verdict is not None:
        return verdict
    if event is None or event.organiser != me:
        return refused("a team for an event this school does not organise")
    if not has_teams(event.format):
        return refused("a team for an event that is not a conference or debate")
    if event.invited is not None and author not in event.invited:
        return refused("a team for an event that was not sent to that school")
    if event.end is not None and over(event.end, now):
        return refused("a team for an event that is over")
    if not sender.profile_held:
        return refused(
            "a team from a school whose profile has not reached this school "
            "(it is not in the directory)"
        )
    withdrawn = content.withdrawn
    if not sender.listed and withdrawn:
        return refused("a team withdrawn by a school that sent none")
    if not sender.listed and sender.schools >= MAX_TEAMS:
        return refused(
            f"a team for an event that lists teams from {MAX_TEAMS} schools already "
            "(the most one table can go to)"
        )
    pupils, roles = content.pupils, content.roles
    if withdrawn:
        if pupils is not None or roles is not None:
            return Refusal(OUT_OF_BOUNDS, "a withdrawn team that still gives pupils or roles")
    else:
        found = problem(pupils, roles)
        if found is not None:
            return Refusal(OUT_OF_BOUNDS, f"a team: {found}")
    return timestamp(content.at, now, "the team's time (at)")


def table(
    author: NodeId,
    me: NodeId,
    event: TeamEvent | None,
    content: TeamsLetter,
    now: int,
) -> Verdict:
    """The organiser's table of every school's team for an event (each row
    ``[node id, pupils, roles]``)."""
    if event is None:
        return refused("a table of teams for an event this school does not hold")
    if event.organiser != author:
        return refused("a table of teams from a school that does not organise the event")
    if not has_teams(event.format):
        return refused("a table of teams for an event that is not a conference or debate")
    rows = content.teams
    if len(rows) > MAX_TEAMS:
        return Refusal(OUT_OF_BOUNDS, f"a table of more than {MAX_TEAMS} teams")
    schools = [row.school for row in rows]
    if len(set(schools)) != len(schools):
        return Refusal(OUT_OF_BOUNDS, "a table of teams that lists a school twice")
    for row in rows:
        found = problem(row.pupils, row.roles)
        if found is not None:
            return Refusal(OUT_OF_BOUNDS, f"a table of teams: {found}")
    return timestamp(content.at, now, "the table's time (at)")
