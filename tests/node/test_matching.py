"""Pure scoring of offers against requests, and staff pairings: no database, no network."""

from datetime import date
from typing import Any

import pytest

from node.observations import pairs as pairing
from node.offers import matching
from node.offers.matching import Posting
from protocol.contents.entries import OfferContent

TODAY = date(2027, 1, 15)


def posting(side: str = "offer", school: str = "B", country: str = "GB", **content: Any) -> Posting:
    content.setdefault("activity", "shadowing")
    content.setdefault("title", f"{side} from {school}")
    return Posting.of(
        OfferContent.from_content(content),
        id=f"{side}-{school}-{content['title']}",
        side=side,
        school_id=school,
        school=f"School {school}",
        school_country=country,
        posted=0,
    )


def request(**content: Any) -> Posting:
    return posting("request", "A", **content)


def scored(mine: Posting, theirs: Posting) -> matching.Match:
    found = matching.score(mine, theirs, TODAY)
    assert found is not None
    return found


def test_the_issue_example_reads_as_the_issue_wrote_it() -> None:
    both: dict[str, Any] = {
        "focus": ["leadership"],
        "phases": ["secondary"],
        "languages": ["fr"],
        "mode": "in-person",
    }
    mine = request(**both, **{"from": "2027-03-01", "to": "2027-03-31"}, country="FR")
    theirs = posting(**both, **{"from": "2027-03-08", "to": "2027-04-30"}, country="FR")
    found = scored(mine, theirs)
    assert found.reasons == (
        "same focus: leadership",
        "both work shadowing",
        "both secondary",
        "shared language: French",
        "both in person",
        "dates overlap in March",
        "both in France",
    )
    assert found.concerns == ()
    assert found.score == 30 + 10 + 10 + 10 + 5 + 10 + 15


def test_notes_say_the_same_as_the_reasons_as_data_for_translation() -> None:
    mine = request(
        focus=["leadership"],
        languages=["fr"],
        mode="online",
        country="GB",
        **{"from": "2027-03-01", "to": "2027-03-31"},
    )
    theirs = posting(
        focus=["leadership"],
        languages=["de"],
        mode="online",
        country="JP",
        **{"from": "2027-03-08", "to": "2027-04-30"},
    )
    found = scored(mine, theirs)
    assert [(n.code, n.values) for n in found.notes] == [
        ("focus", ("leadership",)),
        ("kind", ("shadowing",)),
        ("no-language", (("fr",), ("de",))),
        ("online", ()),
        ("dates", (date(2027, 3, 8), date(2027, 3, 31))),
        ("zones-far", (9.0,)),
    ]
    assert [n.points >= 0 for n in found.notes].count(True) == len(found.reasons)
    assert sum(n.points for n in found.notes) == found.score


def test_nothing_in_common_is_no_match() -> None:
    mine = request(activity="visit", focus=["phonics"], subjects=["history"])
    theirs = posting(activity="moderation", focus=["leadership"], subjects=["maths"])
    assert matching.score(mine, theirs, TODAY) is None


def test_a_different_focus_weighs_against_a_match() -> None:
    alike: dict[str, Any] = {"activity": "visit", "phases": ["primary"], "languages": ["en"]}
    phonics = request(**alike, focus=["phonics"])
    maths = posting(**alike, focus=["maths-mastery"])
    assert matching.score(phonics, maths, TODAY) is None  # kind, phase, language, country only
    same_subject = scored(
        request(**alike, focus=["phonics"], subjects=["english"], mode="in-person"),
        posting(**alike, focus=["reading", "oracy"], subjects=["english"], mode="in-person"),
    )
    assert same_subject.concerns == ("a different focus (phonics; they give oracy and reading)",)
    assert matching.Note("focus-differs", -30, (("phonics",), ("oracy", "reading"))) in (
        same_subject.notes
    )
    unsaid = scored(
        request(**alike, subjects=["english"], mode="in-person"),
        posting(**alike, focus=["reading"], subjects=["english"], mode="in-person"),
    )
    assert unsaid.concerns == ()  # a side that names no focus is not held against
    assert same_subject.score == unsaid.score + matching.FOCUS_DIFFERS


def test_focus_and_subjects_are_compared_in_one_spelling() -> None:
    mine = request(activity="visit", focus=["Maths Mastery"], subjects=["Français"])
    theirs = posting(activity="moderation", focus=["maths-mastery"], subjects=["francais"])
    found = scored(mine, theirs)
    assert found.reasons[:2] == ("same focus: maths mastery", "same subject: francais")


