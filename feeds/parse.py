"""Parsing (pure): bytes of a source → entries.

Owns telling a feed from an HTML page by content (``sniff``), reading feeds with
feedparser (RSS 0.9x/1.0/2.0, RDF, Atom) and JSON Feed, reading HTML pages as table
rows or, with a per-feed CSS selector (selectolax), as the matching elements (one
record each, ``url`` = page URL + ``#row-N``, identity = content), recognising
captcha and access gates, and reading the public web preview of a Telegram
channel (``t.me/s/NAME``), one post per entry.

feedparser is always given ``io.BytesIO``: given ``str`` or ``bytes`` it may open a
local path or fetch a URL itself (see docs/stack-notes, section 4).

Must not fetch or store anything, and must not read the clock: entries without a
date get ``published=None`` and the pipeline stamps them with the time first seen.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.datetimes import _parse_date
from selectolax.lexbor import LexborHTMLParser

from feeds.errors import ParseError
from feeds.feedxml import EntryFields, FeedFields, read_simple_feed
from feeds.models import Entry, FeedKind
from feeds.text import clean_spaces, html_to_text

_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")
# A page that says the visitor failed or must pass a check: never records, whatever
# layout tables it has (a sudrf listing behind its gate still shows office hours).
_GATE = re.compile(r"проверочн\w*\s+код|код\s+с\s+картинки|are\s+you\s+a\s+robot|"
                   r"i'?m\s+not\s+a\s+robot|access\s+denied|доступ\s+запрещ", re.IGNORECASE)
# Weaker signs (a captcha widget); a page with real rows may carry one in a search form.
_CAPTCHA = re.compile(r"captcha|капч|введите\s+код", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a source's bytes held. ``bozo`` is feedparser's word for a feed that was
    not well-formed or whose encoding had to be guessed; its entries are still used."""

    kind: FeedKind
    title: str
    entries: tuple[Entry, ...]
    bozo: bool = False
    bozo_reason: str = ""


def _head_text(body: bytes) -> bytes:
    """The first 2 KB as ASCII-compatible bytes, transcoding UTF-16/32 feeds."""
    head = body[:4096]
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, "ignore").encode("utf-8")[:2048]
    if head[:2] in (b"<\x00", b"\x00<"):   # UTF-16 without a BOM
        codec = "utf-16-le" if head[:1] == b"<" else "utf-16-be"
        return head.decode(codec, "ignore").encode("utf-8")[:2048]
    return head[:2048]


_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|rdf)\b")


def _without_comments(body: bytes) -> bytes:
    """The body with ``<!-- … -->`` comments removed, in linear time (a regex with a lazy
    ``.*?`` is quadratic on a hostile body of unclosed ``<!--``); an unclosed comment
    runs to the end."""
    out: list[bytes] = []
    start = 0
    while (opening := body.find(b"<!--", start)) >= 0:
        out.append(body[start:opening])
        closing = body.find(b"-->", opening + 4)
        if closing < 0:
            return b"".join(out)
        start = closing + 3
    out.append(body[start:])
    return b"".join(out)


