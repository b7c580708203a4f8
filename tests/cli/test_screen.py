"""cli/screen.py: other schools' text shown on a terminal without its control characters
being obeyed (a table of what is escaped and what is left alone), and every command's
output, text or JSON, written through it."""

import json
from pathlib import Path

import pytest

from cli.commands.common import print_json
from cli.screen import screened, shown
from protocol import kinds
from tests.network import COLEGIO, LYCEE, network, session_of, sessions_open

LEFT_ALONE = [
    "Lycée Jean Moulin",
    "Ελληνικό Γυμνάσιο",
    "مدرسة النور",  # Arabic: its direction comes from its letters, no control needed
    "בית ספר",
    "Grundschule 🎉 👩🏽‍🏫",  # an emoji with a zero-width joiner
    "two\nlines\tand a tab",
    "a\\u009b typed by hand",  # a backslash and letters: already visible
    "\u200f\u200e\u061c marks",  # right-to-left, left-to-right and Arabic letter marks
    "",
]

ESCAPED = [
    ("\x9b2J", "\\u009b2J"),  # CSI: clear the screen, on terminals that obey C1
    ("\x1b[31mred", "\\u001b[31mred"),  # ESC, which the content rules refuse anyway
    ("a\rb", "a\\u000db"),  # CR: go back and write over the line
    ("a\bb", "a\\u0008b"),  # BS
    ("\x00\x7f\x80\x85\x9f", "\\u0000\\u007f\\u0080\\u0085\\u009f"),
    ("one\u2028two\u2029", "one\\u2028two\\u2029"),
    ("\u202aa\u202bb\u202cc\u202dd\u202ee", "\\u202aa\\u202bb\\u202cc\\u202dd\\u202ee"),
    ("\u2066a\u2067b\u2068c\u2069", "\\u2066a\\u2067b\\u2068c\\u2069"),
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert shown(text) == text


@pytest.mark.parametrize(("text", "expected"), ESCAPED)
def test_controls_and_bidi_overrides_are_shown_as_escapes(text: str, expected: str) -> None:
    assert shown(text) == expected
    assert shown(expected) == expected  # nothing left to escape: safe to apply twice


@pytest.mark.parametrize(("text", "expected"), ESCAPED)
def test_an_escape_is_json_s_own_so_json_parses_to_the_same_value(text: str, expected: str) -> None:
    written = shown(json.dumps({"title": text}, ensure_ascii=False))
    assert json.loads(written) == {"title": text}


def test_c0_controls_but_tab_and_newline_are_refused_by_the_content_rules() -> None:
    """Why C0 controls rarely reach a screen: a school's node refuses an entry that has
    one in a text field (protocol/kinds.py); C1 and bidi controls are taken, as text."""
    check = kinds.text(200)
    assert [check(t) for t, _ in ESCAPED[1:5]] == ["must not contain control characters"] * 4
    assert [check(t) for t, _ in [ESCAPED[0], *ESCAPED[5:]]] == [None] * 4


def test_whatever_is_written_while_screened_goes_through_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with screened():
        print("title: \x9b2J\u202eevil")
        print_json({"title": "\x9b\u2066"})
    out = capsys.readouterr().out
    assert out == 'title: \\u009b2J\\u202eevil\n{\n  "title": "\\u009b\\u2066"\n}\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Forest school\nvisits", "Forest school\\u000avisits"),
        ("tab\tkept, \x9b escaped\n", "tab\tkept, \\u009b escaped\\u000a"),
        ("Ελληνικό 🎉", "Ελληνικό 🎉"),
    ],
)
def test_a_field_shown_on_one_line_shows_its_line_breaks_too(text: str, expected: str) -> None:
    assert shown(text, newlines=False) == expected


async def test_the_catch_up_progress_bar_still_goes_back_to_the_start_of_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`schoolmesh run` on a terminal redraws its catch-up bar in place with a CR of its
    own (node/net/peers.py); through cli/screen.py it came out as a literal \\u000d, and
    each redraw was appended to the line instead."""
    async with network(tmp_path, (LYCEE, COLEGIO), [("lycee", "colegio")]) as schools:
        us, them = schools["colegio"], schools["lycee"]
        await sessions_open(us, them)
        with screened():
            us.service.peers._show_progress(session_of(us, them), 600)
            us.service.peers._show_progress(session_of(us, them), 0)
    err = capsys.readouterr().err
    assert err.startswith("\rCatching up from "), repr(err)
    assert err.count("\rCatching up from ") == 2, repr(err)
    assert err.endswith(" entries\n")
    assert "\\u000d" not in err
