"""RouteDeliverer: the Bot API up to its limit, MTProto above it, a clear error without MTProto."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from bot.model.failures import DeliveryError, FailureReason
from bot.model.media import MediaInfo, MediaKind
from bot.telegram_io.request import RetryingRequest
from bot.telegram_io.retry import RetryPolicy
from bot.upload.botapi import BotApiUploader
from bot.upload.deliver import RouteDeliverer
from bot.upload.mtproto import MtprotoUploader
from bot.upload.types import Delivery
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.mtproto import FakeMtproto

CHAT = 99
MB = 1024 * 1024
LIMIT = 1 * MB  # a small Bot API limit keeps the files small
UPLOADS = ("sendDocument", "sendVideo", "sendAudio", "sendAnimation")


def ignore(_current: int, _total: int) -> None:
    pass


def make_delivery(tmp_path: Path, size: int) -> Delivery:
    path = tmp_path / f"f{size}.bin"
    path.write_bytes(os.urandom(size))
    return Delivery(CHAT, path, path.name, "cap", size, MediaInfo())


def upload_calls(api: FakeBotApi) -> list[str]:
    return [c.method for c in api.calls if c.method in UPLOADS]


@pytest.fixture
async def http() -> AsyncIterator[list[RetryingRequest]]:
    """The PTB request objects the tests made, shut down at the end."""
    made: list[RetryingRequest] = []
    yield made
    for request in made:
        await request.shutdown()


@pytest.fixture
async def mtproto() -> AsyncIterator[tuple[FakeMtproto, MtprotoUploader]]:
    hub = FakeMtproto()
    uploader = MtprotoUploader(hub.factory)
    yield hub, uploader
    await uploader.close()


def botapi(api: FakeBotApi, http: list[RetryingRequest]) -> BotApiUploader:
    request = RetryingRequest(policy=RetryPolicy(attempts=2, base_delay=0.01), read_timeout=5)
    http.append(request)
    return BotApiUploader(Bot(api.token, base_url=f"{api.url}/bot", request=request))


async def test_small_file_goes_through_the_bot_api(
    bot_api: FakeBotApi,
    http: list[RetryingRequest],
    mtproto: tuple[FakeMtproto, MtprotoUploader],
    tmp_path: Path,
) -> None:
    hub, uploader = mtproto
    deliverer = RouteDeliverer(botapi(bot_api, http), uploader, LIMIT)

    delivered = await deliverer.deliver(make_delivery(tmp_path, LIMIT), ignore)

    assert delivered.route == "botapi"
    assert upload_calls(bot_api) == ["sendDocument"]
    assert hub.starts == 0  # the MTProto client is not even started


async def test_large_file_goes_through_mtproto(
    bot_api: FakeBotApi,
    http: list[RetryingRequest],
    mtproto: tuple[FakeMtproto, MtprotoUploader],
    tmp_path: Path,
) -> None:
    hub, uploader = mtproto
    deliverer = RouteDeliverer(botapi(bot_api, http), uploader, LIMIT)

    delivered = await deliverer.deliver(make_delivery(tmp_path, LIMIT + 1), ignore)

    assert delivered.route == "mtproto"
    assert hub.uploads[0].size == LIMIT + 1
    assert upload_calls(bot_api) == []


async def test_large_file_without_mtproto_says_why(
    bot_api: FakeBotApi, http: list[RetryingRequest], tmp_path: Path
) -> None:
    deliverer = RouteDeliverer(botapi(bot_api, http), None, LIMIT)

    with pytest.raises(DeliveryError) as caught:
        await deliverer.deliver(make_delivery(tmp_path, LIMIT + 1), ignore)

    assert caught.value.reason is FailureReason.TOO_LARGE_FOR_TELEGRAM
    assert caught.value.params == {"size": LIMIT + 1, "limit": LIMIT}
    assert upload_calls(bot_api) == []  # nothing was sent in vain


async def test_bot_api_413_falls_back_to_mtproto(
    http: list[RetryingRequest], mtproto: tuple[FakeMtproto, MtprotoUploader], tmp_path: Path
) -> None:
    hub, uploader = mtproto
    async with FakeBotApi(upload_limit=LIMIT) as api:
        # The deliverer believes the Bot API takes 50 MB; this server says otherwise.
        deliverer = RouteDeliverer(botapi(api, http), uploader, 50 * MB)
        delivered = await deliverer.deliver(make_delivery(tmp_path, 2 * MB), ignore)
        statuses = [c.status for c in api.calls_of("sendDocument")]

    assert delivered.route == "mtproto"
    assert statuses == [413]
    assert len(hub.uploads) == 1


async def test_bot_api_413_without_mtproto_is_too_large(
    http: list[RetryingRequest], tmp_path: Path
) -> None:
    async with FakeBotApi(upload_limit=LIMIT) as api:
        deliverer = RouteDeliverer(botapi(api, http), None, 50 * MB)
        with pytest.raises(DeliveryError) as caught:
            await deliverer.deliver(make_delivery(tmp_path, 2 * MB), ignore)

    assert caught.value.reason is FailureReason.TOO_LARGE_FOR_TELEGRAM


async def test_resend_goes_through_the_bot_api(
    bot_api: FakeBotApi, http: list[RetryingRequest], tmp_path: Path
) -> None:
    deliverer = RouteDeliverer(botapi(bot_api, http), None, LIMIT)
    first = await deliverer.deliver(make_delivery(tmp_path, 1000), ignore)

    again = await deliverer.resend(CHAT, MediaKind.DOCUMENT, first.file_id, "cap")

    assert (again.file_id, again.route) == (first.file_id, "botapi")
