"""What a search's words mean (protocol/words.py, protocol/search.py ``matches``):
plurals and other word endings in English, French, German and Spanish, accents, and
OR, as tables of query, text and answer."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from protocol import search
from protocol.words import (
    BACKEND,
    KNOWN_STEMS,
    LANGUAGES,
    MAX_CANDIDATES,
    MAX_STEMMED,
    StemBudget,
    Undecided,
    fold,
    groups,
    known,
    pure_stems,
    stem_columns,
    stem_set,
    stemmed,
    stems,
    unspaced,
    words_of,
)

# (query, an offer's words, found?) read with word forms and OR.
WORD_FORMS = [
    # French: plurals, accents folded on both sides
    ("écoles", "École Jules Verne", True),
    ("ecole", "Nos écoles ouvertes", True),
    ("ÉCOLES", "une ecole", True),
    ("chevaux", "Le cheval de Troie", True),
    ("théâtres", "Atelier de théâtre", True),
    # English
    ("observations", "Observation of a lesson", True),
    ("observation", "Lesson observations welcome", True),
    ("libraries", "Our school library", True),
    ("teaching", "Teachers who teach phonics", True),
    # German
    ("Schulen", "Eine Schule in Köln", True),
    ("Bücher", "Ein Buch für alle", True),
    ("Kinder", "Kind und Kegel", True),
    # Spanish
    ("escuelas", "Una escuela en Sevilla", True),
    ("países", "Un país, dos lenguas", True),
    ("lápices", "Un lápiz", False),  # Snowball's Spanish leaves "lapiz" whole: no match
    # exact words still match, as before
    ("phonics", "Phonics lessons", True),
    ("phonics lessons", "Phonics lessons", True),
    ("phonics maths", "Phonics lessons", False),  # every word must match
    # the last word may be the start of one (typing ahead); the others may not
    ("phon", "Phonics lessons", True),
    ("phon lessons", "Phonics lessons", False),
    # stems are compared language by language, and short words are not stemmed
    ("or", "Gold or silver", True),
    ("os", "Pour les os", True),
    ("a", "b", False),
]

# (query, an offer's words, found?) with OR.
EITHER = [
    ("drama OR theatre", "Drama club", True),
    ("drama OR theatre", "A theatre visit", True),
    ("drama OR theatre", "Music club", False),
    ("drama OR theatres", "A theatre visit", True),  # with word forms
    ("drama OR theatre visit", "A theatre visit", True),  # (drama or theatre) and visit
    ("drama OR theatre visit", "Drama club", False),
    ("visit drama OR theatre", "A drama visit", True),
    ("music OR drama OR theatre", "Theatre", True),
    # OR at the start or the end, or doubled, is ignored
    ("OR drama", "Drama club", True),
    ("drama OR", "Drama club", True),
    ("drama OR OR theatre", "Theatre", True),
    ("OR", "Drama club", True),  # no word at all: everything
    # in small letters it is a word (French for gold)
    ("drama or theatre", "Drama club", False),
    ("drama or theatre", "Drama or theatre", True),
    # the last word of the last group may be the start of one
    ("music OR theat", "A theatre visit", True),
    ("theat OR music", "A theatre visit", False),
]


@pytest.mark.parametrize(("query", "text", "found"), WORD_FORMS + EITHER)
def test_words_match(query: str, text: str, found: bool) -> None:
    assert search.words_match(query, fold(text)) is found


# (query, groups)
GROUPS = [
    ("", []),
    ("École", [["ecole"]]),
    ("drama OR theatre", [["drama", "theatre"]]),
    ("a b OR c d", [["a"], ["b", "c"], ["d"]]),
    ("OR a", [["a"]]),
    ("a OR", [["a"]]),
    ("a OR OR b", [["a", "b"]]),
    ("OR OR", []),
    ("a or b", [["a"], ["or"], ["b"]]),
    ('"a" OR (b)', [["a", "b"]]),  # quotes and brackets are text, never syntax
    ("a* OR ^b:", [["a", "b"]]),
    ("a\x00b\x7fc", [["a"], ["b"], ["c"]]),  # control characters separate words
    ("\uff46\uff55\uff4c\uff4c", [["full"]]),  # full-width letters unified
]


@pytest.mark.parametrize(("query", "expected"), GROUPS)
def test_groups(query: str, expected: list[list[str]]) -> None:
    assert groups(query) == expected


def test_at_most_twenty_words_are_kept_or_not_counted() -> None:
    query = " OR ".join(f"w{i}" for i in range(30))
    assert groups(query) == [[f"w{i}" for i in range(20)]]


def test_stems_language_by_language() -> None:
    assert [code for code, _ in LANGUAGES] == ["en", "fr", "de", "es"]
    assert stems("ecoles") == ("ecol", "ecol", "ecol", "ecol")
    assert stems("observations")[0] == "observ"  # English
    assert stems("observations")[2] == "observation"  # German leaves it
    assert stems("or") == ("or",) * 4  # too short to stem
    assert stems("2024") == ("2024",) * 4  # not letters
    assert stems(fold("\u210bnais")) == ("Hnais",) * 4  # a capital left by folding
    # each stem once; short words and numbers left out
    assert stem_columns("ecoles et ecole 12") == ("ecol",) * 4


# The stems table of docs/protocol.md, "Word forms and OR": (word, en, fr, de, es)
STEMS = [
    ("ecoles", "ecol", "ecol", "ecol", "ecol"),
    ("observations", "observ", "observ", "observation", "observations"),
    ("theatre", "theatr", "theatr", "theatr", "theatr"),
    ("chevaux", "chevaux", "cheval", "chevaux", "chevaux"),
    ("schulen", "schulen", "schulen", "schul", "schul"),
    ("escuelas", "escuela", "escuel", "esculas", "escuel"),  # German reads "ue" as "ü"
    # snowballstemmer 3.0.1 gave English "intern": the release is part of the meaning
    ("international", "internat", "international", "international", "international"),
]


@pytest.mark.parametrize(("word", *(code for code, _ in LANGUAGES)), STEMS)
def test_stems(word: str, en: str, fr: str, de: str, es: str) -> None:
    assert stems(word) == (en, fr, de, es)


# (query, text, found?) as nodes before word forms read a query: OR is a word
PLAIN = [
    ("ecoles", "une ecole", False),
    ("ecole", "une ecole", True),
    ("drama OR theatre", "drama club", False),
    ("drama OR theatre", "drama or theatre", True),
    ("phon", "phonics", True),
]


@pytest.mark.parametrize(("query", "text", "found"), PLAIN)
def test_plain_words_match(query: str, text: str, found: bool) -> None:
    assert search.plain_words_match(query, text) is found


@pytest.mark.parametrize(("query", "text", "found"), WORD_FORMS + EITHER + PLAIN)
def test_plain_match_is_never_wider(query: str, text: str, found: bool) -> None:
    """What a node before word forms finds, a node with them finds too: so a result a
    node without them sends never fails the check of one with them (no strike)."""
    if search.plain_words_match(query, fold(text)):
        assert search.words_match(query, fold(text))


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzß", min_size=3, max_size=14))
def test_a_stem_starts_as_its_word_does(word: str) -> None:
    """protocol.search.words_match stems only the words that start as the term does:
    right only while every stemmer keeps a word's first letter."""
    word = fold(word)
    for stem in stems(word):
        assert stem[:1] == word[:1]


