"""A page's connections through DOWNLOAD_PROXY_URL, as downloads go: one tunnel per connection,
CONNECT on an HTTP(S) proxy, SOCKS5 otherwise, the name sent (the proxy resolves it)."""

from __future__ import annotations

import asyncio
import base64
import ssl
import struct
from urllib.parse import unquote, urlsplit

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
MAX_ANSWER = 16 * 1024  # a proxy's answer to CONNECT: its status line and headers


class UpstreamError(OSError):
    """The proxy refused the tunnel, or answered in a way that is not a tunnel."""


async def open_tunnel(proxy: str, host: str, port: int) -> Streams:
    """A connection to `host:port` through `proxy` (http://, https://, socks5://, socks5h://)."""
    parts = urlsplit(proxy)
    scheme = parts.scheme.lower()
    tls = ssl.create_default_context() if scheme == "https" else None
    default = 443 if scheme == "https" else 80 if scheme == "http" else 1080
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or default, ssl=tls)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    try:
        if scheme in ("http", "https"):
            await _connect(reader, writer, host, port, user, password)
        else:
            await _socks5(reader, writer, host, port, user, password)
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _connect(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    user: str,
    password: str,
) -> None:
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if user or password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        head += f"Proxy-Authorization: Basic {token}\r\n"
    writer.write((head + "\r\n").encode())
    await writer.drain()
    try:
        answer = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.LimitOverrunError, asyncio.IncompleteReadError) as exc:
        raise UpstreamError("the proxy's answer to CONNECT is not HTTP") from exc
    if len(answer) > MAX_ANSWER:
        raise UpstreamError("the proxy's answer to CONNECT is too long")
    status = answer.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise UpstreamError(f"the proxy refused the tunnel: {answer[:80]!r}")


async def _socks5(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    user: str,
    password: str,
) -> None:
    method = 2 if user or password else 0
    writer.write(bytes((5, 1, method)))
    await writer.drain()
    version, chosen = await reader.readexactly(2)
    if version != 5 or chosen != method:
        raise UpstreamError("the SOCKS proxy takes none of the offered methods")
    if method == 2:  # RFC 1929
        name, secret = user.encode()[:255], password.encode()[:255]
        writer.write(bytes((1, len(name))) + name + bytes((len(secret),)) + secret)
        await writer.drain()
        if (await reader.readexactly(2))[1] != 0:
            raise UpstreamError("the SOCKS proxy refused the credentials")
    name = host.encode("idna")[:255]
    writer.write(bytes((5, 1, 0, 3, len(name))) + name + struct.pack(">H", port))
    await writer.drain()
    _, code, _, kind = await reader.readexactly(4)
    bound = {1: 4, 4: 16}.get(kind)
    await reader.readexactly((bound if bound else (await reader.readexactly(1))[0]) + 2)
    if code != 0:
        raise UpstreamError(f"the SOCKS proxy refused the tunnel (code {code})")
