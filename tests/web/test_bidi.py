"""node/bidi.py: the bidi controls a value opens are closed where it ends (a table),
and every template's values go through it."""

import re
from pathlib import Path

import pytest
from markupsafe import Markup

from node.bidi import closed
from node.web.i18n import page_words, templates
from node.web.kit import TEMPLATE_DIR
from protocol.errors import said
from tests.network import LiveNode, partner, wait_for
from tests.web.web import client, csrf_of, http_sign_in

LRE, RLE, PDF, LRO, RLO = "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"

CASES = [
    ("Lycée Jean Moulin", ""),
    ("مدرسة النور", ""),  # right to left by its letters: nothing to close
    ("\u200fmarks\u200e", ""),
    (f"Lycée {RLO}Moulin", PDF),
    (f"{RLO}a{PDF}", ""),
    (f"{LRE}{RLE}{LRO}", PDF * 3),
    (f"{RLI}a", PDI),
    (f"{LRI}{FSI}", PDI * 2),
    (f"{RLI}{RLO}", PDF + PDI),
    (f"{RLO}{RLI}", PDI + PDF),
    (f"{RLI}{RLO}{PDI}", ""),  # a PDI closes what was opened inside its isolate too
    (f"{RLO}{RLI}{PDF}", PDI + PDF),  # a PDF cannot close past an open isolate
    (f"{PDF}{PDI}{RLO}", PDF),  # stray closers are ignored
    (f"{RLO}{PDF}{PDF}{RLO}", PDF),
]


@pytest.mark.parametrize(("text", "added"), CASES)
def test_what_a_text_leaves_open_is_closed_at_its_end(text: str, added: str) -> None:
    assert closed(text) == text + added


def test_every_value_a_template_writes_is_closed(tmp_path: Path) -> None:
    env = templates(tmp_path, "en")
    page = env.from_string("<p>{{ school }}, France</p><p>{{ body }}</p>")
    body = Markup(f"<em>{RLO}x</em>")
    assert page.render(school=f"A{RLO}<b>", body=body) == (
        f"<p>A{RLO}&lt;b&gt;{PDF}, France</p><p><em>{RLO}x</em>{PDF}</p>"
    )


def test_a_text_put_into_a_sentence_is_closed_where_it_ends(tmp_path: Path) -> None:
    """Where the text ends, not at the end of the sentence: `_()`, `ngettext` and
    `{% trans %}` close each value they put in."""
    env = templates(tmp_path, "fr")
    page = env.from_string(
        '{{ _("%(name)s is a pupil: only staff can do this.", name=name) }}|'
        "{% trans %}{{ name }} is a pupil: only staff can do this.{% endtrans %}|"
        '{{ ngettext("%(num)d entry still to fetch", "%(num)d entries still to fetch", 2) }}'
    )
    said = f"Lyc{RLO}ée &amp; co{PDF} est élève : seul le personnel peut faire cela."
    assert page.render(name=f"Lyc{RLO}ée & co") == f"{said}|{said}|2 entrées encore à récupérer"


async def test_a_schools_name_in_a_sentence_made_in_python_is_closed_where_it_ends(
    school: LiveNode, tmp_path: Path
) -> None:
    """A flash message names the school (``_("... %(school)s only.") % ...``, built in
    the page's Python, not in a template): its override ended only with the sentence,
    and turned the page's own " only." round."""
    rogue = await LiveNode.start(tmp_path / "lycee", f"Lycée {RLO}eniluoM", country="FR")
    try:
        offer = await rogue.node.offers.post("offer", {"activity": "visit", "title": "Forest"})
        await partner(school, rogue)
        await wait_for(lambda: school.holds(offer.id), what="the Lycée's offer at Oakfield")
        async with client(school) as http:
            await http_sign_in(http, "Mr Jones")
            form = {"csrf": await csrf_of(http, f"/offers/{offer.id}"), "message": "Hello"}
            async with http.post(f"/offers/{offer.id}/interest", data=form) as response:
                assert response.status == 200
                page = await response.text()
    finally:
        await rogue.stop()
    (flash,) = re.findall(r'<p class="flash[^>]*>([^<]*)</p>', page)
    assert flash == f"Your interest is sent to Lycée {RLO}eniluoM{PDF} only."


def test_a_text_put_into_an_errors_page_words_is_closed_where_it_ends() -> None:
    words = page_words("fr", said("%(name)s already has a profile.", name=f"A{RLO}b"))
    assert words.startswith(f"A{RLO}b{PDF} ")
    assert words.count(PDF) == 1


def test_each_item_of_a_joined_list_is_closed_where_it_ends(tmp_path: Path) -> None:
    """A list joined in a template (the schools of a cluster) is one value: each name's
    controls are closed after that name, not after the whole list."""
    env = templates(tmp_path, "en")
    page = env.from_string('{{ names|join(", ") }}|{{ schools|map(attribute="name")|join(", ") }}')

    class School:
        def __init__(self, name: str) -> None:
            self.name = name

    names = [f"Lyc{RLO}ée", "Oakfield & co"]
    joined = f"Lyc{RLO}ée{PDF}, Oakfield &amp; co"
    assert page.render(names=names, schools=[School(n) for n in names]) == f"{joined}|{joined}"


def test_a_form_fields_value_is_written_exactly_as_it_is(tmp_path: Path) -> None:
    """``|field`` (an input's value, a textarea's text): escaped, but no closing mark
    added, as a browser would send that mark back with the text; outside the field the
    same value is still closed, and a joined list of typed texts is left alone too."""
    env = templates(tmp_path, "en")
    page = env.from_string(
        '<input value="{{ typed|field }}"><textarea>{{ typed|field }}</textarea>'
        "<p>{{ typed }}</p>"
        '<input value="{{ words|map("field")|join(", ")|field }}">'
    )
    typed = f"Fête {RLO}& co\r\n{RLI}é"
    escaped = f"Fête {RLO}&amp; co\r\n{RLI}é"
    assert page.render(typed=typed, words=[f"a{RLO}", "b"]) == (
        f'<input value="{escaped}"><textarea>{escaped}</textarea>'
        f"<p>{escaped}{PDI}{PDF}</p>"
        f'<input value="a{RLO}, b">'
    )


#: A value written into a form's field, and the text of a textarea (on a line of its
#: own: an HTML parser drops one line break after ``<textarea>``, so the text's own
#: first line break, if it has one, is kept).
FIELD_VALUE = re.compile(r'\bvalue="\{\{ (.*?) \}\}"')
TEXTAREA_TEXT = re.compile(r">\n\{\{ ((?:(?!\}\}).)*?) \}\}</textarea>")


def test_every_form_field_a_template_fills_is_written_exactly() -> None:
    """Every ``value="{{ ... }}"`` and textarea in the pages goes through ``|field``
    (but the CSRF token, which the node makes): a field that does not would add a
    closing mark to a typed text with an open override, and the form sent again would
    store it. A textarea's text starts on the line after its tag. The test fails when
    a field is added otherwise."""
    missing = []
    seen = 0
    for template in sorted(TEMPLATE_DIR.glob("*.html")):
        text = template.read_text()
        assert text.count("</textarea>") == len(TEXTAREA_TEXT.findall(text)), template.name
        for found in (*FIELD_VALUE.findall(text), *TEXTAREA_TEXT.findall(text)):
            seen += 1
            if found != "csrf" and not found.endswith("|field"):
                missing.append(f"{template.name}: {{{{ {found} }}}}")
    assert seen > 100
    assert missing == []