def sniff(body: bytes, content_type: str = "") -> FeedKind:
    """Tell a feed from a page by its first bytes (the Content-Type often lies)."""
    head = _head_text(body).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{") and b"jsonfeed" in body[:4096].lower():
        return FeedKind.RSS
    if b"tgme_widget_message" in body[:200_000] or b"tgme_channel_info" in body[:200_000]:
        return FeedKind.TELEGRAM
    if head.startswith(b"<?xml") and not re.search(rb"<html", head):
        return FeedKind.RSS
    if any(marker in head for marker in _FEED_MARKERS) or _FEED_ROOT.search(head):
        return FeedKind.RSS
    if "json" in content_type and head.startswith(b"{"):
        return FeedKind.RSS
    return FeedKind.PAGE


def parse(body: bytes, url: str, headers: Mapping[str, str] | None = None,
          kind: FeedKind | None = None, selector: str | None = None) -> Parsed:
    """Parse a source's bytes; ``kind`` None means decide by content. For a page, a CSS
    ``selector`` picks the records (one matching element = one record) instead of
    table rows."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not _without_comments(body).strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError("empty document")
    kind = kind or sniff(body, headers.get("content-type", ""))
    if kind is FeedKind.TELEGRAM:
        return parse_telegram(body, url)
    if kind is FeedKind.PAGE:
        return parse_page(body, url, headers.get("content-type", ""), selector=selector)
    if body.lstrip()[:1] == b"{":
        return parse_json_feed(body, url)
    return parse_feed(body, url, headers)


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding=["']([\w.:-]+)""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*['\"]?([\w.:-]+)", re.IGNORECASE)
_RUSSIAN_LOWER = frozenset("абвгдежзийклмнопрстуфхцчшщъыьэюяё")


def guess_cyrillic(body: bytes) -> str | None:
    """windows-1251 or KOI8-R for bytes that are not UTF-8, judged by letter case:
    read in the right code page, Russian prose is mostly lower-case letters; read in
    the wrong one (KOI8-R as windows-1251 or back) mostly upper-case."""
    best, best_score = None, 0.0
    for codec in ("windows-1251", "koi8-r"):
        text = body[:200_000].decode(codec, errors="replace")
        letters = [c for c in text if "а" <= c.lower() <= "я" or c.lower() == "ё"]
        if len(letters) < 20:
            continue
        score = sum(1 for c in letters if c in _RUSSIAN_LOWER) / len(letters)
        if score > best_score:
            best, best_score = codec, score
    return best if best_score >= 0.6 else None


def _declared_encoding(body: bytes, content_type: str) -> str | None:
    m = _CHARSET.search(content_type)
    if m:
        return m.group(1).lower()
    m2 = _XML_ENCODING.search(body[:500])
    return m2.group(1).decode("ascii").lower() if m2 else None


def parse_feed(body: bytes, url: str, headers: Mapping[str, str]) -> Parsed:
    """RSS, RDF or Atom: plain UTF-8 RSS 2.0 and Atom 1.0 through the fast reader of
    ``feeds.feedxml``, everything else (and whatever that reader is unsure of) through
    feedparser — with the same entries either way."""
    content_type = headers.get("content-type", "application/xml")
    simple = read_simple_feed(body, content_type)
    if simple is not None:
        return _assemble(simple, url)
    return parse_with_feedparser(body, url, content_type)


def parse_with_feedparser(body: bytes, url: str, content_type: str) -> Parsed:
    """Any RSS, RDF or Atom document through feedparser (the long way).

    feedparser gets the encoding from the HTTP header or the XML declaration; a
    Russian feed in windows-1251 or KOI8-R that declares nothing (or claims UTF-8)
    would come out as mojibake, so for bytes that are not UTF-8 the code page is
    guessed and handed over as the header's charset (and the item marked bozo).
    """
    declared = _declared_encoding(body, content_type)
    guessed = None
    if declared in (None, "utf-8", "utf8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            guessed = guess_cyrillic(body)
    if guessed:
        content_type = f"{content_type.split(';')[0]}; charset={guessed}"
    # Half of feedparser's time goes to its HTML sanitiser and to resolving every URI
    # against the document's address; both serve HTML that is shown. Ours is reduced to
    # text (html_to_text drops scripts, styles and every tag) and the one link an entry
    # needs is joined with the feed's address below (xml:base is still honoured).
    result = feedparser.parse(io.BytesIO(body), response_headers={"content-type": content_type},
                              sanitize_html=False, resolve_relative_uris=False)
    if not result.entries and result.get("bozo") and not result.feed:
        raise ParseError(f"not a feed: {result.get('bozo_exception')}")
    entries = []
    for e in result.entries:
        content = e.get("content")
        entries.append(EntryFields(
            link=e.get("link") or "", id=e.get("id") or "", title=e.get("title", ""),
            html=(content[0].get("value", "") if content else e.get("summary", "")) or "",
            # dict.get: FeedParserDict maps a missing "updated" to "published", warning
            published=dict.get(e, "published") or "", updated=dict.get(e, "updated") or ""))
    reason = (f"undeclared encoding, read as {guessed}" if guessed else
              str(result.get("bozo_exception") or "") if result.get("bozo") else "")
    return _assemble(FeedFields(title=result.feed.get("title", ""), entries=tuple(entries)),
                     url, bozo=bool(guessed or result.get("bozo")), reason=reason)


def _date(text: str) -> datetime | None:
    """A feed's date text read as feedparser reads it (RFC 822, W3C-DTF and the many
    variants feeds use), both paths alike."""
    return _struct_to_dt(_parse_date(text)) if text else None


def _assemble(fields: FeedFields, url: str, *, bozo: bool = False, reason: str = "") -> Parsed:
    """Entries from a feed's raw fields, whichever reader produced them."""
    title = html_to_text(fields.title) or url
    entries = tuple(Entry(
        url=urljoin(url, e.link or e.id),
        title=html_to_text(e.title),
        text=html_to_text(e.html),
        source=title,
        published=_date(e.published) or _date(e.updated),
        guid=e.id or None,
    ) for e in fields.entries)
    return Parsed(kind=FeedKind.RSS, title=title, entries=entries, bozo=bozo,
                  bozo_reason=reason)


