"""Every piece of text on the pages has a translation in every language shipped, and
visitors get the language they ask for (docs/translating.md)."""

from __future__ import annotations

import functools
import html
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from node.web import i18n
from node.web.vocabulary import vocabulary
from scripts import translations
from tests.network import LiveNode
from tests.web.web import client, http_sign_in

MESSAGE = re.compile(r"<main[^>]*>.*?<p>(.*?)</p>", re.S)
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)

#: The strings of the code and templates, extracted once for the module (1.7 s each time):
#: no test here changes the sources, and none changes the catalogue it is given.
_SOURCE = functools.cache(translations.source_catalog)


@pytest.fixture(autouse=True)
def one_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translations, "source_catalog", _SOURCE)


def test_every_catalogue_is_complete() -> None:
    assert set(translations.catalogues()) == set(i18n.LANGUAGES) - {i18n.DEFAULT}
    assert {"fr", "es", "zh_Hans"} <= set(translations.catalogues())
    for language in translations.catalogues():
        assert translations.problems(language) == []


#: What a message says only to someone it calls ``usted`` (docs/translating.md, "Forms
#: of address": Spanish is ``tú`` to everyone): the pronoun; imperatives with a pronoun
#: attached (only an imperative takes one); and bare imperatives our older messages
#: used, only where a sentence starts: elsewhere the same words are third-person
#: subjunctives that speak of someone else ("hasta que la escuela lo lea"), as "su"
#: (their) does, and are right.
USTED = re.compile(
    r"\b(usted|ustedes|déjelo|guárdelo|inténtelo|escríbalo|escanéelo|acéptela|muévala)\b"
    r"|(?:^|[.!?:]\s+|[¿¡])(elija|indique|escriba|revise|pregunte|pruebe|guarde|cree|pida|"
    r"lea|vuelva|deje)\b",
    re.I,
)


def test_the_formal_address_check_knows_an_order_from_a_third_person() -> None:
    """The check below must catch an ``usted`` order and leave a sentence about someone
    else alone, or a correct translation would fail it."""
    for formal in (
        "Elija una fecha.",
        "Hecho. Vuelva a intentarlo.",
        "¿Lea el aviso?",
        "Guárdelo aquí.",
        "Si usted quiere, escriba.",
    ):
        assert USTED.search(formal), formal
    for informal in (
        "Elige una fecha.",
        "Hasta que la escuela lo lea, espera.",
        "El colegio cree que sí.",
        "Tu socio leyó el mensaje.",
        "Pide a tu profesor que lo deje así.",
    ):
        assert not USTED.search(informal), informal


def test_spanish_and_chinese_address_everyone_one_way() -> None:
    """Spanish ``tú``, never ``usted``; Chinese ``你``, never ``您`` (some approval
    and questions messages said ``usted`` and ``您``)."""
    found = []
    for language, formal in (("es", USTED), ("zh_Hans", re.compile("您"))):
        with translations.catalogues()[language].open("rb") as po:
            catalog = read_po(po, locale=language)
        for message in catalog:
            raw = message.string
            texts = raw if isinstance(raw, tuple | list) else (raw,)
            found += [(language, text) for text in texts if text and formal.search(text)]
    assert found == []


def test_no_catalogue_keeps_text_no_page_uses() -> None:
    """Nine messages were left in every catalogue after their pages changed (docs/decisions.md,
    "Small consistency fixes"): a translator would keep them up for nothing."""
    assert [
        u for language in translations.catalogues() for u in translations.unused(language)
    ] == []


def test_the_check_finds_text_no_page_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    copy.parent.mkdir(parents=True)
    source = translations.LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po"
    copy.write_text(source.read_text() + '\nmsgid "A page long gone"\nmsgstr "Une page partie"\n')
    monkeypatch.setattr(translations, "LOCALE_DIR", tmp_path)
    assert translations.unused("fr") == ["fr: no longer used: 'A page long gone'"]


