"""What a test's own entry point may put in place of the real thing; the daemon uses neither.

`launch.main(seams=...)` takes them (tests/e2e/seamed_main.py): a URL guard that looks names
up in the test's DNS, and a fake MTProto client. Neither is a setting: an operator cannot
point the daemon at code to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config.settings import Settings
from bot.download.safety import UrlGuard
from bot.upload.mtproto_client import MtprotoClient, pyrogram_factory

# Builds the URL guard from the settings.
GuardFactory = Callable[[Settings], UrlGuard]
# Builds, from the settings, what opens an MTProto client.
ClientFactory = Callable[[Settings], Callable[[], MtprotoClient]]


def build_guard(settings: Settings) -> UrlGuard:
    # Behind a download proxy the connected peer is the proxy itself: check URLs, not peers.
    return UrlGuard(
        settings.allow_private_urls, behind_proxy=settings.download_proxy_url is not None
    )


@dataclass(frozen=True, slots=True)
class Seams:
    """The makers a process uses; the defaults are the real ones."""

    guard: GuardFactory = build_guard
    mtproto: ClientFactory = pyrogram_factory
