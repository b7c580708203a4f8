"""``schoolmesh demo``: the README's first command."""

import json
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from node.demo import PROJECT
from tests.helpers import SCHOOLMESH, run_cli


@dataclass
class DemoSchool:
    web: str
    data: Path | None = None
    sign_ins: list[tuple[str, str, str]] = field(default_factory=list)  # name, role, password


def start_demo(*args: str) -> tuple[subprocess.Popen[str], list[DemoSchool]]:
    proc = subprocess.Popen(
        [SCHOOLMESH, "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    schools: list[DemoSchool] = []
    deadline = time.monotonic() + 120  # three schools, a project and its posts
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if match := re.match(r"\s+web:\s+(http://127\.0\.0\.1:\d+)/$", line):
            schools.append(DemoSchool(match[1]))
        elif match := re.match(r"\s+data:\s+(\S+)", line):
            schools[-1].data = Path(match[1])
        elif match := re.match(r"\s+(?:sign in:)?\s+(.+) \((\w+)[^)]*\), password (\S+)$", line):
            schools[-1].sign_ins.append((match[1], match[2], match[3]))
        if line.startswith("Press Ctrl-C"):
            return proc, schools
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"the demo did not start: {err}")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)  # also closes the pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return proc.returncode


def web_sign_in(address: str, name: str, password: str) -> str:
    """Sign in as a browser would (CSRF token, cookies); return the home page."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    browser.addheaders = [("Accept-Language", "en-GB,en;q=0.9")]  # as a browser in English
    with browser.open(f"{address}/signin", timeout=10) as response:
        token = re.search(r'name="csrf" value="([^"]+)"', response.read().decode())
    assert token
    form = urllib.parse.urlencode(
        {"csrf": token[1], "name": name, "password": password, "next": "/"}
    ).encode()
    with browser.open(f"{address}/signin", data=form, timeout=10) as response:
        assert response.url == f"{address}/"  # followed the redirect to the dashboard
        return str(response.read().decode())


def test_demo_runs_a_network_with_sign_ins_and_cleans_up() -> None:
    proc, schools = start_demo()
    try:
        assert len(schools) == 3
        countries = set()
        for school in schools:
            ident = json.loads(run_cli("id", "--data", str(school.data), "--json").stdout)
            countries.add(ident["country"])
            assert {role for _, role, _ in school.sign_ins} == {"admin", "teacher", "pupil"}
        assert len(countries) == 3
        # Every printed sign-in works; the project's teacher sees the draft to approve.
        for school in schools:
            for name, role, password in school.sign_ins:
                home = web_sign_in(school.web, name, password)
                assert f"Hello, {name}" in home
                if role == "pupil":  # each school's demo class takes part in the project
                    assert "Rivers of Europe" in home
        # A browser that names none of our languages reads each school in its country's.
        for school, hello in zip(
            schools, ('<html lang="en">', '<html lang="fr">', '<html lang="es">'), strict=True
        ):
            with urllib.request.urlopen(f"{school.web}/signin", timeout=10) as response:
                assert hello in response.read().decode()
        owner = schools[1]
        teacher = next(s for s in owner.sign_ins if s[1] == "teacher")
        assert "Les castors de la Loire" in web_sign_in(owner.web, teacher[0], teacher[2])
        # Offers of the first school reach the last through the middle one.
        deadline = time.monotonic() + 20
        found: set[str] = set()
        while time.monotonic() < deadline and len(found) < 3:
            listed = json.loads(
                run_cli("offer", "list", "--data", str(schools[-1].data), "--json").stdout
            )
            found = {item["school"] for item in listed}
            time.sleep(0.3)
        assert len(found) == 3
    finally:
        code = stop(proc)
    assert code == 0
    assert schools[0].data is not None
    assert not schools[0].data.parent.exists()


def test_demo_keep_leaves_the_data() -> None:
    proc, schools = start_demo("--keep")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    # Partnering in a line must not race: neither school of an invite dials the other
    # before both have recorded the partnership (node/peers.py, node/partnering.py).
    assert "refused a peer" not in err
    assert schools[0].data is not None
    assert (schools[0].data / "schoolmesh.db").exists()
    run = run_cli("offer", "list", "--data", str(schools[0].data), "--json")
    assert run.returncode == 0
    assert json.loads(run.stdout)
    # An arrangement to agree a date for, and staff profiles to pair colleagues from.
    listed = json.loads(
        run_cli("interest", "list", "--data", str(schools[1].data), "--json").stdout
    )
    assert [(i["state"], i["school"], i["bookings"]) for i in listed] == [
        ("accepted", "Oakfield Primary School", [])
    ]
    pairs = run_cli("match", "--staff", "--data", str(schools[0].data), "--json")
    assert json.loads(pairs.stdout)["pairs"], pairs.stdout
    # The demo's offers and requests have subjects, so the subject filter finds some.
    maths = run_cli("search", "--subject", "maths", "--data", str(schools[0].data), "--json")
    assert [item["title"] for item in json.loads(maths.stdout)] == [
        "Shared INSET day: maths mastery in KS1 and KS2"
    ]
    english = run_cli("search", "--subject", "English", "--data", str(schools[2].data), "--json")
    assert len(json.loads(english.stdout)) >= 2
    # Today's features: a TeachMeet talk from another school in the running order, a
    # debate with two schools' teams, a question answered by another school, a cluster.
    data = [str(school.data) for school in schools]
    listed = json.loads(run_cli("event", "list", "--data", data[2], "--json").stdout)
    teachmeet = next(e for e in listed if e.get("slots"))
    order = json.loads(
        run_cli("event", "slots", teachmeet["id"], "--data", data[2], "--json").stdout
    )
    assert [(s["slot"], s["school"]) for s in order["slots"] if s["title"]] == [
        (1, "École Jules Verne"),
        (7, "Colegio Sol de Sevilla"),
    ]
    listed = json.loads(run_cli("event", "list", "--data", data[0], "--json").stdout)
    debate = next(e for e in listed if e.get("format") == "debate")
    teams = json.loads(run_cli("event", "teams", debate["id"], "--data", data[0], "--json").stdout)
    assert sorted(t["name"] for t in teams) == ["Oakfield Primary School", "École Jules Verne"]
    asked = json.loads(run_cli("question", "list", "--data", data[0], "--json").stdout)
    assert [q["answer_count"] for q in asked] == [1]
    clusters = json.loads(run_cli("cluster", "list", "--data", data[2], "--json").stdout)
    assert [c["title"] for c in clusters] == ["Year 6 writing: persuasive letters"]
    # The Spanish school's pupil writes in Spanish.
    spanish = next(post for post in PROJECT.posts if post.author == "Lucía")
    assert "río" in spanish.body
    assert "river" not in spanish.body
