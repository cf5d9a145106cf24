"""The exception tree of deportwatch.

::

    DeportwatchError
     ├── ConfigError       a setting is missing or malformed (reported in one line)
     ├── UnsafeURLError    a URL that must not be fetched (scheme, private address)
     ├── FetchError        a source could not be fetched (network, status, size cap)
     ├── ParseError        bytes that are neither a feed nor a usable page
     ├── StorageError      the database refused an operation
     │    └── StorageUnavailable  it could not be reached or stayed locked: try again soon
     └── DeliveryError     a message could not be delivered to Telegram

Expected per-source failures are raised as ``FetchError``/``ParseError`` and recorded
on the feed by the pipeline; one failing source never stops a cycle. Anything that is
not a ``DeportwatchError`` is a bug and propagates. Third-party exceptions are wrapped
at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class DeportwatchError(Exception):
    """Base class of every error that deportwatch raises on purpose."""


class ConfigError(DeportwatchError):
    """A setting is missing or malformed; the message names the setting."""


class UnsafeURLError(DeportwatchError):
    """A URL is refused before any connection is made (scheme, address range)."""


class FetchError(DeportwatchError):
    """A source could not be fetched; ``retry_after`` is set when the server asked."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(DeportwatchError):
    """Bytes that are neither a feed nor an HTML page with records."""


class StorageError(DeportwatchError):
    """The database refused an operation (bad URL, migration failure)."""


class StorageUnavailable(StorageError):
    """The database could not be reached, or its write lock stayed taken past the busy
    timeout: a passing condition of ours, not a fault of the source being stored, so
    the pipeline retries the source soon without counting it as a failed poll."""


class DeliveryError(DeportwatchError):
    """A message could not be delivered; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True,
                 retry_after: float | None = None, chat_gone: bool = False,
                 migrate_to: int | None = None, message_gone: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.chat_gone = chat_gone          # the bot was removed or blocked: chat inactive
        self.migrate_to = migrate_to        # the group became this supergroup
        self.message_gone = message_gone    # the card to edit was deleted