def parse_json_feed(body: bytes, url: str) -> Parsed:
    """JSON Feed 1.0/1.1 (https://www.jsonfeed.org/version/1.1/)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"broken JSON feed: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ParseError("JSON without a JSON Feed 'items' list")
    title = str(data.get("title") or url)
    entries: list[Entry] = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        html = item.get("content_html") or ""
        text = html_to_text(str(html)) if html else str(item.get("content_text") or
                                                         item.get("summary") or "")
        published = None
        raw_date = item.get("date_published") or item.get("date_modified")
        if isinstance(raw_date, str):
            try:
                published = datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
                published = (published.astimezone(UTC) if published.tzinfo
                             else published.replace(tzinfo=UTC))
            except ValueError:
                published = None
        link = str(item.get("url") or item.get("external_url") or "")
        entries.append(Entry(
            url=urljoin(url, link) if link else f"{url}#{item.get('id', '')}",
            title=html_to_text(str(item.get("title") or "")), text=clean_spaces(text),
            source=title, published=published, guid=str(item["id"]) if "id" in item else None))
    return Parsed(kind=FeedKind.RSS, title=title, entries=tuple(entries))


def decode_html(body: bytes, content_type: str = "") -> str:
    """Decode an HTML page: valid UTF-8 wins (sudrf.ru pages declare windows-1251 and
    are UTF-8), then the declared charset, then windows-1251."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = None
    m = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    if m:
        declared = m.group(1)
    else:
        mm = _META_CHARSET.search(body[:4096])
        declared = mm.group(1).decode("ascii", "replace") if mm else None
    for encoding in (declared, "windows-1251"):
        if encoding:
            try:
                return body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return body.decode("utf-8", errors="replace")


class _TableParser(HTMLParser):
    """Collects the page title and every table row's cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.rows: list[tuple[list[str], bool]] = []   # (cells, is_header_row)
        self._in_title = False
        self._cell: list[str] | None = None
        self._cells: list[str] | None = None
        self._header = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "svg", "noscript"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "tr":
            self._end_row()
            self._cells, self._header = [], False
        elif tag in ("td", "th") and self._cells is not None:
            self._end_cell()
            self._cell = []
            self._header = self._header or tag == "th"
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None and self._cells is not None:
            self._cells.append(clean_spaces(" ".join("".join(self._cell).split())))
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._cells is not None:
            self.rows.append((self._cells, self._header))
        self._cells = None


def check_selector(selector: str) -> str:
    """Validate an admin's CSS selector; raises ``ParseError`` with the reason."""
    selector = selector.strip()
    if not selector or len(selector) > 500:
        raise ParseError("a CSS selector must be 1 to 500 characters")
    try:
        LexborHTMLParser("<html></html>").css(selector)
    except Exception as exc:   # selectolax reports bad selectors with several types
        raise ParseError(f"not a CSS selector: {selector!r} ({exc})") from exc
    return selector


