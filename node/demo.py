"""``schoolmesh demo``: a small network of schools on this computer, to look around in.

Everything the demo holds is written here as data (schools, people, offers,
events, the project and its posts), then made the way real schools make it:
partnered with invite codes, posts written by pupils and approved by teachers,
and sent between the nodes by their own peer sessions.
"""

from __future__ import annotations

import asyncio
import functools
import io
import itertools
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from node import collector
from node.clock import now_ms
from node.events import slots as talks
from node.events.service import EventView
from node.net.peers import invited
from node.net.server import NodeService
from node.node import Node
from node.observations import staff
from node.questions import service as questions
from protocol.contents.entries import OfferContent
from protocol.errors import NotFoundError, UnreachableError

DAY_MS = 86_400_000
#: Demo passwords, by role: easy to type, and printed for the newcomer. They obey the
#: same rule as any password (node/accounts.py: at least 12 characters).
PASSWORDS = {"admin": "admin-demo-pw", "staff": "teacher-demo", "pupil": "pupil-demo-pw"}
ROLE_WORDS = {"admin": "admin", "staff": "teacher", "pupil": "pupil"}
#: How long to wait for the demo schools to pass letters between them.
SYNC_SECONDS = 45.0


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    role: str
    klass: str | None = None


@dataclass(frozen=True, slots=True)
class DemoEvent:
    title: str
    in_days: int
    at: str  # local time, "HH:MM"
    hours: int
    where: str
    text: str
    #: A TeachMeet's speaker slots: (how many, minutes each).
    slots: tuple[tuple[int, int], ...] = ()
    #: "conference" or "debate": schools bring pupil teams (node/events/teams.py).
    format: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSchool:
    name: str
    country: str
    tz: str
    people: tuple[Person, ...]
    offers: tuple[dict[str, Any], ...] = ()
    requests: tuple[dict[str, Any], ...] = ()
    events: tuple[DemoEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoPost:
    school: int  # index in SCHOOLS
    author: str
    title: str
    body: str
    theme: str
    approved_by: str | None  # None: a draft still waiting for a teacher
    photo: bool = False


@dataclass(frozen=True, slots=True)
class DemoProject:
    owner: int
    members: tuple[int, ...]
    title: str
    themes: list[str]
    posts: tuple[DemoPost, ...]
    #: (school, teacher, index of the post in ``posts``, text): a teacher's comment.
    comment: tuple[int, str, int, str]


SCHOOLS = (
    DemoSchool(
        "Oakfield Primary School",
        "GB",
        "Europe/London",
        people=(
            Person("Mrs Patel", "admin"),
            Person("Mr Jones", "staff"),
            Person("Amira", "pupil", "5B"),
            Person("Tom", "pupil", "5B"),
        ),
        offers=(
            {
                "activity": "observation",
                "title": "Watch a Year 2 phonics lesson (Read Write Inc.)",
                "text": "Thirty-minute observation slots on Tuesday mornings, with time to "
                "talk to the teacher afterwards. One development point, no paperwork.",
                "focus": ["phonics", "early-years"],
                "subjects": ["English", "reading"],
                "phases": ["primary"],
                "languages": ["en"],
                "mode": "in-person",
                "capacity": 4,
            },
            {
                "activity": "training-day",
                "title": "Shared INSET day: maths mastery in KS1 and KS2",
                "text": "Our January training day is open to partner schools' staff.",
                "focus": ["maths-mastery"],
                "subjects": ["maths"],
                "phases": ["primary"],
                "languages": ["en"],
                "mode": "either",
            },
        ),
        requests=(
            {
                "activity": "project-partner",
                "title": "Partner school in France or Spain for a pupil blog on our rivers",
                "focus": ["languages", "curriculum-design"],
                "subjects": ["geography", "science", "languages"],
                "phases": ["primary"],
                "languages": ["en", "fr", "es"],
                "mode": "online",
            },
        ),
        events=(
            DemoEvent(
                "Open morning: maths mastery in Year 5",
                14,
                "09:00",
                3,
                "Oakfield Primary School, Leeds",
                "Watch two lessons, then talk with the maths lead over coffee.",
            ),
            DemoEvent(
                "Pupil debate: should our rivers have the same rights as people?",
                28,
                "14:00",
                2,
                "Online (the link is sent to the schools that bring a team)",
                "Year 5 and 6 teams from the Rivers of Europe schools argue for and against.",
                format="debate",
            ),
        ),
    ),
    DemoSchool(
        "École Jules Verne",
        "FR",
        "Europe/Paris",
        people=(
            Person("Mme Martin", "admin"),
            Person("M. Bernard", "staff"),
            Person("Léo", "pupil", "CM2"),
            Person("Chloé", "pupil", "CM2"),
        ),
        offers=(
            {
                "activity": "shadowing",
                "title": "Shadow our deputy head for two days (leadership)",
                "text": "For middle leaders working towards senior leadership.",
                "focus": ["leadership"],
                "subjects": ["leadership and management"],
                "phases": ["primary", "secondary"],
                "languages": ["fr", "en"],
                "mode": "in-person",
                "capacity": 2,
            },
        ),
        requests=(
            {
                "activity": "observation",
                "title": "Observer une leçon de phonics en anglais",
                "text": "Our English teachers would like to see early reading taught in "
                "English schools.",
                "focus": ["phonics", "reading"],
                "subjects": ["English", "reading"],
                "phases": ["primary"],
                "languages": ["en", "fr"],
                "mode": "either",
            },
        ),
        events=(
            DemoEvent(
                "Réunion en ligne : projet « Rivières d'Europe »",
                7,
                "17:00",
                1,
                "En ligne (le lien est envoyé aux membres)",
                "Les enseignants des trois écoles préparent le deuxième trimestre.",
            ),
        ),
    ),
    DemoSchool(
        "Colegio Sol de Sevilla",
        "ES",
        "Europe/Madrid",
        people=(
            Person("Sra. García", "admin"),
            Person("Sr. López", "staff"),
            Person("Lucía", "pupil", "6A"),
        ),
        offers=(
            {
                "activity": "teachmeet",
                "title": "TeachMeet online: oracy across the curriculum",
                "text": "Seven-minute talks by teachers, two-minute nano-presentations.",
                "focus": ["oracy"],
                "subjects": ["English", "Spanish", "speaking and listening"],
                "phases": ["primary", "secondary"],
                "languages": ["es", "en"],
                "mode": "online",
            },
        ),
        requests=(
            {
                "activity": "moderation",
                "title": "Moderation cluster for Year 6 writing",
                "focus": ["assessment-and-moderation", "writing"],
                "subjects": ["English", "writing"],
                "phases": ["primary"],
                "languages": ["en", "es"],
                "mode": "online",
            },
        ),
        events=(
            DemoEvent(
                "TeachMeet online: oracy across the curriculum",
                21,
                "18:00",
                2,
                "Online",
                "Seven-minute talks by teachers from three countries.",
                slots=((6, 2), (3, 7)),
            ),
        ),
    ),
)

PROJECT = DemoProject(
    owner=1,
    members=(0, 2),
    title="Rivers of Europe",
    themes=["rivers", "wildlife"],
    posts=(
        DemoPost(
            0,
            "Amira",
            "What we found in the River Aire",
            "We measured how fast the river flows with a stick and a stopwatch: "
            "**0.4 metres a second**. We saw a heron and lots of mayfly larvae.",
            "rivers",
            approved_by="Mr Jones",
            photo=True,
        ),
        DemoPost(
            2,
            "Lucía",
            "El Guadalquivir en primavera",
            "El Guadalquivir es el único gran río de España por el que pueden subir los "
            "barcos. Dibujamos un mapa de los puentes de Sevilla.",
            "rivers",
            approved_by="Sr. López",
        ),
        DemoPost(
            1,
            "Léo",
            "Les castors de la Loire",
            "Beavers came back to the Loire fifty years ago. (Still a draft: a teacher "
            "has not approved it yet.)",
            "wildlife",
            approved_by=None,
        ),
    ),
    comment=(1, "M. Bernard", 0, "Bravo ! Our class will measure the Loire next week."),
)


def photo() -> bytes:
    """A small made-up picture of a river (JPEG), so the demo's blog has a photo."""
    image = Image.new("RGB", (480, 320), (150, 200, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 170, 480, 320), fill=(70, 140, 60))
    draw.polygon([(0, 230), (480, 190), (480, 260), (0, 320)], fill=(40, 110, 190))
    draw.ellipse((380, 30, 440, 90), fill=(255, 215, 80))
    for x in range(30, 480, 90):
        draw.rectangle((x, 120, x + 8, 175), fill=(100, 70, 40))
        draw.ellipse((x - 25, 80, x + 33, 135), fill=(40, 120, 50))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _moment(day: date, at: str, tz: str, plus_hours: int = 0) -> str:
    hour, minute = (int(x) for x in at.split(":"))
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))
    return (start + timedelta(hours=plus_hours)).isoformat(timespec="minutes")


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for the schools' own sessions to carry something across."""
    deadline = time.monotonic() + SYNC_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise UnreachableError(f"the demo schools did not exchange {what} in time")
        await asyncio.sleep(0.1)


