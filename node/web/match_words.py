"""Why a match fits, in the visitor's language: one sentence per matching rule.

node/offers/matching.py gives each reason both in English words (for the command line)
and as a :class:`~node.offers.matching.Note` (the rule's code and what it is about);
these pages say the notes in the visitor's language, with country, language and
date names from Babel. Sentences are "label: value" where a language's grammar
would otherwise need to agree with the value (French "en France", "au Japon").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal

from node.observations.elsewhere import OfferFor
from node.offers.matching import Match, Note
from node.web.vocabulary import Vocabulary


def reasons_and_concerns(
    match: Match, _: Callable[[str], str], vocab: Vocabulary
) -> tuple[list[str], list[str]]:
    """The match's reasons and concerns, each in words."""
    reasons: list[str] = []
    concerns: list[str] = []
    for note in match.notes:
        (reasons if note.points >= 0 else concerns).append(say(note, _, vocab))
    return reasons, concerns


def for_colleague(
    name: str, found: OfferFor, _: Callable[[str], str], vocab: Vocabulary
) -> tuple[list[str], list[str]]:
    """Why another school's offer fits a colleague's development areas (the page's
    "At other schools"): who offers what, which the colleague is developing, then the
    scorer's other reasons (its "same focus" is what the first one says), and concerns."""
    offer = found.offer
    first = _("%(school)s offers %(kind)s with a focus on %(focus)s, which %(name)s is developing")
    reasons = [
        first
        % {
            "school": offer.school,
            "kind": vocab.word(offer.activity),
            "focus": vocab.words(found.develops),
            "name": name,
        }
    ]
    concerns: list[str] = []
    for note in found.match.notes:
        if note.code == "focus":
            continue
        (reasons if note.points >= 0 else concerns).append(say(note, _, vocab))
    return reasons, concerns


def say(note: Note, _: Callable[[str], str], vocab: Vocabulary) -> str:
    """One rule's sentence in the visitor's language."""
    values = note.values
    code = note.code
    simple = {
        "mode-clash": _("one is in person only, the other online only"),
        "in-person": _("both in person"),
        "online": _("both online"),
        "dates-apart": _("dates do not overlap"),
    }
    if code in simple:
        return simple[code]
    if code == "focus":
        return _("same focus: %(focus)s") % {"focus": vocab.words(values)}
    if code == "focus-differs":
        return _("a different focus (ours: %(ours)s; theirs: %(theirs)s)") % {
            "ours": vocab.words(values[0]),
            "theirs": vocab.words(values[1]),
        }
    if code == "subject":
        return _("same subject: %(subjects)s") % {"subjects": vocab.words(values)}
    if code == "kind":
        return _("same kind of activity: %(kind)s") % {"kind": vocab.word(values[0])}
    if code == "phase":
        return _("same phase: %(phases)s") % {"phases": vocab.words(values)}
    if code == "all-through":
        return _("all-through covers: %(phases)s") % {"phases": vocab.words(values)}
    if code == "language":
        return _("shared language: %(languages)s") % {"languages": vocab.language_list(values)}
    if code == "no-language":
        return _("no language in common (ours: %(ours)s; theirs: %(theirs)s)") % {
            "ours": vocab.language_list(values[0]),
            "theirs": vocab.language_list(values[1]),
        }
    if code == "dates":
        return _dates(values[0], values[1], _, vocab)
    if code == "same-country":
        return _("same country: %(country)s") % {"country": vocab.country(values[0])}
    if code == "neighbours":
        return _("neighbouring countries: %(ours)s and %(theirs)s") % {
            "ours": vocab.country(values[0]),
            "theirs": vocab.country(values[1]),
        }
    if code == "similar-zone":
        return _("similar time zone: %(country)s") % {"country": vocab.country(values[1])}
    if code == "long-journey":
        return _("a long journey to meet: %(country)s") % {"country": vocab.country(values[1])}
    hours = format_decimal(values[0], locale=vocab.locale) if values else ""
    if code == "zone-close":
        return _("same time zone") if values and values[0] == 0 else _("an hour apart at most")
    if code == "zones-overlap":
        return _("%(hours)s hours apart: school days overlap") % {"hours": hours}
    if code == "zones-far":
        return _("%(hours)s hours apart: little of the school day overlaps") % {"hours": hours}
    return code.replace("-", " ")


def _dates(low: date | None, high: date | None, _: Callable[[str], str], vocab: Vocabulary) -> str:
    def day(value: date) -> str:
        return format_date(value, format="long", locale=vocab.locale)

    if low is not None and high is not None:
        if low == high:
            return _("dates overlap on %(day)s") % {"day": day(low)}
        return _("dates overlap from %(start)s to %(end)s") % {"start": day(low), "end": day(high)}
    if high is not None:
        return _("both free until %(day)s") % {"day": day(high)}
    if low is not None:
        return _("both free from %(day)s") % {"day": day(low)}
    return _("dates overlap")