def _record(url: str, index: int, text: str, source: str) -> Entry:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    return Entry(url=f"{url.split('#')[0]}#row-{index}", title=text.split(" | ")[0][:200],
                 text=text, source=source, published=None, guid=f"row:{digest}")


def _parse_selected(html: str, url: str, selector: str) -> Parsed:
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = clean_spaces(title_node.text()) if title_node else url
    entries: list[Entry] = []
    for node in tree.css(check_selector(selector)):
        text = " ".join(node.text(separator=" ", strip=True).split())
        if text:
            entries.append(_record(url, len(entries) + 1, text, title or url))
    return Parsed(kind=FeedKind.PAGE, title=title or url, entries=tuple(entries))


def parse_page(body: bytes, url: str, content_type: str = "", *,
               selector: str | None = None) -> Parsed:
    """An HTML page whose table rows are records (court registries, lists).

    A row is a record when it has at least two non-empty cells and is not a header
    row. A page with no such rows that looks like a captcha is an error, never
    records.
    """
    html = decode_html(body, content_type)
    gate = _GATE.search(html_to_text(html)[:20000])
    if gate:
        raise ParseError(f"the page is a captcha or access gate ({gate.group(0)!r}); "
                         "no records can be read")
    if selector:
        return _parse_selected(html, url, selector)
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    title = clean_spaces(parser.title) or url
    entries: list[Entry] = []
    for cells, header in parser.rows:
        filled = [c for c in cells if c]
        if header or len(filled) < 2:
            continue
        entries.append(_record(url, len(entries) + 1, " | ".join(filled), title))
    widest = max((len([c for c in cells if c]) for cells, _ in parser.rows), default=0)
    if _CAPTCHA.search(html) and (not entries or widest < 3):
        # A search form behind a captcha: its label/field rows are not records.
        raise ParseError("the page asks for a captcha; no records can be read")
    return Parsed(kind=FeedKind.PAGE, title=title, entries=tuple(entries))


class _TelegramParser(HTMLParser):
    """Reads posts from ``t.me/s/NAME``: ``div.tgme_widget_message[data-post]``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.channel = ""
        self.posts: list[dict[str, str]] = []
        self._depth = 0
        self._text_depth: int | None = None
        self._title_depth: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "br" and self._text_depth is not None:
            self.posts[-1]["text"] += "\n"
            return
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            return
        self._depth += 1
        if "tgme_widget_message" in classes and a.get("data-post"):
            self.posts.append({"post": a["data-post"], "text": "", "date": ""})
        elif "tgme_widget_message_text" in classes and self.posts:
            self._text_depth = self._depth
        elif "tgme_channel_info_header_title" in classes:
            self._title_depth = self._depth
        elif tag == "time" and self.posts and a.get("datetime"):
            self.posts[-1]["date"] = a["datetime"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            return
        if self._text_depth == self._depth:
            self._text_depth = None
        if self._title_depth == self._depth:
            self._title_depth = None
        self._depth = max(0, self._depth - 1)

    def handle_data(self, data: str) -> None:
        if self._text_depth is not None and self.posts:
            self.posts[-1]["text"] += data
        elif self._title_depth is not None:
            self.channel += data


def parse_telegram(body: bytes, url: str) -> Parsed:
    """Posts of a public channel's web preview, each with its permanent link."""
    parser = _TelegramParser()
    parser.feed(decode_html(body))
    parser.close()
    title = clean_spaces(parser.channel) or url
    entries: list[Entry] = []
    for post in parser.posts:
        text = clean_spaces(post["text"])
        published = None
        if post["date"]:
            try:
                published = datetime.fromisoformat(post["date"]).astimezone(UTC)
            except ValueError:
                published = None
        first_line = text.split("\n", 1)[0]
        entries.append(Entry(url=f"https://t.me/{post['post']}", title=first_line[:200],
                             text=text, source=title, published=published,
                             guid=f"tg:{post['post']}"))
    return Parsed(kind=FeedKind.TELEGRAM, title=title, entries=tuple(entries))
