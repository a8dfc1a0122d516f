"""URL safety: refuse links, redirect hops and connections that lead into the host's network."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.model.failures import FailureReason, FetchError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 8192
Resolve = Callable[[str, int], Awaitable[list[str]]]
ResolveSync = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Spelled out so the verdict does not shift with the ipaddress tables of a Python patch release.
# fmt: off
_NOT_PUBLIC = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/8", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10",
    "ff00::/8",
))
# fmt: on
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOSTNAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def check_address(ip: str) -> bool:
    """Whether `ip` is a globally routable unicast address; False for anything unparsable."""
    try:
        return _public(ipaddress.ip_address(ip))
    except ValueError:
        return False


def _public(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return False
        embedded = addr.ipv4_mapped or (
            ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF) if addr in _NAT64 else None
        )
        if embedded is not None:
            return _public(embedded)
        if addr.teredo is not None:
            return False
        if addr.sixtofour is not None and not _public(addr.sixtofour):
            return False
    if any(addr.version == net.version and addr in net for net in _NOT_PUBLIC):
        return False
    return addr.is_global and not (
        addr.is_multicast or addr.is_reserved or addr.is_loopback or addr.is_link_local
    )


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    address: IPAddress | None  # set when the host is an IP literal, in whatever spelling


def _invalid(why: str) -> FetchError:
    return FetchError(FailureReason.INVALID_URL, why)


def _blocked(host: str, address: object) -> FetchError:
    log.warning("url_blocked host=%s address=%s", host, address)
    where = host if host == str(address) else f"{host} resolves to {address}, which"
    return FetchError(FailureReason.BLOCKED_URL, f"{where} is not a public address")


def _parse(url: str) -> _Target:
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    # Parsers disagree about these (a browser reads "\" as "/"): refuse rather than guess.
    if _UNSAFE_CHARS.search(url):
        raise _invalid("the URL contains spaces, control characters or a backslash")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a bracketed host that is not IPv6
        raise _invalid("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _invalid(f"scheme {scheme or '(none)'!r} is not http or https")
    if "@" in parts.netloc:
        raise _invalid("the URL carries credentials")
    try:
        port = parts.port
    except ValueError:
        raise _invalid("the port is not a number from 1 to 65535") from None
    if port == 0:
        raise _invalid("the port is not a number from 1 to 65535")
    port = port or (443 if scheme == "https" else 80)
    host = parts.hostname or ""
    if "[" in parts.netloc:
        try:
            return _Target(host, port, ipaddress.IPv6Address(host))
        except ValueError:
            raise _invalid("the bracketed host is not an IPv6 address") from None
    host = host.removesuffix(".")
    if not host or "%" in host:
        raise _invalid("the URL has no usable host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid("the host name is not a valid domain name") from None
    labels = host.split(".")
    if _NUMBER.match(labels[-1]):
        # Resolvers read 127.1, 0x7f000001, 2130706433 and 0177.0.0.1 as IPv4 (inet_aton).
        address = _inet_aton(labels)
        if address is None:
            raise _invalid("the host looks like an IPv4 address but is not one")
        return _Target(host, port, address)
    if not _HOSTNAME.match(host):
        raise _invalid("the host name is not a valid domain name")
    return _Target(host, port, None)


def _inet_aton(labels: list[str]) -> ipaddress.IPv4Address | None:
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        return None
    numbers: list[int] = []
    for label in labels:
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            else:
                numbers.append(int(label, 8 if len(label) > 1 and label[0] == "0" else 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    return ipaddress.IPv4Address(sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + last)


async def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _endpoint(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, path, query) of a URL, ports spelled out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port, parts.path or "/", parts.query


def _getaddrinfo_sync(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class UrlGuard:
    """Refuses URLs that are not plain http(s) or that lead to a non-public address.

    `check` (async) and `check_url_sync` vet a URL before a request; `addresses` and
    `addresses_sync` resolve a name once and return only vetted addresses, which is what
    `pinned.PinnedTransport` (httpx) and `ytdlp_guard.guarded_youtube_dl` connect to, so DNS
    rebinding cannot slip in between check and connect; `check_peer` vets the address an httpx
    response came from, a last check. With `allow_private` only the URL's form is checked.
    `behind_proxy`: downloads leave through a proxy, so the proxy resolves names and is the
    peer; only literal addresses and localhost names can be judged (local DNS may even lie).
    `is_public` and the resolvers are seams for tests (make 127.0.0.2 "public", fake DNS).
    """

    def __init__(
        self,
        allow_private: bool,
        resolve: Resolve | None = None,
        *,
        resolve_sync: ResolveSync | None = None,
        is_public: Callable[[str], bool] = check_address,
        behind_proxy: bool = False,
        resolve_timeout: float = 10.0,
        trusted: tuple[str, ...] = (),
    ) -> None:
        self._allow_private = allow_private
        # Endpoints the operator configured (a PO-token provider, usually on loopback): these
        # exact URLs, and connections to their host and port, pass wherever they point.
        self._trusted_urls = frozenset(_endpoint(url) for url in trusted)
        self._trusted_hosts = frozenset((e[1], e[2]) for e in self._trusted_urls)
        self._resolve = resolve or _getaddrinfo
        self._resolve_sync = resolve_sync or _getaddrinfo_sync
        self._is_public = is_public
        self._behind_proxy = behind_proxy
        self._resolve_timeout = resolve_timeout

    @property
    def allow_private(self) -> bool:
        return self._allow_private

    def trusting(self, urls: tuple[str, ...]) -> UrlGuard:
        """This guard, letting through `urls` exactly (scheme, host, port and path): for
        yt-dlp's own calls to a service the operator runs, never for the users' links."""
        return UrlGuard(
            self._allow_private,
            self._resolve,
            resolve_sync=self._resolve_sync,
            is_public=self._is_public,
            behind_proxy=self._behind_proxy,
            resolve_timeout=self._resolve_timeout,
            trusted=urls,
        )

    def is_public(self, ip: str) -> bool:
        return self._allow_private or self._is_public(ip)

    async def check(self, url: str, *, resolve: bool = True) -> None:
        """Raise FetchError (INVALID_URL, BLOCKED_URL or DNS) unless `url` may be fetched.

        resolve=False checks only what needs no lookup: for a client that vets the addresses
        it connects to (`pinned.PinnedTransport`), so a name is looked up once, not twice.
        """
        target = self._check_form(url)
        if target is None or self._behind_proxy or not resolve:
            return
        await self.addresses(target.host, target.port)

    async def addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` once; its addresses if every one is public: what a socket may use.

        Raises FetchError: DNS when the lookup fails or times out, BLOCKED_URL for a private one.
        """
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return self._vet(host, [host])
        try:
            async with asyncio.timeout(self._resolve_timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError:
            raise FetchError(FailureReason.DNS, f"looking up {host} timed out") from None
        except OSError as exc:
            raise FetchError(FailureReason.DNS, f"{host}: {exc}") from exc
        return self._vet(host, addresses)

    def check_url_sync(self, url: str, *, resolve: bool = True) -> None:
        """`check` for worker threads (blocks on DNS); resolve=False: only what needs no lookup."""
        target = self._check_form(url)
        if target is None or self._behind_proxy or not resolve:
            return
        try:
            addresses = self._resolve_sync(target.host, target.port)
        except OSError as exc:
            raise FetchError(FailureReason.DNS, f"{target.host}: {exc}") from exc
        self._vet(target.host, addresses)

    def addresses_sync(self, host: str, port: int) -> list[str]:
        """Resolve `host` and return its addresses if all are public: what a socket may use.

        Raises OSError when the lookup fails and FetchError(BLOCKED_URL) when one is private.
        """
        try:
            ipaddress.ip_address(host)
        except ValueError:
            addresses = self._resolve_sync(host, port)
        else:
            addresses = [host]
        if (host.lower(), port) in self._trusted_hosts:
            return addresses
        return self._vet(host, addresses)

    def check_peer(self, response: httpx.Response) -> None:
        """Refuse a response whose connection ended up at a non-public address.

        Call it on every hop once the headers are in, before reading the body. Without a
        `network_stream` (a mock transport) the peer is unknown and the response is refused.
        """
        if self._allow_private or self._behind_proxy:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            raise FetchError(FailureReason.BLOCKED_URL, "the connected address is unknown")
        if not self.is_public(str(peer[0])):
            raise _blocked(response.url.host, peer[0])

    def _check_form(self, url: str) -> _Target | None:
        """The checks that need no lookup; returns the target if its name must be resolved."""
        target = _parse(url)
        if self._allow_private:
            return None
        if self._trusted_urls and _endpoint(url) in self._trusted_urls:
            return None
        if target.address is not None:
            if not self._is_public(str(target.address)):
                raise _blocked(target.host, target.address)
            return None
        if target.host == "localhost" or target.host.endswith(".localhost"):
            raise _blocked(target.host, "loopback")
        return target

    def _vet(self, host: str, addresses: list[str]) -> list[str]:
        if not addresses:
            raise FetchError(FailureReason.DNS, f"{host} has no addresses")
        for address in addresses:
            if not self.is_public(address):
                raise _blocked(host, address)
        return addresses
