"""`python tests/e2e/seamed_main.py`: the daemon with a test's fakes in its seams.

TEST_DNS (JSON, name -> addresses) answers every lookup the URL guard makes instead of the
system's resolver, and only the addresses in TEST_PUBLIC (comma-separated) count as public:
loopback servers then play a site on the internet and one on the private side, as the unit
tests of the guard do (tests/unit/test_safety.py). TEST_MTPROTO=file gives MTProto uploads to
the fake client, which records them in DATA_DIR (tests/fakes/mtproto.py). The rest is
`python main.py`.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.config.settings import Settings
from bot.daemon.launch import main
from bot.daemon.seams import Seams
from bot.download.safety import UrlGuard
from tests.fakes.mtproto import file_factory

DNS: dict[str, list[str]] = json.loads(os.environ.get("TEST_DNS", "{}"))
PUBLIC = frozenset(filter(None, os.environ.get("TEST_PUBLIC", "").split(",")))


def lookup(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


async def lookup_async(host: str, port: int) -> list[str]:
    return lookup(host, port)


def guard(settings: Settings) -> UrlGuard:
    return UrlGuard(
        settings.allow_private_urls,
        lookup_async,
        resolve_sync=lookup,
        is_public=PUBLIC.__contains__,
    )


def seams() -> Seams:
    chosen = Seams()
    if "TEST_DNS" in os.environ:
        chosen = Seams(guard=guard, mtproto=chosen.mtproto)
    if os.environ.get("TEST_MTPROTO") == "file":
        chosen = Seams(guard=chosen.guard, mtproto=file_factory)
    return chosen


if __name__ == "__main__":
    sys.exit(main(seams=seams()))
