"""Settings from the environment and an optional ``.env`` file (pure validation).

Owns the names, defaults and validation of every setting; ``.env.example`` and the
README's table document the same list. A bad value raises ``ConfigError`` whose
message names the setting, so the command line can print one clear line.
The process environment wins over ``.env``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from feeds.errors import ConfigError
from feeds.fetch import DEFAULT_CONTACT, Fetcher, FetchLimits, user_agent

_ASCII_INT = re.compile(r"^-?[0-9]+$")
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite:///data/deportwatch.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of deportwatch, validated."""

    telegram_token: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    alert_chat_id: int | None = None
    admin_ids: frozenset[int] = frozenset()
    coordinator_ids: frozenset[int] = frozenset()
    database_url: str = DEFAULT_DATABASE_URL
    poll_seconds: int = 300
    allow_private_urls: bool = False
    tick_seconds: float = 5.0
    log_level: str = "INFO"
    contact_url: str = DEFAULT_CONTACT
    max_body_bytes: int = 10 * 1024 * 1024
    host_concurrency: int = 2
    fetch_concurrency: int = 32
    fetch_articles: bool = True
    escalate_minutes: float = 30.0
    digest_at: time | None = None     # UTC time of the daily digest; None: every card at once
    lang: str = "en"                  # interface language of chats that chose none

    def fetcher(self) -> Fetcher:
        """The one HTTP client, configured from these settings."""
        return Fetcher(allow_private=self.allow_private_urls,
                       user_agent=user_agent(self.contact_url),
                       limits=FetchLimits(max_wire_bytes=self.max_body_bytes,
                                          max_body_bytes=self.max_body_bytes,
                                          per_host=self.host_concurrency,
                                          total=self.fetch_concurrency))

    @property
    def admin_chats(self) -> tuple[int, ...]:
        """Where admin notices go: each admin's private chat, or the console."""
        if self.telegram_token:
            return tuple(sorted(self.admin_ids))
        return (0,)

    @property
    def chat_ids(self) -> tuple[int, ...]:
        """Chats that receive cards (outbox targets); 0 means the console."""
        if self.telegram_token and self.alert_chat_id is not None:
            return (self.alert_chat_id,)
        return (0,)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines; ``#`` comments, blank lines and quotes allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE, got {raw.strip()!r}")
        value = value.strip()
        if value[:1] in ("'", '"'):
            end = value.find(value[0], 1)
            rest = value[end + 1:].strip() if end > 0 else "x"
            if end < 0 or (rest and not rest.startswith("#")):
                raise ConfigError(f"{path}:{number}: unbalanced quotes in {raw.strip()!r}")
            value = value[1:end]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _int(env: Mapping[str, str], name: str, default: int | None, *, minimum: int | None = None
         ) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _ASCII_INT.match(raw):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").strip()
    out = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not _ASCII_INT.match(part):
            raise ConfigError(f"{name} must be comma-separated Telegram user ids, got {part!r}")
        out.add(int(part))
    return frozenset(out)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None,
                  env_file: Path | None = Path(".env")) -> Settings:
    """Read and validate settings; raises ``ConfigError`` naming the bad setting."""
    env: dict[str, str] = {}
    if env_file is not None:
        env.update(read_env_file(env_file))
    env.update(os.environ if environ is None else environ)

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and (":" not in token or not token.split(":", 1)[0].isdigit()):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token "
                          "(expected 123456:ABC..., from @BotFather)")
    base = env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"TELEGRAM_API_BASE_URL must be an http(s) URL, got {base!r}")
    database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    if "://" not in database_url:
        raise ConfigError(f"DATABASE_URL must be a URL such as {DEFAULT_DATABASE_URL}, "
                          f"got {database_url!r}")
    level = (env.get("DEPORTWATCH_LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"DEPORTWATCH_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, "
                          f"got {level!r}")
    tick_raw = env.get("DEPORTWATCH_TICK_SECONDS", "").strip()
    try:
        tick = float(tick_raw) if tick_raw else 5.0
    except ValueError:
        raise ConfigError(f"DEPORTWATCH_TICK_SECONDS must be a number, got {tick_raw!r}") from None
    if not 0.1 <= tick <= 3600:
        raise ConfigError(f"DEPORTWATCH_TICK_SECONDS must be between 0.1 and 3600, got {tick}")
    poll = _int(env, "DEPORTWATCH_POLL_SECONDS", 300, minimum=60)
    assert poll is not None
    contact = env.get("DEPORTWATCH_CONTACT_URL", "").strip() or DEFAULT_CONTACT
    if not contact.startswith(("http://", "https://", "mailto:")):
        raise ConfigError(f"DEPORTWATCH_CONTACT_URL must be an http(s) or mailto: URL, "
                          f"got {contact!r}")
    max_body = _int(env, "DEPORTWATCH_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=65536)
    per_host = _int(env, "DEPORTWATCH_HOST_CONCURRENCY", 2, minimum=1)
    total = _int(env, "DEPORTWATCH_FETCH_CONCURRENCY", 32, minimum=1)
    escalate_raw = env.get("DEPORTWATCH_ESCALATE_MINUTES", "").strip()
    try:
        escalate = float(escalate_raw) if escalate_raw else 30.0
    except ValueError:
        raise ConfigError(f"DEPORTWATCH_ESCALATE_MINUTES must be a number of minutes, "
                          f"got {escalate_raw!r}") from None
    if not 0.01 <= escalate <= 10080:
        raise ConfigError(f"DEPORTWATCH_ESCALATE_MINUTES must be between 0.01 and 10080, "
                          f"got {escalate}")
    assert max_body is not None and per_host is not None and total is not None
    digest_raw = env.get("DEPORTWATCH_DIGEST_AT", "").strip().lower()
    digest_at = None
    if digest_raw not in ("", "off", "none"):
        match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", digest_raw)
        if match is None:
            raise ConfigError(f"DEPORTWATCH_DIGEST_AT must be HH:MM (UTC) or off, "
                              f"got {digest_raw!r}")
        digest_at = time(int(match.group(1)), int(match.group(2)))
    lang = (env.get("DEPORTWATCH_LANG", "").strip() or "en").lower()
    if lang not in ("en", "ru"):
        raise ConfigError(f"DEPORTWATCH_LANG must be en or ru, got {lang!r}")
    return Settings(
        telegram_token=token, api_base_url=base,
        alert_chat_id=_int(env, "DEPORTWATCH_ALERT_CHAT_ID", None),
        admin_ids=_ids(env, "DEPORTWATCH_ADMIN_IDS"),
        coordinator_ids=_ids(env, "DEPORTWATCH_COORDINATOR_IDS"),
        database_url=database_url, poll_seconds=poll,
        allow_private_urls=_bool(env, "DEPORTWATCH_ALLOW_PRIVATE_URLS", False),
        tick_seconds=tick, log_level=level, contact_url=contact, max_body_bytes=max_body,
        host_concurrency=per_host, fetch_concurrency=total,
        fetch_articles=_bool(env, "DEPORTWATCH_FETCH_ARTICLES", True),
        escalate_minutes=escalate, digest_at=digest_at, lang=lang)
