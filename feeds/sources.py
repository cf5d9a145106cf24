"""Source addresses as admins type them (pure): ``t.me/NAME``, ``@NAME``, feed URLs.

Owns turning what an admin typed into a stored URL and kind: a Telegram channel is
read through its public web preview ``https://t.me/s/NAME``; anything else must be
an absolute http(s) URL. The SSRF check on the resolved address is ``fetch``'s.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from feeds.errors import UnsafeURLError
from feeds.models import FeedKind

_CHANNEL = re.compile(r"^(?:@|(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?)"
                      r"([A-Za-z][A-Za-z0-9_]{3,31})/?$", re.IGNORECASE)


def normalize_source(text: str, kind: FeedKind | None = None) -> tuple[str, FeedKind]:
    """Return ``(url, kind)`` for a source; raises ``UnsafeURLError`` if it is not one."""
    raw = text.strip()
    m = _CHANNEL.match(raw)
    if m and kind in (None, FeedKind.TELEGRAM):
        return f"https://t.me/s/{m.group(1)}", FeedKind.TELEGRAM
    if kind is FeedKind.TELEGRAM:
        raise UnsafeURLError(f"{raw!r} is not a public Telegram channel (t.me/NAME or @NAME)")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{raw!r} is not an http(s) URL")
    if not parts.hostname:
        raise UnsafeURLError(f"{raw!r} has no host")
    if len(raw) > 2000:
        raise UnsafeURLError("the URL is longer than 2,000 characters")
    return raw, kind or FeedKind.RSS


@dataclass(frozen=True, slots=True)
class StarterSource:
    """One entry of ``feeds/starter_sources.toml``."""

    url: str
    kind: FeedKind
    title: str
    interval: int
    confirmed: str


def starter_sources() -> list[StarterSource]:
    """The bundled starter list, each entry normalised like an admin's ``/addfeed``."""
    raw = tomllib.loads(resources.files("feeds").joinpath("starter_sources.toml")
                        .read_text(encoding="utf-8"))
    out = []
    for entry in raw.get("source", []):
        url, kind = normalize_source(entry["url"], FeedKind(entry["kind"]))
        out.append(StarterSource(url=url, kind=kind, title=entry["title"],
                                 interval=max(60, int(entry["interval"])),
                                 confirmed=entry["confirmed"]))
    return out
