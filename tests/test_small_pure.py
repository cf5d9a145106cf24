"""Unit tests for small pure helpers: source addresses, /addfeed arguments, roles, back-off,
and the SSRF address check.

``feeds.fetch._address_is_safe`` is private and imported on purpose: it is the pure core of
the SSRF check (``check_url`` only adds DNS resolution), so testing it directly needs no
name resolution and no network.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from bot.handlers.sources import parse_addfeed
from bot.roles import Role, decide_role
from bot.settings import Settings
from feeds.errors import UnsafeURLError
from feeds.fetch import _address_is_safe
from feeds.models import FeedKind
from feeds.pipeline import next_poll_after_failure
from feeds.sources import normalize_source

# --- normalize_source ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "url", "result_kind"),
    [
        ("t.me/deportwatch", None, "https://t.me/s/deportwatch", FeedKind.TELEGRAM),
        ("@deportwatch", None, "https://t.me/s/deportwatch", FeedKind.TELEGRAM),
        ("https://t.me/s/deportwatch", None, "https://t.me/s/deportwatch", FeedKind.TELEGRAM),
        ("https://t.me/deportwatch/", None, "https://t.me/s/deportwatch", FeedKind.TELEGRAM),
        ("http://www.telegram.me/deportwatch", None, "https://t.me/s/deportwatch",
         FeedKind.TELEGRAM),
        ("  @deportwatch  ", FeedKind.TELEGRAM, "https://t.me/s/deportwatch", FeedKind.TELEGRAM),
        ("https://example.org/rss", None, "https://example.org/rss", FeedKind.RSS),
        ("http://court.example/list?id=1", FeedKind.PAGE, "http://court.example/list?id=1",
         FeedKind.PAGE),
    ],
    ids=["t.me-name", "at-name", "t.me-s-name", "trailing-slash", "telegram.me-www",
         "explicit-telegram", "feed-url", "page-kind-kept"],
)
def test_normalize_source(text: str, kind: FeedKind | None, url: str,
                          result_kind: FeedKind) -> None:
    """Channels become https://t.me/s/NAME (telegram); http(s) URLs pass with their kind."""
    assert normalize_source(text, kind) == (url, result_kind)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ftp://example.org/feed.xml", None),
        ("not a url", None),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("http:///no-host", None),
        ("https://example.org/" + "a" * 2000, None),
        ("https://example.org/rss", FeedKind.TELEGRAM),
        ("t.me/deportwatch", FeedKind.RSS),
    ],
    ids=["ftp", "not-a-url", "javascript", "file", "no-host", "too-long",
         "url-as-telegram", "channel-as-rss"],
)
def test_normalize_source_refuses(text: str, kind: FeedKind | None) -> None:
    """Non-http(s), host-less, over-long and kind-mismatched sources raise UnsafeURLError."""
    with pytest.raises(UnsafeURLError):
        normalize_source(text, kind)


# --- parse_addfeed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["https://e.example/rss"], ("https://e.example/rss", None, 300)),
        (["https://e.example/p", "page"], ("https://e.example/p", FeedKind.PAGE, 300)),
        (["@chan", "TELEGRAM"], ("@chan", FeedKind.TELEGRAM, 300)),
        (["https://e.example/rss", "600"], ("https://e.example/rss", None, 600)),
        (["https://e.example/rss", "60"], ("https://e.example/rss", None, 60)),
        (["https://e.example/rss", "rss", "120"], ("https://e.example/rss", FeedKind.RSS, 120)),
        (["https://e.example/rss", "120", "page"], ("https://e.example/rss", FeedKind.PAGE, 120)),
    ],
    ids=["url-only", "with-kind", "kind-any-case", "with-interval", "minimum-interval",
         "kind-and-interval", "interval-then-kind"],
)
def test_parse_addfeed(args: list[str], expected: tuple[str, FeedKind | None, int]) -> None:
    """/addfeed URL [kind] [interval] gives (url, kind or None, interval or the default)."""
    assert parse_addfeed(args, 300) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Usage"),
        (["https://e.example/rss", "59"], "'59' is neither"),
        (["https://e.example/rss", "0"], "'0' is neither"),
        (["https://e.example/rss", "-120"], "'-120' is neither"),
        (["https://e.example/rss", "weekly"], "'weekly' is neither"),
        (["https://e.example/rss", "rss", "120", "extra"], "Usage"),
    ],
    ids=["no-args", "interval-below-60", "zero", "negative", "unknown-word", "too-many-args"],
)
def test_parse_addfeed_refuses(args: list[str], message: str) -> None:
    """Bad intervals (<60), unknown words and too many arguments raise ValueError."""
    with pytest.raises(ValueError, match=message):
        parse_addfeed(args, 300)


