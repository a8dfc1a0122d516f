"""Translation: catalogs in gettext .po files, one Translator per language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from babel import Locale
from babel.messages.pofile import read_po

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


def N_(msgid: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return msgid


@dataclass(frozen=True, slots=True)
class Translator:
    """Turns an English msgid into the user's language and fills its {placeholders}."""

    language: str
    messages: dict[str, str] = field(default_factory=dict)

    def __call__(self, msgid: str, /, **params: object) -> str:
        text = self.messages.get(msgid) or msgid
        return text.format(**params) if params else text

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

    def ltr(self, text: str) -> str:
        """Text always read left to right (a URL, a command, a bar), isolated in RTL text."""
        return f"{LRI}{text}{PDI}" if self.rtl else text

    def isolate(self, text: str) -> str:
        """Text of its own direction (a title, a name, a server's words), isolated in RTL text."""
        return f"{FSI}{text}{PDI}" if self.rtl else text

    def line(self, text: str) -> str:
        """A line composed in code, pinned right to left in RTL text whatever it starts with."""
        return f"{RLM}{text}" if self.rtl else text


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """Read one language's .po file into msgid -> translation (untranslated entries skipped)."""
    path = locales_dir / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and isinstance(m.string, str)
        and m.string
        and not m.fuzzy
    }


def load_translator(language: str, locales_dir: Path = LOCALES_DIR) -> Translator:
    """The translator of one language; a right-to-left catalog is prepared for bidi display."""
    messages = load_catalog(language, locales_dir)
    if Locale.parse(language).text_direction == "rtl":
        messages = {msgid: rtl_template(text) for msgid, text in messages.items()}
    return Translator(language, messages)


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

    def supports(self, language: str | None) -> bool:
        return self.normalize(language) is not None

    def normalize(self, language: str | None) -> str | None:
        if not language:
            return None
        base = language.lower().replace("_", "-").split("-")[0]
        return base if base in self._translators else None

    def get(self, language: str | None) -> Translator:
        return self._translators[self.normalize(language) or DEFAULT_LANGUAGE]
