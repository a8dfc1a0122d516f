"""QUEUE_URL and the worker command: a bad value is one line that names it (never the
password), and a worker without a queue does not start."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config.settings import ConfigError, load_settings
from bot.daemon.launch import main, secrets_of
from bot.remote.redis_client import describe


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("QUEUE_URL", "QUEUE_HEARTBEAT_SECONDS", "QUEUE_SWEEP_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.chdir(tmp_path)


def test_without_queue_url_the_bot_is_one_process() -> None:
    settings = load_settings(env_file=None)
    assert settings.queue_url is None
    assert settings.queue_heartbeat_seconds == 30
    assert settings.queue_sweep_seconds == 5


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret@10.0.0.2:6379/0",
        "rediss://tgfetch:s3cret@redis.example:6380/0?ssl_ca_certs=/etc/ca.pem",
        "unix:///run/redis/redis.sock",
    ],
)
def test_queue_urls_that_work(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("QUEUE_URL", url)
    settings = load_settings(env_file=None)
    assert settings.queue_url is not None
    assert settings.queue_url.get_secret_value() == url
    assert "s3cret" not in repr(settings) and "s3cret" not in describe(settings.queue_url)


@pytest.mark.parametrize(
    "url", ["http://:s3cret@10.0.0.2:6379", "redis://:s3cret@/0", "unix://", "s3cret"]
)
def test_a_bad_queue_url_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("QUEUE_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith("config error: QUEUE_URL: ")
    assert "\n" not in message and "s3cret" not in message


def test_the_password_is_kept_out_of_the_log() -> None:
    settings = load_settings(env_file=None).model_copy(
        update={"queue_url": SecretStr("redis://:pw-1234@host:6379/0")}
    )
    assert secrets_of(settings) == ["1:abc", "pw-1234"]


def test_a_worker_needs_a_queue(capsys: pytest.CaptureFixture[str]) -> None:
    handler = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["worker"]) == 2
    finally:
        signal.signal(signal.SIGTERM, handler)  # main() took SIGTERM over, as a process does
    assert "QUEUE_URL is required for a worker" in capsys.readouterr().err


def test_an_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wokrer"]) == 2
    assert "usage: python main.py [worker | doctor | update-ytdlp [--rollback]]" in (
        capsys.readouterr().err
    )
