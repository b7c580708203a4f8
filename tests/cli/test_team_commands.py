"""``schoolmesh event create --kind``, ``event team`` and ``event teams``, end to end: on
one node (the host school's own team and every bad input), and across two running
schools (a team reaches the organiser and the table comes back)."""

import shutil
from pathlib import Path

import pytest

from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.cli.test_network import (
    LIVE_SECONDS,
    Network,
    eventually,
    partner_by_invite,
    wait_connected,
)
from tests.cli.test_network import network as network  # the fixture

TIMES = ("--start", "2030-10-21T13:00Z", "--end", "2030-10-21T15:00Z")


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


def test_the_host_school_brings_a_team_to_its_own_debate(node: Path, made_node: Made) -> None:
    data = ["--data", str(node)]
    made = ok_json("event", "create", *data, "--title", "Debate", *TIMES, "--kind", "debate")
    assert isinstance(made, dict)
    shown = ok_json("event", "show", made["id"], *data)
    assert isinstance(shown, dict)
    assert shown["format"] == "debate"
    assert "kind:      debate (schools bring pupil teams: `event teams" in ok(
        "event", "show", made["id"], *data
    )
    assert ok_json("event", "teams", made["id"], *data) == []
    assert "No teams yet." in ok("event", "teams", made["id"], *data)
    sent = ok(
        "event", "team", made["id"][:10], *data, "--pupils", "6",
        "--role", "speaker:2", "--role", "researcher:1", "--role", "speaker:1",
    )  # fmt: skip
    assert "team of 6 pupil(s)" in sent
    assert ok_json("event", "teams", made["id"], *data) == [
        {
            "node_id": made_node.node_id,
            "name": "Oakfield Primary",
            "pupils": 6,
            "roles": {"speaker": 3, "researcher": 1, "audience": 0},
        }
    ]
    assert "6 pupils  Oakfield Primary  3 speaker, 1 researcher" in ok(
        "event", "teams", made["id"], *data
    )
    assert "Withdrew" in ok("event", "team", made["id"], *data, "--withdraw")
    assert ok_json("event", "teams", made["id"], *data) == []


def test_bad_teams_are_refused_in_words(node: Path) -> None:
    data = ["--data", str(node)]
    made = ok_json(
        "event", "create", *data, "--title", "Conference", *TIMES, "--kind", "conference"
    )
    plain = ok_json("event", "create", *data, "--title", "Training day", *TIMES)
    assert isinstance(made, dict)
    assert isinstance(plain, dict)
    bad_kind = cli("event", "create", *data, "--title", "T", *TIMES, "--kind", "party")
    assert bad_kind.returncode == 2
    assert "conference|debate" in bad_kind.stderr
    named = cli("event", "team", made["id"], *data, "--pupils", "2", "--role", "Alice Martin:1")
    assert named.returncode == 2
    assert "ROLE one of speaker, researcher, audience" in named.stderr
    for flags, words in [
        (("--pupils", "61"), "1 to 60 pupils"),
        (("--pupils", "0"), "1 to 60 pupils"),
        (("--pupils", "2", "--role", "speaker:2", "--role", "audience:1"), "add up to more"),
        ((), "give --pupils N"),
        (("--pupils", "2", "--withdraw"), "give --pupils N"),
    ]:
        assert words in error(cli("event", "team", made["id"], *data, *flags), 2)
    ordinary = cli("event", "team", plain["id"], *data, "--pupils", "3")
    assert "not a conference or debate" in error(ordinary, 2)
    assert ok_json("event", "teams", made["id"], *data) == []


def test_a_team_reaches_the_organiser_and_the_table_comes_back(network: Network) -> None:
    a, b = network.init("A", "B")
    network.start(a, b)
    partner_by_invite(a, b)
    wait_connected(a, b)
    made = ok_json(
        "event", "create", "--data", a.data, "--title", "Debate", *TIMES, "--kind", "debate"
    )
    assert isinstance(made, dict)

    def arrived() -> bool:
        listed = ok_json("event", "list", "--data", b.data)
        assert isinstance(listed, list)
        return any(e["id"] == made["id"] for e in listed)

    eventually(arrived, within=LIVE_SECONDS, what="the debate at B")
    ok("event", "team", made["id"], "--data", b.data, "--pupils", "5", "--role", "speaker:3")
    want = [
        {
            "node_id": b.node_id,
            "name": "B",
            "pupils": 5,
            "roles": {"speaker": 3, "researcher": 0, "audience": 0},
        }
    ]

    def shared() -> bool:
        return all(ok_json("event", "teams", made["id"], "--data", s.data) == want for s in (a, b))

    eventually(shared, within=LIVE_SECONDS, what="B's team at A and the table back at B")
