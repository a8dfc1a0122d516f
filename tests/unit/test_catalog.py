"""The translation catalogs cover every string of the code, with the same placeholders and tags.

The strings are found the way `make i18n` finds them: Babel's extractor over bot/, with the
translator's call names as keywords. `tr("...")` covers literal calls; strings chosen at run time
(`tr(_FAILURES[...])`, `tr(template, ...)`) are the module-level `N_("...")` marks. Counted texts
are `tr.ngettext("one", "many", n)` and `N_plural("one", "many")`: gettext plural entries, with
every form of the language's Plural-Forms header translated.
"""

from __future__ import annotations

import ast
import gettext
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
# The same as `make i18n`: -k tr -k N_ -k ngettext:1,2 -k N_plural:1,2
KEYWORDS = {"tr": None, "N_": None, "ngettext": (1, 2), "N_plural": (1, 2)}
TEMPLATE = ROOT / "bot" / "i18n" / "messages.pot"
TAG = re.compile(r"</?[a-z]+(?:\s[^>]*)?>")
FIX = "run `make i18n`, then translate"

CATALOGS = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
# How each language counts (gettext's Plural-Forms): n -> the form used, for a few n.
PLURAL_RULES = {
    "fa": (2, {0: 0, 1: 0, 2: 1, 5: 1, 21: 1, 1000: 1}),  # CLDR: "one" is 0 and 1
}

MsgId = str | tuple[str, str]  # a plain msgid, or (msgid, msgid_plural)


def source_strings() -> dict[MsgId, list[str]]:
    """Every msgid in bot/ (a pair for a counted text), with where it is used."""
    found: dict[MsgId, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT / "bot", [("**.py", "python")], keywords=KEYWORDS
    ):
        assert context is None, f"bot/{filename}:{lineno}: context message"
        key: MsgId
        if isinstance(message, str):
            key = message
        else:
            singular, plural = message
            assert isinstance(singular, str), f"bot/{filename}:{lineno}: {message!r}"
            assert isinstance(plural, str), f"bot/{filename}:{lineno}: {message!r}"
            key = (singular, plural)
        found.setdefault(key, []).append(f"bot/{filename}:{lineno}")
    # Every check below reads this: an extraction that found nothing must not pass them all.
    assert len(found) > 200, f"the extractor found {len(found)} strings in bot/"
    assert "✖️ Cancelled." in found, "the extractor missed a tr() call the presenter makes"
    return found


def counted_calls() -> dict[tuple[str, str], str]:
    """Every `x.ngettext("...", "...", ...)` and `N_plural("...", "...")` in bot/, read with
    ast: what Babel's extractor must find as plural entries (a `tr` inside such a call's
    arguments once made it extract the singular alone)."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first, second = node.args[0], node.args[1]
            if (
                name in ("ngettext", "N_plural")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and isinstance(second, ast.Constant)
                and isinstance(second.value, str)
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found[(first.value, second.value)] = where
    return found


def msgid(message: Message) -> MsgId:
    if isinstance(message.id, str):
        return message.id
    singular, plural = message.id
    return (str(singular), str(plural))


def forms(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, str) or message.string is None:
        return (message.string or "",)
    return tuple(message.string)


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
    found = source_strings()
    for key, where in found.items():
        for text in (key,) if isinstance(key, str) else key:
            try:
                fields(text)
            except ValueError as exc:
                pytest.fail(f"{where[0]}: {text!r} is not a valid str.format template: {exc}")
    assert any(fields(key) for key in found if isinstance(key, str))  # some have {placeholders}


def test_both_english_forms_have_the_same_placeholders() -> None:
    """So every translated form can be checked against one set (the count is {n})."""
    counted = [key for key in source_strings() if isinstance(key, tuple)]
    assert counted
    for singular, plural in counted:
        assert fields(singular) == fields(plural), (singular, plural)


def test_every_counted_call_is_extracted_as_a_plural() -> None:
    calls = counted_calls()
    assert len(calls) > 10
    extracted = {key for key in source_strings() if isinstance(key, tuple)}
    missing = [f"{where}: {key!r}" for key, where in calls.items() if key not in extracted]
    assert not missing, "extracted without their plural:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_parses_and_nothing_is_fuzzy(path: Path) -> None:
    catalog = read(path)
    assert catalog.locale is not None
    assert str(catalog.locale) == language(path)
    assert not catalog.fuzzy, f"{path}: the header is marked fuzzy"
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert not fuzzy, f"{path}: fuzzy entries (check the translation, drop the flag): {fuzzy}"


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_states_how_its_language_counts(path: Path) -> None:
    """The Plural-Forms header is the language's rule, not a tool's placeholder."""
    catalog = read(path)
    expected_forms, examples = PLURAL_RULES[language(path)]
    assert catalog.num_plurals == expected_forms
    rule = gettext.c2py(catalog.plural_expr)
    assert {n: rule(n) for n in examples} == examples
    assert I18n().get(language(path)).plural_rule(5) == examples[5]


def test_english_counts_one_and_many() -> None:
    tr = I18n().get(DEFAULT_LANGUAGE)
    said = {n: tr.ngettext("{n} link", "{n} links", n) for n in (0, 1, 2, 5, 1000)}
    assert said == {0: "0 links", 1: "1 link", 2: "2 links", 5: "5 links", 1000: "1,000 links"}


def test_template_matches_the_code() -> None:
    template = {msgid(m) for m in entries(read(TEMPLATE))}
    code = set(source_strings())
    assert template == code, (
        f"messages.pot is stale ({FIX}): missing {sorted(map(str, code - template))}, "
        f"stale {sorted(map(str, template - code))}"
    )


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_translates_every_string_of_the_code(path: Path) -> None:
    code = source_strings()
    catalog = read(path)
    translated = {
        msgid(m)
        for m in entries(catalog)
        if all(forms(m)) and len(forms(m)) == (1 if isinstance(m.id, str) else catalog.num_plurals)
    }
    missing = [
        f"{code[key][0]}: {key!r}" for key in sorted(code, key=str) if key not in translated
    ]
    assert not missing, f"{path}: untranslated, or a plural form missing ({FIX}):\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_catalog_has_no_strings_the_code_dropped(path: Path) -> None:
    code = source_strings()
    stale = sorted(str(msgid(m)) for m in entries(read(path)) if msgid(m) not in code)
    assert not stale, f"{path}: strings no longer in the code ({FIX}): {stale}"


@pytest.mark.parametrize("path", CATALOGS, ids=language)
def test_translations_keep_placeholders_and_tags(path: Path) -> None:
    problems = []
    for message in entries(read(path)):
        key = msgid(message)
        source = key if isinstance(key, str) else key[1]
        for number, text in enumerate(forms(message)):
            if not text:
                continue
            where = f"{key!r}" if isinstance(key, str) else f"{key!r} form {number}"
            try:
                same_fields = fields(source).keys() == fields(text).keys()
            except ValueError as exc:
                problems.append(f"{where}: malformed translation: {exc}")
                continue
            if not same_fields:
                problems.append(f"{where}: placeholders {fields(source)} != {fields(text)}")
            if Counter(TAG.findall(source)) != Counter(TAG.findall(text)):
                problems.append(f"{where}: HTML tags differ in {text!r}")
    assert not problems, f"{path}:\n" + "\n".join(problems)