_PIECES = st.sampled_from(
    [
        "OR",
        "or",
        "drama",
        "dramas",
        "theatre",
        "théâtres",
        "é",
        "a",
        "ab",
        "数学",
        "-",
        "'",
        "(",
        " ",
    ]
)


@given(st.lists(_PIECES, max_size=8), st.lists(_PIECES, max_size=8))
def test_the_new_reading_finds_whatever_the_old_one_does(query: list[str], text: list[str]) -> None:
    """A result a node before ``search-forms`` sends never fails the check of a node
    with it (docs/protocol.md, "Word forms and OR")."""
    words, folded = " ".join(query), fold(" ".join(text))
    if search.plain_words_match(words, folded):
        assert search.words_match(words, folded)


def test_a_query_cut_at_twenty_words_finds_whatever_the_old_reading_does() -> None:
    """The old reading keeps the first 20 words, OR counted; the new one 20 words, OR
    not counted, so it may keep a word the old one dropped. A relay passes what a peer
    without ``search-forms`` found to a peer with it: that one must not strike it."""
    query = "a OR b " + " ".join(f"c{i}" for i in range(1, 19)) + " d"
    offer = {"activity": "x", "title": "a b or " + " ".join(f"c{i}" for i in range(1, 18))}
    assert search.matches({}, query, "offer", offer, forms=False)
    assert search.matches({}, query, "offer", offer, forms=True)


def _as_written(words: str, text: str) -> bool:
    """docs/protocol.md, "Word forms and OR", read literally: every entry word's stems,
    with no shortcut."""
    if search.plain_words_match(words, text):
        return True
    found = groups(words)
    tokens = words_of(text)
    entry_stems = [{s[i] for s in stem_set(tokens)} for i in range(len(LANGUAGES))]
    for g, group in enumerate(found):
        ok = False
        for a, term in enumerate(group):
            last = g == len(found) - 1 and a == len(group) - 1
            if unspaced(term):
                ok = term in text
            else:
                ok = (
                    term in tokens
                    or (last and any(t.startswith(term) for t in tokens))
                    or (
                        stemmed(term)
                        and any(s in c for s, c in zip(stems(term), entry_stems, strict=True))
                    )
                )
            if ok:
                break
        if not ok:
            return False
    return True


