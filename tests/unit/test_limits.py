"""The limit in force: one formula for what users are told, what a job may fetch and what the
deliverer can carry; the advice on raising it is for the operator."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.limits import Route, file_limit
from bot.config.settings import Settings
from bot.handlers.admin_panel import large_files_text
from bot.handlers.start import help_text, welcome
from bot.i18n import I18n
from bot.upload.deliver import RouteDeliverer

MB = 1024 * 1024
MTPROTO = {"api_id": 12345, "api_hash": "0123456789abcdef0123456789abcdef"}


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"bot_token": "123456:TEST-token"}
    return Settings(_env_file=None, **(base | values))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "size", "route", "held_back"),
    [
        ({}, 50 * MB, Route.BOT_API, True),  # the default MAX_FILE_SIZE_MB is 2000
        ({"max_file_size_mb": 20}, 20 * MB, Route.BOT_API, False),
        (MTPROTO, 2000 * MB, Route.MTPROTO, False),
        ({**MTPROTO, "max_file_size_mb": 100}, 100 * MB, Route.MTPROTO, False),
        ({**MTPROTO, "max_file_size_mb": 4000}, 2000 * MB, Route.MTPROTO, True),
        ({"bot_api_local_mode": True}, 2000 * MB, Route.LOCAL_BOT_API, False),
    ],
)
def test_the_limit_follows_the_routes_and_max_file_size(
    values: dict[str, Any], size: int, route: Route, held_back: bool
) -> None:
    limit = file_limit(settings(**values))
    assert (limit.size, limit.route, limit.held_back) == (size, route, held_back)


@pytest.mark.parametrize("values", [{}, MTPROTO, {"bot_api_local_mode": True}])
def test_the_deliverer_carries_what_users_are_told(values: dict[str, Any]) -> None:
    config = settings(**values)
    # Only the routes' presence matters to the capacity: no uploader is called here.
    botapi: Any = object()
    mtproto: Any = object() if config.mtproto_enabled else None
    deliverer = RouteDeliverer(botapi, mtproto, config.bot_api_upload_limit)
    assert file_limit(config).capacity == deliverer.capacity


def test_users_are_told_the_limit_and_never_the_advice() -> None:
    tr = I18n().get("en")
    limit = file_limit(settings()).size
    for text in (welcome(tr, "Ada", limit), help_text(tr, limit, 2)):
        assert "This bot sends files up to 50 MB." in text
        assert "API_ID" not in text


def test_help_says_longer_video_comes_in_parts_only_when_it_does() -> None:
    tr = I18n().get("en")
    limit = file_limit(settings()).size
    assert "come in parts" in help_text(tr, limit, 2, parts=True)
    assert "come in parts" not in help_text(tr, limit, 2, parts=False)
    assert "pick “All”" in help_text(tr, limit, 2)


def test_admins_are_told_how_to_send_large_files() -> None:
    tr = I18n().get("en")
    assert large_files_text(tr, file_limit(settings())) == (
        "📦 Largest file: 50 MB. Large files: off; set API_ID and API_HASH (or run a local"
        " Bot API server) to send files up to 2 GB."
    )
    assert large_files_text(tr, file_limit(settings(**MTPROTO))) == (
        "📦 Largest file: 2 GB. Large files: on, through MTProto uploads."
    )
