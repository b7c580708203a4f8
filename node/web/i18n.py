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

Dates and times follow the visitor's region as well as their language
(:func:`formats`): an en-GB browser reads "13 Dec 2026, 17:00", an en-US one
"Dec 13, 2026, 5:00 PM". Times are shown in the viewing school's own time zone
(:func:`home_zone`), and an event's time also in its organiser's zone
(:class:`Clock`); docs/web.md says how.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_time, get_timezone_location
from babel.languages import get_official_languages
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2.filters import do_join, make_attrgetter

from node import bidi
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
        name: format_decimal(value, locale=language) if isinstance(value, int) else _closed(value)
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


def formats(language: str, accept_language: str | None) -> str:
    """The Babel locale for dates and numbers: the page's language in the visitor's region.

    The first ``Accept-Language`` tag of the page's language that names a region
    (en-GB, fr-CA) gives the region's conventions; without one, the language's own
    (English alone writes dates the United States' way).
    """
    for tag in _preferences(accept_language or ""):
        if tag.split("-")[0].lower() == language and "-" in tag:
            found = _region_locale(tag)
            if found is not None and found.language == language:
                return str(found)
    return language


@functools.lru_cache(maxsize=256)
def _region_locale(tag: str) -> Locale | None:
    """Babel's locale for a browser's tag, or None for one Babel does not know."""
    if len(tag) > 35:  # longer than any real language tag: a visitor's junk
        return None
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None


#: The zone of a school in a country with several, as node/offers/places.py counts the
#: country: its capital's or most populous region's. Countries with one zone get it
#: from Babel's data (CLDR).
MAIN_ZONES = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PG": "Pacific/Port_Moresby",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}


def school_zone(country: str, chosen: str | None = None) -> str | None:
    """The time zone of a school: the one it chose on its profile page (a school in
    the Canaries, or in France overseas), else its country's (:func:`home_zone`)."""
    if chosen and _zone(chosen) is not None:
        return chosen
    return home_zone(country)


@functools.cache
def home_zone(country: str) -> str | None:
    """The time zone a school in ``country`` (ISO code) keeps, or None if unknown."""
    code = country.strip().upper()
    name = MAIN_ZONES.get(code)
    if name is None:
        zones = get_global("territory_zones").get(code, [])
        name = zones[0] if len(zones) == 1 else None
    return name if name is not None and _zone(name) is not None else None


@functools.cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


#: Times a page writes out; outside them it says "date unknown". Another school's
#: letter once carried ``at`` = 2**53 - 1 ms (the year 287396), and every page that
#: showed it answered 500 until the post was gone. A day's margin either side leaves
#: room to move a time into any zone.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHOWN_FROM = datetime(1, 1, 2, tzinfo=UTC)
_SHOWN_UNTIL = datetime(9999, 12, 30, tzinfo=UTC)


def when(value: int | str | datetime | date) -> datetime | None:
    """A stored time as a datetime, or None if no calendar can show it.

    Milliseconds are UTC; text is ISO 8601, with its offset or without (a calendar
    date, or a local time: naive, shown as written).
    """
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            moment = _EPOCH + timedelta(milliseconds=value)
    except (OverflowError, ValueError, TypeError):
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return moment if _SHOWN_FROM <= aware <= _SHOWN_UNTIL else None


#: Between the organiser's time and ours, as between the two ends of a range.
DASH = "\N{EN DASH}"


@functools.lru_cache(maxsize=4096)  # a page lists many dates, mostly the same few days
def _medium_day(day: date, tag: str) -> str:
    return format_date(day, format="medium", locale=tag)


