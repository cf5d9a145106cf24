"""Parsing real material written by others (../shared/corpora; skipped when absent):
feedparser's own test feeds, real Russian news feeds, real court pages."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from feeds.errors import ParseError
from feeds.models import FeedKind
from feeds.parse import parse

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
_MOJIBAKE = re.compile("[ÐÑ][\u0080-\u00bf]|Ã[\u0080-\u00bf]|â€|\ufffd")


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is absent (shared corpora are not part of the repository)")


def _headers(simulated: str) -> dict[str, str]:
    headers = {}
    for part in filter(None, simulated.split("|")):
        name, _, value = part.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def test_every_feedparser_test_file_parses_and_bozo_flags_agree() -> None:
    """All 2,106 feedparser test files go through parse without an unhandled exception,
    and every file whose expectation names bozo or not-bozo gets that flag from us."""
    root = CORPORA / "feedparser-tests"
    _need(root / "EXPECTATIONS.tsv")
    rows = list(csv.DictReader(io.StringIO((root / "EXPECTATIONS.tsv").read_text(
        encoding="utf-8")), delimiter="\t"))
    checked = disagreements = 0
    for row in rows:
        try:
            bozo = parse((root / row["path"]).read_bytes(), f"http://example.org/{row['path']}",
                         _headers(row["http_headers_simulated"])).bozo
        except ParseError:
            bozo = True        # not a feed at all: the strongest kind of bozo
        if row["bozo_expectation"] in ("bozo", "not bozo"):
            checked += 1
            disagreements += bozo != (row["bozo_expectation"] == "bozo")
    assert len(rows) == 2106
    assert checked == 1804
    assert disagreements == 0


NEWS_FEEDS = {   # file → items, per shared/corpora/news-feeds/README.md
    "node-feedparser__iconv__oren-ru_windows-1251.xml": 10,
    "egfedorov-rss-parser__kavkaz_rights.xml": 58,
    "egfedorov-rss-parser__feed_novaya.xml": 48,
    "egfedorov-rss-parser__feed_zona_texts.xml": 5,
    "egfedorov-rss-parser__meduza.xml": 24,
    "evidlabel-hudoc__echr.rss": 2000,
}


@pytest.mark.parametrize(("name", "count"), sorted(NEWS_FEEDS.items()))
def test_real_news_feeds_give_their_items_with_proper_titles(name: str, count: int) -> None:
    """Each real feed gives the README's item count; Russian titles are real Cyrillic."""
    path = CORPORA / "news-feeds" / name
    _need(path)
    parsed = parse(path.read_bytes(), f"https://example.org/{name}")
    assert parsed.kind is FeedKind.RSS
    assert len(parsed.entries) == count
    titles = " ".join(e.title for e in parsed.entries) + parsed.title
    # UTF-8 read as Latin-1/1252 leaves a lead byte before a continuation byte.
    assert not _MOJIBAKE.search(titles)
    if name.startswith(("node-feedparser", "egfedorov")):
        assert sum("а" <= c.lower() <= "я" for c in titles) > len(titles) / 3


@pytest.mark.parametrize("name", ["kirov_koap.html", "ksoyu_listing_adm33_koap.html",
                                  "leninsky_ufa_criminal.html", "zavolgskiy_card.html",
                                  "mosgorsud_first-admin-card.html",
                                  "mosgorsud_starodubtseva-card.html"])
def test_real_court_pages_give_rows(name: str) -> None:
    """Case-list and case-card pages give table rows with readable Cyrillic."""
    path = CORPORA / "court-pages" / name
    _need(path)
    parsed = parse(path.read_bytes(), "https://court.example/list")
    assert parsed.kind is FeedKind.PAGE and len(parsed.entries) >= 10
    assert all(e.url.startswith("https://court.example/list#row-") for e in parsed.entries)
    assert any("суд" in e.text.lower() or "дело" in e.text.lower() for e in parsed.entries)


@pytest.mark.parametrize("name", ["ksoyu_listing_captcha_gate.html", "sudrf_captcha_form.html"])
def test_real_captcha_pages_are_recognised(name: str) -> None:
    """A captcha gate and a captcha search form are feed-health errors, never records."""
    path = CORPORA / "court-pages" / name
    _need(path)
    with pytest.raises(ParseError, match="captcha"):
        parse(path.read_bytes(), "https://court.example/list")