@pytest.mark.parametrize("language", ["fr", "es", "zh_Hans"])
def test_the_check_fails_when_a_catalogue_lacks_a_message(
    language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above would catch any catalogue with a message left out."""
    source = translations.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    copy = tmp_path / language / "LC_MESSAGES" / "messages.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    text = copy.read_text()
    entry = re.compile(r'\nmsgid "Sign in"\nmsgstr "[^"]+"\n')
    assert entry.search(text), language
    copy.write_text(entry.sub("\n", text))
    monkeypatch.setattr(translations, "LOCALE_DIR", tmp_path)
    assert translations.problems(language) == [f"{language}: not translated: 'Sign in'"]


def test_a_new_language_starts_with_every_message_to_translate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translations, "LOCALE_DIR", tmp_path)
    path = translations.add("de")
    assert "nplurals=2; plural=(n != 1)" in path.read_text()
    missing = translations.problems("de")
    assert "de: not translated: 'Sign in'" in missing
    assert len(missing) == sum(1 for message in translations.source_catalog() if message.id)


def test_the_check_finds_missing_text() -> None:
    source = translations.source_catalog()
    assert "Sign in" in source  # the extraction sees the templates
    assert any("Too many attempts" in str(m.id) for m in source)  # and the Python code


def test_languages_are_chosen_by_preference() -> None:
    assert i18n.choose(None, "de-DE,fr;q=0.8,en;q=0.5") == "fr"
    assert i18n.choose(None, "en;q=0.3, fr;q=0.9") == "fr"
    assert i18n.choose("en", "fr") == "en"
    assert i18n.choose("xx", "garbage;q=abc") == "en"
    assert i18n.translations("fr").gettext("Sign in") == "Se connecter"


@pytest.mark.parametrize(
    ("accept", "country", "shown"),
    [
        ("es-ES,es;q=0.9", "", "es"),
        ("es-MX", "", "es"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "", "zh_Hans"),
        ("zh-Hans", "", "zh_Hans"),
        ("zh", "", "zh_Hans"),
        ("zh-SG", "", "zh_Hans"),
        # no traditional-character catalogue: the next preference wins
        ("zh-TW,zh;q=0.9,en;q=0.5", "", "zh_Hans"),
        ("zh-TW,en;q=0.5", "", "en"),
        ("zh-Hant-HK,fr;q=0.5", "", "fr"),
        # the browser says nothing we have: the school's country decides
        ("", "ES", "es"),
        ("de-DE", "ES", "es"),
        (None, "CN", "zh_Hans"),
        (None, "FR", "fr"),
        (None, "TW", "en"),
        (None, "DE", "en"),
        ("en-GB", "ES", "en"),  # the browser's choice comes first
    ],
)
def test_spanish_and_chinese_are_negotiated(accept: str | None, country: str, shown: str) -> None:
    assert i18n.choose(None, accept, country) == shown


def test_language_links_accept_the_usual_tags() -> None:
    assert i18n.known("zh-CN") == i18n.known("zh-hans") == i18n.known("zh_Hans") == "zh_Hans"
    assert i18n.known("es-ES") == "es"
    assert i18n.known("zh-TW") is None
    assert i18n.known("de") is None
    assert i18n.tag("zh_Hans") == "zh-Hans"


def test_country_names_sort_as_readers_expect() -> None:
    french = vocabulary("fr", i18n.translations("fr").gettext)
    names = [name for _code, name in french.countries]
    assert names.index("Égypte") < names.index("Espagne") < names.index("Viêt Nam")


@pytest.mark.parametrize(
    ("language", "chinese"),
    [("en", "Chinese"), ("fr", "chinois"), ("es", "chino"), ("zh_Hans", "中文")],
)
def test_offers_can_name_chinese_in_every_language(language: str, chinese: str) -> None:
    words = vocabulary(language, i18n.translations(language).gettext)
    assert ("zh", chinese) in words.languages
    assert words.language("zh-CN") == chinese


PAGES = {
    # link, html lang, the home page's heading, "not found", a page-words error, the month
    "es": ("/language/es", "es", "Hola, Mrs Patel", "No encontrado",
           "No hay ninguna cuenta con ese nombre.", "mar"),
    "zh_Hans": ("/language/zh-CN", "zh-Hans", "你好，Mrs Patel", "未找到",  # noqa: RUF001
                "没有这个名字的账户。", "3月"),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(PAGES))
async def test_the_language_links_serve_spanish_and_chinese_pages(
    school: LiveNode, language: str
) -> None:
    link, lang, hello, not_found, no_account, march = PAGES[language]
    entry = await school.node.events.create(
        {
            "title": "TeachMeet",
            "start": "2099-03-04T16:00+01:00",
            "end": "2099-03-04T18:00+01:00",
            "tz": "Europe/Paris",
            "audience": "public",
        },
    )
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        async with http.get(f"{link}?next=/") as response:
            assert response.status == 200
            assert response.url.path == "/"
            home = html.unescape(await response.text())
        assert f'<html lang="{lang}">' in home
        assert hello in home
        assert f'href="/language/{language}?next=/" lang="{lang}"' in home
        assert "Español" in home
        assert "中文（简体）" in home  # noqa: RUF001
        async with http.get("/no/such/page") as response:
            assert response.status == 404
            missing = html.unescape(await response.text())
        found = TITLE.search(missing)
        assert found
        assert found[1].strip() == not_found
        async with http.get("/users/remove?name=Nobody") as response:
            assert response.status == 404
            page = html.unescape(await response.text())
        found = MESSAGE.search(page)
        assert found
        assert found[1] == no_account
        async with http.get(f"/events/{entry.id}") as response:
            assert response.status == 200
            event = html.unescape(await response.text())
        assert "2099" in event
        assert march in event
        assert "Mar 4, 2099" not in event


async def test_an_unknown_language_link_is_not_found(school: LiveNode) -> None:
    async with client(school) as http, http.get("/language/zh-TW?next=/") as response:
        assert response.status == 404


async def test_a_spanish_school_reads_in_spanish_when_the_browser_does_not_say(
    tmp_path: Path,
) -> None:
    madrid = await LiveNode.start(tmp_path / "madrid", "CEIP Miguel de Cervantes", country="ES")
    try:
        async with client(madrid) as http:
            async with http.get("/signin", headers={"Accept-Language": "de-DE"}) as response:
                page = await response.text()
            assert '<html lang="es">' in page
            assert "Iniciar sesión" in page
            async with http.get("/signin", headers={"Accept-Language": "en-GB"}) as response:
                page = await response.text()
            assert '<html lang="en">' in page
    finally:
        await madrid.stop()
