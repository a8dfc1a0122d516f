"""Translation: catalogs in gettext .po files, one Translator per language."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"


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


class I18n:
    """All loaded languages; picks the best one for a Telegram language_code."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._translators: dict[str, Translator] = {DEFAULT_LANGUAGE: Translator("en")}
        if locales_dir.is_dir():
            for path in sorted(locales_dir.iterdir()):
                if path.is_dir() and path.name != DEFAULT_LANGUAGE:
                    self._translators[path.name] = Translator(path.name, load_catalog(path.name))

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
