"""Text normalisation and HTML-to-text reduction (pure, stdlib only).

Owns: folding text for matching (``fold``: NFKC, lower case, ё→е), splitting into
sentences and words, reducing HTML to plain text with paragraphs kept
(``html_to_text``), and guessing the language of a text (``detect_lang``).

Must not fetch, parse feeds or know about any lexicon.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "section", "article", "header", "footer", "table", "ul", "ol", "pre",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_MANY_NEWLINES = re.compile(r"\n\s*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«“(]?[A-ZА-ЯЁ0-9])|\n+")
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’ʼ`-](?=[^\W\d_]))*")


def fold(text: str) -> str:
    """Fold text for matching: NFKC, lower case, ё→е, typographic quotes unified."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("ё", "е").replace("’", "'").replace("ʼ", "'")


_NON_WORD = re.compile(r"[\W_]+")


def fold_words(text: str) -> str:
    """Folded words separated by single spaces: punctuation and spacing do not count
    (the form both exact and near-duplicate detection compare)."""
    return _NON_WORD.sub(" ", fold(text)).strip()


def clean_spaces(text: str) -> str:
    """Collapse runs of spaces inside lines and of blank lines between paragraphs."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Reduce an HTML fragment to plain text, keeping paragraph breaks."""
    if "<" not in html and "&" not in html:
        return clean_spaces(html)
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return clean_spaces("".join(parser.parts))


def sentences(text: str) -> list[str]:
    """Split text into sentences (good enough for news prose and registry rows)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def words(text: str) -> list[str]:
    """Return the words of ``text`` (letters with inner apostrophes or hyphens)."""
    return WORD.findall(text)


_CYRILLIC = re.compile(r"[а-яёәғқңөұүһіўҳҷӣӯ]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def detect_lang(text: str) -> str:
    """Guess ``ru`` or ``en`` (or ``und``) from the share of Cyrillic letters."""
    head = text[:4000]
    cyr, lat = len(_CYRILLIC.findall(head)), len(_LATIN.findall(head))
    if cyr + lat < 3:
        return "und"
    return "ru" if cyr >= lat else "en"
