"""The words of offers, requests and observations in the visitor's language.

Entries store short codes ("maths-mastery", "training-day", "FR", "pt-BR"); pages
show them in words. Activities, phases, modes and the suggested focus areas are
translated here; country and language names come from Babel's CLDR data. A free
tag nobody translated is shown as written, hyphens turned to spaces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from babel import Locale
from markupsafe import Markup, escape

from node.offers import places
from node.store.search import fold
from node.web import i18n

#: Languages offered as checkboxes on the offer and question forms; any other code can
#: be typed beside them.
COMMON_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "zh")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Code -> words, for one language; ``word`` falls back to the code itself."""

    activities: dict[str, str]
    phases: dict[str, str]
    modes: dict[str, str]
    focus: dict[str, str]
    sides: dict[str, str]
    countries: list[tuple[str, str]]  # (code, name), by name
    languages: list[tuple[str, str]]  # (code, name), by name
    locale: Locale
    country_html: str = ""  # every country as an escaped <option>, built once
    language_html: str = ""  # every language likewise

    def country_options(self, chosen: str) -> Markup:
        """The country <option>s with ``chosen`` selected (long lists: escaped once per
        language rather than on every search)."""
        return _select(self.country_html, chosen.strip().upper())

    def language_options(self, chosen: str) -> Markup:
        return _select(self.language_html, chosen.strip().lower())

    def word(self, code: str) -> str:
        for table in (self.activities, self.phases, self.modes, self.focus, self.sides):
            if code in table:
                return table[code]
        return code.replace("-", " ")

    def words(self, codes: Iterable[str]) -> str:
        """Several codes in words, separated by commas."""
        return ", ".join(self.word(code) for code in codes)

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code)) if code else ""

    def language(self, code: str) -> str:
        main = code.split("-")[0].lower()
        return str(self.locale.languages.get(main, code))

    def language_list(self, codes: Iterable[str]) -> str:
        return ", ".join(self.language(code) for code in codes)


@functools.cache
def vocabulary(language: str, _: Callable[[str], str]) -> Vocabulary:
    """Every code the offer pages show, in ``language`` (``_`` is its gettext).

    Cached: ``_`` is the cached catalogue's own method, so one Vocabulary per language.
    """
    locale = i18n.locale(language)
    activities = {
        "observation": _("Peer observation"),
        "shadowing": _("Work shadowing"),
        "training-day": _("Training day"),
        "moderation": _("Moderation"),
        "teachmeet": _("TeachMeet"),
        "lesson-study": _("Lesson study"),
        "visit": _("School visit"),
        "project-partner": _("Project partner"),
        "pupil-event": _("Pupil event"),
        "mentoring": _("Mentoring"),
    }
    phases = {
        "nursery": _("Nursery"),
        "primary": _("Primary"),
        "secondary": _("Secondary"),
        "further-education": _("Further education"),
        "all-through": _("All-through"),
    }
    modes = {"in-person": _("In person"), "online": _("Online"), "either": _("Either")}
    focus = {
        "phonics": _("Phonics"),
        "reading": _("Reading"),
        "writing": _("Writing"),
        "maths-mastery": _("Maths mastery"),
        "behaviour": _("Behaviour"),
        "assessment-and-moderation": _("Assessment and moderation"),
        "send": _("SEND (special educational needs)"),
        "early-years": _("Early years"),
        "leadership": _("Leadership"),
        "curriculum-design": _("Curriculum design"),
        "eal": _("EAL (English as an additional language)"),
        "wellbeing": _("Wellbeing"),
        "questioning": _("Questioning"),
        "feedback": _("Feedback"),
        "oracy": _("Oracy"),
        "science-practicals": _("Science practicals"),
        "languages": _("Languages"),
        "digital-learning": _("Digital learning"),
    }
    sides = {"offer": _("Offer"), "request": _("Request")}
    # Sorted as a reader expects: "Égypte" among the E's, not after "Viêt Nam".
    countries = sorted(
        ((code, str(locale.territories.get(code, code))) for code in places.COUNTRIES),
        key=lambda pair: fold(pair[1]),
    )
    languages = sorted(
        ((code, str(locale.languages.get(code, code))) for code in places.LANGUAGES),
        key=lambda pair: fold(pair[1]),
    )
    return Vocabulary(
        activities,
        phases,
        modes,
        focus,
        sides,
        countries,
        languages,
        locale,
        _options(countries),
        _options(languages),
    )


def _options(pairs: list[tuple[str, str]]) -> str:
    """A long list of <option>s, escaped once."""
    return "".join(
        f'<option value="{escape(code)}">{escape(label)}</option>' for code, label in pairs
    )


def _select(options: str, code: str) -> Markup:
    picked = f'value="{escape(code)}"'
    if code and picked in options:
        return Markup(options.replace(picked, f"{picked} selected", 1))
    return Markup(options)


def interest_states(_: Callable[[str], str]) -> dict[str, str]:
    """An interest's state in words (node/offers/interests.py STATES)."""
    return {
        "open": _("waiting for an answer"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "withdrawn": _("withdrawn"),
    }