async def _setup_school(node: Node, school: DemoSchool) -> None:
    for person in school.people:
        await node.accounts.add(
            person.name, person.role, PASSWORDS[person.role], klass=person.klass, now=now_ms()
        )
        if person.role == "pupil":  # as if parents agreed: first names and photos of work
            await node.accounts.set_consent(
                person.name, show_name="full", work_photos=True, face_photos=False
            )
    for content in school.offers:
        await node.offers.post("offer", content)
    for content in school.requests:
        await node.offers.post("request", content)
    today = date.today()
    for event in school.events:
        day = today + timedelta(days=event.in_days)
        fields: dict[str, Any] = {
            "title": event.title,
            "start": _moment(day, event.at, school.tz),
            "end": _moment(day, event.at, school.tz, event.hours),
            "tz": school.tz,
            "where": event.where,
            "text": event.text,
        }
        if event.slots:
            fields["slots"] = [list(group) for group in event.slots]
        if event.format:
            fields["format"] = event.format
        await node.events.create(fields)


async def _has_project(node: Node, pid: str, standing: str) -> bool:
    try:
        return (await node.projects.get(pid)).standing == standing
    except NotFoundError:
        return False


async def _setup_project(nodes: list[Node], plan: DemoProject) -> None:
    owner = nodes[plan.owner]
    project = await owner.projects.create(plan.title, plan.themes, now_ms())
    pid = project.id
    members = [nodes[i] for i in plan.members]
    for member in members:
        await owner.projects.invite(pid, member.node_id, now_ms())
    for member in members:
        await _until(functools.partial(_has_project, member, pid, "invited"), "invitations")
        await member.projects.join(pid, now_ms())
    everyone = {n.node_id for n in [owner, *members]}

    async def all_joined() -> bool:
        for n in [owner, *members]:
            seen = (await n.projects.get(pid)).members
            if {k for k, state in seen.items() if state == "member"} != everyone:
                return False
        return True

    await _until(all_joined, "project members")
    for node in [owner, *members]:  # each school's demo class takes part
        classes = {u.klass for u in await node.accounts.all() if u.role == "pupil" and u.klass}
        await node.projects.rosters.replace(pid, classes=classes, pupils=[], now=now_ms())
    post_ids = []
    for post in plan.posts:
        node = nodes[post.school]
        images = [("river.jpg", photo(), False)] if post.photo else []
        draft = await node.projects.draft(
            pid, post.author, post.title, post.body, theme=post.theme, images=images, now=now_ms()
        )
        if post.approved_by:
            await node.projects.approve(draft.id, post.approved_by, now_ms())
        post_ids.append(draft.id)
    school, teacher, index, text = plan.comment
    commenter = nodes[school]

    async def arrived() -> bool:
        try:
            await commenter.projects.post(post_ids[index])
        except NotFoundError:
            return False
        return True

    await _until(arrived, "project posts")
    await commenter.projects.accept(post_ids[index], teacher)
    await commenter.projects.comment(post_ids[index], teacher, text, now_ms())