def test_more_shared_focus_scores_higher_up_to_a_cap() -> None:
    one = scored(request(focus=["a"]), posting(focus=["a"]))
    two = scored(request(focus=["a", "b"]), posting(focus=["a", "b"]))
    many = scored(request(focus=list("abcdef")), posting(focus=list("abcdef")))
    assert one.score < two.score < many.score
    assert many.score - one.score == matching.FOCUS_MAX - matching.FOCUS_FIRST


@pytest.mark.parametrize(
    ("mine", "theirs", "reason"),
    [
        (["primary"], ["primary", "secondary"], "both primary"),
        (["all-through"], ["secondary"], "all-through covers secondary"),
        (["secondary"], ["all-through"], "all-through covers secondary"),
    ],
)
def test_phases(mine: list[str], theirs: list[str], reason: str) -> None:
    assert reason in scored(request(phases=mine), posting(phases=theirs)).reasons


def test_no_common_language_is_a_concern_that_lowers_the_score() -> None:
    shared = scored(request(languages=["en", "fr"]), posting(languages=["fr-FR"]))
    apart = scored(request(languages=["en"], focus=["x"]), posting(languages=["es"], focus=["x"]))
    assert "shared language: French" in shared.reasons
    assert apart.concerns == ("no language in common (English; they use Spanish)",)
    plain = scored(request(focus=["x"]), posting(focus=["x"]))
    assert apart.score == plain.score + matching.NO_COMMON_LANGUAGE


def test_online_only_and_in_person_only_clash() -> None:
    found = scored(
        request(mode="online", focus=["x"]), posting(mode="in-person", focus=["x"], country="AU")
    )
    assert "one is in person only, the other online only" in found.concerns
    assert not any("journey" in c for c in found.concerns)  # distance no longer matters


@pytest.mark.parametrize(
    ("mine", "theirs", "words"),
    [
        (("2027-03-01", "2027-03-31"), ("2027-03-10", "2027-03-10"), "dates overlap on 10 March"),
        (("2027-02-01", "2027-05-31"), ("2027-03-10", "2027-06-30"), "from March to May"),
        (("2028-02-01", "2028-02-20"), ("2028-02-10", "2028-03-01"), "in February 2028"),
        ((None, "2027-04-30"), (None, "2027-05-31"), "both free until 30 April"),
    ],
)
def test_date_overlap_in_words(mine: tuple[Any, Any], theirs: tuple[Any, Any], words: str) -> None:
    def dates(window: tuple[Any, Any]) -> dict[str, str]:
        return {k: v for k, v in zip(("from", "to"), window, strict=True) if v}

    found = scored(request(**dates(mine)), posting(**dates(theirs)))
    assert any(words in reason for reason in found.reasons), found.reasons


def test_dates_apart_are_a_concern() -> None:
    found = scored(
        request(focus=["x"], **{"from": "2027-03-01", "to": "2027-03-05"}),
        posting(focus=["x"], **{"from": "2027-04-01", "to": "2027-04-05"}),
    )
    assert found.concerns == ("dates do not overlap",)


@pytest.mark.parametrize(
    ("ours", "theirs", "mode", "words", "points"),
    [
        ("FR", "FR", "in-person", "both in France", matching.SAME_COUNTRY),
        ("FR", "ES", "in-person", "neighbours: France and Spain", matching.NEIGHBOURING),
        ("GB", "IT", "in-person", "similar time zone: Italy", matching.SAME_TIME_ZONE),
        ("GB", "JP", "in-person", "a long journey to meet: Japan", matching.LONG_JOURNEY),
        ("GB", "FI", "online", "2 hours apart: school days overlap", matching.ONLINE_NEAR),
        ("GB", "AU", "online", "10 hours apart", matching.ONLINE_FAR),
        ("NZ", "US", "online", "7 hours apart", matching.ONLINE_FAR),  # across the date line
        ("GB", "JP", "either", "9 hours apart", matching.ONLINE_FAR),  # the better of the two
        ("GB", "DE", "either", "an hour apart at most", matching.ONLINE_CLOSE),
        ("GB", "FR", "either", "neighbours: the United Kingdom and France", matching.NEIGHBOURING),
    ],
)
def test_distance_and_time_zones(
    ours: str, theirs: str, mode: str, words: str, points: int
) -> None:
    mine = request(focus=["x"], country=ours, mode=mode)
    found = scored(mine, posting(focus=["x"], country=theirs, mode=mode))
    # Two countries the table lacks: no points for place.
    plain = scored(
        request(focus=["x"], mode=mode, country="AQ"), posting(focus=["x"], mode=mode, country="BV")
    )
    everything = found.reasons + found.concerns
    assert any(words in text for text in everything), everything
    both_ways = matching.MODE_SAME if mode != "either" else 0
    assert found.score == plain.score + points == 30 + 10 + both_ways + points


