"""Other schools' texts in the files we write for other programs (node/bidi.py): in an
.ics file and in a project's Atom feed, each text ends the bidi controls it opens, so a
calendar program or a feed reader does not show what follows it reordered."""

import dataclasses
from pathlib import Path

import feedparser
import icalendar

from node.clock import now_ms
from node.events.ics import CalendarItem, calendar
from tests.network import LiveNode

RLO, PDF = "\u202e", "\u202c"


def test_an_events_texts_end_their_own_bidi_controls_in_the_ics_file() -> None:
    item = CalendarItem(
        uid="ab" * 16,
        start="2027-03-04T09:00:00+01:00",
        end="2027-03-04T12:00:00+01:00",
        tz="Europe/Paris",
        sequence=0,
        created_ms=1_800_000_000_000,
        modified_ms=1_800_000_000_000,
        organiser=f"Lycée {RLO}Moulin",
        title=f"Journée {RLO}portes",
        where=f"Salle {RLO}B",
        text=f"Venez {RLO}nombreux",
        running_order=(f"9h {RLO}accueil", "10h atelier"),
    )
    (event,) = icalendar.Calendar.from_ical(calendar([item], "Agenda")).walk("VEVENT")
    assert str(event["summary"]) == f"Journée {RLO}portes{PDF}"
    assert str(event["location"]) == f"Salle {RLO}B{PDF}"
    description = str(event["description"])
    assert f"Venez {RLO}nombreux{PDF}" in description
    assert f"9h {RLO}accueil{PDF}\n10h atelier" in description
    assert description.endswith(f"Organised by Lycée {RLO}Moulin{PDF}.")
    (plain,) = icalendar.Calendar.from_ical(
        calendar([dataclasses.replace(item, title="Journée portes ouvertes")], "Agenda")
    ).walk("VEVENT")
    assert str(plain["summary"]) == "Journée portes ouvertes"  # nothing added to plain text


async def test_a_projects_feed_ends_its_texts_bidi_controls(tmp_path: Path) -> None:
    school = await LiveNode.start(tmp_path / "school", "Oakfield", country="GB")
    try:
        node = school.node
        await node.accounts.add("Ms Patel", "staff", "a long password", klass=None, now=now_ms())
        project = await node.projects.create(f"Rivers {RLO}of Europe", [], now_ms())
        post = await node.projects.draft(
            project.id,
            "Ms Patel",
            f"Walk {RLO}by",
            "By the river",
            theme=None,
            images=[],
            now=now_ms(),
        )
        await node.projects.approve(post.id, "Ms Patel", now_ms())
        feed = await node.feeds.create("Ms Patel", project.id, now_ms())
        parsed = feedparser.parse(await node.feeds.render(feed.token, school.address or ""))
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.feed.title == f"Rivers {RLO}of Europe{PDF}"
        assert [e.title for e in parsed.entries] == [f"Walk {RLO}by{PDF}"]
    finally:
        await school.stop()
