"""Start-up and every way out: a stop is never held by start-up work, and each exit is one
orderly stop that ends with `stopped reason=... code=...`, without a traceback at INFO.

Bounds on waiting are generous (a loaded CI machine must not fail them); how fast a stop
really is goes to `make bench` (bench/stop_latency.py).
"""

from __future__ import annotations

from tests.e2e.conftest import StartDaemon
from tests.e2e.daemon import Daemon
from tests.fakes.bot_api import FakeBotApi

USER = 3003
MENUS = 3  # English, Persian, and one admin's: each retried for ~8 s against a 500


def assert_clean_exit(daemon: Daemon, reason: str, code: int) -> None:
    """One orderly stop: `stopped` is the last line, nothing was dumped on the way."""
    assert daemon.lines[-1].endswith(f"stopped reason={reason} code={code}"), daemon.output
    assert "Traceback" not in daemon.output, daemon.output
    assert "still running" not in daemon.output, daemon.output


async def test_sigterm_while_the_menus_are_retried_stops_at_once(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    bot_api.fail_next("setMyCommands", 500, count=100)
    daemon = await start_daemon(wait=False, ADMIN_IDS="42")
    await bot_api.wait_for(lambda c: c.method == "setMyCommands", timeout=20)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    assert_clean_exit(daemon, "signal", 0)
    # Not one menu's retries ran out: the stop did not wait for them (6 tries x 3 menus).
    assert "set_commands_failed" not in daemon.output
    assert len(bot_api.calls_of("setMyCommands")) < 6 * MENUS


async def test_sigterm_while_getme_is_retried_stops_before_polling(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    bot_api.fail_next("getMe", 500, count=100)
    daemon = await start_daemon(wait=False)
    await bot_api.wait_for(lambda c: c.method == "getMe" and c.status == 500, timeout=20)
    daemon.signal()
    assert await daemon.wait_exit(15) == 0
    assert_clean_exit(daemon, "signal", 0)
    assert "started version=" not in daemon.output
    assert bot_api.get_updates_count == 0


async def test_a_getme_answer_of_the_wrong_shape_is_one_line(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    bot_api.answer_with("getMe", ["not", "a", "user"])
    daemon = await start_daemon(wait=False)
    assert await daemon.wait_exit(15) == 1
    [failed] = [line for line in daemon.lines if "startup_failed" in line]  # one line
    assert "getMe was not understood" in failed
    assert_clean_exit(daemon, "failed_start", 1)


async def test_a_rejected_token_at_start_is_one_line(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    bot_api.fail_next("getMe", 401)
    daemon = await start_daemon(wait=False)
    assert await daemon.wait_exit(15) == 1
    [failed] = [line for line in daemon.lines if "startup_failed" in line]
    assert failed.endswith("startup_failed BOT_TOKEN was rejected by the Bot API (401)")
    assert_clean_exit(daemon, "failed_start", 1)


async def test_a_token_revoked_while_polling_goes_through_the_orderly_stop(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.reject_get_updates(401)
    assert await daemon.wait_exit(15) == 1
    assert "token rejected" in daemon.output
    assert "stopping reason=token_rejected" in daemon.output
    assert_clean_exit(daemon, "token_rejected", 1)


async def test_a_transient_polling_error_is_one_warning_line(
    bot_api: FakeBotApi, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    bot_api.fail_next("getUpdates", 500, count=2)
    bot_api.push_message(USER, "/start")
    await bot_api.wait_for_text(USER, "Hi", timeout=30)  # polling went on
    errors = [line for line in daemon.lines if "poll_error" in line]
    assert len(errors) == 2
    assert all(" WARNING " in line for line in errors)
    assert " ERROR " not in daemon.output
    await daemon.stop()
    assert_clean_exit(daemon, "signal", 0)