def test_unknown_countries_are_not_scored_on_distance() -> None:
    found = scored(request(focus=["x"], country="AQ"), posting(focus=["x"], country="GB"))
    assert found.score == 30 + 10


def test_best_matches_leave_out_own_same_side_and_expired_ones() -> None:
    good = posting(focus=["leadership"], title="good")
    better = posting(focus=["leadership"], phases=["primary"], title="better")
    mine_too = posting(focus=["leadership"], title="own", school="A")
    same_side = posting("request", "C", focus=["leadership"])
    closed = posting(focus=["leadership"], closes="2027-01-14", title="closed")
    over = posting(focus=["leadership"], to="2027-01-14", title="over")
    open_today = posting(focus=["leadership"], closes="2027-01-15", title="today")
    mine = request(focus=["leadership"], phases=["primary"])
    found = matching.best_matches(
        mine, [good, better, mine_too, same_side, closed, over, open_today], TODAY, 10
    )
    assert found[0].posting.title == "better"
    assert {m.posting.title for m in found} == {"good", "better", "today"}


def test_match_school_lists_requests_first_and_skips_expired_own() -> None:
    ours = [
        posting("offer", "A", focus=["x"], title="our offer"),
        posting("request", "A", focus=["x"], title="our request"),
        posting("request", "A", focus=["x"], title="our old request", to="2026-12-01"),
    ]
    theirs = [posting("offer", "B", focus=["x"]), posting("request", "B", focus=["x"])]
    found = matching.match_school("A", ours + theirs, TODAY, 5)
    assert [p.title for p, _ in found] == ["our request", "our offer"]
    assert [m.posting.side for m in found[0][1]] == ["offer"]


# -- staff pairings ------------------------------------------------------------------


def person(name: str, strong: str = "", develops: str = "", **kw: Any) -> pairing.Profile:
    return pairing.Profile(name, frozenset(strong.split()), frozenset(develops.split()), **kw)


def test_pair_is_a_development_area_matched_to_a_strength() -> None:
    ann = person("Ann", strong="behaviour", develops="questioning", phase="primary")
    ben = person("Ben", strong="questioning", develops="oracy", phase="primary")
    cal = person("Cal", strong="phonics", develops="reading")
    found = pairing.pairs([ann, ben, cal])
    assert len(found) == 1
    pair = found[0]
    assert pair.members == ("Ann", "Ben")
    assert [(v.observer, v.observed, v.focus) for v in pair.visits] == [
        ("Ann", "Ben", ("questioning",))
    ]
    assert pair.reasons == ("Ben is strong in questioning, which Ann is developing", "both primary")


def test_a_pair_who_can_learn_from_each_other_comes_first() -> None:
    ann = person("Ann", strong="behaviour", develops="questioning")
    ben = person("Ben", strong="questioning", develops="behaviour")
    dee = person("Dee", strong="questioning", develops="oracy", phase="primary")
    found = pairing.pairs([ann, ben, dee])
    assert found[0].members == ("Ann", "Ben")
    assert found[0].reasons[0] == "each can learn from the other"
    assert len(found[0].visits) == 2


def test_triad_is_a_circle_of_observations() -> None:
    ann = person("Ann", strong="oracy", develops="questioning")
    ben = person("Ben", strong="questioning", develops="feedback")
    cal = person("Cal", strong="feedback", develops="oracy")
    dee = person("Dee", strong="phonics", develops="reading")
    found = pairing.triads([dee, cal, ben, ann])
    assert len(found) == 1
    triad = found[0]
    assert triad.members == ("Ann", "Ben", "Cal")
    assert [(v.observer, v.observed) for v in triad.visits] == [
        ("Ann", "Ben"),
        ("Ben", "Cal"),
        ("Cal", "Ann"),
    ]
    assert triad.reasons[0] == "in turn: Ann watches Ben watches Cal watches Ann"
