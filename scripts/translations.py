"""Keep the web pages' translations in step with their text (docs/translating.md).

    python scripts/translations.py update   # add new English text to every catalogue
    python scripts/translations.py add de   # a new language's catalogue, every msgstr empty
    python scripts/translations.py check    # list text with no translation, and translations
                                            # no page uses any more (exit 1 if any)

The test suite runs the same check, so a page with untranslated text fails CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "node" / "web" / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
#: gettext's own names, and ``said`` for errors' page words (protocol/errors.py).
KEYWORDS = {**DEFAULT_KEYWORDS, "said": None}


def source_catalog() -> Catalog:
    """Every translatable string: the pages' Python code and templates, errors' page words."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    catalog = Catalog(project="schoolmesh")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def catalogues() -> dict[str, Path]:
    return {p.parent.parent.name: p for p in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))}


def problems(language: str) -> list[str]:
    """What is missing or wrong in one language's catalogue."""
    path = catalogues()[language]
    with path.open("rb") as po:
        translated = read_po(po, locale=language)
    found = [f"{language}: listed twice: {key!r}" for key in _duplicates(path)]
    for message in source_catalog():
        if not message.id:
            continue
        key = str(message.id[0] if message.pluralizable else message.id)
        ours = translated.get(message.id)
        strings: tuple[str, ...] = ()
        if ours is not None:
            raw = ours.string
            strings = (
                tuple(str(t) for t in raw) if isinstance(raw, (tuple, list)) else (str(raw or ""),)
            )
        if ours is None or "fuzzy" in ours.flags or not all(strings):
            found.append(f"{language}: not translated: {key!r}")
            continue
        wanted = set(PLACEHOLDER.findall(key))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) - wanted or (
                not message.pluralizable and wanted - set(PLACEHOLDER.findall(text))
            ):
                found.append(f"{language}: placeholders differ: {key!r} -> {text!r}")
    return found


def unused(language: str) -> list[str]:
    """Messages the catalogue translates that no code or template uses any more: left
    behind when a page's text changed or went (``update`` drops them too, but rewraps
    the whole file, so catalogues are mostly edited by hand)."""
    with catalogues()[language].open("rb") as po:
        translated = read_po(po, locale=language)
    used = {str(m.id[0] if m.pluralizable else m.id) for m in source_catalog() if m.id}
    return [
        f"{language}: no longer used: {key!r}"
        for m in translated
        if m.id and (key := str(m.id[0] if m.pluralizable else m.id)) not in used
    ]


def _duplicates(path: Path) -> list[str]:
    """Message ids listed twice (two branches may each add the same text; git merges
    catalogues by union, and then only the last translation would count)."""
    seen: set[str] = set()
    twice = []
    for block in re.findall(r'^msgid ((?:".*"\n)+)', path.read_text(), re.M):
        key = "".join(re.findall(r'"(.*)"', block))
        if key in seen:
            twice.append(key)
        seen.add(key)
    return twice


def update() -> None:
    source = source_catalog()
    for language, path in catalogues().items():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        catalog.update(source, no_fuzzy_matching=True)
        with path.open("wb") as po:
            write_po(po, catalog, width=100, ignore_obsolete=True)
        print(f"updated {path.relative_to(ROOT)}")


def add(language: str) -> Path:
    """A new, empty catalogue for ``language`` (Babel's name: ``de``, ``pt_BR``,
    ``zh_Hant``), with that language's plural forms in its header."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if path.exists():
        raise SystemExit(f"{path.relative_to(ROOT)} exists already: use update")
    catalog = Catalog(locale=language, project="schoolmesh")
    for message in source_catalog():
        if message.id:
            catalog.add(message.id, None, message.locations, flags=message.flags)
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100)
    return path


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
        return 0
    if command == "add" and len(sys.argv) == 3:
        print(
            f"created {add(sys.argv[2]).relative_to(ROOT)}: translate it, then add the "
            "language to LANGUAGES in node/web/i18n.py"
        )
        return 0
    if command == "check":
        found = [p for language in catalogues() for p in [*problems(language), *unused(language)]]
        print("\n".join(found) or "every catalogue is complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
