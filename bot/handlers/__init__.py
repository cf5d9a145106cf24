"""Telegram handlers, one module per feature, each exporting ``register(app)``."""

from __future__ import annotations

from telegram.ext import Application

from bot.handlers import admin, basic, sources, tracks, volunteers, work


def register_all(app: Application) -> None:  # type: ignore[type-arg]
    for module in (basic, volunteers, tracks, work, sources, admin):
        module.register(app)
