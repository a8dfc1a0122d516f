"""Cookies for yt-dlp, per site: Netscape files in COOKIES_DIR, chosen by the link's domain.

A site may have several files (several accounts): they are used in turn, one refused (a login
asked for, the bot check, a 429, formats gone missing) giving way to the next for an hour.
YTDLP_COOKIES, the single file of earlier versions, is the last choice for any site. yt-dlp
gets the chosen file's text as a stream, so it never writes back to the file (which several
jobs share, and which may be read-only) and no cookie ever reaches the log.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.model.failures import FailureReason

log = logging.getLogger(__name__)

MAX_COOKIES_BYTES = 1024 * 1024
REFUSED_FOR_S = 3600.0
# What a refused file looks like: the site wants a (fresh) login, or limits this account.
REFUSALS = frozenset(
    {
        FailureReason.LOGIN_REQUIRED,
        FailureReason.BOT_CHECK,
        FailureReason.RATE_LIMITED,
        FailureReason.FORMAT_UNAVAILABLE,
    }
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,45}\.txt")  # fits in a button's data
_FLAG = ("TRUE", "FALSE")


class CookieFormatError(ValueError):
    """Not a Netscape cookies file; the message says why, never what the file holds."""


@dataclass(frozen=True, slots=True)
class CookieFile:
    """A cookies file as the admin panel and doctor show it: never its values."""

    name: str
    sites: tuple[str, ...]  # the sites it has cookies for (youtube.com), most cookies first
    cookies: int
    expires: dt.datetime | None  # the first of its lasting cookies to expire (None: session)
    domains: tuple[str, ...] = ()  # the cookies' own domains: what a link's host must be in


def parse(text: str, name: str = "") -> CookieFile:
    """Check a Netscape (cookies.txt) file: 7 tab-separated fields a line, TRUE/FALSE flags, a
    numeric expiry; returns what it covers."""
    domains: Counter[str] = Counter()
    hosts: set[str] = set()
    expiries: list[int] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip("\r\n")
        if line.startswith("#HttpOnly_"):
            line = line.removeprefix("#HttpOnly_")
        elif not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise CookieFormatError(
                f"line {number} has {len(fields)} fields, not 7 (tab-separated)"
            )
        domain, subdomains, _path, secure, expires, _name, _value = fields
        if subdomains.upper() not in _FLAG or secure.upper() not in _FLAG:
            raise CookieFormatError(f"line {number}: the flags must be TRUE or FALSE")
        if not expires.isdecimal():
            raise CookieFormatError(f"line {number}: the expiry must be a number")
        host = domain.lstrip(".").lower()
        if not host or any(c.isspace() or c == "/" for c in host):
            raise CookieFormatError(f"line {number}: the domain is not a host name")
        domains[_site(host)] += 1
        hosts.add(host)
        if int(expires) > 0:
            expiries.append(int(expires))
    if not domains:
        raise CookieFormatError("it has no cookies")
    first = min(expiries) if expiries else None
    expires_at = dt.datetime.fromtimestamp(first, dt.UTC) if first is not None else None
    sites = tuple(site for site, _ in domains.most_common())
    return CookieFile(name, sites, sum(domains.values()), expires_at, tuple(sorted(hosts)))


def _site(host: str) -> str:
    """www.youtube.com -> youtube.com (the last two labels; enough to choose and to show)."""
    if re.fullmatch(r"[0-9.]+|.*:.*", host):  # an address, not a name
        return host
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) > 2 else host


def covers(host: str, site: str) -> bool:
    return host == site or host.endswith("." + site)


class CookieStore:
    """COOKIES_DIR: list, add, remove, and choose a file for a link. Blocking file work:
    call it from a pool thread."""

    def __init__(
        self,
        folder: Path,
        fallback: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self._fallback = fallback
        self._clock = clock
        self._refused: dict[Path, float] = {}
        self._lock = threading.Lock()

    def files(self) -> list[tuple[Path, CookieFile | None]]:
        """Every file in COOKIES_DIR by name, each read (None: unreadable or not Netscape)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.txt"), key=_order):
            found.append((path, read_cookie_file(path)))
        return found

    def choose(self, url: str) -> Path | None:
        """The file for a link's site: the first of its files not refused within the hour, else
        the one refused longest ago; else YTDLP_COOKIES; else none."""
        host = (urlsplit(url).hostname or "").lower()
        matching = [
            path
            for path, info in self.files()
            if info is not None and any(covers(host, domain) for domain in info.domains)
        ]
        if not matching:
            return self._fallback
        now = self._clock()
        with self._lock:
            fresh = [p for p in matching if now - self._refused.get(p, -1e18) >= REFUSED_FOR_S]
            if fresh:
                return fresh[0]
            return min(matching, key=lambda p: self._refused.get(p, 0.0))

    def pick(self, url: str) -> tuple[Path | None, io.StringIO | None]:
        """The file for `url` and its text as a stream for yt-dlp (see `cookie_stream`)."""
        path = self.choose(url)
        return path, cookie_stream(path)

    def refused(self, path: Path, reason: FailureReason) -> None:
        """A job with this file failed for `reason`: another file of the site goes first."""
        if reason not in REFUSALS:
            return
        with self._lock:
            self._refused[path] = self._clock()
        log.info("cookies_refused file=%s reason=%s", path.name, reason)

    def add(self, content: bytes) -> CookieFile:
        """Check and store an uploaded file (0600), named after its main site; never logged."""
        if len(content) > MAX_COOKIES_BYTES:
            raise CookieFormatError("it is larger than 1 MB")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise CookieFormatError("it is not text (UTF-8)") from None
        info = parse(text)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Named after its main site: the admin's own file name is never used as a path.
        base = info.sites[0] if _NAME.fullmatch(f"{info.sites[0]}.txt") else "cookies"
        for n in range(1, 100):
            name = f"{base}.txt" if n == 1 else f"{base}-{n}.txt"
            try:
                fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            log.info(
                "cookies_saved file=%s sites=%d cookies=%d", name, len(info.sites), info.cookies
            )
            return CookieFile(name, info.sites, info.cookies, info.expires, info.domains)
        raise CookieFormatError("there are too many files for this site already")

    def remove(self, name: str) -> bool:
        if not _NAME.fullmatch(name):
            return False
        try:
            (self.folder / name).unlink()
        except FileNotFoundError:
            return False
        log.info("cookies_removed file=%s", name)
        return True


def cookie_stream(path: Path | None) -> io.StringIO | None:
    """The file's text for yt-dlp's `cookiefile` (a stream: yt-dlp writes it back there, in
    memory, not over the shared file); None when there is none or it cannot be read."""
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_COOKIES_BYTES:
            log.warning("cookies_unused file=%s reason=too_large", path.name)
            return None
        return io.StringIO(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cookies_unused file=%s error=%s", path.name, type(exc).__name__)
        return None


def _order(path: Path) -> tuple[str, int]:
    """youtube.com.txt, then youtube.com-2.txt, ..., youtube.com-10.txt: the order they came."""
    found = re.fullmatch(r"(.*?)(?:-(\d+))?\.txt", path.name)
    return (found[1], int(found[2] or 1)) if found else (path.name, 0)


def read_cookie_file(path: Path) -> CookieFile | None:
    """A cookies file as the panel and doctor show it; None: unreadable or not Netscape."""
    try:
        if path.stat().st_size > MAX_COOKIES_BYTES:
            return None
        return parse(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError, CookieFormatError):
        return None
