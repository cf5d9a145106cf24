"""Telegram command handlers, one module per feature, each exporting ``register(app)``."""

from __future__ import annotations

from telegram.ext import Application

from bot.handlers import basic, sources, tracks


def register_all(app: Application) -> None:  # type: ignore[type-arg]
    for module in (basic, sources, tracks):
        module.register(app)
