"""The fast path (pure) for the feeds most sources serve: well-formed UTF-8 RSS 2.0 and
Atom 1.0 made of the usual elements, read with the standard library's expat-based
ElementTree instead of feedparser (several times faster on the same bytes; see the
README's performance section).

Owns deciding whether a document is plain enough to read this way, and reading it
into ``FeedFields``: the raw strings feedparser would have given for the fields
deportwatch uses (feed title; per entry link, id, title, body HTML, date text).
``feeds.parse`` turns those into entries exactly as it does feedparser's output.

The contract: ``read_simple_feed`` answers ``None`` — and the caller uses feedparser —
for anything it is not sure about: another encoding or a ``text/xml`` body without a
charset (feedparser reads those as US-ASCII and flags them), C1 control characters
(feedparser reads them as windows-1252), a DOCTYPE or entity declaration,
``xml:base``, RSS 1.0/RDF, an element it does not know anywhere in the feed (feedparser
reads names regardless of case and maps many namespaced ones onto the fields used
here), a repeated field, markup inside a text element, XHTML or out-of-line Atom
content, a second alternate link, a body that is not well-formed. Wherever it answers, deportwatch's
entries equal those of the feedparser path: ``tests/test_feedxml.py`` checks that on
feedparser's own test feeds, the shared news feeds and generated feeds.

Must not fetch, store, read the clock, or interpret dates (``feeds.parse`` does, with
feedparser's date parser, so both paths agree).
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"

# Children of an RSS <item> or Atom <entry> that feed a field we read, and those
# feedparser keeps elsewhere (author, categories, enclosures, comments) — these must
# be leaves, except Atom's person elements: nothing else is allowed (feedparser reads
# element names without regard to case and maps many namespaced ones onto the title,
# summary or link; a <title> nested in an unknown element becomes the entry's title).
_RSS_FIELDS = {"title": "title", "link": "link", "guid": "id", "description": "summary",
               f"{_CONTENT}encoded": "content", "pubDate": "published",
               f"{_DC}date": "updated"}
_RSS_OTHER = frozenset({"author", "category", "comments", "enclosure", f"{_DC}creator",
                        f"{_DC}subject"})
_ATOM_FIELDS = {f"{ATOM}title": "title", f"{ATOM}id": "id", f"{ATOM}summary": "summary",
                f"{ATOM}content": "content", f"{ATOM}published": "published",
                f"{ATOM}updated": "updated"}
_PERSON = frozenset({f"{ATOM}author", f"{ATOM}contributor"})
_PERSON_PARTS = frozenset({f"{ATOM}name", f"{ATOM}email", f"{ATOM}uri"})
_ATOM_OTHER = frozenset({f"{ATOM}category", f"{ATOM}rights", f"{ATOM}link"})
# What may sit beside the entries: RSS 2.0's channel elements (image and textInput
# with their own parts) and Atom's feed elements.
_CHANNEL = frozenset({"title", "link", "description", "language", "copyright",
                      "managingEditor", "webMaster", "pubDate", "lastBuildDate", "category",
                      "generator", "docs", "cloud", "ttl", "rating", "skipHours",
                      "skipDays", f"{ATOM}link"})
_CHANNEL_PARTS = {"image": frozenset({"url", "title", "link", "width", "height",
                                      "description"}),
                  "textInput": frozenset({"title", "description", "name", "link"})}
_FEED = frozenset({f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}link", f"{ATOM}id",
                   f"{ATOM}updated", f"{ATOM}category", f"{ATOM}generator", f"{ATOM}icon",
                   f"{ATOM}logo", f"{ATOM}rights"})
# C1 control characters: feedparser reads them as the windows-1252 letters they were.
_C1 = re.compile("[\x80-\x9f]")
_GUID, _TYPE = frozenset({"isPermaLink"}), frozenset({"type"})
_XML_TYPES = ("application/xml", "application/rss+xml", "application/atom+xml",
              "application/rdf+xml")


@dataclass(frozen=True, slots=True)
class EntryFields:
    """One entry as strings: ``html`` is the content when there is one, else the
    summary; ``published`` and ``updated`` are the date texts (empty when absent)."""

    link: str = ""
    id: str = ""
    title: str = ""
    html: str = ""
    published: str = ""
    updated: str = ""


@dataclass(frozen=True, slots=True)
class FeedFields:
    title: str
    entries: tuple[EntryFields, ...]


class _NotSimple(Exception):
    """The document needs feedparser."""


def plain_utf8(body: bytes, content_type: str) -> bool:
    """The bytes are UTF-8 by every account: the HTTP charset and the XML declaration
    say UTF-8 or nothing (``text/xml`` must say it), and the bytes decode."""
    base, _, params = content_type.partition(";")
    base = base.strip().lower()
    charset = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("'\"").lower()
    if charset not in ("", "utf-8", "utf8"):
        return False
    if not (base in _XML_TYPES or base.endswith("+xml") or (base == "text/xml" and charset)):
        return False
    head = body[:200].lower()
    if head.startswith(b"<?xml"):
        declaration = head[:head.find(b"?>") + 2]
        if b"encoding" in declaration and b"utf-8" not in declaration \
                and b"utf8" not in declaration:
            return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_simple_feed(body: bytes, content_type: str) -> FeedFields | None:
    """The feed's fields, or None when it is not plain enough (see the module
    docstring); never raises for the document's faults."""
    if not plain_utf8(body, content_type) or b"<!DOCTYPE" in body or b"<!ENTITY" in body \
            or b"xml:base" in body:
        return None
    try:
        # Safe on hostile bytes: with no DOCTYPE there are no entity declarations to
        # expand (billion laughs) and no external entities (ElementTree never fetches).
        root = ET.fromstring(body)  # noqa: S314
        if root.tag == "rss":
            return _rss(root)
        if root.tag == f"{ATOM}feed":
            return _atom(root)
    except (ET.ParseError, _NotSimple, ValueError):
        return None
    return None


