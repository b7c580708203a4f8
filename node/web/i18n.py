"""The languages of the web pages: Babel catalogues, and which one a visitor gets.

Translations live as gettext ``.po`` files in ``node/web/locale`` (edited by
translators with any PO editor; ``docs/translating.md`` says how to add one). They
are compiled in memory when first used, so no binary ``.mo`` file is kept in the
repository. A visitor's language is the one they chose (a cookie), else the best
match of their browser's ``Accept-Language``, else the language of the school's
country (a Spanish school's pages read in Spanish), else English.

Languages are named as Babel and gettext name them (``es``, ``zh_Hans``: the
catalogue's folder, the cookie, the ``/language/<code>`` link); pages write them
as BCP 47 tags (``zh-Hans``) where HTML wants one (``tag``).
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel import Locale
from babel.languages import get_official_languages
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from protocol.errors import PageMessage

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
#: Each language offered, in its own words (the language switch shows these).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "zh_Hans": "中文（简体）",  # noqa: RUF001 (Chinese writes its brackets full-width)
}
#: Chinese in traditional characters: no catalogue yet, so the next preference wins.
_TRADITIONAL = {"hant", "tw", "hk", "mo"}


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


def choose(chosen: str | None, accept_language: str | None, country: str = "") -> str:
    """The language to show: the visitor's choice, else their browser's, else the
    language of the school's ``country`` (when we have it), else English."""
    if chosen in LANGUAGES:
        return chosen
    for tag in _preferences(accept_language or ""):
        if language := known(tag):
            return language
    for official in get_official_languages(country.upper(), de_facto=True) if country else ():
        if language := known(official):
            return language
    return DEFAULT


def known(tag: str) -> str | None:
    """Our language for a language tag (``es-ES``, ``zh-CN``, ``zh-Hans``, ``zh_Hans``),
    or None when we do not have it (``zh-TW`` and ``zh-Hant``: no traditional catalogue)."""
    parts = tag.strip().replace("_", "-").lower().split("-")
    if parts[0] == "zh":
        return None if _TRADITIONAL & set(parts[1:]) else "zh_Hans"
    return parts[0] if parts[0] in LANGUAGES else None


def tag(language: str) -> str:
    """The BCP 47 tag of one of our languages, for HTML's ``lang`` (``zh_Hans`` -> ``zh-Hans``)."""
    return language.replace("_", "-")


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
