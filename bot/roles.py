"""Roles, decided by Telegram user id (never by username).

``decide_role`` is pure: settings grant admins and coordinators by id, the ``member``
table holds roles granted inside the bot, administrators of the alert group are
admins, and members of the alert group or subscribers are volunteers. Anyone else
has no role and may only read ``/start`` and ``/help``.

``Access`` (the I/O edge) asks Telegram who administers and who belongs to the alert
group, and caches each answer for a few minutes (every check is an API call subject
to flood limits).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from bot.settings import Settings

log = logging.getLogger(__name__)
CACHE_SECONDS = 300.0


class Role(enum.IntEnum):
    NONE = 0
    VOLUNTEER = 1
    COORDINATOR = 2
    ADMIN = 3


GRANTABLE = {"volunteer": Role.VOLUNTEER, "coordinator": Role.COORDINATOR, "admin": Role.ADMIN}


def decide_role(user_id: int, settings: Settings, granted: str | None, *,
                group_admin: bool = False, member: bool = False,
                subscribed: bool = False) -> Role:
    """The role of a user: the highest of what settings, grants and the group give."""
    if user_id in settings.admin_ids or granted == "admin" or group_admin:
        return Role.ADMIN
    if user_id in settings.coordinator_ids or granted == "coordinator":
        return Role.COORDINATOR
    if granted == "volunteer" or member or subscribed:
        return Role.VOLUNTEER
    return Role.NONE


Lookup = Callable[[int], Awaitable[frozenset[int]]]      # chat id → admin user ids
MemberLookup = Callable[[int, int], Awaitable[bool]]     # chat id, user id → is member


class Access:
    """Role lookups with a short cache of the alert groups' administrators and members."""

    def __init__(self, admins_of: Lookup, is_member: MemberLookup, *,
                 ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._admins_of, self._is_member = admins_of, is_member
        self._ttl, self._clock = ttl, clock
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._members: dict[tuple[int, int], tuple[float, bool]] = {}

    async def group_admin(self, user_id: int, groups: Sequence[int]) -> bool:
        for chat in groups:
            cached = self._admins.get(chat)
            if cached is None or self._clock() - cached[0] > self._ttl:
                try:
                    cached = (self._clock(), await self._admins_of(chat))
                except Exception as exc:   # Telegram unreachable: no admin rights from it
                    log.warning("cannot list group admins chat_id=%s error=%s", chat, exc)
                    cached = (self._clock() - self._ttl + 30, frozenset())
                self._admins[chat] = cached
            if user_id in cached[1]:
                return True
        return False

    async def member(self, user_id: int, groups: Sequence[int], *,
                     strict: bool = False) -> bool:
        """Whether the user belongs to one of the groups. When Telegram cannot say, the
        answer is False — or, with ``strict``, the error is raised (for decisions that
        must not be taken on a guess, such as ending a subscription)."""
        for chat in groups:
            cached = self._members.get((chat, user_id))
            if cached is None or self._clock() - cached[0] > self._ttl:
                try:
                    cached = (self._clock(), await self._is_member(chat, user_id))
                except Exception as exc:
                    if strict:
                        raise
                    log.warning("cannot check membership chat_id=%s error=%s", chat, exc)
                    cached = (self._clock() - self._ttl + 30, False)
                self._members[(chat, user_id)] = cached
            if cached[1]:
                return True
        return False

    def forget(self) -> None:
        self._admins.clear()
        self._members.clear()
