"""Unit tests for bot.settings: defaults, parsing, validation and the .env file.

Every test passes ``environ=`` and ``env_file=`` explicitly; os.environ is never read.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.settings import (
    DEFAULT_API_BASE_URL,
    DEFAULT_DATABASE_URL,
    Settings,
    load_settings,
    read_env_file,
)
from feeds.errors import ConfigError


def test_defaults() -> None:
    """With nothing set every setting has its documented default and cards go to the console."""
    s = load_settings(environ={}, env_file=None)
    assert s == Settings()
    assert (s.telegram_token, s.api_base_url, s.alert_chat_id) == (None, DEFAULT_API_BASE_URL,
                                                                   None)
    assert (s.admin_ids, s.coordinator_ids) == (frozenset(), frozenset())
    assert (s.database_url, s.poll_seconds, s.allow_private_urls) == (DEFAULT_DATABASE_URL, 300,
                                                                      False)
    assert (s.tick_seconds, s.log_level) == (5.0, "INFO")
    assert s.chat_ids == (0,)


def test_missing_env_file_gives_defaults(tmp_path: Path) -> None:
    """A .env path that does not exist is not an error."""
    assert load_settings(environ={}, env_file=tmp_path / "nope.env") == Settings()


@pytest.mark.parametrize(
    ("name", "raw", "attr", "expected"),
    [
        ("TELEGRAM_BOT_TOKEN", " 123456:ABC-def_1 ", "telegram_token", "123456:ABC-def_1"),
        ("TELEGRAM_BOT_TOKEN", "", "telegram_token", None),
        ("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot", "api_base_url",
         "http://127.0.0.1:8081/bot"),
        ("DEPORTWATCH_ALERT_CHAT_ID", "-1001234567890", "alert_chat_id", -1001234567890),
        ("DEPORTWATCH_ADMIN_IDS", "1, 2;3,,", "admin_ids", frozenset({1, 2, 3})),
        ("DEPORTWATCH_COORDINATOR_IDS", "42", "coordinator_ids", frozenset({42})),
        ("DATABASE_URL", "sqlite+aiosqlite:///tmp/x.db", "database_url",
         "sqlite+aiosqlite:///tmp/x.db"),
        ("DEPORTWATCH_POLL_SECONDS", "60", "poll_seconds", 60),
        ("DEPORTWATCH_POLL_SECONDS", "60", "poll_seconds", 60),
        ("DEPORTWATCH_ALLOW_PRIVATE_URLS", "yes", "allow_private_urls", True),
        ("DEPORTWATCH_ALLOW_PRIVATE_URLS", "TRUE", "allow_private_urls", True),
        ("DEPORTWATCH_ALLOW_PRIVATE_URLS", "off", "allow_private_urls", False),
        ("DEPORTWATCH_TICK_SECONDS", "0.5", "tick_seconds", 0.5),
        ("DEPORTWATCH_TICK_SECONDS", "3600", "tick_seconds", 3600.0),
        ("DEPORTWATCH_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("DEPORTWATCH_LOG_LEVEL", " warning ", "log_level", "WARNING"),
        ("DEPORTWATCH_ESCALATE_MINUTES", "45", "escalate_minutes", 45.0),
        ("DEPORTWATCH_ESCALATE_MINUTES", "", "escalate_minutes", 30.0),
        ("DEPORTWATCH_DIGEST_AT", "7:05", "digest_at", time(7, 5)),
        ("DEPORTWATCH_DIGEST_AT", "off", "digest_at", None),
        ("DEPORTWATCH_LANG", "RU", "lang", "ru"),
    ],
    ids=["token", "token-empty", "api-base", "chat-id-negative", "admin-ids-separators",
         "coordinator-ids", "database-url", "poll", "poll-minimum", "private-yes",
         "private-TRUE", "private-off", "tick-fraction", "tick-maximum", "log-lower",
         "log-spaces", "escalate", "escalate-default", "digest-at", "digest-off", "lang"],
)
def test_each_setting_is_parsed(name: str, raw: str, attr: str, expected: object) -> None:
    """Each environment variable sets its field, normalised."""
    assert getattr(load_settings(environ={name: raw}, env_file=None), attr) == expected


def test_chat_ids_need_token_and_chat() -> None:
    """Cards go to the alert chat only when both a token and a chat id are set."""
    env = {"TELEGRAM_BOT_TOKEN": "1:x", "DEPORTWATCH_ALERT_CHAT_ID": "-100"}
    assert load_settings(environ=env, env_file=None).chat_ids == (-100,)
    only_chat = {"DEPORTWATCH_ALERT_CHAT_ID": "-100"}
    assert load_settings(environ=only_chat, env_file=None).chat_ids == (0,)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_BOT_TOKEN", "abc:def"),
        ("TELEGRAM_API_BASE_URL", "ftp://api.example/bot"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org"),
        ("DEPORTWATCH_ALERT_CHAT_ID", "@channel"),
        ("DEPORTWATCH_ALERT_CHAT_ID", "1.5"),
        ("DEPORTWATCH_ADMIN_IDS", "1,alice"),
        ("DEPORTWATCH_ADMIN_IDS", "1-2"),
        ("DEPORTWATCH_COORDINATOR_IDS", "@bob"),
        ("DATABASE_URL", "data/deportwatch.db"),
        ("DEPORTWATCH_POLL_SECONDS", "5"),
        ("DEPORTWATCH_POLL_SECONDS", "five"),
        ("DEPORTWATCH_ALLOW_PRIVATE_URLS", "maybe"),
        ("DEPORTWATCH_TICK_SECONDS", "0"),
        ("DEPORTWATCH_TICK_SECONDS", "3601"),
        ("DEPORTWATCH_TICK_SECONDS", "fast"),
        ("DEPORTWATCH_TICK_SECONDS", "nan"),
        ("DEPORTWATCH_LOG_LEVEL", "loud"),
        ("DEPORTWATCH_LOG_LEVEL", "critical"),
        ("DEPORTWATCH_ESCALATE_MINUTES", "0"),
        ("DEPORTWATCH_ESCALATE_MINUTES", "soon"),
        ("DEPORTWATCH_ESCALATE_MINUTES", "nan"),
        ("DEPORTWATCH_DIGEST_AT", "25:00"),
        ("DEPORTWATCH_DIGEST_AT", "9am"),
        ("DEPORTWATCH_LANG", "de"),
    ],
    ids=["token-shape", "token-non-digit-id", "api-base-scheme", "api-base-no-scheme",
         "chat-id-username", "chat-id-float", "admin-ids-name", "admin-ids-range",
         "coordinator-username", "database-path", "poll-too-small", "poll-word",
         "private-maybe", "tick-zero", "tick-too-large", "tick-word", "tick-nan", "log-word",
         "log-critical", "escalate-zero", "escalate-word", "escalate-nan", "digest-hour",
         "digest-am", "lang-de"],
)
def test_bad_values_name_the_setting(name: str, raw: str) -> None:
    """A malformed value raises ConfigError whose message names the setting."""
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={name: raw}, env_file=None)


def test_unicode_digit_in_ids_is_a_config_error() -> None:
    """A non-ASCII 'digit' in an id list is reported as ConfigError naming the setting."""
    with pytest.raises(ConfigError, match="DEPORTWATCH_ADMIN_IDS"):
        load_settings(environ={"DEPORTWATCH_ADMIN_IDS": "²"}, env_file=None)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


ENV_TEXT = """\
# deportwatch settings