_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")


def _text(element: ET.Element, attributes: frozenset[str] = frozenset()) -> str:
    """An element's text as feedparser leaves it: stripped, and UTF-8 that had been
    read as ISO-8859-1 and encoded again repaired (feedparser's own fix-up)."""
    if len(element):
        raise _NotSimple("markup inside a text element")
    if any(name not in attributes and name != _XML_LANG for name in element.attrib):
        raise _NotSimple("an attribute feedparser may act on (type, mode…)")
    text = (element.text or "").strip()
    if not text.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        if _C1.search(text):
            raise _NotSimple("C1 control characters")
    return text


def _leaf(element: ET.Element) -> None:
    if len(element) or _C1.search(element.text or ""):
        raise _NotSimple(f"children or C1 characters in {element.tag}")


def _fields(entry: ET.Element, known: dict[str, str], other: frozenset[str]
            ) -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for child in entry:
        field = known.get(child.tag)
        if field is None:
            if child.tag in _PERSON:
                _parts(child, _PERSON_PARTS)
            elif child.tag in other:
                _leaf(child)
            else:
                raise _NotSimple(f"element {child.tag}")
            continue
        if field in found:
            raise _NotSimple(f"repeated {child.tag}")
        found[field] = child
    return found


def _parts(element: ET.Element, allowed: frozenset[str]) -> None:
    for part in element:
        if part.tag not in allowed:
            raise _NotSimple(f"element {part.tag} in {element.tag}")
        _leaf(part)


def _beside_entries(root: ET.Element, entry: str, allowed: frozenset[str],
                    with_parts: dict[str, frozenset[str]]) -> None:
    for child in root:
        if child.tag == entry:
            continue
        if child.tag in with_parts:
            _parts(child, with_parts[child.tag])
        elif child.tag in allowed:
            _leaf(child)
        else:
            raise _NotSimple(f"element {child.tag}")


def _rss(root: ET.Element) -> FeedFields:
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel":
        raise _NotSimple("not one channel")
    channel = channels[0]
    _beside_entries(channel, "item", _CHANNEL, _CHANNEL_PARTS)
    titles = channel.findall("title")
    if len(titles) > 1:
        raise _NotSimple("repeated channel title")
    entries = []
    for item in channel.findall("item"):
        found = _fields(item, _RSS_FIELDS, _RSS_OTHER)
        text = {field: _text(element, _GUID if field == "id" else frozenset())
                for field, element in found.items()}
        # feedparser's repair of links whose query was escaped once too often
        link = _ENTITY_LIKE.sub(r"&\1", text.get("link", "").replace("&amp;", "&"))
        entries.append(EntryFields(
            link=link, id=text.get("id", ""), title=text.get("title", ""),
            html=text["content"] if "content" in text else text.get("summary", ""),
            published=text.get("published", ""), updated=text.get("updated", "")))
    return FeedFields(title=_text(titles[0]) if titles else "", entries=tuple(entries))


def _atom_text(element: ET.Element) -> str:
    if element.get("type", "text") not in ("text", "html"):
        raise _NotSimple("XHTML, base64 or out-of-line content")
    return _text(element, _TYPE)


def _atom_link(entry: ET.Element) -> str:
    links = entry.findall(f"{ATOM}link")
    if any(link.get("href") is None or (link.text or "").strip() for link in links):
        raise _NotSimple("a link without href, or with content")
    alternate = [link for link in links if link.get("rel", "alternate") == "alternate"]
    if len(alternate) > 1:
        raise _NotSimple("several alternate links")
    if not alternate:
        return ""
    if alternate[0].get("type", "text/html") not in ("text/html", "application/xhtml+xml"):
        raise _NotSimple("an alternate link that is not a page")
    return alternate[0].get("href") or ""      # as written: feedparser does not strip it


def _atom(root: ET.Element) -> FeedFields:
    _beside_entries(root, f"{ATOM}entry", _FEED, {tag: _PERSON_PARTS for tag in _PERSON})
    titles = root.findall(f"{ATOM}title")
    if len(titles) > 1:
        raise _NotSimple("repeated feed title")
    entries = []
    for entry in root.findall(f"{ATOM}entry"):
        found = _fields(entry, _ATOM_FIELDS, _ATOM_OTHER)
        text = {field: (_atom_text(element) if field in ("title", "summary", "content")
                        else _text(element)) for field, element in found.items()}
        entries.append(EntryFields(
            link=_atom_link(entry), id=text.get("id", ""), title=text.get("title", ""),
            html=text["content"] if "content" in text else text.get("summary", ""),
            published=text.get("published", ""), updated=text.get("updated", "")))
    return FeedFields(title=_atom_text(titles[0]) if titles else "", entries=tuple(entries))
