"""Text normalisation and HTML-to-text reduction (pure, stdlib only).

Owns: folding text for matching (``fold``: NFKC, lower case, ё→е), splitting into
sentences and words, reducing HTML to plain text with paragraphs kept
(``html_to_text``), and guessing the language of a text (``detect_lang``).

Must not fetch, parse feeds or know about any lexicon.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape
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


_SIMPLE_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)"""                            # name
    r"""(\s(?:[^<>"'=]|=\s*"[^"<>]*"|=\s*'[^'<>]*'|=)*)?(/?)>""")  # attributes, "/"


def _simple_html_to_text(html: str) -> str | None:
    """The fast path for the usual feed fragment (plain tags; attribute values without
    brackets): the same text as the parser gives, or None when the fragment is anything
    else (comments, scripts, stray brackets or quotes), which the parser then reads."""
    parts: list[str] = []
    pos = 0
    for m in _SIMPLE_TAG.finditer(html):
        parts.append(html[pos:m.start()])
        tag = m.group(2).lower()
        if tag in _SKIP_TAGS:
            return None
        attrs = (m.group(3) or "").strip()
        if attrs.endswith("/") and attrs != "/":
            return None                 # <a href=x/>: is the slash the value's? the parser's
        if tag in _BLOCK_TAGS:          # <br/> counts as an opening and a closing tag
            closing = bool(m.group(4)) or attrs == "/"
            parts.append(("\n\n" if tag == "p" else "\n") * (2 if closing else 1))
        pos = m.end()
    parts.append(html[pos:])
    text = "".join(parts)
    if "<" in text or ">" in text:
        return None
    return clean_spaces(unescape(text))


def html_to_text(html: str) -> str:
    """Reduce an HTML fragment to plain text, keeping paragraph breaks."""
    if "<" not in html and "&" not in html:
        return clean_spaces(html)
    simple = _simple_html_to_text(html)
    if simple is not None:
        return simple
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


_ASCII_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CYRILLIC_LEADS = (b"\xd0", b"\xd1", b"\xd2", b"\xd3")    # UTF-8 of U+0400–U+04FF


def detect_lang(text: str) -> str:
    """Guess ``ru`` or ``en`` (or ``und``) from the counts of Cyrillic and Latin letters
    in the first 4,000 characters (counted on the UTF-8 bytes: every character of the
    Cyrillic block starts with one of four lead bytes)."""
    head = text[:4000].encode("utf-8", "surrogatepass")
    cyr = sum(map(head.count, _CYRILLIC_LEADS))
    lat = len(head) - len(head.translate(None, _ASCII_LETTERS))
    if cyr + lat < 3:
        return "und"
    return "ru" if cyr >= lat else "en"
