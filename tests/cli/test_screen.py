"""cli/screen.py: other schools' text shown on a terminal without its control characters
being obeyed (a table of what is escaped and what is left alone), and every command's
output, text or JSON, written through it."""

import json
import re
import sys
from pathlib import Path

import pytest

from cli.commands.common import one_line, print_json
from cli.screen import UNSAFE, escaped, for_logs, screened, shown
from node.net.logs import printable
from protocol import kinds
from tests.network import COLEGIO, LYCEE, network, session_of, sessions_open

LEFT_ALONE = [
    "Lycée Jean Moulin",
    "Ελληνικό Γυμνάσιο",
    "مدرسة النور",  # Arabic: its direction comes from its letters, no control needed
    "בית ספר",
    "Grundschule 🎉 👩🏽‍🏫",  # an emoji with a zero-width joiner
    "two\nlines\tand a tab",
    "C:\\Users\\Zoë\\notes.txt and \\n typed",  # a backslash that starts no escape
    "\\u0041 and \\u200b typed",  # before characters the screen does not escape
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


#: Text that holds, typed, what reads as an escape: its backslash shown doubled.
TYPED = [
    ("\\u202e", "\\\\u202e"),  # the six characters, not the override
    ("Lycée \\u202eeniluoM", "Lycée \\\\u202eeniluoM"),
    ("\\u202E and \\u009B", "\\\\u202E and \\\\u009B"),  # capital hex digits read the same
    ("\\\\u202e", "\\\\\\\\u202e"),  # two typed backslashes: four
    ("\\\u202e", "\\\\\\u202e"),  # a typed backslash, then the override
    ("Forest\\u000avisits", "Forest\\\\u000avisits"),  # what a line break in a row shows
]


def read_back(screen: str) -> str:
    """What a reader takes a screen's text to be: before ``u`` and four hex digits that
    name a character the screen escapes, each pair of backslashes is one typed
    backslash, and one left over starts the escape of that character."""

    def one(match: re.Match[str]) -> str:
        run, code = match.group(1), match.group(2)
        char = chr(int(code, 16))
        if char != "\n" and not UNSAFE.fullmatch(char):
            return match.group()
        typed = "\\" * (len(run) // 2)
        return typed + (char if len(run) % 2 else f"u{code}")

    return re.sub(r"(\\+)u([0-9a-fA-F]{4})", one, screen)


@pytest.mark.parametrize(("text", "expected"), ESCAPED)
def test_controls_and_bidi_overrides_are_shown_as_escapes(text: str, expected: str) -> None:
    assert shown(text) == expected
    assert not UNSAFE.search(shown(text))


@pytest.mark.parametrize(("text", "expected"), TYPED)
def test_a_typed_backslash_that_would_read_as_an_escape_is_shown_doubled(
    text: str, expected: str
) -> None:
    assert shown(text) == expected


def test_the_override_and_the_six_characters_that_name_it_are_shown_apart() -> None:
    assert shown("\u202e") == "\\u202e"
    assert shown("\\u202e") == "\\\\u202e"
    assert shown("Lycée \u202eX") != shown("Lycée \\u202eX")


@pytest.mark.parametrize("text", [*LEFT_ALONE, *(t for t, _ in ESCAPED), *(t for t, _ in TYPED)])
def test_what_is_shown_reads_back_as_the_text_and_nothing_else(text: str) -> None:
    assert read_back(shown(text)) == text
    assert read_back(shown(text, newlines=False)) == text


@pytest.mark.parametrize(("text", "expected"), [*ESCAPED, *TYPED])
def test_json_output_is_json_s_own_escapes_so_it_parses_to_the_same_value(
    text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` is not written through :func:`shown`: JSON writes a typed backslash
    doubled itself, and the doubling would change what its own escapes mean."""
    written = escaped(json.dumps({"title": text}, ensure_ascii=False))
    assert json.loads(written) == {"title": text}
    assert not UNSAFE.search(written)
    with screened():
        print_json({"title": text})
    assert json.loads(capsys.readouterr().out) == {"title": text}


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


def test_a_row_s_line_break_and_a_typed_one_are_shown_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``one_line`` marks a field's line breaks for the screen (not escaped twice: its
    ``\\u000a`` would be doubled), and a title that holds ``\\u000a`` typed is shown
    with the backslash doubled."""
    with screened():
        broken, typed = one_line("Forest\nschool"), one_line("Forest\\u000aschool")
        print(f"{broken}  {typed}  (Lycée)")
    assert capsys.readouterr().out == "Forest\\u000aschool  Forest\\\\u000aschool  (Lycée)\n"


def test_log_lines_are_escaped_once(capsys: pytest.CaptureFixture[str]) -> None:
    """Log lines escape other schools' text themselves (node/net/logs.py): on standard
    error their escapes stay single, and a control left in one is still escaped."""
    with screened():
        stream = for_logs(sys.stderr)
        name = printable("Lycée \u202eX")  # written "Lycée \\u202eX"
        stream.write(f"refused from {name}: \x9b\n")
    assert capsys.readouterr().err == "refused from Lycée \\u202eX: \\u009b\n"


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