# --- decide_role ---------------------------------------------------------------------------

SETTINGS = Settings(admin_ids=frozenset({1}), coordinator_ids=frozenset({2}))


@pytest.mark.parametrize(
    ("user_id", "granted", "extra", "role"),
    [
        (1, None, {}, Role.ADMIN),
        (2, None, {}, Role.COORDINATOR),
        (3, None, {}, Role.NONE),
        (3, "admin", {}, Role.ADMIN),
        (3, "coordinator", {}, Role.COORDINATOR),
        (2, "admin", {}, Role.ADMIN),
        (1, "coordinator", {}, Role.ADMIN),
        (3, "volunteer", {}, Role.VOLUNTEER),
        (3, "Admin", {}, Role.NONE),
        (3, None, {"group_admin": True}, Role.ADMIN),
        (2, None, {"group_admin": True}, Role.ADMIN),
        (3, None, {"member": True}, Role.VOLUNTEER),
        (3, None, {"subscribed": True}, Role.VOLUNTEER),
        (2, None, {"member": True}, Role.COORDINATOR),
    ],
    ids=["settings-admin", "settings-coordinator", "nobody", "granted-admin",
         "granted-coordinator", "grant-raises-coordinator", "settings-admin-beats-grant",
         "granted-volunteer", "grant-is-case-sensitive", "group-admin",
         "group-admin-beats-coordinator", "group-member", "subscriber",
         "coordinator-in-group"],
)
def test_decide_role(user_id: int, granted: str | None, extra: dict[str, bool],
                     role: Role) -> None:
    """The role is the highest of what settings (by id), grants and the group give."""
    assert decide_role(user_id, SETTINGS, granted, **extra) is role


# --- next_poll_after_failure ---------------------------------------------------------------

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "failures", "retry_after", "delay"),
    [
        (300, 0, None, timedelta(minutes=5)),
        (300, 1, None, timedelta(minutes=5)),
        (300, 2, None, timedelta(minutes=10)),
        (300, 3, None, timedelta(minutes=20)),
        (300, 7, None, timedelta(minutes=320)),
        (300, 8, None, timedelta(hours=6)),
        (300, 30, None, timedelta(hours=6)),
        (86400, 1, None, timedelta(hours=6)),
        (300, 1, 3600, timedelta(hours=1)),
        (300, 3, 10, timedelta(minutes=20)),
        (300, 10, 86400, timedelta(days=1)),
        (300, 1, 0.5, timedelta(minutes=5)),
    ],
    ids=["no-failures", "first", "doubles", "doubles-again", "just-under-cap", "capped",
         "many-capped", "long-interval-capped", "retry-after-wins", "retry-after-smaller",
         "retry-after-beyond-cap", "retry-after-fraction"],
)
def test_next_poll_after_failure(interval: int, failures: int, retry_after: float | None,
                                 delay: timedelta) -> None:
    """Back-off doubles per failure up to 6 h; a larger Retry-After wins."""
    assert next_poll_after_failure(NOW, interval, failures, retry_after) == NOW + delay


@pytest.mark.parametrize(
    ("failures", "retry_after"),
    [(40, None), (1000, None), (1, 1e12)],
    ids=["40-failures", "1000-failures", "huge-retry-after"],
)
def test_next_poll_after_failure_never_overflows(failures: int,
                                                 retry_after: float | None) -> None:
    """A long-dead feed or an absurd Retry-After still gets a next poll time, at least 6 h on."""
    assert next_poll_after_failure(NOW, 300, failures, retry_after) >= NOW + timedelta(hours=6)


# --- feeds.fetch._address_is_safe ----------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "safe"),
    [
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:7f00:1::1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
    ],
    ids=["loopback-v4", "private-10", "cloud-metadata", "loopback-v6", "unique-local",
         "v4-mapped-loopback", "nat64-private", "public-v4", "public-v6", "v4-mapped-public",
         "nat64-public", "6to4-loopback", "unspecified", "cgnat", "multicast"],
)
def test_address_is_safe(address: str, safe: bool) -> None:
    """Only global addresses pass; private _address_is_safe tested directly: no DNS needed."""
    assert _address_is_safe(ipaddress.ip_address(address)) is safe
