"""Translation: catalogs in gettext .po files, one Translator per language."""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.i18n.bidi import FSI, LRI, PDI, RLM, rtl_template

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"

# Babel formats a locale's separators but always writes the digits 0-9 (python-babel/babel#446):
# the digits of the numbering systems our languages use by default are substituted here.
_DIGITS: Mapping[str, dict[int, int]] = MappingProxyType(
    {
        "arab": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
        "arabext": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
    }
)

# Which plural form a count takes: the gettext index for `n`. English's rule is the msgids' own.
PluralRule = Callable[[int], int]
PluralKey = tuple[str, str]  # (msgid, msgid_plural)


def english_plural(n: int) -> int:
    """English and the msgids: one form for 1, the other for every other count."""
    return 0 if n == 1 else 1


def N_(msgid: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return msgid


@dataclass(frozen=True, slots=True)
class Plural:
    """A counted text marked for the catalog: its singular and plural msgids."""

    singular: str
    plural: str


def N_plural(singular: str, plural: str) -> Plural:
    """Mark a counted text for the catalog (read as ngettext by `make i18n`), chosen later."""
    return Plural(singular, plural)


@dataclass(frozen=True, slots=True)
class Translator:
    """Turns an English msgid into the user's language and fills its {placeholders}."""

    language: str
    messages: dict[str, str] = field(default_factory=dict)
    plurals: dict[PluralKey, tuple[str, ...]] = field(default_factory=dict)
    plural_rule: PluralRule = english_plural

    def __call__(self, msgid: str, /, **params: object) -> str:
        text = self.messages.get(msgid) or msgid
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        """The form of a counted text that `count` takes in this language; `{n}` is the count
        as this language writes it unless `n` is given."""
        forms = self.plurals.get((singular, plural))
        if forms:
            text = forms[min(max(self.plural_rule(count), 0), len(forms) - 1)]
        else:
            text = singular if english_plural(count) == 0 else plural
        params.setdefault("n", self.number(count, 0))
        return text.format(**params)

    def plural(self, marked: Plural, count: int, /, **params: object) -> str:
        """`ngettext` of a text marked with N_plural."""
        return self.ngettext(marked.singular, marked.plural, count, **params)

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    @property
    def rtl(self) -> bool:
        return self.locale.text_direction == "rtl"

    @property
    def numbering(self) -> str:
        """The locale's own numbering system ("latn", "arabext", ...), as Babel names it."""
        return str(self.locale.default_numbering_system)

    def digits(self, text: str) -> str:
        """`text` with the digits 0-9 written in the locale's own digits."""
        table = _DIGITS.get(self.numbering)
        return text.translate(table) if table else text

    def number(self, value: float, digits: int = 1) -> str:
        """A number as the locale writes it: "1,234.5" in English, "۱٬۲۳۴٫۵" in Persian."""
        fmt = "#,##0" if digits == 0 else "#,##0." + "#" * digits
        text = format_decimal(value, format=fmt, locale=self.locale, numbering_system="default")
        return self.digits(text)

    def ltr(self, text: str) -> str:
        """Text always read left to right (a URL, a command, a bar), isolated in RTL text."""
        return f"{LRI}{text}{PDI}" if self.rtl else text

    def isolate(self, text: str) -> str:
        """Text of its own direction (a title, a name, a server's words), isolated in RTL text."""
        return f"{FSI}{text}{PDI}" if self.rtl else text

    def line(self, text: str) -> str:
        """A line composed in code, pinned right to left in RTL text whatever it starts with."""
        return f"{RLM}{text}" if self.rtl else text


@dataclass(frozen=True, slots=True)
class Catalog:
    """One language's translations as read from its .po file (untranslated entries left out)."""

    messages: dict[str, str] = field(default_factory=dict)
    plurals: dict[PluralKey, tuple[str, ...]] = field(default_factory=dict)
    plural_rule: PluralRule = english_plural


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """Read one language's .po file: its messages, its counted messages and its plural rule
    (the Plural-Forms header)."""
    path = locales_dir / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return Catalog()
    with path.open("rb") as fh:
        po = read_po(fh, locale=language)
    messages: dict[str, str] = {}
    plurals: dict[PluralKey, tuple[str, ...]] = {}
    for m in po:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, str) and isinstance(m.string, str) and m.string:
            messages[m.id] = m.string
        elif isinstance(m.id, tuple | list) and isinstance(m.string, tuple | list):
            forms = tuple(str(s) for s in m.string)
            if len(m.id) == 2 and forms and all(forms):
                plurals[(str(m.id[0]), str(m.id[1]))] = forms
    return Catalog(messages, plurals, gettext.c2py(po.plural_expr))


def load_translator(language: str, locales_dir: Path = LOCALES_DIR) -> Translator:
    """The translator of one language; a right-to-left catalog is prepared for bidi display."""
    catalog = load_catalog(language, locales_dir)
    messages, plurals = catalog.messages, catalog.plurals
    if Locale.parse(language).text_direction == "rtl":
        messages = {msgid: rtl_template(text) for msgid, text in messages.items()}
        plurals = {key: tuple(rtl_template(f) for f in forms) for key, forms in plurals.items()}
    return Translator(language, messages, plurals, catalog.plural_rule)


class I18n:
    """All loaded languages; picks the best one for a Telegram language_code."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._translators: dict[str, Translator] = {DEFAULT_LANGUAGE: Translator("en")}
        if locales_dir.is_dir():
            for path in sorted(locales_dir.iterdir()):
                if path.is_dir() and path.name != DEFAULT_LANGUAGE:
                    self._translators[path.name] = load_translator(path.name, locales_dir)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)

    def normalize(self, language: str | None) -> str | None:
        if not language:
            return None
        base = language.lower().replace("_", "-").split("-")[0]
        return base if base in self._translators else None

    def get(self, language: str | None) -> Translator:
        return self._translators[self.normalize(language) or DEFAULT_LANGUAGE]