# with script capitals H and I (U+210B, U+2110), which fold to "H" and "I"
_LETTERS = st.sampled_from([*"aehinsuy", "\u210b", "\u2110", "Ⓗ", "ë", "ï", "ǅ", "ß", "é"])


@example(["nais"], ["\u210bnais"])
@example(["ecoles"], ["\u210becoles"])
@given(
    st.lists(st.text(_LETTERS, min_size=1, max_size=8), min_size=1, max_size=3),
    st.lists(st.text(_LETTERS, min_size=1, max_size=8), max_size=4),
)
def test_words_match_is_the_reading_as_written(query: list[str], text: list[str]) -> None:
    """The shortcut of words_match (only the entry's words that start as the term does
    are stemmed) changes nothing: another implementation that follows docs/protocol.md
    finds the same, so neither strikes the other. Folding may leave a capital (U+210B,
    script capital H, is "H"), which Snowball's French stemmer drops: such words have no stems."""
    words, folded = " ".join(query), fold(" ".join(text))
    assert search.words_match(words, folded) is _as_written(words, folded)


@pytest.mark.parametrize("release", [None, "3.0.0", "3.1.1"])
def test_the_stems_are_the_pinned_release_even_beside_pystemmer(
    tmp_path: Path, release: str | None
) -> None:
    """``snowballstemmer.stemmer()`` hands over to any installed PyStemmer (module
    ``Stemmer``), whatever Snowball release it was built from; protocol.words uses only
    PyStemmer 3.1.0 (PYSTEMMER_RELEASE), else the pure-Python stemmers. The ``Stemmer``
    here stands for a PyStemmer of another release (one that stems nothing): the real
    ones differ only on some words."""
    version = "" if release is None else f"def version():\n    return {release!r}\n"
    (tmp_path / "Stemmer.py").write_text(
        version + "def algorithms():\n"
        "    return ['english', 'french', 'german', 'spanish']\n"
        "class Stemmer:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "    def stemWord(self, word):\n"
        "        return word\n"
    )
    root = Path(__file__).resolve().parents[2]
    code = (
        "import Stemmer; from protocol.words import BACKEND, stems; "
        "print(*stems('ecoles'), BACKEND)"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{root}"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["ecol"] * 4 + ["snowballstemmer"]


# -- the stemmers: PyStemmer where installed, the same stems as the pure-Python ones ------

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> list[str]:
    """Every distinct stemmed word of the translation catalogues and the docs (in the
    four languages and more), and of this file's tables."""
    texts = [p.read_text(encoding="utf-8") for p in ROOT.glob("node/web/locale/*/*/*.po")]
    texts += [p.read_text(encoding="utf-8") for p in ROOT.glob("docs/*.md")]
    texts += [" ".join(row[:2]) for row in WORD_FORMS] + [row[0] for row in STEMS]
    return sorted({w for t in texts for w in words_of(fold(t)) if stemmed(w)})


def test_pystemmer_is_used() -> None:
    """pyproject.toml installs PyStemmer 3.1.0: the bounds of docs/protocol.md ("Word forms
    and OR", step 6) are measured with it."""
    assert BACKEND == "PyStemmer"


def test_pystemmer_gives_the_pure_python_stems() -> None:
    """Two nodes, one with PyStemmer and one without, must stem alike, or they strike
    each other's honest answers: compared on every word of the docs and catalogues."""
    corpus = _corpus()
    assert len(corpus) > 5000
    differ = [(w, stems(w), pure_stems(w)) for w in corpus if stems(w) != pure_stems(w)]
    assert differ == []


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzßàâçéèêëîïôûùüÿñáíóú", min_size=3, max_size=20))
def test_pystemmer_and_pure_python_agree_on_made_up_words(word: str) -> None:
    word = fold(word)
    if stemmed(word):
        assert stems(word) == pure_stems(word)


def test_a_pystemmer_of_the_release_but_other_stems_is_not_used(tmp_path: Path) -> None:
    """PyStemmer's release number says nothing of the Snowball stemmers it was built
    with: a distribution may link PyStemmer 3.1.0 to its own libstemmer (Nix does, and
    libstemmer 3.0.1 stems English "international" as "intern", 2.2.0 English "added" as
    "ad"), whose stems would make honest nodes strike each other. The ``Stemmer`` here
    stands for such a build: the release, and 3.0.1's stems; the pure-Python stemmers
    are used instead."""
    (tmp_path / "Stemmer.py").write_text(
        "import importlib\n"
        "def algorithms():\n"
        "    return ['english', 'french', 'german', 'spanish']\n"
        "def version():\n"
        "    return '3.1.0'\n"
        "class Stemmer:\n"
        "    def __init__(self, name):\n"
        "        pure = importlib.import_module(f'snowballstemmer.{name}_stemmer')\n"
        "        self.name = name\n"
        "        self.pure = getattr(pure, name.capitalize() + 'Stemmer')()\n"
        "    def stemWord(self, word):\n"
        "        if self.name == 'english' and word == 'international':\n"
        "            return 'intern'\n"
        "        return self.pure.stemWord(word)\n"
    )
    code = (
        "from protocol.words import BACKEND, stems;"
        "print(BACKEND, *stems('international'), *stems('ecoles'))"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert (
        done.stdout.split()
        == ["snowballstemmer", "internat", *["international"] * 3] + ["ecol"] * 4
    )


def test_the_known_stems_are_the_pinned_releases() -> None:
    """What PyStemmer is checked against when the node starts (protocol.words) is what
    snowballstemmer 3.1.1 gives."""
    assert [(w, pure_stems(w)) for w, _ in KNOWN_STEMS] == list(KNOWN_STEMS)


def test_words_longer_than_forty_letters_have_no_stems() -> None:
    assert stemmed("a" * MAX_STEMMED)
    assert not stemmed("a" * (MAX_STEMMED + 1))
    assert stems("e" * (MAX_STEMMED + 1) + "s") == ("e" * (MAX_STEMMED + 1) + "s",) * 4


# -- bounds of the check (docs/protocol.md, "Word forms and OR", step 6) --------------------


def _made_up(n: int, first: str = "o", tag: str = "") -> list[str]:
    """``n`` distinct words of letters starting with ``first``: oaaa, oaab, ..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        first + tag + letters[i // 676 % 26] + letters[i // 26 % 26] + letters[i % 26]
        for i in range(n)
    ]


def test_an_entry_with_more_words_to_stem_than_the_bound_is_undecided() -> None:
    """The vector of docs/protocol.md: 257 such words are undecided, 256 decided."""
    assert search.words_match("observations", " ".join(_made_up(MAX_CANDIDATES))) is False
    with pytest.raises(Undecided):
        search.words_match("observations", " ".join(_made_up(MAX_CANDIDATES + 1)))


def test_only_the_words_that_could_share_a_stem_count() -> None:
    many = " ".join(_made_up(2 * MAX_CANDIDATES, first="p"))
    assert search.words_match("observations", f"{many} observation") is True
    # decided without stems: a word found as it is, or a start of a word typed last
    assert search.words_match("ecoles", f"{many} ecoles") is True
    assert search.words_match("pai", many) is True  # "paiaa..." starts with it
    # a group that nothing could match, stems or not: no need to count
    assert search.words_match("12345", many) is False
    # nor does an entry with such a group, whatever else it holds (docs/protocol.md)
    assert search.words_match("12345 pets", many) is False
    # a group matched as typed: its other words' first letters count for nothing
    o_words = " ".join(_made_up(2 * MAX_CANDIDATES, first="o"))
    assert search.words_match("oaab OR observations", o_words) is True


def test_an_entry_that_matches_by_stem_beyond_the_bound_is_undecided() -> None:
    """An honest offer of many words sharing a first letter: dropped unchecked, which
    is why an answering node does not send it (node/net/search.py)."""
    text = " ".join([*_made_up(MAX_CANDIDATES, first="e"), "ecole"])
    with pytest.raises(Undecided):
        search.matches({}, "écoles", "offer", {"activity": "x", "title": text})
    # read as before search-forms, nothing is stemmed: decided
    offer = {"activity": "x", "title": text}
    assert search.matches({}, "écoles", "offer", offer, forms=False) is False


def test_a_frame_budget_counts_only_words_not_stemmed_before() -> None:
    budget = StemBudget(new=300)
    first = " ".join(_made_up(200, tag="zq"))
    assert search.words_match("observations", first, budget) is False
    assert budget.new == 100  # each word stemmed once
    assert all(known(w) for w in _made_up(200, tag="zq"))
    assert search.words_match("observations", first, budget) is False  # now known: free
    assert budget.new == 100
    second = _made_up(200, tag="zx")
    with pytest.raises(Undecided):  # 200 new words, 100 left: none is stemmed
        search.words_match("observations", " ".join(second), budget)
    assert budget.new == 100
    assert not any(known(w) for w in second)


def _fold_as_written(text: str) -> str:
    """docs/protocol.md, "Word forms and OR", step 1: lower case, NFKD, combining marks
    removed (protocol.words.fold does it with a table, at C's speed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@given(st.text())
@example("Écoles \u01c5 \u210b \u24bd \ufb01 Æ ß")
def test_fold_is_the_reading_as_written(text: str) -> None:
    assert fold(text) == _fold_as_written(text)