export TELEGRAM_BOT_TOKEN="123456:ABC"
DEPORTWATCH_LOG_LEVEL=debug # inline comment
DATABASE_URL='sqlite:///x.db'
  DEPORTWATCH_ADMIN_IDS = 1,2
DEPORTWATCH_ALERT_CHAT_ID="-100#1"
"""


def test_env_file_comments_quotes_export(tmp_path: Path) -> None:
    """The .env reader skips comments/blank lines, strips export, quotes and inline comments."""
    values = read_env_file(_write(tmp_path, ENV_TEXT))
    assert values == {
        "TELEGRAM_BOT_TOKEN": "123456:ABC",
        "DEPORTWATCH_LOG_LEVEL": "debug",
        "DATABASE_URL": "sqlite:///x.db",
        "DEPORTWATCH_ADMIN_IDS": "1,2",
        "DEPORTWATCH_ALERT_CHAT_ID": "-100#1",
    }


def test_env_file_feeds_settings(tmp_path: Path) -> None:
    """load_settings reads the .env file when the environment does not set a value."""
    s = load_settings(environ={}, env_file=_write(tmp_path, ENV_TEXT.replace("#1", "")))
    assert (s.telegram_token, s.log_level, s.database_url) == ("123456:ABC", "DEBUG",
                                                               "sqlite:///x.db")
    assert (s.admin_ids, s.alert_chat_id) == (frozenset({1, 2}), -100)


@pytest.mark.parametrize(
    ("env_line", "environ", "attr", "expected"),
    [
        ("DEPORTWATCH_POLL_SECONDS=60", {"DEPORTWATCH_POLL_SECONDS": "120"}, "poll_seconds", 120),
        ("DEPORTWATCH_LOG_LEVEL=ERROR", {"DEPORTWATCH_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
        ("DEPORTWATCH_POLL_SECONDS=60", {"DEPORTWATCH_LOG_LEVEL": "debug"}, "poll_seconds", 60),
        ("DEPORTWATCH_POLL_SECONDS=1", {"DEPORTWATCH_POLL_SECONDS": "90"}, "poll_seconds", 90),
    ],
    ids=["env-wins-int", "env-wins-str", "file-used-when-unset", "env-hides-bad-file-value"],
)
def test_environment_wins_over_env_file(tmp_path: Path, env_line: str, environ: dict[str, str],
                                        attr: str, expected: object) -> None:
    """A variable in the environment overrides the same key in .env."""
    s = load_settings(environ=environ, env_file=_write(tmp_path, env_line + "\n"))
    assert getattr(s, attr) == expected


@pytest.mark.parametrize(
    "line", ["just words", "1BAD=x", "=value", "KEY-NAME=x"],
    ids=["no-equals", "key-starts-with-digit", "empty-key", "dash-in-key"])
def test_env_file_bad_line(tmp_path: Path, line: str) -> None:
    """A malformed .env line raises ConfigError with the file and line number."""
    path = _write(tmp_path, "# ok\n" + line + "\n")
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=VALUE"):
        read_env_file(path)


def test_env_file_quoted_value_with_inline_comment(tmp_path: Path) -> None:
    """KEY="value"  # comment gives value without quotes or comment."""
    path = _write(tmp_path, 'DEPORTWATCH_ADMIN_IDS="1,2"  # admins\n')
    assert read_env_file(path) == {"DEPORTWATCH_ADMIN_IDS": "1,2"}