@dataclass(frozen=True)
class Clock:
    """How one page writes dates and times: a locale's conventions, a school's zone.

    ``zone`` is the viewing school's (:func:`home_zone`); a time with an offset is
    moved into it, a naive one (a calendar date) is shown as written. No seconds
    anywhere: nobody plans a meeting to the second.
    """

    locale: Locale
    zone: tzinfo | None
    gettext: Callable[[str], str]

    @classmethod
    def of(cls, tag: str, zone: str | None, language: str) -> Clock:
        """The clock for Babel locale ``tag``, zone name ``zone`` and page ``language``."""
        return cls(Locale.parse(tag), _zone(zone) if zone else None, translations(language).gettext)

    def _here(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or self.zone is None:
            return moment
        return moment.astimezone(self.zone)

    def day(self, value: int | str | datetime | date) -> str:
        """A date, medium length: "13 Dec 2026" (en-GB), "13 déc. 2026" (fr)."""
        moment = when(value)
        if moment is None:
            return self.gettext("date unknown")
        return self._day(self._here(moment).date())

    def _day(self, day: date) -> str:
        return _medium_day(day, str(self.locale))

    def moment(self, value: int | str | datetime | date) -> str:
        """A date and time in this school's zone: "13 Dec 2026, 16:00"."""
        moment = when(value)
        if moment is None:
            return self.gettext("date unknown")
        return self._date_time(self._here(moment))

    def _date_time(self, moment: datetime) -> str:
        pattern = self.locale.datetime_formats.get("medium", "{1}, {0}")
        time = format_time(moment, format="short", locale=self.locale)
        return str(pattern).replace("{0}", time).replace("{1}", self._day(moment.date()))

    def event_time(self, value: str, tz: str | None) -> str:
        """An event's time as its organiser gives it, with their zone in words, and
        beside it this school's time when the clocks differ:
        "13 Dec 2026, 17:00 (Paris time) \N{EN DASH} 16:00 here".
        """
        moment = when(value)
        if moment is None:
            return self.gettext("date unknown")
        if moment.tzinfo is None:  # no offset: the organiser's wall clock, zone unknown
            return self._date_time(moment)
        zone = _zone(tz) if tz else None
        theirs = moment.astimezone(zone) if zone is not None else moment
        shown = f"{self._date_time(theirs)} ({self._zone_words(theirs, zone)})"
        if self.zone is None:
            return shown
        ours = moment.astimezone(self.zone)
        if ours.replace(tzinfo=None) == theirs.replace(tzinfo=None):
            return shown  # the same clock time: once is enough
        if ours.date() == theirs.date():
            here = format_time(ours, format="short", locale=self.locale)
        else:
            here = self._date_time(ours)
        return f"{shown} {DASH} " + self.gettext("%(time)s here") % {"time": here}

    def event_span(self, start: str, end: str, tz: str | None) -> str:
        """An event's start and end together. When it ends on the day it starts, one
        date and two clock times, in the organiser's zone and then ours:
        "10 Mar 2099, 09:30\N{EN DASH}12:00 (London time) \N{EN DASH} 10:30\N{EN DASH}13:00 here";
        otherwise both ends in full: "... until ...".
        """
        first, last = when(start), when(end)
        if first is None or last is None or first.tzinfo is None or last.tzinfo is None:
            return self._until(start, end, tz)
        zone = _zone(tz) if tz else None
        theirs = (first.astimezone(zone), last.astimezone(zone)) if zone else (first, last)
        if theirs[0].date() != theirs[1].date():
            return self._until(start, end, tz)
        shown = f"{self._span(*theirs)} ({self._zone_words(theirs[0], zone)})"
        if self.zone is None:
            return shown
        ours = (first.astimezone(self.zone), last.astimezone(self.zone))
        if ours[0].replace(tzinfo=None) == theirs[0].replace(tzinfo=None):
            return shown  # the same clock time: once is enough
        if ours[0].date() != ours[1].date():
            return self._until(start, end, tz)
        if ours[0].date() == theirs[0].date():
            here = DASH.join(format_time(t, format="short", locale=self.locale) for t in ours)
        else:
            here = self._span(*ours)
        return f"{shown} {DASH} " + self.gettext("%(time)s here") % {"time": here}

    def _span(self, first: datetime, last: datetime) -> str:
        """One day, two clock times: "10 Mar 2099, 09:30\N{EN DASH}12:00"."""
        return (
            f"{self._date_time(first)}{DASH}{format_time(last, format='short', locale=self.locale)}"
        )

    def _until(self, start: str, end: str, tz: str | None) -> str:
        words = self.gettext("%(start)s until %(end)s")
        return words % {"start": self.event_time(start, tz), "end": self.event_time(end, tz)}

    def _zone_words(self, moment: datetime, zone: ZoneInfo | None) -> str:
        """The zone as a place ("Paris time"), or its offset when it names no city."""
        if zone is not None and "/" in zone.key and not zone.key.startswith("Etc/"):
            city = get_timezone_location(zone, locale=self.locale, return_city=True)
            return self.gettext("%(city)s time") % {"city": city}
        offset = moment.utcoffset() or timedelta()
        if not offset:
            return "UTC"
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        return f"UTC{sign}{hours:02d}:{rest:02d}"


class FieldValue(str):
    """A value written into a form's field (an ``<input>``'s ``value``, a
    ``<textarea>``'s text): the template filter ``field`` marks it, and ``finalize``
    leaves it as it is. A browser sends a field's value back as it shows it, so a
    closing mark added there (node/bidi.py) would be stored with the text when the
    form is sent again: what was typed must come back byte for byte. Its bidi controls
    reorder nothing outside the field, which the browser lays out as a box of its own
    (docs/decisions.md, "A refused form gives back what was typed")."""


def _field(value: Any) -> Any:
    return FieldValue(value) if isinstance(value, str) else value


def _closed(value: Any) -> Any:
    if isinstance(value, FieldValue):
        return value
    return bidi.closed(value) if isinstance(value, str) else value


@jinja2.pass_eval_context
def _join_closed(
    eval_ctx: jinja2.nodes.EvalContext, value: Any, d: str = "", attribute: Any = None
) -> str:
    """Jinja's ``join``, each item's bidi controls closed where the item ends: a list of
    other schools' names joined in a template is one value to ``finalize``, which would
    close one name's override only at the end of the list."""
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    joined: str = do_join(eval_ctx, (_closed(item) for item in value), d)
    return joined


class Sentence(str):
    """A translated sentence built in a page's Python (a flash message, a form's
    error): each text put into it with ``%`` ends its own bidi controls
    (node/bidi.py), as in a template, rather than at the end of the sentence."""

    def __mod__(self, values: Any) -> str:
        if isinstance(values, dict):
            values = {name: _closed(value) for name, value in values.items()}
        elif isinstance(values, tuple):
            values = tuple(_closed(value) for value in values)
        else:
            values = _closed(values)
        return str.__mod__(self, values)


def templates(folder: Path, language: str) -> jinja2.Environment:
    """Jinja2 templates from ``folder`` in ``language``: escaping on, a missing value an
    error, ``{% trans %}`` from the catalogues (the pages and the exported archive); each
    value's bidi controls closed where it ends (node/bidi.py), but a form field's value
    (``{{ value|field }}``), written exactly as it is."""
    env = jinja2.Environment(
        finalize=_closed,
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["join"] = _join_closed
    env.filters["field"] = _field
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    for name in ("gettext", "ngettext"):  # `_` and `{% trans %}` call these
        env.globals[name] = _closing_variables(env.globals[name])
    return env


def _closing_variables(translate: Any) -> Callable[..., Any]:
    """``translate`` with each text put into the sentence closed (node/bidi.py):
    a school's name in "%(school)s asked to partner" ends its own bidi controls, rather
    than at the end of the sentence."""

    @jinja2.pass_context
    def translated(context: jinja2.runtime.Context, *args: Any, **variables: Any) -> Any:
        closed = {name: _closed(value) for name, value in variables.items()}
        return context.call(translate, *args, **closed)  # Markup: escaped already

    return translated
