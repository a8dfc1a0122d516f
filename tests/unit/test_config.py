"""Settings: defaults, parsing, and one clear line for each bad value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config.settings import ConfigError, Groups, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    names = ("BOT_TOKEN", "ADMIN_IDS", "ALLOWED_USERS", "API_ID", "API_HASH", "TZ")
    for name in (*names, "GROUPS", "ALLOWED_CHATS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    s = load_settings()
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.max_file_size == 2000 * 1024 * 1024
    assert s.max_page_size == 5 * 1024 * 1024
    assert s.download_workers == 4
    assert s.allowed_users is None
    assert s.admin_ids == frozenset()
    assert s.daily_job_time == dt.time(9, 0)
    assert not s.mtproto_enabled
    assert s.pdf_pages and s.pdf_workers == 1 and s.pdf_timeout_seconds == 60
    assert s.pdf_browser is None
    assert s.pdf_memory_mb == 1024
    assert s.groups is Groups.ALLOWED
    assert s.allowed_chats == frozenset()


def test_groups_and_the_chats_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("GROUPS", "all")
    monkeypatch.setenv("ALLOWED_CHATS", "-1001234, -5")
    s = load_settings(env_file=None)
    assert s.groups is Groups.ALL
    assert s.allowed_chats == frozenset({-1001234, -5})


def test_pdf_pages_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("PDF_PAGES", "off")
    assert not load_settings().pdf_pages


def test_env_file_and_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=1:abc\nADMIN_IDS=5, 6\nALLOWED_USERS=\nAPI_ID=\n")
    s = load_settings()
    assert s.admin_ids == frozenset({5, 6})
    assert s.allowed_users is None
    assert s.api_id is None


@pytest.mark.parametrize("value", ["1001", "1001,1002", " 1001 ; 1002 "])
def test_one_or_more_allowed_users(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("ALLOWED_USERS", value)
    monkeypatch.setenv("ADMIN_IDS", value)
    s = load_settings(env_file=None)
    expected = frozenset({1001, 1002}) if "1002" in value else frozenset({1001})
    assert s.allowed_users == expected
    assert s.admin_ids == expected


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "config error: BOT_TOKEN is required but not set"),
        (
            {"MAX_FILE_SIZE_MB": "0"},
            "config error: MAX_FILE_SIZE_MB: Input should be greater than 0",
        ),
        ({"ADMIN_IDS": "1,x"}, "config error: ADMIN_IDS: "),
        (
            {"CHILD_MEMORY_MB": "32"},
            "config error: CHILD_MEMORY_MB: Input should be greater than or equal to 64",
        ),
        ({"TZ": "Mars/Olympus"}, "config error: TZ: must be an IANA time zone"),
        ({"PROXY_URL": "ftp://p:1"}, "config error: PROXY_URL: must be http://"),
        ({"API_ID": "5"}, "config error: API_HASH must be set too"),
        (
            {"TELEGRAM_API_URL": "localhost"},
            "config error: TELEGRAM_API_URL: must be an http(s) URL",
        ),
        ({"DAILY_JOB_TIME": "25:00"}, "config error: DAILY_JOB_TIME: "),
        (
            {"YTDLP_POT_PROVIDER_URL": "127.0.0.1:4416"},
            "config error: YTDLP_POT_PROVIDER_URL: must be the provider's http(s) address",
        ),
        ({"YTDLP_UPDATE": "always"}, "config error: YTDLP_UPDATE: "),
        ({"PARK_RETRY_HOURS": "-1"}, "config error: PARK_RETRY_HOURS: "),
        ({"PDF_BROWSER": "/no/chromium"}, "config error: PDF_BROWSER: file /no/chromium does"),
        ({"PDF_PAGES": "maybe"}, "config error: PDF_PAGES: "),
        ({"PDF_WORKERS": "0"}, "config error: PDF_WORKERS: "),
        ({"PDF_MEMORY_MB": "100"}, "config error: PDF_MEMORY_MB: "),
        ({"PDF_TIMEOUT_SECONDS": "1"}, "config error: PDF_TIMEOUT_SECONDS: "),
        ({"GROUPS": "some"}, "config error: GROUPS: "),
        ({"ALLOWED_CHATS": "-100x"}, "config error: ALLOWED_CHATS: "),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], line: str
) -> None:
    if env:
        monkeypatch.setenv("BOT_TOKEN", "1:abc")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(line)
    assert "\n" not in message


def test_a_bad_setting_found_after_loading_exits_2_with_its_line() -> None:
    from bot.daemon.lifecycle import startup_failure

    error = ConfigError("config error: API_ID and API_HASH are required for MTProto uploads")
    assert startup_failure(error) == (str(error), 2)


def test_every_setting_is_in_env_example_and_in_the_operators_table() -> None:
    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text(encoding="utf-8")
    table = (root / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    names = [name.upper() for name in Settings.model_fields]
    assert "BOT_TOKEN" in names
    assert [n for n in names if n not in example] == [], ".env.example lacks them"
    assert [n for n in names if f"`{n}`" not in table] == [], "docs/OPERATIONS.md lacks them"
