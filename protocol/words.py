"""What the words of a search mean: folding, word forms (stems) and "either word" (OR).

Pure functions shared by the node's index (node/store/search.py) and the rule a
forwarded query is answered and checked by (protocol/search.py, ``matches``), so both
sides of a query read it alike (docs/protocol.md, "Search beyond the node's view").

- Words are **folded**: lower case, accents removed ("École" -> "ecole").
- Each word of at least :data:`MIN_STEMMED` letters also has a **stem** in each of
  :data:`LANGUAGES`, from the Snowball stemmers (the ``snowballstemmer`` package): a
  word matches another when they are equal, or when one language's stemmer gives both
  the same stem ("ecoles" and "ecole": "ecol" in French). Stems are compared language by
  language, never a French stem with a German one, so two languages' endings do not
  make unrelated words meet.
- A query's words must all match, except that words joined by ``OR`` (in capitals, as
  a word of its own) are alternatives: one of them is enough. An ``OR`` with no word on
  one side (at the start, at the end, doubled) is ignored; ``or`` in small letters is a
  plain word (it is French for gold).
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from snowballstemmer.english_stemmer import EnglishStemmer
from snowballstemmer.french_stemmer import FrenchStemmer
from snowballstemmer.german_stemmer import GermanStemmer
from snowballstemmer.spanish_stemmer import SpanishStemmer

#: The Snowball stemmers applied, with the short name of their index column. The
#: languages of the web pages that Snowball has (English, French, Spanish; Chinese has
#: no word endings and is matched by substring), and German, the language schools in
#: the network most often exchange in besides. Changing this list changes what a
#: query means on the wire: it is a new feature (docs/protocol.md, "Features").
LANGUAGES = (("en", "english"), ("fr", "french"), ("de", "german"), ("es", "spanish"))
#: The pure-Python stemmers of the one ``snowballstemmer`` release pyproject.toml
#: names, by their classes: ``snowballstemmer.stemmer()`` hands over to PyStemmer when
#: any version of it is installed, and another Snowball release stems some words
#: differently (3.0.1 and 3.1.1: English "international"), which would make two
#: honest nodes strike each other's answers.
_CLASSES: dict[str, Any] = {
    "english": EnglishStemmer,
    "french": FrenchStemmer,
    "german": GermanStemmer,
    "spanish": SpanishStemmer,
}
#: The PyStemmer release (C, module ``Stemmer``) whose stems are those of the
#: pure-Python stemmers above (tests/protocol/test_words.py compares them on every word
#: of the docs and catalogues): many times faster (docs/performance.md). Another
#: release, or none, or one whose stems are not :data:`KNOWN_STEMS`, and the
#: pure-Python stemmers are used (docs/dependencies.md).
PYSTEMMER_RELEASE = "3.1.0"


#: Known answers of the pinned stems (snowballstemmer 3.1.1, in the order of
#: :data:`LANGUAGES`; tests/protocol/test_words.py checks them against it): words that
#: other Snowball releases stem otherwise (3.0.1: English "international" was "intern";
#: 2.2.0, the libstemmer some Linux distributions ship: English "added" was "ad", German
#: "actuelles" "actuell", Spanish "educacion" itself), and a few more of each language.
KNOWN_STEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("international", ("internat", "international", "international", "international")),
    ("internal", ("internal", "internal", "internal", "internal")),
    ("interval", ("interval", "interval", "interval", "interval")),
    ("added", ("add", "added", "added", "added")),
    ("evening", ("evening", "evening", "evening", "evening")),
    ("accueil", ("accueil", "accueil", "accuil", "accueil")),
    ("actuelles", ("actuell", "actuel", "actull", "actuell")),
    ("educacion", ("educacion", "educacion", "educacion", "educ")),
    ("asociacion", ("asociacion", "asociacion", "asociacion", "asoci")),
    ("ecoles", ("ecol", "ecol", "ecol", "ecol")),
    ("observations", ("observ", "observ", "observation", "observations")),
    ("visiteurs", ("visiteur", "visiteur", "visiteur", "visiteurs")),
    ("schulen", ("schulen", "schulen", "schul", "schul")),
    ("madchen", ("madchen", "madchen", "madch", "madch")),
    ("escuelas", ("escuela", "escuel", "esculas", "escuel")),
    ("generously", ("generous", "generously", "generously", "generously")),
)


def _fast() -> Any:
    """PyStemmer's module when the installed one is :data:`PYSTEMMER_RELEASE` and gives
    the :data:`KNOWN_STEMS`, else None. Its release alone is not enough: it says nothing
    of the Snowball stemmers it was built with (a distribution may build PyStemmer
    against its own libstemmer: Nix does), and other stems than snowballstemmer's
    would make two honest nodes strike each other's answers. About 0.1 ms."""
    try:
        import Stemmer
    except ImportError:
        return None
    version = getattr(Stemmer, "version", None)
    if not callable(version) or version() != PYSTEMMER_RELEASE:
        return None
    try:
        stemmers = [Stemmer.Stemmer(name) for _, name in LANGUAGES]
        made = [(w, tuple(str(s.stemWord(w)) for s in stemmers)) for w, _ in KNOWN_STEMS]
    except Exception:  # a build without one of the languages: not ours to use
        return None
    return Stemmer if made == list(KNOWN_STEMS) else None