async def start_network(base: Path) -> list[NodeService]:
    """Create the demo schools under ``base``, start them, partner them in a line, fill them."""
    services = []
    for index, school in enumerate(SCHOOLS):
        node = await Node.create(
            base / f"school-{index + 1}", name=school.name, country=school.country
        )
        service = NodeService(node)
        await service.start(host="127.0.0.1", port=0)
        services.append(service)
    # Partner them as real schools do: each invites the next, which redeems the code.
    for inviter, joiner in itertools.pairwise(services):
        code, _ = await inviter.node.invites.create(expires_in_ms=DAY_MS, address=None)
        await joiner.node.invites.redeem(code, invited)
    for service, school in zip(services, SCHOOLS, strict=True):
        await _setup_school(service.node, school)
    await _setup_project([s.node for s in services], PROJECT)
    nodes = [s.node for s in services]
    # The schools' own sessions carry these across: wait for them side by side.
    await asyncio.gather(
        _setup_arrangement(nodes[1], nodes[0]),
        _setup_talk(nodes[2], nodes[1]),
        _setup_debate(nodes[0], nodes[1]),
        _setup_question(nodes[0], nodes[1]),
    )
    await _setup_cluster(nodes[2], nodes[1])
    await _setup_staff(nodes[0])
    return services


