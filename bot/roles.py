"""Roles, decided by Telegram user id (never by username).

``decide_role`` is pure: settings grant admins and coordinators by id, and the
``member`` table holds roles granted inside the bot. Everyone else is a volunteer.
"""

from __future__ import annotations

import enum

from bot.settings import Settings


class Role(enum.IntEnum):
    VOLUNTEER = 0
    COORDINATOR = 1
    ADMIN = 2


def decide_role(user_id: int, settings: Settings, granted: str | None) -> Role:
    """The role of a user: the highest of what settings and grants give."""
    if user_id in settings.admin_ids or granted == "admin":
        return Role.ADMIN
    if user_id in settings.coordinator_ids or granted == "coordinator":
        return Role.COORDINATOR
    return Role.VOLUNTEER
