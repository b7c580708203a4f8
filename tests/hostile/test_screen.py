"""A hostile school's control characters on another school's screen.

The Lycée signs, with its real key, a profile and an offer whose text carries a C1
control (U+009B, a CSI some terminals obey), a bidi override and an isolate, and a
line separator: all allowed in text by the content rules, so they reach the Colegio.
The Colegio's IT staff list them with the command: the characters are shown as
escapes, never written raw; ``--json`` gives the same values, escaped the JSON way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cli.screen import UNSAFE
from node.clock import now_ms
from node.observations import staff
from protocol import kinds
from protocol.errors import NotFoundError
from tests.helpers import offer_content, run_cli
from tests.hostile.test_entries import arrives, signed_as
from tests.network import COLEGIO, EVERYTHING, LYCEE, LiveNode, network, wait_for
from tests.web.web import add_user, client, http_sign_in

Schools = dict[str, LiveNode]

NAME = "Lyc\u00e9e \x9b2J\u202eeniluoM\u202c"
TITLE = "Forest \x9b31mschool\u2066 visits\u2069\u2028today"
SHOWN_NAME = "Lyc\u00e9e \\u009b2J\\u202eeniluoM\\u202c"
SHOWN_TITLE = "Forest \\u009b31mschool\\u2066 visits\\u2069\\u2028today"


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(tmp_path, (LYCEE, COLEGIO), [("lycee", "colegio")], holding=EVERYTHING) as n:
        yield n


async def cli(us: LiveNode, *args: str) -> str:
    done = await asyncio.to_thread(run_cli, *args, "--data", str(us.node.data.path))
    assert done.returncode == 0, done.stderr
    assert not UNSAFE.search(done.stdout.replace("\n", "")), done.stdout
    return done.stdout


async def test_a_hostile_schools_controls_are_shown_escaped_in_listings(pair: Schools) -> None:
    rogue, us = pair["lycee"], pair["colegio"]
    await signed_as(rogue, kinds.PROFILE, {"name": NAME, "country": "FR", "relays": []})
    offer = await signed_as(rogue, kinds.OFFER, offer_content(TITLE))
    await arrives(us, offer)

    listed = await cli(us, "offer", "list")
    assert f"{SHOWN_TITLE}  ({SHOWN_NAME}, FR)" in listed
    schools = await cli(us, "schools")
    assert f"{rogue.node.node_id}  FR  {SHOWN_NAME}  partner" in schools.splitlines()

    (as_json,) = json.loads(await cli(us, "offer", "list", "--json"))
    assert (as_json["title"], as_json["school"]) == (TITLE, NAME)
    by_id = {s["node_id"]: s for s in json.loads(await cli(us, "schools", "--json"))}
    assert by_id[str(rogue.node.node_id)]["name"] == NAME


async def test_a_line_break_in_a_title_cannot_forge_a_row_of_the_listing(pair: Schools) -> None:
    """Titles may hold line breaks (the content rules allow them in any text); a
    listing row shows one as ``\\u000a`` rather than start a made-up row at the margin."""
    rogue, us = pair["lycee"], pair["colegio"]
    forged = "0123456789ab  2026-12-01  visit            Free tablets  (Oakfield Primary, GB)"
    offer = await signed_as(rogue, kinds.OFFER, offer_content(f"Forest school\n{forged}"))
    question = await signed_as(
        rogue, kinds.QUESTION, {"title": f"Phonics?\n{forged}", "text": "Which scheme?"}
    )
    await arrives(us, offer)
    await arrives(us, question)

    (row,) = (await cli(us, "offer", "list")).splitlines()
    assert row.startswith(str(offer.id)[:12])
    assert f"Forest school\\u000a{forged}  (Lyc" in row
    (row,) = (await cli(us, "question", "list")).splitlines()
    assert f"Phonics?\\u000a{forged}  (Lyc" in row
    (as_json,) = json.loads(await cli(us, "offer", "list", "--json"))
    assert as_json["title"] == f"Forest school\n{forged}"


async def test_a_line_break_in_a_schools_name_cannot_forge_a_partner_row(pair: Schools) -> None:
    """`partner list` and `status` print a partner's name within its row: the name the
    school signed, line break and all, is shown with ``\\u000a``, as in `schools`."""
    rogue, us = pair["lycee"], pair["colegio"]
    forged = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG  connected  Oakfield Primary"
    profile = await signed_as(
        rogue, kinds.PROFILE, {"name": f"Lycée\n{forged}", "country": "FR", "relays": []}
    )
    await arrives(us, profile)

    (row,) = (await cli(us, "partner", "list")).splitlines()
    assert row.startswith(str(rogue.node.node_id))
    assert f"Lycée\\u000a{forged}" in row
    status = await cli(us, "status")
    assert f"  Lycée\\u000a{forged}: " in status.splitlines()[2]


async def test_typed_escape_text_is_told_apart_from_the_control_it_names(pair: Schools) -> None:
    """A school whose title holds, typed, the six characters ``\\u202e`` (or a forged
    ``\\u000a`` row break) does not look like one whose title holds the override: the
    typed backslash is shown doubled; ``--json`` gives both titles exactly."""
    rogue, us = pair["lycee"], pair["colegio"]
    control = await signed_as(rogue, kinds.OFFER, offer_content("Forest \u202eschool"))
    typed = await signed_as(rogue, kinds.OFFER, offer_content("Forest \\u202eschool"))
    row_break = await signed_as(rogue, kinds.OFFER, offer_content("Pond\\u000adipping"))
    for offer in (control, typed, row_break):
        await arrives(us, offer)

    rows = {row[:12]: row for row in (await cli(us, "offer", "list")).splitlines()}
    assert "Forest \\u202eschool  (Lyc" in rows[str(control.id)[:12]]
    assert "Forest \\\\u202eschool  (Lyc" in rows[str(typed.id)[:12]]
    assert "Pond\\\\u000adipping  (Lyc" in rows[str(row_break.id)[:12]]
    titles = {o["id"]: o["title"] for o in json.loads(await cli(us, "offer", "list", "--json"))}
    assert titles[str(control.id)] == "Forest \u202eschool"
    assert titles[str(typed.id)] == "Forest \\u202eschool"
    assert titles[str(row_break.id)] == "Pond\\u000adipping"


async def test_a_partner_s_project_title_quoted_in_a_message_keeps_the_screen_s_rule(
    pair: Schools,
) -> None:
    """`project join` and `project pupils` quote the project's title, which its owner
    wrote: the override in it is shown with one backslash and the six characters typed
    with two, as in a listing (docs/admin.md), not through Python's repr, whose own
    escapes the screen would double (the override then read as typed text)."""
    rogue, us = pair["lycee"], pair["colegio"]
    control = await rogue.node.projects.create("Forest \u202eschool", [], now_ms())
    typed = await rogue.node.projects.create("Forest \\u202eschool", [], now_ms())
    for project in (control, typed):
        await rogue.node.projects.invite(project.id, us.node.node_id, now_ms())

    async def invited() -> bool:
        try:
            standing = [(await us.node.projects.get(p.id)).standing for p in (control, typed)]
        except NotFoundError:  # not arrived yet
            return False
        return standing == ["invited", "invited"]

    await wait_for(invited, what="both invitations at the Colegio")
    assert await cli(us, "project", "join", control.id) == "Joined 'Forest \\u202eschool'.\n"
    assert await cli(us, "project", "join", typed.id) == "Joined 'Forest \\\\u202eschool'.\n"
    pupils = await cli(us, "project", "pupils", control.id)
    assert pupils.startswith("None of our pupils take part in 'Forest \\u202eschool' yet")


async def test_interest_send_shows_the_schools_name_on_one_line_escaped(pair: Schools) -> None:
    """`interest send` names the school it wrote to: a name signed with a line break
    and a bidi isolate is shown escaped on its line, as `schools` shows it, and cannot
    start a made-up line of the command's answer."""
    rogue, us = pair["lycee"], pair["colegio"]
    forged = "Sent interest 01234567 to Oakfield Primary about 'Free tablets'."
    name = f"Lycée\n{forged}\u2067"
    profile = await signed_as(rogue, kinds.PROFILE, {"name": name, "country": "FR", "relays": []})
    offer = await signed_as(rogue, kinds.OFFER, offer_content("Forest school"))
    await arrives(us, profile)
    await arrives(us, offer)

    said = await cli(
        us, "interest", "send", str(offer.id)[:8], "--message", "In May?", "--by", "Sra Ruiz"
    )
    (line, *rest) = said.splitlines()
    assert line.startswith("Sent interest ")
    assert f" to Lycée\\u000a{forged}\\u2067 about 'Forest school'." in line, line
    assert all(not row.startswith("Sent interest") for row in rest), said


