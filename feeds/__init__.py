"""The domain of deportwatch: getting items from sources and understanding them.

Owns fetching (``fetch``, the only module that imports httpx), parsing bytes into
entries (``parse``), text normalisation (``text``), name handling (``names``),
detection (``match``), item identity (``dedup``), case decisions (``cases``) and the
pipeline that drives one source end to end (``pipeline``).

Must not import ``telegram`` or ``sqlmodel``/``sqlalchemy``: storage is reached only
through ``storage.Store``, which speaks the domain types of ``feeds.models``.
"""