_FAST = _fast()
#: Which stemmers this process uses: "PyStemmer" or "snowballstemmer".
BACKEND = "PyStemmer" if _FAST is not None else "snowballstemmer"

#: Words shorter than this are not stemmed: a stemmer leaves them alone anyway, and
#: most are small words (articles, "or").
MIN_STEMMED = 3
#: Nor words longer than this: no word of the four languages is (German's long
#: compounds are about 25 letters), and it bounds what checking an entry from another
#: school costs (:data:`MAX_CANDIDATES` words of at most this many letters).
MAX_STEMMED = 40
#: The most distinct words of one entry whose stems checking it against a forwarded
#: query may need (protocol.search.words_match): an entry that needs more is
#: undecided (:class:`Undecided`) and dropped without a strike (docs/protocol.md,
#: "Word forms and OR", step 6). Text of 16,000 characters (the docs, the French
#: catalogue, in windows) has at most 88 distinct words starting with its most frequent
#: letter, 203 with its three most frequent; an offer's text holds 10,000.
MAX_CANDIDATES = 256
#: Words not stemmed before (not in the cache) that checking one peer's answers to one
#: query may stem, in all its ``answers`` frames (a budget per frame would be renewed
#: by sending one entry a frame): about 15 ms with PyStemmer (7 µs a word, four
#: languages), 50 ms with the pure-Python stemmers (0.19 ms a word;
#: docs/performance.md). Past it, the entries that need more are undecided.
NEW_STEMS_PER_QUERY = 2048 if _FAST is not None else 256
#: The word joining alternatives, as typed.
EITHER = "OR"
#: Words a query keeps, OR not counted (protocol.search.MAX_WORDS).
MAX_TERMS = 20
#: What splits a query into words: spaces, control characters, and quotes and FTS5's
#: operators, which are never syntax (a NUL inside a quoted FTS5 string is an error).
_QUERY_SPLIT = re.compile(r"[\s\"'*^():\x00-\x1f\x7f]+")
#: As nodes before ``search-forms`` split a query.
_PLAIN_SPLIT = re.compile(r"[\s\"'*^():]+")
_WORD = re.compile(r"\w+")
#: Distinct words whose stems are remembered: an offer's words repeat across offers,
#: and the pure-Python stemmers take tens of microseconds a word (docs/performance.md).
STEM_CACHE = 1 << 16

_local = threading.local()  # a stemmer keeps its word in itself: one set per thread


@cache
def _marks() -> dict[int, None]:
    """Every combining character (``unicodedata.combining`` not 0), to delete: made once
    (0.1 s), then folding a text is C's speed, not a Python loop over its characters
    (a frame of answers from a peer holds up to a megabyte of text to fold)."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Lower case, accents removed, compatibility forms unified."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_marks())


def unspaced(term: str) -> bool:
    """True for terms in scripts written without spaces between words."""
    return any(unicodedata.east_asian_width(c) in "WF" or "\u0e00" <= c <= "\u0e7f" for c in term)


def stemmed(word: str) -> bool:
    """Whether a folded word has stems: letters only, MIN_STEMMED to MAX_STEMMED of
    them, none in capitals, and not in a script written without spaces.

    Folding leaves capitals where a compatibility form decomposes to one (U+210B,
    script capital H, is "H"),
    and Snowball's stemmers use capitals as their own marks: French drops an "H" and
    turns "He" into "ë", so the stem no longer starts as its word does, which
    protocol.search.words_match relies on."""
    if not (MIN_STEMMED <= len(word) <= MAX_STEMMED and word.isalpha()):
        return False
    if word.isascii():  # most words: no capital, no script without spaces, in C
        return word.islower()
    return word == word.lower() and not unspaced(word)


def _stemmers() -> list[Any]:
    found: list[Any] | None = getattr(_local, "stemmers", None)
    if found is None:
        if _FAST is not None:
            found = [_FAST.Stemmer(name) for _, name in LANGUAGES]
        else:
            found = [_CLASSES[name]() for _, name in LANGUAGES]
        _local.stemmers = found
    return found


def pure_stems(word: str) -> tuple[str, ...]:
    """A word's stems by the pure-Python stemmers, whatever :data:`BACKEND` is (tests
    compare the two); not cached."""
    found: list[Any] | None = getattr(_local, "pure", None)
    if found is None:
        found = [_CLASSES[name]() for _, name in LANGUAGES]
        _local.pure = found
    return tuple(str(s.stemWord(word)) for s in found)


#: Stems of the words stemmed lately (None: the word has none), shared by the threads
#: (a dict's get and set are atomic; a race only stems a word twice). Emptied when
#: full: cheaper than an LRU's bookkeeping on every word, and the words of offers come
#: back soon after.
_cache: dict[str, tuple[str, ...] | None] = {}
#: What a word not in the cache reads as (by identity).
_UNSEEN: tuple[str, ...] = ("",)


def _stems(word: str) -> tuple[str, ...] | None:
    found = _cache.get(word, _UNSEEN)
    if found is not _UNSEEN:
        return found
    made = tuple(str(s.stemWord(word)) for s in _stemmers()) if stemmed(word) else None
    if len(_cache) >= STEM_CACHE:
        _cache.clear()
    _cache[word] = made
    return made


def known(word: str) -> bool:
    """Whether ``word``'s stems are in the cache (stemming it costs nothing)."""
    return word in _cache


