"""``schoolmesh demo``: a small network of schools on this computer, to look around in."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node import offers, partnering
from node.node import Node
from node.server import NodeService

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class DemoSchool:
    name: str
    country: str
    offers: tuple[dict[str, Any], ...]
    requests: tuple[dict[str, Any], ...]


SCHOOLS = (
    DemoSchool(
        "Oakfield Primary School",
        "GB",
        offers=(
            {
                "activity": "observation",
                "title": "Watch a Year 2 phonics lesson (Read Write Inc.)",
                "text": "Thirty-minute observation slots on Tuesday mornings, with time to "
                "talk to the teacher afterwards. One development point, no paperwork.",
                "focus": ["phonics", "early-years"],
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
                "phases": ["primary"],
                "languages": ["en", "fr", "es"],
                "mode": "online",
            },
        ),
    ),
    DemoSchool(
        "École Jules Verne",
        "FR",
        offers=(
            {
                "activity": "shadowing",
                "title": "Shadow our deputy head for two days (leadership)",
                "text": "For middle leaders working towards senior leadership.",
                "focus": ["leadership"],
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
                "phases": ["primary"],
                "languages": ["en", "fr"],
                "mode": "either",
            },
        ),
    ),
    DemoSchool(
        "Colegio Sol de Sevilla",
        "ES",
        offers=(
            {
                "activity": "teachmeet",
                "title": "TeachMeet online: oracy across the curriculum",
                "text": "Seven-minute talks by teachers, two-minute nano-presentations.",
                "focus": ["oracy"],
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
                "phases": ["primary"],
                "languages": ["en", "es"],
                "mode": "online",
            },
        ),
    ),
)


async def start_network(base: Path) -> list[NodeService]:
    """Create the demo schools under ``base``, start them, partner them in a line."""
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
        code, _ = await partnering.create_invite(inviter.node, expires_in_ms=DAY_MS, address=None)
        await partnering.add_partner(joiner.node, code)
    for service, school in zip(services, SCHOOLS, strict=True):
        for content in school.offers:
            await offers.post(service.node, "offer", content)
        for content in school.requests:
            await offers.post(service.node, "request", content)
    return services


async def stop_network(services: list[NodeService]) -> None:
    for service in services:
        await service.stop()
        await service.node.close()


async def run_demo(*, keep: bool) -> None:
    """Run the demo until Ctrl-C; remove its data afterwards unless ``keep``."""
    base = Path(tempfile.mkdtemp(prefix="schoolmesh-demo-"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services: list[NodeService] = []
    try:
        services = await start_network(base)
        print("schoolmesh demo: three partner schools are running on this computer.\n")
        for service in services:
            me = await service.node.identity()
            print(f"  {me.name} ({me.country})")
            print(f"    address: {service.address}")
            print(f"    data:    {service.node.data.path}")
        first = services[-1].node.data.path
        command = sys.argv[0] if sys.argv[0].endswith("schoolmesh") else "schoolmesh"
        print("\nTry, in another terminal (the schools are partnered in a line, so offers")
        print("from the first school reach the last one through the middle one):")
        print(f"  {command} offer list --data {first}")
        print(f"  {command} request list --data {first}")
        print(f"  {command} status --data {first}")
        print(f"  {command} offer post --data {first} --kind visit --title 'Visit our school'")
        print(
            "\nPress Ctrl-C to stop" + (" (the data is kept)." if keep else " and remove the data.")
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
