"""The languages of the web pages: Babel catalogues, and which one a visitor gets.

Translations live as gettext ``.po`` files in ``node/web/locale`` (edited by
translators with any PO editor; ``docs/translating.md`` says how to add one). They
are compiled in memory when first used, so no binary ``.mo`` file is kept in the
repository. A visitor's language is the one they chose (a cookie), else the best
match of their browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from protocol.errors import PageMessage

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
#: Each language offered, in its own words (the language switch shows these).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue for ``language`` (English is the source text: no catalogue)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def choose(chosen: str | None, accept_language: str | None) -> str:
    """The language to show: the visitor's choice, else their browser's, else English."""
    if chosen in LANGUAGES:
        return chosen
    for tag in _preferences(accept_language or ""):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def _preferences(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most preferred first."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def page_words(language: str, page: PageMessage) -> str:
    """An error's page words (``said`` in protocol/errors.py) in ``language``.

    Numbers are written the way the language writes them (20,000 or 20 000).
    """
    values = {
        name: format_decimal(value, locale=language) if isinstance(value, int) else value
        for name, value in page.values.items()
    }
    text = translations(language).gettext(page.text)
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):  # a translation with broken placeholders
        return page.text % values if values else page.text


def locale(language: str) -> Locale:
    """Babel's locale, for dates and numbers in the visitor's language."""
    return Locale.parse(language)