async def _own_event(node: Node, has: Callable[[EventView], object]) -> EventView:
    """This school's demo event that ``has`` something (slots, a format)."""
    return next(e for e in await node.events.listing() if e.author == node.node_id and has(e))


async def _holds(node: Node, entry: Any) -> bool:
    return await node.store.get(entry) is not None


async def _setup_talk(organiser: Node, speaker: Node) -> None:
    """A teacher of the École signs up for a 2-minute slot at the Colegio's TeachMeet;
    the Colegio accepts the talk, and the running order reaches every school."""
    teachmeet = await _own_event(organiser, lambda e: e.slots)
    await _until(functools.partial(_holds, speaker, teachmeet.id), "the TeachMeet")
    await talks.speak(
        speaker, str(teachmeet.id), 1, "Talk partners in a bilingual class", "M. Bernard"
    )
    await talks.speak(organiser, str(teachmeet.id), 7, "Oracy in our assemblies", "Sr. López")

    async def offered() -> bool:
        return any(row[0] == 1 for row in await organiser.slots.rows(teachmeet.id))

    await _until(offered, "a talk for the TeachMeet")
    await talks.accept(organiser, str(teachmeet.id), 1)


async def _setup_debate(organiser: Node, other: Node) -> None:
    """Oakfield's debate, with its own team and the École's (numbers and roles only)."""
    debate = await _own_event(organiser, lambda e: e.format is not None)
    today = date.today()
    roles = {"speaker": 4, "researcher": 2, "audience": 2}
    await organiser.teams.send(debate, 8, roles, now=now_ms(), today=today)
    await _until(functools.partial(_holds, other, debate.id), "the debate")
    theirs = await other.events.find(str(debate.id))
    await other.teams.send(theirs, 6, {"speaker": 3, "audience": 3}, now=now_ms(), today=today)

    async def both() -> bool:
        return len(await organiser.teams.teams(debate.id, debate.author)) == 2

    await _until(both, "the debate's teams")


async def _setup_question(asker: Node, answerer: Node) -> None:
    """A question of Oakfield's, answered by a teacher at the École: news on Oakfield's
    dashboard, found again by search."""
    asked = await asker.questions.ask(
        questions.content_of(
            title="How do you run guided reading with mixed-age classes?",
            text="We have Years 3 and 4 together this year. Do you group by reading level "
            "or by age, and how do you keep the other groups busy?",
            focus=["reading"],
            subjects=["English", "reading"],
            phases=["primary"],
            languages=["en"],
        )
    )
    await _until(functools.partial(_holds, answerer, asked.id), "the question")
    await answerer.questions.answer(
        str(asked.id),
        "By reading level, never by age: three groups, each reading with the teacher twice "
        "a week. The others do a reading journal or paired reading meanwhile.",
        by="M. Bernard",
    )

    async def answered() -> bool:
        return (await asker.questions.one(str(asked.id), limit=0)).answer_count == 1

    await _until(answered, "an answer to the question")


async def _setup_cluster(maker: Node, partner: Node) -> None:
    """The Colegio's moderation cluster with the École: an invitation to share and
    grade anonymised samples of Year 6 writing (it travels on as the demo runs)."""
    await maker.clusters.create(
        "Year 6 writing: persuasive letters",
        [str(partner.node_id)],
        subject="writing",
        now=now_ms(),
    )


