"""Storage: the only package that speaks SQL (SQLModel/SQLAlchemy, Alembic).

Owns the tables (``tables``), engine set-up and migrations (``db``), the lock that
picks the one instance receiving Telegram updates (``leader``), and the
repository (``repo.Store``) whose methods each run one query or one transaction and
return the domain types of ``feeds.models``. Callers never see a session or a row.

Must not make decisions: which case an item joins, what a card says, or when a feed
is due are decided by pure functions elsewhere and handed in as arguments.
"""

from storage.ingest import NewItem
from storage.leader import UpdatesLock
from storage.repo import Store

__all__ = ["NewItem", "Store", "UpdatesLock"]
