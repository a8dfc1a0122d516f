"""The doctor's checks of what the bot talks to: the Bot API (through PROXY_URL), the MTProto
settings, Redis (QUEUE_URL), the PO-token provider."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
from urllib.parse import urlsplit

import httpx

from bot.config.settings import Settings
from bot.doctor.report import Line, Status

TIMEOUT_S = 15.0
POT_PLUGIN = "bgutil-ytdlp-pot-provider"


async def bot_api(settings: Settings) -> list[Line]:
    base = settings.telegram_api_url
    token = settings.bot_token.get_secret_value()
    via = " via PROXY_URL" if settings.proxy_url else ""
    try:
        async with httpx.AsyncClient(proxy=settings.proxy_url, timeout=TIMEOUT_S) as client:
            response = await client.get(f"{base}/bot{token}/getMe")
    except httpx.HTTPError as exc:
        name = type(exc).__name__
        return [Line(Status.FAIL, "bot_api", f"{_host(base)}{via} unreachable: {name}")]
    if response.status_code in (401, 404):
        return [Line(Status.FAIL, "bot_api", f"{_host(base)}{via}: BOT_TOKEN was rejected")]
    try:
        answer = response.json()
        username = answer["result"]["username"]
    except (ValueError, KeyError, TypeError):
        detail = f"{_host(base)}{via}: unexpected answer (HTTP {response.status_code})"
        return [Line(Status.FAIL, "bot_api", detail)]
    return [Line(Status.OK, "bot_api", f"{_host(base)}{via} token valid bot=@{username}")]


async def mtproto(settings: Settings) -> list[Line]:
    if not settings.mtproto_enabled:
        return [Line(Status.OK, "mtproto", "off (API_ID, API_HASH unset): files over 50 MB off")]
    missing = [m for m in ("pyrogram", "tgcrypto") if importlib.util.find_spec(m) is None]
    if missing:
        return [Line(Status.FAIL, "mtproto", f"API_ID set but {', '.join(missing)} missing")]
    return [Line(Status.OK, "mtproto", f"API_ID={settings.api_id} session in {settings.data_dir}")]


async def redis(settings: Settings) -> list[Line]:
    if settings.queue_url is None:
        return [Line(Status.OK, "queue", "off (QUEUE_URL unset): one process")]
    from bot.remote.redis_client import describe, quick_client, reply

    client = quick_client(settings.queue_url)
    where = describe(settings.queue_url)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await reply(client.ping())
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return [Line(Status.FAIL, "queue", f"{where} unreachable: {type(exc).__name__}")]
    finally:
        await client.aclose()
    return [Line(Status.OK, "queue", f"{where} answered")]


async def pot_provider(settings: Settings) -> list[Line]:
    url = settings.ytdlp_pot_provider_url
    try:
        plugin = importlib.metadata.version(POT_PLUGIN)
    except importlib.metadata.PackageNotFoundError:
        plugin = None
    if url is None:
        installed = f" (plugin {plugin} installed, unused)" if plugin else ""
        return [Line(Status.OK, "pot_provider", f"not configured{installed}")]
    if plugin is None:
        advice = "pip install -r requirements-pot.txt into the bot's venv"
        return [
            Line(
                Status.FAIL,
                "pot_provider",
                f"YTDLP_POT_PROVIDER_URL set, plugin missing: {advice}",
            )
        ]
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            server = (await client.get(f"{url}/ping")).json().get("version", "?")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        detail = f"{_host(url)} did not answer /ping ({type(exc).__name__}); plugin={plugin}"
        return [Line(Status.FAIL, "pot_provider", detail)]
    status = Status.OK if str(server).split(".")[0] == plugin.split(".")[0] else Status.WARN
    return [Line(status, "pot_provider", f"{_host(url)} server={server} plugin={plugin}")]


def _host(url: str) -> str:
    """Scheme, host and port: never a path (the Bot API's carries the token) or credentials."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