class Undecided(Exception):
    """Checking an entry would stem more words than the check's bounds allow
    (:data:`MAX_CANDIDATES`, :class:`StemBudget`): the entry is neither taken nor
    struck. Outside protocol.errors' tree on purpose: no one broke a rule, and it
    never reaches a user (node/net/search.py drops the entry)."""


@dataclass(slots=True)
class StemBudget:
    """What checking one peer's answers to one query may still stem: words not stemmed
    before."""

    new: int = NEW_STEMS_PER_QUERY

    def take(self, words: Collection[str]) -> None:
        """Count the words among ``words`` not stemmed before, or raise
        :class:`Undecided` (and count nothing) when more than are left."""
        fresh = sum(1 for w in words if w not in _cache)
        if fresh > self.new:
            raise Undecided(f"{fresh} words to stem, {self.new} left in these answers' budget")
        self.new -= fresh


def stems(word: str) -> tuple[str, ...]:
    """A folded word's stem in each of :data:`LANGUAGES` (the word itself when it has
    none: see :func:`stemmed`)."""
    return _stems(word) or (word,) * len(LANGUAGES)


def words_of(folded: str) -> list[str]:
    """The words of folded text, as stems are taken from them."""
    return _WORD.findall(folded)


def stem_set(words: Iterable[str]) -> list[tuple[str, ...]]:
    """The stems (one per language) of each of ``words`` that has them."""
    return [found for word in words if (found := _stems(word)) is not None]


def stem_columns(folded: str) -> tuple[str, ...]:
    """For each of :data:`LANGUAGES`, the distinct stems of the words of ``folded`` that
    have stems, joined by spaces: what the index keeps beside the words."""
    # On every offer indexed (docs/performance.md): the cache read inline, not through
    # _stems, which only a word not seen lately needs.
    get = _cache.get
    found = []
    for word in dict.fromkeys(_WORD.findall(folded)):
        made = get(word, _UNSEEN)
        if made is _UNSEEN:
            made = _stems(word)
        if made is not None:
            found.append(made)
    if not found:
        return ("",) * len(LANGUAGES)
    return tuple(" ".join(dict.fromkeys(column)) for column in zip(*found, strict=True))


def groups(query: str) -> list[list[str]]:
    """A query's folded words, as groups that must all match, each matched by any one of
    its words (more than one only where ``OR`` joined them). ``OR`` at the start or the
    end, or doubled, is ignored; at most :data:`MAX_TERMS` words are kept."""
    found: list[list[str]] = []
    joined = False  # the last thing read was an OR after a word
    count = 0
    for raw in _QUERY_SPLIT.split(query):
        if not raw:
            continue
        if raw == EITHER:
            joined = bool(found)
            continue
        for term in _QUERY_SPLIT.split(fold(raw)):
            if not term or count >= MAX_TERMS:
                continue
            count += 1
            if joined:
                found[-1].append(term)
                joined = False
            else:
                found.append([term])
    return found


def plain_terms(query: str) -> list[str]:
    """A query's folded words as nodes before word forms and OR read it: every word
    (``OR`` too) must be there (protocol.search ``matches`` with ``forms=False``)."""
    return [t for t in _PLAIN_SPLIT.split(fold(query)) if t][:MAX_TERMS]
