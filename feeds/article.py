"""Main text of an article page (pure): the prose a short feed entry links to.

Owns picking the article body out of a news page: the ``<article>`` element when it
holds real prose, else the element whose paragraphs carry the most text, with
navigation, scripts, forms and asides removed. Paragraph breaks are kept.

Must not fetch (the pipeline fetches with the one safe ``Fetcher``) or decide
relevance.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.text import clean_spaces

_NOISE = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
          "iframe", "svg", "button", "figure figcaption")
MIN_ARTICLE = 200          # characters of prose that make an element "the article"


def _paragraph_text(node: LexborNode) -> str:
    paragraphs = [" ".join(p.text(separator=" ", strip=True).split()) for p in node.css("p")]
    return "\n\n".join(p for p in paragraphs if len(p) > 30)


def extract_main_text(html: str) -> str:
    """The article's prose, or '' when the page has none worth using."""
    tree = LexborHTMLParser(html)
    for selector in _NOISE:
        for node in tree.css(selector):
            node.decompose()
    best = ""
    for article in tree.css("article, [itemprop=articleBody], main"):
        text = _paragraph_text(article)
        if len(text) > len(best):
            best = text
    if len(best) >= MIN_ARTICLE:
        return clean_spaces(best)
    # No usable <article>: the parent whose paragraphs hold the most text.
    parents: dict[int, tuple[LexborNode, int]] = {}
    for p in tree.css("p"):
        parent = p.parent
        if parent is None:
            continue
        size = len(p.text(strip=True))
        node, total = parents.get(parent.mem_id, (parent, 0))
        parents[parent.mem_id] = (node, total + size)
    if not parents:
        return ""
    node, _ = max(parents.values(), key=lambda pair: pair[1])
    text = _paragraph_text(node)
    return clean_spaces(text) if len(text) >= MIN_ARTICLE else ""
