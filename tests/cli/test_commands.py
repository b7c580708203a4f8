"""The real ``schoolmesh`` command, end to end, each test in its own data folder.

Each command runs in a subprocess (~0.3 s), so a node is made once per module and
copied into each test's tmp_path; a second template also holds one offer and one
request with every optional field.
"""

import json
import re
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from node.keyfile import load_key
from tests.helpers import run_cli

SCHOOL = "Oakfield Primary"
HEX64 = re.compile(r"[0-9a-f]{64}")
NODE_ID = re.compile(r"[A-Za-z0-9_-]{43}")

OPTIONAL_FLAGS = (
    *("--focus", "phonics", "--focus", "reading"),
    *("--phase", "primary", "--language", "fr"),
    *("--from", "2026-10-05", "--to", "2026-10-09", "--capacity", "3"),
)
OPTIONAL_FIELDS = {
    "focus": ["phonics", "reading"],
    "phases": ["primary"],
    "languages": ["fr"],
    "from": "2026-10-05",
    "to": "2026-10-09",
    "capacity": 3,
}
TITLES = {"offer": "Year 5 maths mastery lessons", "request": "Shadow a deputy head"}
KINDS = {"offer": "observation", "request": "shadowing"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command; whatever happens, it never shows a traceback."""
    result = run_cli(*args, env=env)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    return result


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ok_json(*args: str, env: dict[str, str] | None = None) -> object:
    return json.loads(ok(*args, "--json", env=env))


def error(result: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    """The one-line error of a failed command (any non-zero exit when ``code`` is None)."""
    if code is None:
        assert result.returncode != 0, result.stdout
    else:
        assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("schoolmesh: error: ")
    return lines[0]


def init(path: Path, *extra: str, country: str = "GB") -> subprocess.CompletedProcess[str]:
    return cli("init", "--data", str(path), "--name", SCHOOL, "--country", country, *extra)


def printed_node_id(init_output: str) -> str:
    found = re.search(r"^node id:\s+(\S+)$", init_output, re.MULTILINE)
    assert found is not None, init_output
    return found[1]


def post(path: Path, side: str, *extra: str) -> str:
    printed = ok_json(
        side, "post", "--data", str(path), "--kind", KINDS[side], "--title", TITLES[side], *extra
    )
    assert isinstance(printed, dict)
    return str(printed["id"])


def listing(path: Path, side: str) -> list[dict[str, object]]:
    rows = ok_json(side, "list", "--data", str(path))
    assert isinstance(rows, list)
    return rows


@dataclass(frozen=True)
class Made:
    path: Path
    node_id: str


@dataclass(frozen=True)
class Posted:
    path: Path
    node_id: str
    offer: str
    request: str


@pytest.fixture(scope="module")
def made_node(tmp_path_factory: pytest.TempPathFactory) -> Made:
    path = tmp_path_factory.mktemp("template") / "node"
    result = init(path)
    assert result.returncode == 0, result.stderr
    return Made(path, printed_node_id(result.stdout))


@pytest.fixture(scope="module")
def made_posts(made_node: Made, tmp_path_factory: pytest.TempPathFactory) -> Posted:
    path = tmp_path_factory.mktemp("posts") / "node"
    shutil.copytree(made_node.path, path)
    offer = post(path, "offer", *OPTIONAL_FLAGS)
    request = post(path, "request", *OPTIONAL_FLAGS)
    return Posted(path, made_node.node_id, offer, request)


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    """This test's own copy of a fresh node."""
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


@pytest.fixture
def posted(made_posts: Posted, tmp_path: Path) -> Posted:
    """This test's own copy of a node holding one offer and one request."""
    path = tmp_path / "node"
    shutil.copytree(made_posts.path, path)
    return Posted(path, made_posts.node_id, made_posts.offer, made_posts.request)


# -- init and id ----------------------------------------------------------------------


def test_init_creates_node(tmp_path: Path) -> None:
    path = tmp_path / "node"
    result = init(path)
    assert result.returncode == 0, result.stderr
    node_id = printed_node_id(result.stdout)
    assert NODE_ID.fullmatch(node_id)
    assert stat.S_IMODE((path / "node.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert (path / "schoolmesh.db").is_file()
    assert node_id == str(load_key(path / "node.key").node_id)  # it printed its own id


def test_init_refuses_to_overwrite_a_node(node: Path) -> None:
    key = (node / "node.key").read_bytes()
    message = error(init(node), 1)
    assert "--force" in message
    assert (node / "node.key").read_bytes() == key


def test_init_force_makes_a_new_node(node: Path, made_node: Made) -> None:
    result = init(node, "--force")
    assert result.returncode == 0, result.stderr
    new_id = printed_node_id(result.stdout)
    assert NODE_ID.fullmatch(new_id)
    assert new_id != made_node.node_id


@pytest.mark.parametrize("country", ["ZZ", "gbr"])
def test_init_refuses_a_bad_country(tmp_path: Path, country: str) -> None:
    message = error(init(tmp_path / "node", country=country), 2)
    assert "--country" in message
    assert not (tmp_path / "node").exists()


def test_init_accepts_a_lower_case_country(tmp_path: Path) -> None:
    result = init(tmp_path / "node", country="gb")
    assert result.returncode == 0, result.stderr
    assert f"{SCHOOL} (GB)" in result.stdout


def test_id_json(node: Path, made_node: Made) -> None:
    shown = ok_json("id", "--data", str(node))
    assert isinstance(shown, dict)
    assert set(shown) == {"node_id", "fingerprint", "name", "country"}
    assert shown["node_id"] == made_node.node_id
    assert len(shown["node_id"]) == 43
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", shown["fingerprint"])
    assert (shown["name"], shown["country"]) == (SCHOOL, "GB")


def test_data_folder_from_environment(node: Path, made_node: Made) -> None:
    shown = ok_json("id", env={"SCHOOLMESH_DATA": str(node)})
    assert isinstance(shown, dict)
    assert shown["node_id"] == made_node.node_id


def test_data_option_wins_over_environment(node: Path, tmp_path: Path, made_node: Made) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = ok_json("id", "--data", str(node), env={"SCHOOLMESH_DATA": str(elsewhere)})
    assert isinstance(shown, dict)
    assert shown["node_id"] == made_node.node_id


# -- offers and requests ----------------------------------------------------------


@pytest.mark.parametrize("side", ["offer", "request"])
def test_post_json_prints_the_id(node: Path, side: str) -> None:
    printed = ok_json(side, "post", "--data", str(node), "--kind", "visit", "--title", "A visit")
    assert isinstance(printed, dict)
    assert set(printed) == {"id"}
    assert HEX64.fullmatch(printed["id"])


@pytest.mark.parametrize("side", ["offer", "request"])
def test_list_json_shows_only_its_own_side(posted: Posted, side: str) -> None:
    rows = listing(posted.path, side)
    assert [row["id"] for row in rows] == [getattr(posted, side)]  # not the other side's
    row = rows[0]
    expected = {
        "id": getattr(posted, side),
        "side": side,
        "kind": KINDS[side],
        "title": TITLES[side],
        "school": SCHOOL,
        "school_id": posted.node_id,
        "country": "GB",
        **OPTIONAL_FIELDS,
    }
    assert {name: row.get(name) for name in expected} == expected
    assert set(row) == {*expected, "posted_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(row["posted_at"]))


@pytest.mark.parametrize(
    ("dates", "flag"),
    [
        (("--from", "2026-13-01"), "--from"),
        (("--from", "2026-10-09", "--to", "2026-10-05"), "--to"),
    ],
    ids=["bad-from", "from-after-to"],
)
def test_post_refuses_bad_dates(node: Path, dates: tuple[str, ...], flag: str) -> None:
    result = cli("offer", "post", "--data", str(node), "--kind", "visit", "--title", "T", *dates)
    assert error(result, 2).startswith(f"schoolmesh: error: {flag}:")


@pytest.mark.parametrize("how", ["full-id", "prefix"])
def test_withdraw_removes_the_offer(posted: Posted, how: str) -> None:
    given = posted.offer if how == "full-id" else posted.offer[:8]
    assert "Withdrawn" in ok("offer", "withdraw", given, "--data", str(posted.path))
    assert listing(posted.path, "offer") == []


def test_withdraw_twice_fails(posted: Posted) -> None:
    ok("offer", "withdraw", posted.offer, "--data", str(posted.path))
    message = error(cli("offer", "withdraw", posted.offer, "--data", str(posted.path)))
    assert "already withdrawn" in message


WRONG_IDS: dict[str, tuple[Callable[[Posted], str], str]] = {
    "unknown-id": (lambda p: "0" * 64, "no offer with id {id}"),
    "unknown-prefix": (lambda p: "00000000", "no entry starts with 00000000"),
    "too-short": (lambda p: p.offer[:7], "at least the first 8"),
    "a-request": (lambda p: p.request, "no offer with id {id}"),
}


@pytest.mark.parametrize("case", WRONG_IDS)
def test_withdraw_refuses_a_wrong_id(posted: Posted, case: str) -> None:
    make_id, expected = WRONG_IDS[case]
    given = make_id(posted)
    message = error(cli("offer", "withdraw", given, "--data", str(posted.path)))
    assert expected.format(id=given) in message


# -- a data folder that cannot be used --------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("id",),
        ("request", "post", "--kind", "visit", "--title", "T"),
        ("run", "--no-listen"),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_commands_need_a_node(tmp_path: Path, command: tuple[str, ...]) -> None:
    message = error(cli(*command, "--data", str(tmp_path)), 1)
    assert "run `schoolmesh init" in message
    assert list(tmp_path.iterdir()) == []  # nothing was made


def test_unsafe_key_file_is_refused(node: Path) -> None:
    (node / "node.key").chmod(0o644)
    assert "chmod 600" in error(cli("id", "--data", str(node)), 1)


def test_database_from_a_newer_schoolmesh_is_refused(node: Path) -> None:
    database = node / "schoolmesh.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("UPDATE schema_version SET version = 999")
        db.commit()
    assert "upgrade schoolmesh" in error(cli("id", "--data", str(node)), 1)
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(999,)]


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param(b"this is not a database\n" * 200, id="junk"),
        pytest.param(b"", id="empty"),
    ],
)
def test_damaged_database_is_refused(node: Path, junk: bytes) -> None:
    (node / "schoolmesh.db").write_bytes(junk)
    message = error(cli("id", "--data", str(node)), 1)
    assert "schoolmesh.db" in message
    assert "database" in message


def test_version() -> None:
    assert ok("--version").strip() == f"schoolmesh {metadata.version('schoolmesh')}"


def test_key_of_another_node_is_refused(tmp_path: Path) -> None:
    """A partner's database (which also holds our entries) with our key is not ours."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for folder, name in ((ours, "Ours"), (theirs, "Theirs")):
        assert (
            run_cli("init", "--data", str(folder), "--name", name, "--country", "GB").returncode
            == 0
        )
    (theirs / "node.key").write_bytes((ours / "node.key").read_bytes())
    result = run_cli("id", "--data", str(theirs))
    assert result.returncode == 1
    assert "restore both from the same backup" in result.stderr


def test_run_on_a_port_in_use_is_a_clear_error(node: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("run", "--data", str(node), "--port", str(port))
    assert result.returncode == 2
    assert "(address already in use)" in result.stderr
    assert "Choose another port with --port" in result.stderr
    assert "Traceback" not in result.stderr
