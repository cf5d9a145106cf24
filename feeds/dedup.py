"""Item identity (pure): canonical URLs and content fingerprints.

Owns the three keys by which an item is known: its guid (when the source gives a
stable one), its canonical URL (tracking parameters and fragments removed, host
lower-cased) and a hash of its folded content, which catches the same text
re-published under another URL or in another feed.

Must not touch storage: the pipeline asks ``storage`` whether a key is known.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from feeds.text import fold_words

_TRACKING = re.compile(r"^(utm_\w*|fbclid|gclid|dclid|yclid|_openstat|mc_cid|mc_eid|igshid|"
                       r"ref_src|from|rss|s_cid|cmpid|at_medium|at_campaign)$", re.IGNORECASE)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop tracking parameters and the fragment.

    A ``#row-N`` fragment is kept: it is how court-page rows are told apart.
    """
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    fragment = parts.fragment if parts.fragment.startswith("row-") else ""
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (
            parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, fragment))


def content_hash(title: str, text: str) -> str:
    """A hash of the folded words of an item; punctuation and spacing do not count."""
    body = fold_words(f"{title} {text}")
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def url_hash(url: str) -> str:
    """A fixed-length key for a canonical URL (indexes stay small)."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()