#: Oakfield's staff profiles, so that its peer-observation pairs page has something.
STAFF = (
    ("Mr Jones", ["behaviour", "maths-mastery"], ["questioning"], ["maths"]),
    ("Mrs Patel", ["questioning", "leadership"], ["phonics"], ["english"]),
    ("Ms Evans", ["phonics", "early-years"], ["behaviour"], ["english"]),
)


async def _setup_staff(node: Node) -> None:
    for name, strengths, develops, subjects in STAFF:
        await node.staff.add(
            staff.member(
                name, strengths=strengths, develops=develops, subjects=subjects, phase="primary"
            ),
        )


async def _setup_arrangement(interested: Node, posting: Node) -> None:
    """The École's interest in Oakfield's phonics observation, accepted: an arrangement
    whose date the two schools can agree on their Interest pages."""
    wanted = next(
        listing
        for listing in await posting.offers.listing("offer")
        if listing.entry.author == posting.node_id
        and listing.entry.content
        and OfferContent.of(listing.entry).activity == "observation"
    )

    async def arrived() -> bool:
        return await interested.store.get(wanted.entry.id) is not None

    await _until(arrived, "offers")
    sent = await interested.interests.send(
        str(wanted.entry.id),
        "Deux enseignantes de CP aimeraient observer une séance de phonics en mars.",
        by="M. Bernard",
        now=now_ms(),
    )

    async def received() -> bool:
        return any(i.id == sent.id for i in await posting.interests.all())

    await _until(received, "interest")
    await posting.interests.accept(
        sent.id, message="Very welcome: choose a Tuesday morning.", by="Mr Jones", now=now_ms()
    )

    async def answered() -> bool:
        return (await interested.interests.get(sent.id)).state == "accepted"

    await _until(answered, "an answer to interest")


async def stop_network(services: list[NodeService]) -> None:
    for service in services:
        await service.stop()
        await service.node.close()


def _print_schools(services: list[NodeService]) -> None:
    for service, school in zip(services, SCHOOLS, strict=True):
        print(f"  {school.name} ({school.country})")
        print(f"    web:     {service.address}/")
        print(f"    data:    {service.node.data.path}")
        for i, person in enumerate(school.people):
            role = ROLE_WORDS[person.role] + (f", {person.klass}" if person.klass else "")
            label = "sign in:" if i == 0 else ""
            print(f"    {label:<8} {person.name} ({role}), password {PASSWORDS[person.role]}")
        print()


async def run_demo(*, keep: bool) -> None:
    """Run the demo until Ctrl-C; remove its data afterwards unless ``keep``."""
    base = Path(tempfile.mkdtemp(prefix="schoolmesh-demo-"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services: list[NodeService] = []
    try:
        print("schoolmesh demo: starting three partner schools on this computer...", flush=True)
        services = await start_network(base)
        collector.settle()
        print("Ready. Open a school's web address in your browser and sign in.\n")
        _print_schools(services)
        owner = SCHOOLS[PROJECT.owner]
        draft = PROJECT.posts[-1]
        print(f"Try: sign in at {owner.name} as {owner.people[1].name} to approve {draft.author}'s")
        print(f"post in the project {PROJECT.title!r}, or as a pupil to write one. The schools")
        print("are partnered in a line: offers from the first reach the last through the middle.")
        print(
            f"On the Interest page at {SCHOOLS[0].name} or {SCHOOLS[1].name}, propose a date "
            "for their arrangement; the other school accepts it."
        )
        oak, ecole, colegio = (school.name for school in SCHOOLS)
        print(
            f"Also to see: the TeachMeet's running order at {colegio} (Events: a talk from "
            f"{ecole} in slot 1), the pupil debate at {oak} with two schools' teams, a "
            f"question of {oak}'s answered by {ecole} (Questions), and a moderation cluster "
            f"of {colegio} with {ecole} (Clusters)."
        )
        first = services[-1].node.data.path
        command = sys.argv[0] if sys.argv[0].endswith("schoolmesh") else "schoolmesh"
        print(f"On the command line: {command} status --data {first}")
        print(
            "\nPress Ctrl-C to stop"
            + (" (the data is kept)." if keep else " and remove the data."),
            flush=True,
        )
        await stop.wait()
        print("\nStopping the demo...")
    finally:
        await stop_network(services)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if keep:
            print(f"The demo data is kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
