"""Unit tests for feeds.dedup: canonical URLs and content fingerprints."""

from __future__ import annotations

import pytest

from feeds.dedup import canonical_url, content_hash, url_hash


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?utm_source=tg&utm_medium=social&id=5",
         "https://example.com/a?id=5"),
        ("https://example.com/a?fbclid=IwAR0abc&id=5&gclid=x", "https://example.com/a?id=5"),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com/p?from=rss&q=1", "https://example.com/p?q=1"),
        ("https://News.Example.COM/Path/Case", "https://news.example.com/Path/Case"),
        ("HTTPS://EXAMPLE.com", "https://example.com/"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://court.example/list?id=1#row-3", "https://court.example/list?id=1#row-3"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://example.com/a?b=&c=1", "https://example.com/a?b=&c=1"),
        ("not a url", "not a url"),
        ("/relative/path", "/relative/path"),
    ],
    ids=["utm", "fbclid-gclid", "utm-any-case", "from-rss", "host-lowercased-path-kept",
         "scheme-lowercased-root-path", "fragment-dropped", "row-fragment-kept",
         "https-default-port", "http-default-port", "non-default-port",
         "443-on-http-is-not-default", "surrounding-spaces", "blank-values-kept",
         "not-a-url", "relative"],
)
def test_canonical_url(url: str, expected: str) -> None:
    """Tracking parameters, default ports and fragments (except #row-N) are removed."""
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://Example.com/a?utm_source=x#top", "https://example.com/a"),
        ("https://example.com:443/a?fbclid=1", "https://example.com/a"),
    ],
    ids=["tracking-and-fragment", "port-and-fbclid"],
)
def test_url_hash_uses_the_canonical_form(a: str, b: str) -> None:
    """Two spellings of one URL give one 64-hex-digit url_hash."""
    assert url_hash(a) == url_hash(b)
    assert len(url_hash(a)) == 64


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("Zhilin handed over", "He was handed over."),
         ("zhilin  handed over!", "He was handed, over")),
        (("Жилина передали", "Текст."), ("ЖИЛИНА ПЕРЕДАЛИ", "текст")),
        (("Ёлка", ""), ("Елка", "")),
        (("A\u00a0B", "c\td\ne"), ("a b", "c d e")),
        (("title", "body"), ("title body", "")),
        (("«Жилин» — задержан", ""), ("Жилин задержан", "")),
    ],
    ids=["punctuation-and-spaces", "case-cyrillic", "yo-folded", "nbsp-tabs-newlines",
         "title-text-boundary", "typographic-quotes-dashes"],
)
def test_content_hash_ignores_form(one: tuple[str, str], other: tuple[str, str]) -> None:
    """Punctuation, whitespace, case and ё/е do not change the content hash."""
    assert content_hash(*one) == content_hash(*other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("Zhilin handed over", ""), ("Zhilin released", "")),
        (("Жилин задержан", ""), ("Жилина задержана", "")),
        (("a b", ""), ("ab", "")),
        (("", ""), ("x", "")),
    ],
    ids=["different-words", "different-forms", "word-boundary", "empty-vs-word"],
)
def test_content_hash_differs_for_different_words(one: tuple[str, str],
                                                  other: tuple[str, str]) -> None:
    """Different words give different content hashes."""
    assert content_hash(*one) != content_hash(*other)
