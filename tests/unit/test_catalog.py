"""The translation catalogs cover every string of the code, with the same placeholders and tags.

The strings are found the way `make i18n` finds them: Babel's extractor over bot/, with the
translator's call names as keywords. `tr("...")` covers literal calls; strings chosen at run time
(`tr(REFUSALS[...])`, `tr(template, ...)`) are the module-level `N_("...")` marks.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DEFAULT_LANGUAGE, LOCALES_DIR, I18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"tr": None, "N_": None}  # the same as `make i18n`: -k tr -k N_
TEMPLATE = ROOT / "bot" / "i18n" / "messages.pot"
TAG = re.compile(r"</?[a-z]+(?:\s[^>]*)?>")
FIX = "run `make i18n`, then translate"

CATALOGS = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))


def source_strings() -> dict[str, list[str]]:
    """Every msgid in bot/, with where it is used."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT / "bot", [("**.py", "python")], keywords=KEYWORDS
    ):
        assert isinstance(message, str), f"bot/{filename}:{lineno}: plural or context message"
        found.setdefault(message, []).append(f"bot/{filename}:{lineno}")
    return found


def read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, abort_invalid=True)


def entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def fields(text: str) -> Counter[str]:
    """The {placeholders} of a str.format template (raises on a malformed one)."""
    return Counter(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def language(path: Path) -> str:
    return path.parents[1].name


def test_there_is_a_catalog_besides_english() -> None:
    assert [language(p) for p in CATALOGS if language(p) != DEFAULT_LANGUAGE]
    assert set(I18n().languages) == {DEFAULT_LANGUAGE, *(language(p) for p in CATALOGS)}


def test_source_strings_are_valid_templates() -> None:
    for msgid, where in source_strings().items():
        try:
            fields(msgid)
        except ValueError as exc:
            pytest.fail(f"{where[0]}: {msgid!r} is not a valid str.format template: {exc}")


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_parses_and_nothing_is_fuzzy(path: Path) -> None:
    catalog = read(path)
    assert catalog.locale is not None
    assert str(catalog.locale) == language(path)
    assert not catalog.fuzzy, f"{path}: the header is marked fuzzy"
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert not fuzzy, f"{path}: fuzzy entries (check the translation, drop the flag): {fuzzy}"


def test_template_matches_the_code() -> None:
    template = {str(m.id) for m in entries(read(TEMPLATE))}
    code = set(source_strings())
    assert template == code, (
        f"messages.pot is stale ({FIX}): missing {sorted(code - template)}, "
        f"stale {sorted(template - code)}"
    )


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_translates_every_string_of_the_code(path: Path) -> None:
    code = source_strings()
    translated = {str(m.id) for m in entries(read(path)) if m.string}
    missing = [f"{code[msgid][0]}: {msgid!r}" for msgid in sorted(code) if msgid not in translated]
    assert not missing, f"{path}: untranslated ({FIX}):\n" + "\n".join(missing)


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_has_no_strings_the_code_dropped(path: Path) -> None:
    code = source_strings()
    stale = sorted(str(m.id) for m in entries(read(path)) if m.id not in code)
    assert not stale, f"{path}: strings no longer in the code ({FIX}): {stale}"


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_translations_keep_placeholders_and_tags(path: Path) -> None:
    problems = []
    for message in entries(read(path)):
        msgid, msgstr = str(message.id), str(message.string)
        if not msgstr:
            continue
        try:
            same_fields = fields(msgid).keys() == fields(msgstr).keys()
        except ValueError as exc:
            problems.append(f"{msgid!r}: malformed translation: {exc}")
            continue
        if not same_fields:
            problems.append(f"{msgid!r}: placeholders {fields(msgid)} != {fields(msgstr)}")
        if Counter(TAG.findall(msgid)) != Counter(TAG.findall(msgstr)):
            problems.append(f"{msgid!r}: HTML tags differ in {msgstr!r}")
    assert not problems, f"{path}:\n" + "\n".join(problems)
