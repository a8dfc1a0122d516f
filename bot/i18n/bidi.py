"""Bidirectional text: keep commands and URLs readable inside right-to-left text."""

from __future__ import annotations

import re

LRI = "\u2066"  # left-to-right isolate: URLs, commands, anything always written left to right
FSI = "\u2068"  # first-strong isolate: text whose direction we do not know (titles, names)
PDI = "\u2069"  # closes either isolate
RLM = "\u200f"  # right-to-left mark: pins a line's direction for clients that guess per line

# Bot commands and URLs start or end with punctuation ("/", "://") that RTL text would carry to
# the wrong side: they, and the Latin words an argument list adds after a command, are isolated.
# Plain Latin words need nothing ("HTTP 404", "yt-dlp" read fine), and brackets and sentence
# punctuation stay outside a run. HTML tags, entities and {placeholders} are never touched.
_WORD = r"[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*(?:[-.+'@/][A-Za-z0-9_]+)*"
_URL = r"[a-z][a-z0-9+.-]*://(?:[^\s<>\"{}]*[^\s<>\"{}.,;:!?)\]])?"
_COMMAND = r"/(?:[A-Za-z][A-Za-z0-9_]*|\{[A-Za-z_]\w*\})(?:@[A-Za-z0-9_]+)?"
_RUN = rf"(?:{_URL}|{_COMMAND})(?: (?:{_URL}|{_COMMAND}|{_WORD}))*"
_TOKENS = re.compile(rf"<[^>]*>|&#?\w+;|\{{[^{{}}]*\}}|(?P<ltr>{_RUN})")


def isolate_ltr_runs(template: str) -> str:
    """Wrap every left-to-right run of a right-to-left template in LRI…PDI."""

    def wrap(match: re.Match[str]) -> str:
        run = match.group("ltr")
        return match.group(0) if run is None else f"{LRI}{run}{PDI}"

    return _TOKENS.sub(wrap, template)


def rtl_template(template: str) -> str:
    """A catalog string prepared for a right-to-left language: every line starts right to left
    (whatever a placeholder puts first) and its LTR runs cannot drag punctuation around."""
    lines = isolate_ltr_runs(template).split("\n")
    return "\n".join(f"{RLM}{line}" if line else line for line in lines)
