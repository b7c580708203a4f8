"""Every piece of text on the pages has a translation in every language shipped."""

from node.web import i18n
from node.web.pages.vocabulary import vocabulary
from scripts import translations


def test_every_catalogue_is_complete() -> None:
    assert set(translations.catalogues()) == set(i18n.LANGUAGES) - {i18n.DEFAULT}
    for language in translations.catalogues():
        assert translations.problems(language) == []


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


def test_country_names_sort_as_readers_expect() -> None:
    french = vocabulary("fr", i18n.translations("fr").gettext)
    names = [name for _code, name in french.countries]
    assert names.index("Égypte") < names.index("Espagne") < names.index("Viêt Nam")