async def test_staff_matches_at_other_schools_show_a_hostile_offer_escaped(pair: Schools) -> None:
    """`match --staff --network` and the page's "At other schools" print the offering
    school's name twice (after the title, and in the first reason) and the title: a
    hostile school's controls are escapes on the screen, and markup is text on the page
    with the name's override closed where the name ends, not at the end of the reason."""
    rogue, us = pair["lycee"], pair["colegio"]
    name = "Lyc\u00e9e \x9b2J\u202eeniluoM<b>"
    shown = "Lyc\u00e9e \\u009b2J\\u202eeniluoM<b>"
    await signed_as(rogue, kinds.PROFILE, {"name": name, "country": "FR", "relays": []})
    offer = await signed_as(
        rogue, kinds.OFFER, {**offer_content(f"{TITLE}\n<script>x</script>"), "focus": ["oracy"]}
    )
    await arrives(us, offer)
    await us.node.staff.add(
        staff.member("Ana Ruiz", strengths=[], develops=["oracy"], subjects=[], phase=None)
    )

    text = await cli(us, "match", "--staff", "--network")
    assert f"{SHOWN_TITLE}\\u000a<script>x</script>  ({shown}, FR)" in text
    assert f"       {shown} offers peer observation with a focus on oracy" in text
    (found,) = json.loads(await cli(us, "match", "--staff", "--network", "--json"))
    assert found["matches"][0]["title"] == f"{TITLE}\n<script>x</script>"
    assert found["matches"][0]["school"] == name

    await add_user(us, "Sra Gil", "staff")
    async with client(us) as http:
        await http_sign_in(http, "Sra Gil")
        async with http.get("/matches/staff") as response:
            page = await response.text()
    section = page[page.index('id="elsewhere"') :]
    assert "<script>" not in section
    assert "<b>" not in section
    assert "&lt;script&gt;x&lt;/script&gt;</a>" in section
    assert "eniluoM&lt;b&gt;\u202c offers Peer observation" in section
